/* mountinfo.c — parsing /proc/self/mountinfo (see mountinfo.h). */
#include "common/mountinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

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
