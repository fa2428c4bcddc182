/* cmdtrust.h — applying an accepted trust-add or trust-revoke command
 * (already checked by cmdcheck) to the device's bundle: the trust list in
 * memory and the bundle file on disk change together or not at all.
 *
 * A trust-add with a name already trusted replaces that controller's key
 * (key rotation).  A trust-revoke never removes the last trusted
 * controller: a device nobody can command could not even be erased.
 * cmdseq keeps the revoked controller's highest seq, so if the name is
 * trusted again later its old commands still cannot be replayed. */
#ifndef VIGIL_DAEMON_CMDTRUST_H
#define VIGIL_DAEMON_CMDTRUST_H

#include <stddef.h>

#include "common/bundle.h"
#include "common/command.h"

/* Applies c (CMD_TRUST_ADD or CMD_TRUST_REVOKE) to b and saves b to
 * bundle_path (bundle_save: tmp + fsync + rename).  On any failure b is as
 * it was and the file untouched.  0, or -errno with a one-line reason in
 * reason: -EINVAL (not a trust action, or trust_pub is not an Ed25519
 * key), -ENOENT (revoking a name not trusted), -EPERM (revoking the last
 * trusted controller), -ENOSPC (BUNDLE_TRUST_MAX), -ENOMEM, or the
 * -errno of bundle_save. */
int cmdtrust_apply(struct bundle *b, const char *bundle_path, const struct vg_command *c,
		   char *reason, size_t cap);

#endif
