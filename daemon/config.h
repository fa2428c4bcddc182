/* config.h — vigild's settings, from the command line and --config FILE.
 *
 * The file holds the same settings as the flags, one per line, "key value"
 * (or "key = value"), '#' starts a comment:
 *   bundle FILE | state DIR | watch DIR | server HOST:PORT | tracker NAME |
 *   debounce-ms N | erase-root DIR | erase-luks BLOCKDEV | freeze-cgroup PATH
 * Settings are applied in order: a later scalar wins, lists accumulate. */
#ifndef VIGIL_DAEMON_CONFIG_H
#define VIGIL_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define VCONF_LIST_MAX   64      /* watch roots, erase roots, LUKS volumes, cgroups */
#define VCONF_DEBOUNCE_DEFAULT 50

struct vconf {
	char *bundle;          /* --bundle FILE */
	char *state;           /* --state DIR */
	char *server;          /* --server HOST:PORT, NULL: the bundle's */
	char *tracker;         /* auto|bpf|fanotify|scan */
	int debounce_ms;
	bool json;             /* status --json */
	size_t nwatch, nerase, nluks, nfreeze;
	char *watch[VCONF_LIST_MAX];     /* canonical absolute paths */
	char *erase[VCONF_LIST_MAX];
	char *luks[VCONF_LIST_MAX];      /* --erase-luks: key slots erase destroys */
	char *freeze[VCONF_LIST_MAX];
};

enum vconf_mode { VCONF_RUN, VCONF_STATUS };

/* Parses argv (after the subcommand).  Returns 0, 1 when --help was given
 * (usage already printed on stdout), or -EINVAL with a message in err
 * (usage error, exit 2).  Watch roots are made canonical with realpath. */
int vconf_parse(struct vconf *c, enum vconf_mode mode, int argc, char **argv,
		char *err, size_t errlen);
/* Loads one config file into c (also used by --config). */
int vconf_load_file(struct vconf *c, const char *path, char *err, size_t errlen);
void vconf_free(struct vconf *c);
void vconf_usage(FILE *f);

#endif
