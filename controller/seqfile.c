/* seqfile.c — `<bundle>.seq`: the last command sequence number used,
 * under flock, replaced atomically before a command leaves (seqfile.h). */
#include "controller/seqfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fdio.h"

#define SEQ_TEXT_MAX 32   /* 20 digits of a u64, the newline, slack */
#define LOCK_TRIES   1000 /* renames seen while waiting; each one means progress by another run */

int seqfile_lock(struct seqfile *s, const char *path)
{
	struct stat held, named;
	int fd;

	s->fd = -1;
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s", path) >= sizeof(s->path))
		return -ENAMETOOLONG;
	for (int i = 0; i < LOCK_TRIES; i++) {
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
			return -errno;
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, &held) < 0) {
			int r = -errno;

			close(fd);
			return r;
		}
		/* another run replaced the file while we waited: lock the new one */
		if (stat(path, &named) == 0 && named.st_dev == held.st_dev &&
		    named.st_ino == held.st_ino) {
			s->fd = fd;
			return 0;
		}
		close(fd);
	}
	return -EBUSY;
}

/* Exactly digits and a newline, or nothing at all. */
static int parse(const char *text, size_t n, uint64_t *last)
{
	uint64_t v = 0;
	size_t i;

	*last = 0;
	if (n == 0)
		return 0;
	if (text[n - 1] != '\n' || n == 1)
		return -EBADMSG;
	for (i = 0; i + 1 < n; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EBADMSG;
		if (v > (UINT64_MAX - (uint64_t)(text[i] - '0')) / 10)
			return -EOVERFLOW;
		v = v * 10 + (uint64_t)(text[i] - '0');
	}
	*last = v;
	return 0;
}

int seqfile_next(struct seqfile *s, uint64_t *seq)
{
	char text[SEQ_TEXT_MAX];
	uint64_t last;
	ssize_t n;
	int len, r;

	if ((n = pread(s->fd, text, sizeof(text), 0)) < 0)
		return -errno;
	if ((size_t)n == sizeof(text))
		return -EBADMSG;
	if ((r = parse(text, (size_t)n, &last)) < 0)
		return r;
	if (last == UINT64_MAX)
		return -EOVERFLOW;
	len = snprintf(text, sizeof(text), "%" PRIu64 "\n", last + 1);
	if ((r = file_write_atomic(s->path, text, (size_t)len, 0600, 0)) < 0)
		return r;
	*seq = last + 1;
	return 0;
}

void seqfile_unlock(struct seqfile *s)
{
	if (s->fd >= 0)
		close(s->fd);   /* releases the flock */
	s->fd = -1;
}
