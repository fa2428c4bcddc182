/* simfs.h — what the parts of vigil-simfs's filesystem share: the mount's
 * state (fuse_get_context()->private_data), the FUSE operations (simfs.c:
 * the sim/ tree and the dispatch), and the passthrough to --backing DIR
 * (passthrough.c: names and attributes, ptfile.c: open files).
 *
 * Paths are FUSE's: absolute inside the mount, normalised ("/a/b").  The
 * passthrough resolves them relative to the backing directory's fd, never
 * following a symlink in the final component where the operation must not
 * follow one; "/sim" and below never reach it. */
#ifndef VIGIL_FUSE_SIMFS_H
#define VIGIL_FUSE_SIMFS_H

#define FUSE_USE_VERSION 312
#include <fuse.h>

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fuse/reporter.h"
#include "fuse/simstore.h"

#define SIMFS_DIR     "sim"
#define SIMFS_THREADS 8            /* FUSE worker threads at most */

struct ptopens;

struct simfs {
	char mountpoint[PATH_MAX];     /* absolute, canonical */
	int backing;                   /* O_DIRECTORY fd of --backing DIR, or -1 */
	uid_t uid;                     /* owner of the synthetic directories */
	gid_t gid;
	int64_t start_ns;              /* mtime of a synthetic root */
	struct simstore *store;
	struct reporter *rep;          /* NULL without --state */
	struct ptopens *opens;         /* ptfile.c: writable opens per file */
	bool modem_busy;               /* the modem thread outlived its stop: keep
					* what it uses (store, reporter) at exit */
};

/* What fuse_file_info.fh points at: the first field tells which. */
enum { SIMFS_FH_SIM = 1, SIMFS_FH_PT = 2, SIMFS_FH_PTDIR = 3 };

/* An open passthrough file (ptfile.c). */
struct ptfh {
	int kind;                      /* SIMFS_FH_PT */
	int fd;
	bool writable;                 /* counted in fs->opens */
	bool append;                   /* O_APPEND: writes land at the end */
	dev_t dev;
	ino_t ino;
};

extern const struct fuse_operations simfs_ops;

static inline struct simfs *simfs_get(void)
{
	return fuse_get_context()->private_data;
}

/* passthrough.c: each returns 0 (or a count) or -errno, like the FUSE op. */
int pt_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
int pt_readlink(const char *path, char *buf, size_t size);
int pt_mknod(const char *path, mode_t mode, dev_t rdev);
int pt_mkdir(const char *path, mode_t mode);
int pt_unlink(const char *path);
int pt_rmdir(const char *path);
int pt_symlink(const char *target, const char *path);
int pt_rename(const char *from, const char *to, unsigned flags);
int pt_link(const char *from, const char *to);
int pt_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int pt_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi);
int pt_utimens(const char *path, const struct timespec ts[2], struct fuse_file_info *fi);
int pt_statfs(const char *path, struct statvfs *sv);
int pt_setxattr(const char *path, const char *name, const char *value, size_t size, int flags);
int pt_getxattr(const char *path, const char *name, char *value, size_t size);
int pt_listxattr(const char *path, char *list, size_t size);
int pt_removexattr(const char *path, const char *name);
int pt_opendir(const char *path, struct fuse_file_info *fi);
/* At "/", the backing entry named "sim" is left out (the virtual one hides it). */
int pt_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
	       struct fuse_file_info *fi, enum fuse_readdir_flags flags);
int pt_releasedir(const char *path, struct fuse_file_info *fi);

/* ptfile.c */
int ptopens_new(struct simfs *fs);               /* 0 or -ENOMEM */
void ptopens_free(struct simfs *fs);
int pt_open(const char *path, struct fuse_file_info *fi);
int pt_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int pt_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi);
int pt_write(const char *path, const char *buf, size_t size, off_t off,
	     struct fuse_file_info *fi);
int pt_truncate(const char *path, off_t size, struct fuse_file_info *fi);
int pt_fsync(const char *path, int datasync, struct fuse_file_info *fi);
int pt_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi);
int pt_release(const char *path, struct fuse_file_info *fi);

/* fi's passthrough fd, or -1 (no handle, or a sim/ file's). */
int pt_fi_fd(const struct fuse_file_info *fi);
/* passthrough.c: path relative to the backing fd ("." for "/"). */
const char *pt_rel(const char *path);
/* A new entry made for the caller belongs to the caller (simfs runs as root). */
void pt_own(struct simfs *fs, const char *rel);

#endif
