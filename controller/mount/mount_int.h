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
#define MOUNT_READAHEAD_KB 1024        /* the kernel's readahead of the mount (MREAD_BLOCK) */

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
	char *mnt;               /* the mount point's absolute path (NULL: unknown) */
};

/* Raises the kernel's readahead of the mount at fs->mnt to
 * MOUNT_READAHEAD_KB (its bdi's read_ahead_kb; root only, else nothing
 * changes).  Called from the FUSE init, before the INIT reply. */
void mount_raise_readahead(const struct mfs *fs);

extern const struct fuse_operations mountfs_ops;

#endif
