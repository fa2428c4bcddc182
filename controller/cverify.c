/* cverify.c — fetched content against its version: sha256 or chunk-tree root. */
#include "controller/cverify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/chunker.h"
#include "common/chunktree.h"

#define IO_CHUNK (64 * 1024)

struct cverify {
	bool by_root;
	uint8_t want[32];          /* sha256, or tree root */
	uint64_t size, got;
	EVP_MD_CTX *md;            /* by sha256 */
	struct chunker *ck;        /* by tree root */
	struct ctree_builder *tb;
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
	if (v->by_root) {
		v->ck = chunker_new();
		v->tb = ctree_builder_new(NULL, NULL);
		if (v->ck && v->tb)
			return v;
	} else {
		v->md = EVP_MD_CTX_new();
		if (v->md && EVP_DigestInit_ex(v->md, EVP_sha256(), NULL) == 1)
			return v;
	}
	cverify_free(v);
	return NULL;
}

static int add_chunk(void *arg, const uint8_t *p, size_t n)
{
	struct cverify *v = arg;
	uint8_t h[32];
	int r;

	if ((r = ctree_sha256(p, n, h)) < 0)
		return r;
	return ctree_add(v->tb, h, (uint32_t)n);
}

int cverify_feed(struct cverify *v, const void *p, size_t n)
{
	v->got += n;
	if (v->by_root)
		return chunker_feed(v->ck, p, n, add_chunk, v);
	return EVP_DigestUpdate(v->md, p, n) == 1 ? 0 : -EIO;
}

int cverify_finish(struct cverify *v)
{
	uint8_t h[32];
	uint64_t size = 0;
	int r;

	if (v->by_root) {
		if ((r = chunker_flush(v->ck, add_chunk, v)) < 0 ||
		    (r = ctree_finish(v->tb, h, &size)) < 0)
			return r;
	} else if (EVP_DigestFinal_ex(v->md, h, NULL) != 1) {
		return -EIO;
	}
	if (v->got != v->size || (v->by_root && size != v->size) || memcmp(h, v->want, 32))
		return -EBADMSG;
	return 0;
}

void cverify_free(struct cverify *v)
{
	if (!v)
		return;
	EVP_MD_CTX_free(v->md);
	chunker_free(v->ck);
	ctree_builder_free(v->tb);
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
