/* fs.c — the FUSE operations of `vigil mount`: a read-only view of a
 * device's backup at one time, plus /.history with every version.
 *
 * Names map to server paths like this:
 *   /A/B                      the device's /A/B at the mount's time
 *   /.history                 mirrors the device's / ...
 *   /.history/A/B             ... a directory stays a directory, a file or
 *                             symlink becomes a directory of its versions
 *   /.history/A/F/<v>_<time>  version v of /A/F, captured at <time>
 * A path found in no listing but with versions (a deleted file) still
 * resolves under /.history.  Every attribute comes from a cached listing
 * (dir.h); content from read.h.  Each operation resolves its
 * path, answers, and releases what it held. */
#include "controller/mount/mount_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "common/proto.h"

enum rkind {
	R_ROOT,       /* "/" */
	R_TREE,       /* an entry of the tree at the mount's time */
	R_HDIR,       /* /.history or a directory below it */
	R_HFILE,      /* /.history/<file>: its versions */
	R_VERSION,    /* /.history/<file>/<version>_<time> */
};

struct res {
	enum rkind kind;
	char path[PATH_MAX];          /* device path (R_VERSION: the file's) */
	const struct mdir *dir;       /* held listing holding node, or NULL */
	const struct mnode *node;     /* attributes; NULL for "/" and /.history */
};

static struct mfs *fs_get(void)
{
	return fuse_get_context()->private_data;
}

static void res_put(struct mfs *fs, struct res *r)
{
	mdirs_put(fs->dirs, r->dir);
	r->dir = NULL;
	r->node = NULL;
}

/* "/a/b" -> parent "/a", returns "b"; "/a" -> "/", "a". */
static const char *split(const char *path, char parent[PATH_MAX])
{
	const char *slash = strrchr(path, '/');
	size_t n = (size_t)(slash - path);

	if (n == 0)
		n = 1;
	memcpy(parent, path, n);
	parent[n] = '\0';
	return slash + 1;
}

/* name in the listing of kind for dir: 0 with r->dir held and r->node. */
static int find_in(struct mfs *fs, enum mdir_kind kind, const char *dir, const char *name,
		   struct res *r)
{
	const struct mdir *d;
	int e;

	if ((e = mdirs_get(fs->dirs, kind, dir, &d)) < 0)
		return e == -ENOENT ? -ENOENT : e;
	if (!(r->node = mdir_find(d, name))) {
		mdirs_put(fs->dirs, d);
		return -ENOENT;
	}
	r->dir = d;
	return 0;
}

/* The newest version of a path with history, for the attributes of its
 * /.history directory when it is not in the tree (a deleted file). */
static int find_versions(struct mfs *fs, const char *path, struct res *r)
{
	const struct mdir *d;
	size_t i, best = 0;
	int e;

	if ((e = mdirs_get(fs->dirs, MDIR_LOG, path, &d)) < 0)
		return e;
	for (i = 1; i < d->n; i++)
		if (d->e[i].version > d->e[best].version)
			best = i;
	r->dir = d;
	r->node = &d->e[best];
	return 0;
}

/* What q is under /.history: 'd' a directory, 'f' a path with versions. */
static int classify(struct mfs *fs, const char *q)
{
	char parent[PATH_MAX];
	struct res t = { 0 };
	int e, kind;

	if (!strcmp(q, "/"))
		return 'd';
	if ((e = find_in(fs, MDIR_TREE, parent, split(q, parent), &t)) == 0) {
		kind = t.node->type == VG_DIR ? 'd' : 'f';
		res_put(fs, &t);
		return kind;
	}
	if (e != -ENOENT)
		return e;
	if ((e = find_versions(fs, q, &t)) < 0)
		return e;
	res_put(fs, &t);
	return 'f';
}

/* p: the part after "/.history" ("/A/B"). */
static int resolve_history(struct mfs *fs, const char *p, struct res *r)
{
	char q[PATH_MAX];
	const char *name = split(p, q);
	int t, e;

	if (!*name)
		return -ENOENT;
	if ((t = classify(fs, q)) < 0)
		return t;
	if (t == 'f') {
		snprintf(r->path, sizeof(r->path), "%s", q);
		r->kind = R_VERSION;
		return find_in(fs, MDIR_LOG, q, name, r);
	}
	snprintf(r->path, sizeof(r->path), "%s", p);
	if ((e = find_in(fs, MDIR_TREE, q, name, r)) == 0) {
		r->kind = r->node->type == VG_DIR ? R_HDIR : R_HFILE;
		return 0;
	}
	if (e != -ENOENT)
		return e;
	r->kind = R_HFILE;
	return find_versions(fs, p, r);
}

