/* retain_cli.h — the `vigil-server retain` subcommand (retain_cli.c). */
#ifndef VIGIL_SERVER_RETAIN_CLI_H
#define VIGIL_SERVER_RETAIN_CLI_H

/* argv[0] is "retain"; returns the exit status (0, 1, 2). */
int retain_main(int argc, char **argv);

#endif
