/* retain_cli.h — the `vigil-server retain` subcommand (retain_cli.c). */
#ifndef VIGIL_SERVER_RETAIN_CLI_H
#define VIGIL_SERVER_RETAIN_CLI_H

#include <stdio.h>

/* An admin handler (admin.h): in the server serving DIR, or on a stopped
 * DIR; returns the exit status (0, 1, 2). */
struct admin_env;
int retain_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err);

#endif
