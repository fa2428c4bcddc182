/* simfs.c — the FUSE operations of vigil-simfs: each decides where its
 * path lives and hands it on.  "/sim" and below: the read-only sim/ tree
 * (simtree.c; every change EROFS).  Any other path: the passthrough to
 * --backing DIR (passthrough.c, ptfile.c), or, without one, nothing but a
 * read-only root holding sim/.  Open files are told apart by their handle,
 * since an unlinked file's path is gone by the time it is released. */
#include "fuse/simfs.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>

#include "fuse/simtree.h"

enum where {
	W_SIM,       /* sim/ or below; *name is the path below it */
	W_PT,        /* the backing directory's */
	W_VROOT,     /* "/" without --backing */
	W_NONE,      /* anything else without --backing */
};

static enum where where(const char *path, const char **name)
{
	size_t n = strlen(SIMFS_DIR);

	if (path && path[0] == '/' && !strncmp(path + 1, SIMFS_DIR, n) &&
	    (path[n + 1] == '\0' || path[n + 1] == '/')) {
		*name = path[n + 1] ? path + n + 2 : "";
		return W_SIM;
	}
	if (simfs_get()->backing >= 0)
		return W_PT;
	return path && !strcmp(path, "/") ? W_VROOT : W_NONE;
}

/* 0 when path may change (it is the backing's), else -EROFS. */
static int guard(const char *path)
{
	const char *name;

	return where(path, &name) == W_PT ? 0 : -EROFS;
}

static int fh_kind(const struct fuse_file_info *fi)
{
	return fi && fi->fh ? *(const int *)(uintptr_t)fi->fh : 0;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	const char *name;

	if (fh_kind(fi) == SIMFS_FH_PT)
		return pt_getattr(path, st, fi);
	switch (where(path, &name)) {
	case W_SIM:
		return simtree_getattr(simfs_get(), name, st);
	case W_PT:
		return pt_getattr(path, st, fi);
	case W_VROOT:
		simtree_root_attr(simfs_get(), st);
		return 0;
	default:
		return -ENOENT;
	}
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	const char *name;

	switch (where(path, &name)) {
	case W_PT:
		return pt_readlink(path, buf, size);
	case W_NONE:
		return -ENOENT;
	default:
		return -EINVAL;
	}
}

static int op_mknod(const char *path, mode_t mode, dev_t rdev)
{
	return guard(path) ?: pt_mknod(path, mode, rdev);
}

static int op_mkdir(const char *path, mode_t mode)
{
	return guard(path) ?: pt_mkdir(path, mode);
}

static int op_unlink(const char *path)
{
	return guard(path) ?: pt_unlink(path);
}

static int op_rmdir(const char *path)
{
	return guard(path) ?: pt_rmdir(path);
}

static int op_symlink(const char *target, const char *path)
{
	return guard(path) ?: pt_symlink(target, path);
}

static int op_rename(const char *from, const char *to, unsigned flags)
{
	return guard(from) ?: guard(to) ?: pt_rename(from, to, flags);
}

static int op_link(const char *from, const char *to)
{
	return guard(from) ?: guard(to) ?: pt_link(from, to);
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return guard(path) ?: pt_chmod(path, mode, fi);
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	return guard(path) ?: pt_chown(path, uid, gid, fi);
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (fh_kind(fi) == SIMFS_FH_SIM)
		return -EROFS;
	if (fh_kind(fi) == SIMFS_FH_PT)
		return pt_truncate(path, size, fi);
	return guard(path) ?: pt_truncate(path, size, fi);
}

static int op_utimens(const char *path, const struct timespec ts[2], struct fuse_file_info *fi)
{
	if (fh_kind(fi) == SIMFS_FH_PT)
		return pt_utimens(path, ts, fi);
	return guard(path) ?: pt_utimens(path, ts, fi);
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	const char *name;

	switch (where(path, &name)) {
	case W_SIM:
		return simtree_open(simfs_get(), name, fi);
	case W_PT:
		return pt_open(path, fi);
	case W_VROOT:
		return -EISDIR;
	default:
		return -ENOENT;
	}
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return guard(path) ?: pt_create(path, mode, fi);
}

