/* mountfs.h — `vigil mount`: a read-only, lazy FUSE view of a device's backup
 * (written by the mount module; controller/mount_stub.c is a placeholder).
 *
 * Mounts at mountpoint the device's "/" as it was at at_ns (INT64_MAX: the
 * latest versions as of the moment of mounting), with
 * MOUNTPOINT/.history/<path>/<version>_<time> for every version.  Content is
 * fetched through m (MSG_CTL_LS/STAT/READ) only when read.  foreground: stay
 * in the foreground (-f).  Runs until unmounted; returns the process exit
 * status (0, or 1 after printing "vigil: mount: <reason>").
 * m stays owned by the caller (main frees it after return); its I/O thread
 * does not survive fork(), so a background mount must connect again after
 * daemonizing (or not fork).  SIGINT/SIGTERM set ctl_quit (controller/ctl.h)
 * unless the mount installs its own handlers. */
#ifndef VIGIL_MOUNTFS_H
#define VIGIL_MOUNTFS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/mux.h"

int mountfs_run(struct mux *m, const char *device, const char *mountpoint,
		int64_t at_ns, bool foreground);

#endif