/* Resolves a mount path; on 0 the caller releases r with res_put. */
static int resolve(struct mfs *fs, const char *path, struct res *r)
{
	static const char hist[] = "/" MOUNT_HISTORY;
	char parent[PATH_MAX];
	const char *name;

	memset(r, 0, sizeof(*r));
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (!strcmp(path, "/")) {
		r->kind = R_ROOT;
		snprintf(r->path, sizeof(r->path), "/");
		return 0;
	}
	if (!strncmp(path, hist, sizeof(hist) - 1)) {
		if (path[sizeof(hist) - 1] == '\0') {
			r->kind = R_HDIR;
			snprintf(r->path, sizeof(r->path), "/");
			return 0;
		}
		if (path[sizeof(hist) - 1] == '/')
			return resolve_history(fs, path + sizeof(hist) - 1, r);
	}
	r->kind = R_TREE;
	snprintf(r->path, sizeof(r->path), "%s", path);
	name = split(path, parent);
	return find_in(fs, MDIR_TREE, parent, name, r);
}

static void set_times(struct stat *st, int64_t mtime_ns, int64_t ctime_ns)
{
	st->st_mtim.tv_sec = mtime_ns / 1000000000;
	st->st_mtim.tv_nsec = mtime_ns % 1000000000;
	if (st->st_mtim.tv_nsec < 0) {
		st->st_mtim.tv_sec--;
		st->st_mtim.tv_nsec += 1000000000;
	}
	st->st_atim = st->st_mtim;
	st->st_ctim.tv_sec = ctime_ns / 1000000000;
	st->st_ctim.tv_nsec = ctime_ns % 1000000000;
	if (st->st_ctim.tv_nsec < 0) {
		st->st_ctim.tv_sec--;
		st->st_ctim.tv_nsec += 1000000000;
	}
}

/* A node as itself (tree entries and versions). */
static void node_stat(const struct mnode *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = (n->type == VG_DIR ? S_IFDIR : n->type == VG_SYMLINK ? S_IFLNK : S_IFREG) |
		      (n->mode & 07777);
	st->st_nlink = n->type == VG_DIR ? 2 : 1;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_size = (off_t)n->size;
	st->st_blksize = MREAD_BLOCK;
	st->st_blocks = (blkcnt_t)((n->size + 511) / 512);
	set_times(st, n->mtime_ns, n->capture_ns);
}

/* A synthetic directory: "/", /.history and the directories below it. */
static void dir_stat(struct mfs *fs, const struct mnode *n, mode_t mode, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFDIR | mode;
	st->st_nlink = 2;
	st->st_uid = n ? n->uid : fs->uid;
	st->st_gid = n ? n->gid : fs->gid;
	st->st_blksize = MREAD_BLOCK;
	set_times(st, n ? n->mtime_ns : fs->at, n ? n->capture_ns : fs->at);
}

static void res_stat(struct mfs *fs, const struct res *r, struct stat *st)
{
	switch (r->kind) {
	case R_ROOT:
		dir_stat(fs, NULL, 0755, st);
		break;
	case R_HDIR:
	case R_HFILE:
		dir_stat(fs, r->node, 0555, st);
		break;
	default:
		node_stat(r->node, st);
	}
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct mfs *fs = fs_get();
	struct res r;
	int e;

	if ((e = resolve(fs, path, &r)) < 0)
		return e;
	res_stat(fs, &r, st);
	res_put(fs, &r);
	return 0;
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	struct mfs *fs = fs_get();
	struct res r;
	int e;

	if (size == 0)
		return -EINVAL;
	if ((e = resolve(fs, path, &r)) < 0)
		return e;
	if ((r.kind == R_TREE || r.kind == R_VERSION) && r.node->type == VG_SYMLINK)
		snprintf(buf, size, "%s", r.node->link);
	else
		e = -EINVAL;
	res_put(fs, &r);
	return e;
}

/* What a directory lists: which listing, and whether entries appear as
 * themselves or as /.history directories. */
