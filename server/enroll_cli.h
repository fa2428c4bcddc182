/* enroll_cli.h — `vigil-server enroll` (enroll_cli.c): the certificate
 * and keys are made here (the CA key is never the server's: Landlock keeps
 * `run` out of DIR/ca), the identity is recorded in the index of the
 * server serving DIR through its admin socket (two internal admin steps,
 * admin.h), or in DIR's index.db opened here when no server answers. */
#ifndef VIGIL_SERVER_ENROLL_CLI_H
#define VIGIL_SERVER_ENROLL_CLI_H

#include <stdio.h>

#include "common/tls.h"

/* Enrolls name with role; its bundle (server address advertise) to out,
 * never replaced.  pubkey_file: a controller's own public key (NULL: a key
 * pair is made).  The exit status (failures said on stderr). */
int enroll_run(const char *dir, const char *advertise, enum vg_role role, const char *name,
	       const char *out, const char *pubkey_file);

/* The admin steps, in the server (argv from the socket, checked here):
 *   ENROLL_RECORD DIR device|controller NAME CERT_SHA256_HEX KEY_HEX ENROLLED_NS
 *     adds the identity (KEY: a device's content key, a controller's
 *     public signing key; exit 1 when NAME is taken); for a device it
 *     prints the controllers it is to trust, "NAME PUBKEY_HEX" a line;
 *   ENROLL_END DIR NAME ok|undo
 *     after the bundle was written, a device's "enrolled" event; after it
 *     could not be, the identity removed again. */
#define ENROLL_RECORD "enroll-record"
#define ENROLL_END    "enroll-end"
struct admin_env;
int enroll_record_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err);
int enroll_end_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err);

#endif
