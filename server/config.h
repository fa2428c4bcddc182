/* config.h — the server directory DIR and its text config file DIR/config.
 *
 * DIR/config holds one setting per line ("listen HOST:PORT",
 * "advertise HOST:PORT", "country 86"); '#' starts a comment.  It is
 * written by `vigil-server init` and read by every other subcommand. */
#ifndef VIGIL_SERVER_CONFIG_H
#define VIGIL_SERVER_CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "common/hostport.h"

struct store_key;


struct srv_config {
	char dir[PATH_MAX];                /* the server directory */
	char listen[HOSTPORT_MAX];         /* HOST:PORT to bind (HOSTPORT_BIND) */
	char advertise[HOSTPORT_MAX];      /* HOST:PORT written into bundles */
	int country;                       /* default country calling code */
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

#endif
