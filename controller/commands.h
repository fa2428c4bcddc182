/* commands.h — the controller's subcommands.  Each takes the session and
 * its own argv (argv[0] is the command name) and returns the exit status. */
#ifndef VIGIL_COMMANDS_H
#define VIGIL_COMMANDS_H

#include "controller/ctl.h"

typedef int (*cmd_fn)(struct ctl *c, int argc, char **argv);

struct command {
	const char *name;
	cmd_fn run;
	const char *summary;
};

/* cmd_query.c */
int cmd_devices(struct ctl *c, int argc, char **argv);
int cmd_ls(struct ctl *c, int argc, char **argv);
int cmd_log(struct ctl *c, int argc, char **argv);
/* cmd_status.c */
int cmd_status(struct ctl *c, int argc, char **argv);
int cmd_search(struct ctl *c, int argc, char **argv);
/* cmd_get.c */
int cmd_get(struct ctl *c, int argc, char **argv);
/* cmd_mount.c */
int cmd_mount(struct ctl *c, int argc, char **argv);
/* cmd_admin.c */
int cmd_keygen(struct ctl *c, int argc, char **argv);
int cmd_freeze(struct ctl *c, int argc, char **argv);
int cmd_thaw(struct ctl *c, int argc, char **argv);
int cmd_erase(struct ctl *c, int argc, char **argv);
int cmd_trust(struct ctl *c, int argc, char **argv);

#endif
