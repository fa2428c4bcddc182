/* fdio.c — whole-buffer writes, retried on EINTR and short counts, the
 * bounded read of a small file, and its atomic, durable replacement (temp +
 * fsync + rename + fsync of the directory). */
#include "common/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"

int fd_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int fd_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *c = p;

	while (n) {
		ssize_t w = pwrite(fd, c, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		c += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int fd_pread_all(int fd, void *p, size_t n, uint64_t off)
{
	uint8_t *c = p;

	while (n) {
		ssize_t r = pread(fd, c, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ENODATA;
		c += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int file_read_all(int dirfd, const char *path, int oflags, struct buf *b)
{
	uint8_t chunk[8192];
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | oflags);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if ((size_t)st.st_size > b->max - b->len)
		r = -EMSGSIZE;
	else
		r = buf_reserve(b, (size_t)st.st_size);   /* one allocation: no stale copies */
	while (r == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		r = n < 0 ? -errno : buf_append(b, chunk, (size_t)n);
	}
	close(fd);
	explicit_bzero(chunk, sizeof(chunk));   /* it may have held a key */
	return r;
}

int rename_noreplace(int dirfd, const char *from, const char *to)
{
	if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	if (linkat(dirfd, from, dirfd, to, 0) < 0)
		return -errno;
	unlinkat(dirfd, from, 0);
	return 0;
}

int fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, r = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Writes, syncs and closes the temp file; 0 or -errno (fd closed either way). */
static int write_tmp(int fd, const void *p, size_t n, mode_t mode, unsigned flags)
{
	int r;

	if (fchmod(fd, mode) < 0)
		r = -errno;
	else
		r = fd_write_all(fd, p, n);
	if (!r && !(flags & FILE_NOSYNC) && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	return r;
}

int file_write_atomic(const char *path, const void *p, size_t n, mode_t mode,
		      unsigned flags)
{
	char tmp[PATH_MAX];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return -errno;
	r = write_tmp(fd, p, n, mode, flags);
	if (!r && (flags & FILE_NOREPLACE))
		r = rename_noreplace(AT_FDCWD, tmp, path);
	else if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return flags & FILE_NOSYNC ? 0 : fsync_parent(path);
}
