/* mount.h — `vigil mount`: a read-only, lazy FUSE view of a device's backup.
 *
 * Mounts at mountpoint the device's "/" as it was at at_ns (INT64_MAX: the
 * latest versions as of the moment of mounting), with
 * MOUNTPOINT/.history/<path>/<version>_<time> for every version.  Content is
 * fetched (MSG_CTL_LS/STAT/READ) only when read.  foreground: stay in the
 * foreground (-f).  Runs until unmounted; returns the process exit status
 * (0, or 1 after printing "vigil: mount: <reason>").  Given the whole
 * session so the mount can connect again after daemonizing and whenever the
 * server comes back.
 *
 * c->b must be loaded and c->m connected (ctl_connect): the mount checks the
 * device with that connection, then frees it (c->m = NULL) before mounting
 * and forking, and makes its own connections from c->b and c->server. */
#ifndef VIGIL_MOUNT_H
#define VIGIL_MOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "controller/ctl.h"

int mountfs_main(struct ctl *c, const char *device, const char *mountpoint,
		 int64_t at_ns, bool foreground);

#endif
