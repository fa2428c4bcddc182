/* xattrs.c — capturing a path's extended attributes for shipping. */
#include "daemon/xattrs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/xattr.h>

#include "common/log.h"
#include "common/xattrs.h"
#include "daemon/threadcaps.h"

#define LIST_MAX (64 * 1024)   /* Linux XATTR_LIST_MAX */

/* Where the attributes are read: an open fd (>= 0), else path itself. */
struct xsrc {
	int fd;
	const char *path;
};

static ssize_t src_list(const struct xsrc *x, char *b, size_t n)
{
	return x->fd >= 0 ? flistxattr(x->fd, b, n) : llistxattr(x->path, b, n);
}

static ssize_t src_get(const struct xsrc *x, const char *name, void *v, size_t n)
{
	return x->fd >= 0 ? fgetxattr(x->fd, name, v, n) : lgetxattr(x->path, name, v, n);
}

/* The name list of x (NUL-separated) in a new buffer; *n its bytes. */
static int list_names(const struct xsrc *x, char **out, size_t *n)
{
	char *b = NULL;
	ssize_t want, got;

	for (int tries = 0; tries < 4; tries++) {
		if ((want = src_list(x, NULL, 0)) < 0)
			return errno == ENOTSUP ? 0 : -errno;
		if (want == 0)
			return 0;
		if (want > LIST_MAX)
			want = LIST_MAX;
		free(b);
		if (!(b = malloc((size_t)want)))
			return -ENOMEM;
		got = src_list(x, b, (size_t)want);
		if (got >= 0) {
			*out = b;
			*n = (size_t)got;
			return 0;
		}
		if (errno != ERANGE)
			break;   /* ERANGE: names were added meanwhile; again */
	}
	got = errno == ERANGE ? -E2BIG : -errno;
	free(b);
	return (int)got;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits the list into a sorted array of names (pointing into list). */
static int sorted_names(char *list, size_t n, char ***out, size_t *count)
{
	size_t k = 0, i;
	char **v;

	for (i = 0; i < n; i++)
		k += list[i] == '\0';
	if (n && list[n - 1] != '\0')
		return -EBADMSG;
	if (!(v = calloc(k ? k : 1, sizeof(*v))))
		return -ENOMEM;
	k = 0;
	for (i = 0; i < n; i += strlen(list + i) + 1)
		if (list[i])
			v[k++] = list + i;
	qsort(v, k, sizeof(*v), by_name);
	*out = v;
	*count = k;
	return 0;
}

static int fill(struct vg_entry *e, const struct xsrc *x, unsigned *skipped)
{
	const char *path = x->path;
	char *list = NULL, **names = NULL;
	uint8_t *val = NULL;
	size_t n = 0, count = 0;
	unsigned skip = 0;
	int rc;

	e->xattr_len = 0;
	if (skipped)
		*skipped = 0;
	if ((rc = list_names(x, &list, &n)) < 0 || n == 0)
		goto out;
	if ((rc = sorted_names(list, n, &names, &count)) < 0 || !(val = malloc(VG_XATTR_MAX))) {
		rc = rc < 0 ? rc : -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		size_t nl = strlen(names[i]);
		ssize_t vl = src_get(x, names[i], val, VG_XATTR_MAX);

		if (vl < 0 && (errno == ENODATA || errno == ENOTSUP))
			continue;   /* removed meanwhile */
		if (vl < 0 && errno != ERANGE) {
			rc = -errno;
			goto out;
		}
		if (vl < 0 || xattr_append(e->xattrs, VG_XATTR_MAX, &e->xattr_len, names[i], nl,
					   val, (size_t)vl) < 0)
			skip++;   /* larger than what is left of VG_XATTR_MAX */
	}
	if (skip)
		log_warnx("%s: %u extended attribute(s) left out (more than %d bytes in all)",
			  path, skip, VG_XATTR_MAX);
	rc = 0;
out:
	if (rc < 0)
		e->xattr_len = 0;
	if (skipped)
		*skipped = skip;
	free(list);
	free(names);
	free(val);
	return rc;
}

int xattrs_fill(struct vg_entry *e, const char *path, unsigned *skipped)
{
	return xattrs_fill_fd(e, -1, path, skipped);
}

int xattrs_fill_fd(struct vg_entry *e, int fd, const char *path, unsigned *skipped)
{
	struct xsrc x = { .fd = fd, .path = path };
	int raised = threadcaps_raise(CAP_SYS_ADMIN);   /* trusted.* attributes */
	int rc = fill(e, &x, skipped);

	threadcaps_lower(raised);
	return rc;
}

bool xattrs_present(const char *path)
{
	int raised = threadcaps_raise(CAP_SYS_ADMIN);   /* trusted.* names */
	ssize_t n = llistxattr(path, NULL, 0);
	int e = errno;

	threadcaps_lower(raised);
	errno = e;
	return n > 0 || (n < 0 && errno != ENOTSUP && errno != ENOENT);
}
