/* ptfile.c — open files of the passthrough: reads and writes on the
 * backing file's fd, each write reported to vigild with its byte range, a
 * truncation as a cut (a range from the new size to TRK_EOF, as the
 * trackers report one), and the last writable close of a file as
 * SIMW_CLOSED, counted per inode across every open of it. */
#include "fuse/simfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf/events.h"

struct ptopen {
	dev_t dev;
	ino_t ino;
	unsigned n;                    /* writable opens of it */
	struct ptopen *next;
};

struct ptopens {
	pthread_mutex_t mu;
	struct ptopen *head;
};

int ptopens_new(struct simfs *fs)
{
	if (!(fs->opens = calloc(1, sizeof(*fs->opens))))
		return -ENOMEM;
	pthread_mutex_init(&fs->opens->mu, NULL);
	return 0;
}

void ptopens_free(struct simfs *fs)
{
	struct ptopen *p, *next;

	if (!fs->opens)
		return;
	for (p = fs->opens->head; p; p = next) {
		next = p->next;
		free(p);
	}
	pthread_mutex_destroy(&fs->opens->mu);
	free(fs->opens);
	fs->opens = NULL;
}

static int opens_add(struct ptopens *o, dev_t dev, ino_t ino)
{
	struct ptopen *p;
	int e = 0;

	pthread_mutex_lock(&o->mu);
	for (p = o->head; p && !(p->dev == dev && p->ino == ino); p = p->next)
		;
	if (!p && (p = calloc(1, sizeof(*p)))) {
		p->dev = dev;
		p->ino = ino;
		p->next = o->head;
		o->head = p;
	}
	if (p)
		p->n++;
	else
		e = -ENOMEM;
	pthread_mutex_unlock(&o->mu);
	return e;
}

/* true when this was the last writable open of the inode. */
static bool opens_drop(struct ptopens *o, dev_t dev, ino_t ino)
{
	struct ptopen **pp, *p;
	bool last = false;

	pthread_mutex_lock(&o->mu);
	for (pp = &o->head; (p = *pp); pp = &p->next) {
		if (p->dev != dev || p->ino != ino)
			continue;
		if (--p->n == 0) {
			*pp = p->next;
			free(p);
			last = true;
		}
		break;
	}
	pthread_mutex_unlock(&o->mu);
	return last;
}

int pt_fi_fd(const struct fuse_file_info *fi)
{
	const struct ptfh *h = fi ? (const struct ptfh *)(uintptr_t)fi->fh : NULL;

	return h && h->kind == SIMFS_FH_PT ? h->fd : -1;
}

/* Wraps fd (consumed) into fi->fh; 0 or -errno. */
static int fh_new(struct simfs *fs, int fd, struct fuse_file_info *fi)
{
	struct ptfh *h = calloc(1, sizeof(*h));
	struct stat st;
	int e = -ENOMEM;

	if (!h || fstat(fd, &st) < 0) {
		e = h ? -errno : e;
		goto fail;
	}
	h->kind = SIMFS_FH_PT;
	h->fd = fd;
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	h->writable = (fi->flags & O_ACCMODE) != O_RDONLY;
	h->append = (fi->flags & O_APPEND) != 0;
	if (h->writable && (e = opens_add(fs->opens, st.st_dev, st.st_ino)) < 0)
		goto fail;
	fi->fh = (uintptr_t)h;
	return 0;
fail:
	free(h);
	close(fd);
	return e;
}

int pt_open(const char *path, struct fuse_file_info *fi)
{
	struct simfs *fs = simfs_get();
	int fd, e;

	fd = openat(fs->backing, pt_rel(path), (fi->flags & ~O_CREAT) | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((e = fh_new(fs, fd, fi)) < 0)
		return e;
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY)
		reporter_ranges(fs->rep, path, 0, TRK_EOF);
	return 0;
}

int pt_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct simfs *fs = simfs_get();
	int fd, e;

	fd = openat(fs->backing, pt_rel(path), fi->flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	pt_own(fs, pt_rel(path));
	if ((e = fh_new(fs, fd, fi)) < 0)
		return e;
	reporter_changed(fs->rep, path);
	return 0;
}

int pt_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	int fd = pt_fi_fd(fi);
	ssize_t n;

	if (fd < 0)
		return -EBADF;
	n = pread(fd, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

int pt_write(const char *path, const char *buf, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	const struct ptfh *h = (const struct ptfh *)(uintptr_t)fi->fh;
	int fd = pt_fi_fd(fi);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return -EBADF;
	if ((n = pwrite(fd, buf, size, off)) < 0)
		return -errno;
	/* O_APPEND: Linux's pwrite appended, wherever off said */
	if (h->append && fstat(fd, &st) == 0)
		off = st.st_size - n;
	if (n > 0)
		reporter_ranges(simfs_get()->rep, path, (uint64_t)off, (uint64_t)n);
	return (int)n;
}

/* The cut of a truncation to size, as trackers report one. */
static void report_cut(const char *path, off_t size)
{
	uint64_t s = (uint64_t)size;

	if (s < TRK_EOF)
		reporter_ranges(simfs_get()->rep, path, s, TRK_EOF - s);
	else
		reporter_changed(simfs_get()->rep, path);
}

int pt_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	int fd = pt_fi_fd(fi), own = -1, e = 0;

	if (fd < 0) {
		own = openat(simfs_get()->backing, pt_rel(path),
			     O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (own < 0)
			return -errno;
		fd = own;
	}
	if (ftruncate(fd, size) < 0)
		e = -errno;
	if (own >= 0)
		close(own);
	if (e == 0)
		report_cut(path, size);
	return e;
}

int pt_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	int fd = pt_fi_fd(fi);

	if (fd < 0)
		return -EBADF;
	return (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? -errno : 0;
}

int pt_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	int fd = pt_fi_fd(fi);

	if (fd < 0)
		return -EBADF;
	if (fallocate(fd, mode, off, len) < 0)
		return -errno;
	reporter_ranges(simfs_get()->rep, path, (uint64_t)off, (uint64_t)len);
	return 0;
}

int pt_release(const char *path, struct fuse_file_info *fi)
{
	struct ptfh *h = (struct ptfh *)(uintptr_t)fi->fh;
	struct simfs *fs = simfs_get();

	close(h->fd);
	/* path is NULL once the file was unlinked: it was reported then */
	if (h->writable && opens_drop(fs->opens, h->dev, h->ino) && path)
		reporter_closed(fs->rep, path);
	free(h);
	return 0;
}
