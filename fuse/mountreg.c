/* mountreg.c — adds and removes this mount's line in STATE/mounts
 * (mountreg.h).  Lines of other mounts are kept as they are. */
#include "fuse/mountreg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fdio.h"

/* out = in without the lines equal to mp, plus mp when add. */
static int rewrite(const struct buf *in, const char *mp, bool add, struct buf *out)
{
	const char *p = in->len ? (const char *)in->data : "", *end = p + in->len;
	size_t mlen = strlen(mp);
	int e = 0;

	while (p < end && e == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n && !(n == mlen && !memcmp(p, mp, n)))
			e = buf_append(out, p, n) ?: buf_append(out, "\n", 1);
		p += n + 1;
	}
	if (e == 0 && add)
		e = buf_printf(out, "%s\n", mp);
	return e;
}

/* Locked: reads, rewrites and (when it differs) replaces the file. */
static int update_locked(const char *path, const char *mp, bool add)
{
	struct buf in, out;
	int e;

	buf_init(&in, MOUNTREG_MAX);
	buf_init(&out, MOUNTREG_MAX + PATH_MAX + 1);
	e = file_read_all(AT_FDCWD, path, O_NOFOLLOW, &in);
	if (e == -ENOENT)
		e = 0;
	if (e == 0)
		e = rewrite(&in, mp, add, &out);
	if (e == 0 && (out.len != in.len || (out.len && memcmp(out.data, in.data, out.len))))
		e = file_write_atomic(path, out.len ? (const void *)out.data : "", out.len, 0644, 0);
	buf_free(&in);
	buf_free(&out);
	return e;
}

int mountreg_update(const char *statedir, const char *mountpoint, bool add)
{
	char path[PATH_MAX], lock[PATH_MAX];
	int fd, e;

	if (snprintf(path, sizeof(path), "%s/%s", statedir, MOUNTREG_FILE) >= (int)sizeof(path) ||
	    snprintf(lock, sizeof(lock), "%s/%s", statedir, MOUNTREG_LOCK) >= (int)sizeof(lock))
		return -ENAMETOOLONG;
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	e = update_locked(path, mountpoint, add);
	close(fd);   /* releases the lock */
	return e;
}