static int dir_source(const struct res *r, enum mdir_kind *kind, bool *history)
{
	*history = r->kind == R_HDIR;
	*kind = MDIR_TREE;
	switch (r->kind) {
	case R_ROOT:
	case R_HDIR:
		return 0;
	case R_HFILE:
		*kind = MDIR_LOG;
		return 0;
	case R_TREE:
		return r->node->type == VG_DIR ? 0 : -ENOTDIR;
	default:
		return -ENOTDIR;
	}
}

/* Queues the listings of the first subdirectories of d (ls -R, find and
 * diff -r list them next). */
static void prefetch_subdirs(struct mfs *fs, const struct res *r, const struct mdir *d,
			     bool history)
{
	char sub[PATH_MAX];
	size_t i, queued = 0;

	if (r->kind == R_HFILE)
		return;
	for (i = 0; i < d->n && queued < MOUNT_PREFETCH_DIRS; i++) {
		if (d->e[i].type != VG_DIR && !history)
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", strcmp(r->path, "/") ? r->path : "",
			     d->e[i].name) >= (int)sizeof(sub))
			continue;
		mdirs_prefetch(fs->dirs, d->e[i].type == VG_DIR ? MDIR_TREE : MDIR_LOG, sub);
		queued++;
	}
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct mfs *fs = fs_get();
	const struct mdir *d = NULL;
	enum mdir_kind kind;
	struct stat st;
	struct res r;
	bool history;
	size_t i, extra;
	int e;

	if ((e = resolve(fs, path, &r)) < 0)
		return e;
	if ((e = dir_source(&r, &kind, &history)) < 0 ||
	    (e = mdirs_get(fs->dirs, kind, r.path, &d)) < 0)
		goto out;
	if (off == 0)
		prefetch_subdirs(fs, &r, d, history);
	/* offsets: 1 ".", 2 "..", 3 ".history" in "/", then the entries */
	extra = r.kind == R_ROOT ? 3 : 2;
	if (off < 1 && fill(buf, ".", NULL, 1, 0))
		goto out;
	if (off < 2 && fill(buf, "..", NULL, 2, 0))
		goto out;
	if (extra == 3 && off < 3) {
		dir_stat(fs, NULL, 0555, &st);
		if (fill(buf, MOUNT_HISTORY, &st, 3, FUSE_FILL_DIR_PLUS))
			goto out;
	}
	for (i = off > (off_t)extra ? (size_t)off - extra : 0; i < d->n; i++) {
		if (history && d->e[i].type != VG_DIR)
			dir_stat(fs, &d->e[i], 0555, &st);
		else
			node_stat(&d->e[i], &st);
		if (fill(buf, d->e[i].name, &st, (off_t)(i + extra + 1), FUSE_FILL_DIR_PLUS))
			break;
	}
out:
	mdirs_put(fs->dirs, d);
	res_put(fs, &r);
	return e;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct mfs *fs = fs_get();
	struct mfile *f;
	struct res r;
	int e;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & (O_TRUNC | O_CREAT)))
		return -EROFS;
	if ((e = resolve(fs, path, &r)) < 0)
		return e;
	if (r.kind != R_TREE && r.kind != R_VERSION)
		e = -EISDIR;
	else if (r.node->type == VG_DIR)
		e = -EISDIR;
	else if (r.node->type != VG_FILE)
		e = -ELOOP;
	else if (!(f = mfile_new(r.path, r.node->version, r.node->size, r.node->id)))
		e = -ENOMEM;
	else {
		fi->fh = (uint64_t)(uintptr_t)f;
		fi->keep_cache = 1;   /* a version's content never changes */
	}
	res_put(fs, &r);
	return e;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct mfile *f = (struct mfile *)(uintptr_t)fi->fh;

	if (off < 0)
		return -EINVAL;
	return (int)mread_read(fs_get()->rd, f, buf, size, (uint64_t)off);
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	mfile_free((struct mfile *)(uintptr_t)fi->fh);
	return 0;
}

/* Attributes with xattrs: tree entries and versions. */
static int xattr_node(struct mfs *fs, const char *path, struct res *r)
{
	int e = resolve(fs, path, r);

	if (e == 0 && r->kind != R_TREE && r->kind != R_VERSION) {
		res_put(fs, r);
		return 1;   /* synthetic: no xattrs */
	}
	return e;
}

