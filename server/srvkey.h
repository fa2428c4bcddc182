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
 * in that order).  A passphrase file "-" is one line of stdin. */
struct srvkey_opts {
	const char *key_file, *pass_file;
};

/* The data key of the store in DIR/store: *enc false (and key untouched)
 * for a plain store; else the secret is found and the key unwrapped.
 * 0, or -errno with a one-line reason in err. */
int srvkey_load(const char *dir, const struct srvkey_opts *o, struct store_key *key, bool *enc,
		char *err, size_t errlen);
/* For init --encrypt: a new data key for DIR/store, wrapped by the secret
 * (a key file that does not exist yet is made, 0600).  0 or -errno with err. */
int srvkey_create(const char *dir, const struct srvkey_opts *o, struct store_key *key,
		  char *err, size_t errlen);

#endif
