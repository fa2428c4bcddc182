/* mount_int.h — what the mount's FUSE operations (fs.c) share with
 * its startup code (mount.c).  Private to the mount module. */
#ifndef VIGIL_MOUNT_INT_H
#define VIGIL_MOUNT_INT_H

#define FUSE_USE_VERSION 312
#include <fuse.h>

#include <stdint.h>

#include "controller/mount/conn.h"
#include "controller/mount/dir.h"
#include "controller/mount/read.h"

#define MOUNT_DIR_CACHE   (4u << 20)   /* listings, bytes */
#define MOUNT_HISTORY     ".history"
#define MOUNT_THREADS     8            /* FUSE worker threads at most */
#define MOUNT_PREFETCH_DIRS 32         /* subdirectory listings queued per readdir */

/* The mount's state: fuse_get_context()->private_data. */
struct mfs {
	const char *dev;
	int64_t at;              /* the mount's time (fixed at mount) */
	struct mconn *mc;
	struct mdirs *dirs;
	struct mread *rd;
	bool no_xattrs;          /* no version of the device has any (fs.c op_getxattr) */
	uid_t uid;               /* owner of the synthetic directories */
	gid_t gid;
};

extern const struct fuse_operations mountfs_ops;

#endif
