/* config.h — vigild's settings, from the command line and --config FILE.
 *
 * The file is in the grammar of common/conffile.h ("key = value", one
 * setting a line, the keys are the long flags: bundle, state, watch, server,
 * tracker, debounce-ms, erase-root, erase-luks, freeze-cgroup, verbose); a
 * flag on the command line wins over the file (a list flag replaces the
 * file's list).  vconf_keys is the one table of these flags. */
#ifndef VIGIL_DAEMON_CONFIG_H
#define VIGIL_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/conffile.h"

#define VCONF_LIST_MAX   64      /* watch roots, erase roots, LUKS volumes, cgroups */
#define VCONF_DEBOUNCE_DEFAULT 50

struct vconf {
	char *bundle;          /* --bundle FILE */
	char *state;           /* --state DIR */
	char *server;          /* --server HOST:PORT, NULL: the bundle's */
	char *tracker;         /* auto|bpf|fanotify|scan */
	int debounce_ms;
	bool json;             /* status --json */
	bool verbose;          /* --verbose: debug messages */
	bool file_error;       /* vconf_parse's err is about the --config file */
	size_t nwatch, nerase, nluks, nfreeze;
	char *watch[VCONF_LIST_MAX];     /* canonical absolute paths */
	char *erase[VCONF_LIST_MAX];
	char *luks[VCONF_LIST_MAX];      /* --erase-luks: key slots erase destroys */
	char *freeze[VCONF_LIST_MAX];
};

enum vconf_mode { VCONF_RUN, VCONF_STATUS };

/* vigild's flags that are settings (and keys of its config file). */
extern const struct conf_key vconf_keys[];

/* Parses a subcommand's argv (argv[0] is the subcommand, as getopt_long
 * wants), then --config FILE.  Returns 0, 1 when --help was given (usage
 * already printed on stdout), -EINVAL with a message in err (usage error,
 * exit 2), or another -errno when the file cannot be read (exit 1).
 * Watch roots are made canonical with realpath.  c is filled either way
 * (vconf_free). */
int vconf_parse(struct vconf *c, enum vconf_mode mode, int argc, char **argv,
		char *err, size_t errlen);
void vconf_free(struct vconf *c);
void vconf_usage(FILE *f);

#endif
