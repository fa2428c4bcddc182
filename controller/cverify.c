/* cverify.c — fetched content against its version: sha256, or while that
 * is pending the XXH3-128 digest the server verified on upload, or else
 * the chunk-tree root. */
#include "controller/cverify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/chash.h"

#define IO_CHUNK (64 * 1024)

struct cverify {
	enum cverify_by by;
	uint8_t want[32];          /* sha256, digest (16) or tree root */
	uint64_t size;
	struct chash *h;           /* only what is checked */
};

static const uint8_t zero[32];

bool cverify_sha_pending(const struct vg_entry *e)
{
	return e->type == VG_FILE && !e->deleted && !memcmp(e->sha256, zero, 32);
}

enum cverify_by cverify_by(const struct vg_entry *e)
{
	if (!cverify_sha_pending(e))
		return CVERIFY_SHA256;
	return memcmp(e->digest, zero, sizeof(e->digest)) ? CVERIFY_DIGEST : CVERIFY_ROOT;
}

struct cverify *cverify_new(const struct vg_entry *e)
{
	static const unsigned what[] = {
		[CVERIFY_SHA256] = CHASH_SHA256, [CVERIFY_DIGEST] = CHASH_DIGEST,
		[CVERIFY_ROOT] = CHASH_TREE,
	};
	struct cverify *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->by = cverify_by(e);
	v->size = e->size;
	if (v->by == CVERIFY_DIGEST)
		memcpy(v->want, e->digest, sizeof(e->digest));
	else
		memcpy(v->want, v->by == CVERIFY_ROOT ? e->tree_root : e->sha256, 32);
	if (!(v->h = chash_new(what[v->by]))) {
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
	uint8_t sha[32], root[32], d[CHASH_DIGEST_LEN];
	const uint8_t *got = v->by == CVERIFY_ROOT ? root : sha;
	size_t n = 32;
	uint64_t size = 0;
	int r;

	if ((r = chash_finish(v->h, sha, root, &size)) < 0)
		return r;
	if (v->by == CVERIFY_DIGEST) {
		chash_digest(v->h, d);
		got = d;
		n = sizeof(d);
	}
	if (size != v->size || memcmp(got, v->want, n))
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
