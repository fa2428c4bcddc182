/* srvkey.h — where vigil-server gets the secret of an encrypted store
 * (`init --encrypt`, then every subcommand that opens the store): a key
 * file or a passphrase, from an option or the environment, never a
 * passphrase on the command line (docs/store-format.md, "Encryption at
 * rest"). */
#ifndef VIGIL_SRVKEY_H
#define VIGIL_SRVKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "server/store/storekey.h"

#define SRVKEY_PASS_MAX 1024

/* --key-file and --passphrase-file (either may be NULL: then the
 * environment's VIGIL_KEY_FILE, VIGIL_PASSPHRASE_FILE, VIGIL_PASSPHRASE,
 * in that order).  A passphrase file "-" is one line of stdin, read
 * with echo off (and a prompt on stderr) when stdin is a terminal. */
struct srvkey_opts {
	const char *key_file, *pass_file;
};

/* The data key of the store in DIR/store: *enc false (and key untouched)
 * for a plain store; else the secret is found and the key unwrapped.
 * 0, or -errno with a one-line reason in err.  The key is also given to
 * dbcrypt_key_set, so that the store's databases open encrypted. */
int srvkey_load(const char *dir, const struct srvkey_opts *o, struct store_key *key, bool *enc,
		char *err, size_t errlen);
/* For init --encrypt: a new data key for DIR/store, wrapped by the secret
 * (a key file that does not exist yet is made, 0600).  0 or -errno with err. */
int srvkey_create(const char *dir, const struct srvkey_opts *o, struct store_key *key,
		  char *err, size_t errlen);

/* `vigil-server rekey`: the data key of DIR's store, unwrapped with the
 * current secret (srvkey_cli_take's options, else the environment), is
 * wrapped anew under the secret nw names (a key file that does not exist
 * is made).  0, or -errno with err. */
int srvkey_rekey(const char *dir, const struct srvkey_opts *nw, char *err, size_t errlen);
/* Takes --key-file FILE and --passphrase-file FILE (or --opt=FILE) off a
 * subcommand's argv (argv[0] is the subcommand) for the calls above that
 * name neither: for the subcommands with parsers of their own (check,
 * quota, retain); when argv names neither, dflt's (--config FILE's).
 * 0, or 2 (a usage error, said on stderr). */
int srvkey_cli_take(int *argc, char **argv, const struct srvkey_opts *dflt);
/* For a subcommand that opens DIR's databases itself: the data key of an
 * encrypted store, unwrapped (so index.db and search.db open: dbcrypt.h).
 * 0, or 1 with one line on stderr. */
int srvkey_cli_load(const char *dir);

#endif
