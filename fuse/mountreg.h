/* mountreg.h — vigil-simfs's registration in STATE/mounts (daemon/scan.h):
 * one absolute mountpoint per line, which tells vigild's scans to cross
 * into this FUSE mount.  Changed under an flock on STATE/mounts.lock and
 * replaced atomically (common/fdio), so concurrent simfs instances and
 * vigild's reader never see a torn file. */
#ifndef VIGIL_FUSE_MOUNTREG_H
#define VIGIL_FUSE_MOUNTREG_H

#include <stdbool.h>

#define MOUNTREG_FILE  "mounts"
#define MOUNTREG_LOCK  "mounts.lock"
#define MOUNTREG_MAX   (1 << 20)     /* bytes of STATE/mounts read at most */

/* add: mountpoint gets exactly one line; !add: it has none.  0 or -errno. */
int mountreg_update(const char *statedir, const char *mountpoint, bool add);

#endif
