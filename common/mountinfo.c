/* mountinfo.c — parsing /proc/self/mountinfo (see mountinfo.h). */
#include "common/mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The space-separated field at *p into out (escapes undone); *p moves past
 * it and its separator.  0, or -EINVAL when it is empty or does not fit. */
static int field(const char **p, char *out, size_t cap)
{
	const char *s = *p;
	size_t n = 0;

	while (*s && *s != ' ' && *s != '\n') {
		char c = *s++;

		if (c == '\\' && s[0] >= '0' && s[0] <= '3' && s[1] >= '0' && s[1] <= '7' &&
		    s[2] >= '0' && s[2] <= '7') {
			c = (char)((s[0] - '0') << 6 | (s[1] - '0') << 3 | (s[2] - '0'));
			s += 3;
		}
		if (n + 1 >= cap)
			return -EINVAL;
		out[n++] = c;
	}
	out[n] = '\0';
	if (*s == ' ')
		s++;
	*p = s;
	return n ? 0 : -EINVAL;
}

/* Moves *p past the field at it and its separator. */
static void skip_field(const char **p)
{
	*p += strcspn(*p, " \n");
	if (**p == ' ')
		(*p)++;
}

int mountinfo_parse(const char *line, struct mountinfo *m)
{
	char devno[32];
	const char *p = line, *dash;
	unsigned maj, min;
	char end;

	/* ID PARENT MAJOR:MINOR ROOT POINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPER */
	skip_field(&p);
	skip_field(&p);
	if (field(&p, devno, sizeof(devno)) || sscanf(devno, "%u:%u%c", &maj, &min, &end) != 2 ||
	    field(&p, m->root, sizeof(m->root)) || field(&p, m->point, sizeof(m->point)))
		return -EINVAL;
	if (!(dash = strstr(p, " - ")))
		return -EINVAL;
	p = dash + 3;
	if (field(&p, m->fstype, sizeof(m->fstype)))
		return -EINVAL;
	skip_field(&p);
	m->super = p;
	m->dev = makedev(maj, min);
	return 0;
}

int mountinfo_each(mountinfo_fn fn, void *arg)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	struct mountinfo *m = malloc(sizeof(*m));
	char *line = NULL;
	size_t cap = 0;
	int r = 0;

	if (!f || !m) {
		r = f ? -ENOMEM : -errno;
		goto out;
	}
	while (!r && getline(&line, &cap, f) > 0)
		if (!mountinfo_parse(line, m))
			r = fn(m, line, arg);
out:
	free(line);
	free(m);
	if (f)
		fclose(f);
	return r;
}

int mount_id_fdinfo(int fd, uint64_t *id)
{
	/* pos, flags, mnt_id, ino come first; an fd of a file or directory
	 * has nothing after them that could push mnt_id past this buffer */
	char path[64], buf[512], *p;
	ssize_t n = 0, k;
	int pfd;

	if (snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd) >= (int)sizeof(path))
		return -EINVAL;
	if ((pfd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -ENOTSUP;
	while (n < (ssize_t)sizeof(buf) - 1) {
		k = read(pfd, buf + n, sizeof(buf) - 1 - (size_t)n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += k;
	}
	close(pfd);
	buf[n] = '\0';
	if (!(p = strstr(buf, "\nmnt_id:")) || sscanf(p + 8, "%" SCNu64, id) != 1)
		return -ENOTSUP;
	return 0;
}

int mount_id_of(int fd, uint64_t *id)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0)
		return -errno;
	if ((sx.stx_mask & STATX_MNT_ID) && sx.stx_mnt_id) {
		*id = sx.stx_mnt_id;
		return 0;
	}
	return mount_id_fdinfo(fd, id);
}
