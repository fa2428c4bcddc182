/* rekey_cli.h — `vigil-server rekey` (rekey_cli.c). */
#ifndef VIGIL_REKEY_CLI_H
#define VIGIL_REKEY_CLI_H

/* argv[0] "rekey", argv[1..]: DIR and the new secret's option.  The exit
 * code: 0, 1 (failed, said on stderr), 2 (usage). */
int rekey_main(int argc, char **argv);

#endif
