/* revoke_cli.h — `vigil-server revoke DIR NAME` (revoke_cli.c). */
#ifndef VIGIL_SERVER_REVOKE_CLI_H
#define VIGIL_SERVER_REVOKE_CLI_H

#include <stdio.h>

/* An admin handler (admin.h): in the server serving DIR, or on a stopped
 * DIR. */
struct admin_env;
int revoke_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err);

#endif