static int op_getxattr(const char *path, const char *name, char *value, size_t size)
{
	struct mfs *fs = fs_get();
	const uint8_t *v;
	const char *n;
	size_t pos = 0, nlen, vlen;
	struct res r;
	int e;

	if (fs->no_xattrs)
		return -ENOSYS;   /* the kernel stops asking: ls -l saves two round trips a file */
	if ((e = xattr_node(fs, path, &r)) != 0)
		return e > 0 ? -ENODATA : e;
	e = -ENODATA;
	while (mnode_xattr_next(r.node, &pos, &n, &nlen, &v, &vlen) > 0) {
		if (nlen != strlen(name) || memcmp(n, name, nlen) != 0)
			continue;
		if (size == 0)
			e = (int)vlen;
		else if (vlen > size)
			e = -ERANGE;
		else {
			memcpy(value, v, vlen);
			e = (int)vlen;
		}
		break;
	}
	res_put(fs, &r);
	return e;
}

static int op_listxattr(const char *path, char *list, size_t size)
{
	struct mfs *fs = fs_get();
	const uint8_t *v;
	const char *n;
	size_t pos = 0, nlen, vlen, total = 0;
	struct res r;
	int e;

	if (fs->no_xattrs)
		return -ENOSYS;
	if ((e = xattr_node(fs, path, &r)) != 0)
		return e > 0 ? 0 : e;
	while (mnode_xattr_next(r.node, &pos, &n, &nlen, &v, &vlen) > 0) {
		if (size > 0 && total + nlen + 1 > size) {
			res_put(fs, &r);
			return -ERANGE;
		}
		if (size > 0) {
			memcpy(list + total, n, nlen);
			list[total + nlen] = '\0';
		}
		total += nlen + 1;
	}
	res_put(fs, &r);
	return (int)total;
}

static int op_statfs(const char *path, struct statvfs *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_namemax = 255;
	sv->f_flag = ST_RDONLY;
	return 0;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* the view never changes: let the kernel keep names, attributes and pages */
	cfg->entry_timeout = 86400;
	cfg->attr_timeout = 86400;
	cfg->negative_timeout = 60;
	cfg->kernel_cache = 1;
	cfg->use_ino = 0;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;   /* always plus: one trip per dir */
	conn->max_readahead = MOUNT_READAHEAD_KB << 10;
	mount_raise_readahead(fs_get());
	return fs_get();
}

/* Every change is refused: the view is a backup. */
static int ro_mknod(const char *p, mode_t m, dev_t d) { return -EROFS; }
static int ro_mkdir(const char *p, mode_t m) { return -EROFS; }
static int ro_path(const char *p) { return -EROFS; }
static int ro_link(const char *a, const char *b) { return -EROFS; }
static int ro_rename(const char *a, const char *b, unsigned int f) { return -EROFS; }
static int ro_chmod(const char *p, mode_t m, struct fuse_file_info *fi) { return -EROFS; }
static int ro_chown(const char *p, uid_t u, gid_t g, struct fuse_file_info *fi) { return -EROFS; }
static int ro_truncate(const char *p, off_t o, struct fuse_file_info *fi) { return -EROFS; }
static int ro_write(const char *p, const char *b, size_t n, off_t o, struct fuse_file_info *fi)
{
	return -EROFS;
}
static int ro_setxattr(const char *p, const char *n, const char *v, size_t s, int f) { return -EROFS; }
static int ro_removexattr(const char *p, const char *n) { return -EROFS; }
static int ro_create(const char *p, mode_t m, struct fuse_file_info *fi) { return -EROFS; }
static int ro_utimens(const char *p, const struct timespec tv[2], struct fuse_file_info *fi)
{
	return -EROFS;
}

const struct fuse_operations mountfs_ops = {
	.init = op_init,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.readdir = op_readdir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.statfs = op_statfs,
	.mknod = ro_mknod,
	.mkdir = ro_mkdir,
	.unlink = ro_path,
	.rmdir = ro_path,
	.symlink = ro_link,
	.rename = ro_rename,
	.link = ro_link,
	.chmod = ro_chmod,
	.chown = ro_chown,
	.truncate = ro_truncate,
	.write = ro_write,
	.setxattr = ro_setxattr,
	.removexattr = ro_removexattr,
	.create = ro_create,
	.utimens = ro_utimens,
};
