/* cmdadmit.h — whether the server queues a command a controller sent: a
 * decision with no I/O (the caller looks the identities up), so every case
 * is tested from a table (tests/unit/test_cmdadmit.c).
 *
 * The device decides for itself whether to obey (daemon/cmdcheck.c); this
 * check keeps out of the queue and the audit trail what no device would
 * obey: a command in another controller's name, a forged one, one for a
 * device that is not there (or revoked), one already expired.
 *
 * Caller: command_decode the body to learn the device's name, look that
 * device up (ENOENT: pass NULL), then cmd_admit with the connection's
 * identity as the server enrolled it. */
#ifndef VIGIL_SERVER_CMDADMIT_H
#define VIGIL_SERVER_CMDADMIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/command.h"
#include "server/index.h"

struct cmd_admit {
	const struct ident *ctl;        /* the connection's identity (from the index) */
	const uint8_t *body;            /* the signed body as received */
	size_t len;
	const uint8_t *sig;             /* SIGN_SIG_LEN bytes */
	const struct ident *dev;        /* the device the body names; NULL: none */
	int64_t now_ns;                 /* the server's clock */
};

/* 0 with the decoded command in *c, or -errno with a one-line reason in
 * why (checked in this order):
 *   -EBADMSG       the body does not decode;
 *   -EPERM         the connection is not an enrolled, unrevoked controller
 *                  with a signing key, or the body names another signer;
 *   -EKEYREJECTED  the signature is not the signer's (its enrolled key);
 *   -EINVAL        seq 0, or expiry not after issue;
 *   -ENOENT        no such device (or the name is not a device's);
 *   -EPERM         the device is revoked;
 *   -ETIME         expired (expires_ns <= now). */
int cmd_admit(const struct cmd_admit *a, struct vg_command *c, char *why, size_t cap);

#endif
