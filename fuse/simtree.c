/* simtree.c — FUSE operations on sim/: attributes and listings from the
 * store, reads from the blob an open took (simstore.h).  Files are served
 * with direct_io: their size changes behind the kernel's attribute cache,
 * and a read must never stop at a stale size. */
#include "fuse/simtree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* An open sim/ file: the bytes as they were at open. */
struct simfh {
	int kind;                      /* SIMFS_FH_SIM */
	struct simblob *blob;
};

static void ts_of(struct timespec *t, int64_t ns)
{
	t->tv_sec = (time_t)(ns / 1000000000LL);
	t->tv_nsec = (long)(ns % 1000000000LL);
}

static void fill(struct simfs *fs, const struct simstore_stat *ss, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ss->ino;
	st->st_mode = ss->dir ? S_IFDIR | 0555 : S_IFREG | 0444;
	st->st_nlink = ss->dir ? 2 : 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_size = (off_t)ss->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((ss->size + 511) / 512);
	ts_of(&st->st_mtim, ss->mtime_ns);
	st->st_ctim = st->st_atim = st->st_mtim;
}

int simtree_getattr(struct simfs *fs, const char *name, struct stat *st)
{
	struct simstore_stat ss;
	int e;

	if ((e = simstore_stat(fs->store, name, &ss)) < 0)
		return e;
	fill(fs, &ss, st);
	return 0;
}

void simtree_root_attr(struct simfs *fs, struct stat *st)
{
	struct simstore_stat ss = { .ino = 1, .mtime_ns = fs->start_ns, .dir = true };

	fill(fs, &ss, st);
}

int simtree_open(struct simfs *fs, const char *name, struct fuse_file_info *fi)
{
	struct simfh *h;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EROFS;
	if (!(h = calloc(1, sizeof(*h))))
		return -ENOMEM;
	if (!(h->blob = simstore_open(fs->store, name))) {
		free(h);
		return -errno;
	}
	h->kind = SIMFS_FH_SIM;
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	return 0;
}

int simtree_read(char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	const struct simfh *h = (const struct simfh *)(uintptr_t)fi->fh;
	size_t n;

	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= h->blob->len)
		return 0;
	n = h->blob->len - (size_t)off;
	if (n > size)
		n = size;
	memcpy(buf, h->blob->data + off, n);
	return (int)n;
}

void simtree_release(struct fuse_file_info *fi)
{
	struct simfh *h = (struct simfh *)(uintptr_t)fi->fh;

	simblob_put(h->blob);
	free(h);
}

int simtree_opendir(struct simfs *fs, const char *name)
{
	struct simstore_stat ss;
	int e;

	if ((e = simstore_stat(fs->store, name, &ss)) < 0)
		return e;
	return ss.dir ? 0 : -ENOTDIR;
}

struct lister {
	struct simfs *fs;
	void *buf;
	fuse_fill_dir_t fill;
};

static int list_one(void *arg, const char *name, const struct simstore_stat *ss)
{
	struct lister *l = arg;
	struct stat st;

	fill(l->fs, ss, &st);
	return l->fill(l->buf, name, &st, 0, 0) ? -ENOMEM : 0;
}

int simtree_readdir(struct simfs *fs, const char *name, void *buf, fuse_fill_dir_t filler)
{
	struct lister l = { fs, buf, filler };

	if (filler(buf, ".", NULL, 0, 0) || filler(buf, "..", NULL, 0, 0))
		return -ENOMEM;
	return simstore_list(fs->store, name, list_one, &l);
}