static int op_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	if (fh_kind(fi) == SIMFS_FH_SIM)
		return simtree_read(buf, size, off, fi);
	return pt_read(path, buf, size, off, fi);
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	if (fh_kind(fi) != SIMFS_FH_PT)
		return -EROFS;
	return pt_write(path, buf, size, off, fi);
}

static int op_statfs(const char *path, struct statvfs *sv)
{
	if (simfs_get()->backing >= 0)
		return pt_statfs(path, sv);
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = sv->f_frsize = 4096;
	sv->f_namemax = 255;
	return 0;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	if (fh_kind(fi) == SIMFS_FH_SIM)
		simtree_release(fi);
	else if (fh_kind(fi) == SIMFS_FH_PT)
		pt_release(path, fi);
	return 0;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	if (fh_kind(fi) != SIMFS_FH_PT)
		return 0;   /* sim/ is memory: nothing to sync */
	return pt_fsync(path, datasync, fi);
}

static int op_fallocate(const char *path, int mode, off_t off, off_t len,
			struct fuse_file_info *fi)
{
	if (fh_kind(fi) != SIMFS_FH_PT)
		return -EROFS;
	return pt_fallocate(path, mode, off, len, fi);
}

static int op_setxattr(const char *path, const char *name, const char *value, size_t size,
		       int flags)
{
	return guard(path) ?: pt_setxattr(path, name, value, size, flags);
}

static int op_getxattr(const char *path, const char *name, char *value, size_t size)
{
	const char *n;

	switch (where(path, &n)) {
	case W_PT:
		return pt_getxattr(path, name, value, size);
	case W_NONE:
		return -ENOENT;
	default:
		return -ENODATA;
	}
}

static int op_listxattr(const char *path, char *list, size_t size)
{
	const char *n;

	switch (where(path, &n)) {
	case W_PT:
		return pt_listxattr(path, list, size);
	case W_NONE:
		return -ENOENT;
	default:
		return 0;
	}
}

static int op_removexattr(const char *path, const char *name)
{
	return guard(path) ?: pt_removexattr(path, name);
}

static int op_opendir(const char *path, struct fuse_file_info *fi)
{
	const char *name;

	fi->fh = 0;
	switch (where(path, &name)) {
	case W_SIM:
		return simtree_opendir(simfs_get(), name);
	case W_PT:
		return pt_opendir(path, fi);
	case W_VROOT:
		return 0;
	default:
		return -ENOENT;
	}
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct simfs *fs = simfs_get();
	struct stat st;
	const char *name;
	int e;

	switch (where(path, &name)) {
	case W_SIM:
		return simtree_readdir(fs, name, buf, fill);
	case W_PT:
		if ((e = pt_readdir(path, buf, fill, off, fi, flags)) < 0 || !path || strcmp(path, "/"))
			return e;
		break;
	case W_VROOT:
		if (fill(buf, ".", NULL, 0, 0) || fill(buf, "..", NULL, 0, 0))
			return -ENOMEM;
		break;
	default:
		return -ENOENT;
	}
	if ((e = simtree_getattr(fs, "", &st)) < 0)
		return e;
	return fill(buf, SIMFS_DIR, &st, 0, 0) ? -ENOMEM : 0;
}

static int op_releasedir(const char *path, struct fuse_file_info *fi)
{
	if (fh_kind(fi) == SIMFS_FH_PTDIR)
		pt_releasedir(path, fi);
	return 0;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->use_ino = 1;          /* stable inode numbers: vigild compares them */
	cfg->hard_remove = 1;      /* no .fuse_hidden files in the backing dir */
	cfg->nullpath_ok = 0;
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 0;
	cfg->kernel_cache = 0;
	cfg->auto_cache = 0;
	return fuse_get_context()->private_data;
}

const struct fuse_operations simfs_ops = {
	.init = op_init,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.chmod = op_chmod,
	.chown = op_chown,
	.truncate = op_truncate,
	.utimens = op_utimens,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write = op_write,
	.statfs = op_statfs,
	.release = op_release,
	.fsync = op_fsync,
	.fallocate = op_fallocate,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
};
