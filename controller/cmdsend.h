/* cmdsend.h — a signed command's trip from the controller: sign it with
 * the bundle's key, number it from `<bundle>.seq` (controller/seqfile.h),
 * have the server queue it (MSG_CTL_COMMAND -> MSG_CMD_QUEUED), and with
 * --wait follow it (MSG_CTL_CMDWAIT -> MSG_CMD_STATE) to its end.
 *
 * Output: "command ID: queued" on stdout once the server holds it, and with
 * --wait "command ID: done[: summary]" when the device reports success.  A
 * failure, refusal or expiry is one line on stderr ("vigil: command ID:
 * refused: REASON", exit 1); a wait that runs out says where the command
 * stands ("vigil: command ID: still delivered after N s", exit 3). */
#ifndef VIGIL_CMDSEND_H
#define VIGIL_CMDSEND_H

#include <stdint.h>

#include "common/command.h"
#include "controller/ctl.h"
#include "controller/seqfile.h"

/* Loads the bundle and the signing key into c->sign_key (controller/signkey.h:
 * --sign-key, $VIGIL_SIGN_KEY, the bundle's private half, the file next to
 * the bundle), checked against the bundle's enrolled public key.  0, or
 * CTL_FAIL with one line printed (no bundle, no key, a wrong key). */
int cmdsend_check_key(struct ctl *c);

/* For a command sent on another request (get --direct's MSG_CTL_FETCH):
 * fills in the controller, the times and the next seq (holding sf, which
 * the caller releases with seqfile_unlock once the server has answered),
 * and appends the signed envelope {id 0, body, sig} to req.  Needs the
 * bundle loaded with its key (cmdsend_check_key).  0, or -errno (printed;
 * sf is not held then). */
int cmdsend_prepare(struct ctl *c, struct vg_command *cmd, int64_t expire_ns,
		    struct seqfile *sf, struct buf *req);

/* cmd carries action, device and the action's fields; this fills in the
 * controller, the times (now, now + expire_ns) and the seq, signs and
 * sends.  wait_s 0: return once queued.  Returns the exit status. */
int cmdsend_run(struct ctl *c, struct vg_command *cmd, int64_t expire_ns, long long wait_s);

#endif
