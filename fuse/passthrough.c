/* passthrough.c — names, attributes and directories of the paths that are
 * not sim/: each operation goes to the same path below --backing DIR,
 * through *at() calls on the backing directory's fd (FUSE's paths are
 * normalised, so none climbs out of it), and each change is reported to
 * vigild.  Open files are ptfile.c's. */
#include "fuse/simfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/log.h"

const char *pt_rel(const char *path)
{
	return path[0] == '/' && path[1] ? path + 1 : ".";
}

void pt_own(struct simfs *fs, const char *rel)
{
	struct fuse_context *c = fuse_get_context();

	/* best effort: the file stays root's when this fails ((void) does not
	 * silence glibc's warn_unused_result under _FORTIFY_SOURCE) */
	if (geteuid() == 0 && (c->uid != 0 || c->gid != 0) &&
	    fchownat(fs->backing, rel, c->uid, c->gid, AT_SYMLINK_NOFOLLOW) < 0)
		log_debug("%s: chown: %s", rel, strerror(errno));
}

/* r < 0: -errno; otherwise reports path changed and returns 0. */
static int done(int r, const char *path)
{
	if (r < 0)
		return -errno;
	reporter_changed(simfs_get()->rep, path);
	return 0;
}

int pt_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	int fd = pt_fi_fd(fi), r;

	if (fd >= 0)
		r = fstat(fd, st);
	else
		r = fstatat(simfs_get()->backing, pt_rel(path), st, AT_SYMLINK_NOFOLLOW);
	return r < 0 ? -errno : 0;
}

int pt_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n;

	if (size == 0)
		return -EINVAL;
	if ((n = readlinkat(simfs_get()->backing, pt_rel(path), buf, size - 1)) < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int pt_mknod(const char *path, mode_t mode, dev_t rdev)
{
	struct simfs *fs = simfs_get();

	if (!S_ISFIFO(mode) && !S_ISREG(mode))
		return -EPERM;   /* no device nodes through an overlay */
	if (mknodat(fs->backing, pt_rel(path), mode, 0) < 0)
		return -errno;
	pt_own(fs, pt_rel(path));
	return done(0, path);
}

int pt_mkdir(const char *path, mode_t mode)
{
	struct simfs *fs = simfs_get();

	if (mkdirat(fs->backing, pt_rel(path), mode) < 0)
		return -errno;
	pt_own(fs, pt_rel(path));
	return done(0, path);
}

int pt_unlink(const char *path)
{
	return done(unlinkat(simfs_get()->backing, pt_rel(path), 0), path);
}

int pt_rmdir(const char *path)
{
	return done(unlinkat(simfs_get()->backing, pt_rel(path), AT_REMOVEDIR), path);
}

int pt_symlink(const char *target, const char *path)
{
	struct simfs *fs = simfs_get();

	if (symlinkat(target, fs->backing, pt_rel(path)) < 0)
		return -errno;
	pt_own(fs, pt_rel(path));
	return done(0, path);
}

int pt_rename(const char *from, const char *to, unsigned flags)
{
	int fd = simfs_get()->backing;

	if (renameat2(fd, pt_rel(from), fd, pt_rel(to), flags) < 0)
		return -errno;
	reporter_changed(simfs_get()->rep, from);
	return done(0, to);
}

int pt_link(const char *from, const char *to)
{
	int fd = simfs_get()->backing;

	if (linkat(fd, pt_rel(from), fd, pt_rel(to), 0) < 0)
		return -errno;
	reporter_changed(simfs_get()->rep, from);   /* its link count */
	return done(0, to);
}

int pt_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd = pt_fi_fd(fi);

	if (fd >= 0)
		return done(fchmod(fd, mode), path);
	return done(fchmodat(simfs_get()->backing, pt_rel(path), mode, AT_SYMLINK_NOFOLLOW), path);
}

int pt_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	int fd = pt_fi_fd(fi);

	if (fd >= 0)
		return done(fchown(fd, uid, gid), path);
	return done(fchownat(simfs_get()->backing, pt_rel(path), uid, gid, AT_SYMLINK_NOFOLLOW),
		    path);
}

