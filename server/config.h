/* config.h — vigil-server's settings: the server directory's own file
 * DIR/config (written by init, read by every subcommand) and the flags
 * that --config FILE may give.  Both files are in the grammar of
 * common/conffile.h ("key = value").
 *
 * DIR/config: listen, advertise, country.  A DIR/config from before that
 * grammar ("key value" lines) is read too (config_load sets legacy) and
 * `run` rewrites it (docs/store-format.md, "DIR/config"). */
#ifndef VIGIL_SERVER_CONFIG_H
#define VIGIL_SERVER_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/conffile.h"
#include "common/hostport.h"

struct store_key;


struct srv_config {
	char dir[PATH_MAX];                /* the server directory */
	char listen[HOSTPORT_MAX];         /* HOST:PORT to bind (HOSTPORT_BIND) */
	char advertise[HOSTPORT_MAX];      /* HOST:PORT written into bundles */
	int country;                       /* default country calling code */
	bool legacy;                       /* DIR/config was in the old grammar */
	const struct store_key *store_key; /* an encrypted store's data key (set by
					    * run, not in the file), else NULL */
};

/* Defaults for init: listen 0.0.0.0:7445, advertise = listen (a wildcard
 * host is advertised as 127.0.0.1), country 86. */
void config_defaults(struct srv_config *cfg, const char *dir);
/* Sets cfg->advertise from cfg->listen when advertise is empty. */
void config_default_advertise(struct srv_config *cfg);
/* Reads DIR/config.  0, or -errno with a one-line reason in err. */
int config_load(const char *dir, struct srv_config *cfg, char *err, size_t errlen);
/* Writes DIR/config (file_write_atomic).  0 or -errno. */
int config_save(const struct srv_config *cfg);
/* Joins DIR and a file name into out; -ENAMETOOLONG when it does not fit. */
int config_path(const struct srv_config *cfg, const char *file, char *out, size_t cap);

/* The flags of vigil-server that are settings: the keys of --config FILE.
 * A subcommand uses those it takes (listen: init, run; advertise: init;
 * key-file, passphrase-file: every subcommand that opens an encrypted
 * store; verbose: all) and ignores the others. */
enum { SRV_OPT_LISTEN = 256, SRV_OPT_ADVERTISE, SRV_OPT_KEY_FILE, SRV_OPT_PASS_FILE,
       SRV_OPT_VERBOSE };
extern const struct conf_key srv_flag_keys[];

struct srv_flags {
	char listen[HOSTPORT_MAX], advertise[HOSTPORT_MAX];   /* "" when not given */
	char key_file[PATH_MAX], pass_file[PATH_MAX];
	bool verbose;
};

/* Reads --config FILE into f (zeroed first).  0; -EINVAL with "FILE:LINE:
 * why" in err (exit 2); another -errno when it cannot be read (exit 1). */
int srv_flags_load(const char *path, struct srv_flags *f, char *err, size_t errlen);

#endif
