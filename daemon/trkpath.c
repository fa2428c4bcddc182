/* trkpath.c — path helpers of the trackers (see trkpath.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "daemon/trkpath.h"

static int append(char *out, size_t cap, size_t *len, const char *comp, size_t n)
{
	if (*len + 1 + n + 1 > cap)
		return -ENAMETOOLONG;
	if (*len == 0 || out[*len - 1] != '/')
		out[(*len)++] = '/';
	memcpy(out + *len, comp, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

int trkpath_from_names(char *out, size_t cap, const char *base, const char *names, size_t nlen)
{
	const char *comp[64];
	size_t ncomp = 0, len, i = 0;
	int rc;

	while (i < nlen) {
		const char *c = names + i;
		size_t n = strnlen(c, nlen - i);

		if (n == nlen - i || n == 0 || ncomp == 64 || memchr(c, '/', n))
			return -EINVAL;
		comp[ncomp++] = c;
		i += n + 1;
	}
	len = strlen(base);
	if (len + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, base, len + 1);
	while (ncomp > 0) {
		ncomp--;
		if ((rc = append(out, cap, &len, comp[ncomp], strlen(comp[ncomp]))) < 0)
			return rc;
	}
	return 0;
}

int trkpath_normalize(char *out, size_t cap, const char *base, const char *rel)
{
	const char *parts[2] = { rel[0] == '/' ? "" : base, rel };
	size_t len = 0;
	int rc;

	if (cap < 2)
		return -ENAMETOOLONG;
	out[0] = '\0';
	for (int k = 0; k < 2; k++) {
		const char *p = parts[k];

		while (*p) {
			const char *e = strchrnul(p, '/');
			size_t n = (size_t)(e - p);

			if (n == 0 || (n == 1 && p[0] == '.')) {
				/* skip */
			} else if (n == 2 && p[0] == '.' && p[1] == '.') {
				char *s = strrchr(out, '/');

				len = s ? (size_t)(s - out) : 0;
				out[len] = '\0';
			} else if ((rc = append(out, cap, &len, p, n)) < 0) {
				return rc;
			}
			p = *e ? e + 1 : e;
		}
	}
	if (len == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return 0;
}

int trkpath_root_of(char *const roots[], size_t nroots, const char *path)
{
	for (size_t i = 0; i < nroots; i++) {
		size_t n = strlen(roots[i]);

		if (n == 1 && roots[i][0] == '/')
			return (int)i;
		if (strncmp(path, roots[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return (int)i;
	}
	return -1;
}

void trkpath_dirname(char *out, size_t cap, const char *path)
{
	const char *s = strrchr(path, '/');
	size_t n = s ? (size_t)(s - path) : 0;

	if (cap == 0)
		return;
	if (n == 0) {
		snprintf(out, cap, "/");
		return;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

uint64_t trkpath_kdev(dev_t d)
{
	return ((uint64_t)major(d) << 20) | minor(d);
}