int pt_utimens(const char *path, const struct timespec ts[2], struct fuse_file_info *fi)
{
	int fd = pt_fi_fd(fi);

	if (fd >= 0)
		return done(futimens(fd, ts), path);
	return done(utimensat(simfs_get()->backing, pt_rel(path), ts, AT_SYMLINK_NOFOLLOW), path);
}

int pt_statfs(const char *path, struct statvfs *sv)
{
	return fstatvfs(simfs_get()->backing, sv) < 0 ? -errno : 0;
}

/* path opened O_PATH (no symlink followed) and the /proc name that reaches
 * its inode, for the xattr calls, which have no *at() form.  -ENOTSUP for
 * a symlink (user xattrs are not allowed on one anyway). */
static int xattr_target(const char *path, char proc[64], int *fdp)
{
	struct stat st;
	int fd, e;

	fd = openat(simfs_get()->backing, pt_rel(path), O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || S_ISLNK(st.st_mode)) {
		e = S_ISLNK(st.st_mode) ? -ENOTSUP : -errno;
		close(fd);
		return e;
	}
	snprintf(proc, 64, "/proc/self/fd/%d", fd);
	*fdp = fd;
	return 0;
}

int pt_setxattr(const char *path, const char *name, const char *value, size_t size, int flags)
{
	char proc[64];
	int fd, e;

	if ((e = xattr_target(path, proc, &fd)) < 0)
		return e;
	e = setxattr(proc, name, value, size, flags) < 0 ? -errno : 0;
	close(fd);
	return e ? e : done(0, path);
}

int pt_getxattr(const char *path, const char *name, char *value, size_t size)
{
	char proc[64];
	ssize_t n;
	int fd, e;

	if ((e = xattr_target(path, proc, &fd)) < 0)
		return e;
	n = getxattr(proc, name, value, size);
	e = n < 0 ? -errno : (int)n;
	close(fd);
	return e;
}

int pt_listxattr(const char *path, char *list, size_t size)
{
	char proc[64];
	ssize_t n;
	int fd, e;

	if ((e = xattr_target(path, proc, &fd)) < 0)
		return e == -ENOTSUP ? 0 : e;
	n = listxattr(proc, list, size);
	e = n < 0 ? -errno : (int)n;
	close(fd);
	return e;
}

int pt_removexattr(const char *path, const char *name)
{
	char proc[64];
	int fd, e;

	if ((e = xattr_target(path, proc, &fd)) < 0)
		return e;
	e = removexattr(proc, name) < 0 ? -errno : 0;
	close(fd);
	return e ? e : done(0, path);
}

/* An open passthrough directory. */
struct ptdir {
	int kind;                      /* SIMFS_FH_PTDIR */
	DIR *d;
};

int pt_opendir(const char *path, struct fuse_file_info *fi)
{
	struct ptdir *pd = calloc(1, sizeof(*pd));
	int fd, e;

	if (!pd)
		return -ENOMEM;
	fd = openat(simfs_get()->backing, pt_rel(path),
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(pd->d = fdopendir(fd))) {
		e = -errno;
		if (fd >= 0)
			close(fd);
		free(pd);
		return e;
	}
	pd->kind = SIMFS_FH_PTDIR;
	fi->fh = (uintptr_t)pd;
	return 0;
}

int pt_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
	       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct ptdir *pd = (struct ptdir *)(uintptr_t)fi->fh;
	bool root = path && !strcmp(path, "/");
	struct dirent *de;

	if (!pd)
		return -EBADF;
	rewinddir(pd->d);
	errno = 0;
	while ((de = readdir(pd->d))) {
		struct stat st = { .st_ino = de->d_ino, .st_mode = (mode_t)DTTOIF(de->d_type) };

		if (root && !strcmp(de->d_name, SIMFS_DIR))
			continue;
		if (fill(buf, de->d_name, &st, 0, 0))
			return -ENOMEM;   /* offset-0 mode: only when out of memory */
	}
	return errno ? -errno : 0;
}

int pt_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct ptdir *pd = (struct ptdir *)(uintptr_t)fi->fh;

	if (pd) {
		closedir(pd->d);
		free(pd);
	}
	return 0;
}
