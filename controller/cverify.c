/* cverify.c — fetched content against its version: sha256 or chunk-tree root. */
#include "controller/cverify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/chash.h"

#define IO_CHUNK (64 * 1024)

struct cverify {
	bool by_root;
	uint8_t want[32];          /* sha256, or tree root */
	uint64_t size;
	struct chash *h;           /* only what is checked */
};

bool cverify_sha_pending(const struct vg_entry *e)
{
	static const uint8_t zero[32];

	return e->type == VG_FILE && !e->deleted && !memcmp(e->sha256, zero, 32);
}

struct cverify *cverify_new(const struct vg_entry *e)
{
	struct cverify *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->by_root = cverify_sha_pending(e);
	v->size = e->size;
	memcpy(v->want, v->by_root ? e->tree_root : e->sha256, 32);
	if (!(v->h = chash_new(v->by_root ? CHASH_TREE : CHASH_SHA256))) {
		free(v);
		return NULL;
	}
	return v;
}

int cverify_feed(struct cverify *v, const void *p, size_t n)
{
	return chash_feed(v->h, p, n);
}

int cverify_finish(struct cverify *v)
{
	uint8_t sha[32], root[32];
	uint64_t size = 0;
	int r;

	if ((r = chash_finish(v->h, sha, root, &size)) < 0)
		return r;
	if (size != v->size || memcmp(v->by_root ? root : sha, v->want, 32))
		return -EBADMSG;
	return 0;
}

void cverify_free(struct cverify *v)
{
	if (!v)
		return;
	chash_free(v->h);
	free(v);
}

int cverify_file(int dirfd, const char *name, const struct vg_entry *e)
{
	struct cverify *v = cverify_new(e);
	uint8_t *buf = malloc(IO_CHUNK);
	int fd = -1, r = 0;
	ssize_t n;

	if (!v || !buf) {
		r = -ENOMEM;
		goto out;
	}
	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = -errno;
		goto out;
	}
	while (r == 0 && (n = read(fd, buf, IO_CHUNK)) != 0) {
		if (n < 0) {
			if (errno != EINTR)
				r = -errno;
			continue;
		}
		r = cverify_feed(v, buf, (size_t)n);
	}
	if (r == 0)
		r = cverify_finish(v);
out:
	if (fd >= 0)
		close(fd);
	cverify_free(v);
	free(buf);
	return r;
}
