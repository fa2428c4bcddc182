/* chash.c — sha256 and chunk-tree root of a stream in one pass. */
#include "common/chash.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/chunker.h"
#include "common/chunktree.h"

struct chash {
	unsigned what;
	uint64_t fed;
	EVP_MD_CTX *md;              /* CHASH_SHA256 */
	struct chunker *ck;          /* CHASH_TREE */
	struct ctree_builder *tb;    /* CHASH_TREE; NULL after a failed reset */
	bool md_ok;                  /* md initialised */
	int (*chunk_fn)(void *arg, const uint8_t sha[32], uint32_t len);
	void *chunk_arg;
};

struct chash *chash_new(unsigned what)
{
	struct chash *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->what = what & CHASH_BOTH;
	if (((h->what & CHASH_SHA256) && !(h->md = EVP_MD_CTX_new())) ||
	    ((h->what & CHASH_TREE) && !(h->ck = chunker_new()))) {
		chash_free(h);
		return NULL;
	}
	chash_reset(h);
	if (((h->what & CHASH_SHA256) && !h->md_ok) || ((h->what & CHASH_TREE) && !h->tb)) {
		chash_free(h);
		return NULL;
	}
	return h;
}

void chash_reset(struct chash *h)
{
	h->fed = 0;
	if (h->what & CHASH_SHA256)
		h->md_ok = EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) == 1;
	if (h->what & CHASH_TREE) {
		chunker_reset(h->ck);
		ctree_builder_free(h->tb);
		h->tb = ctree_builder_new(NULL, NULL);
	}
}

/* A live hash: everything asked for is set up. */
static bool ready(const struct chash *h)
{
	return (!(h->what & CHASH_SHA256) || h->md_ok) && (!(h->what & CHASH_TREE) || h->tb);
}

static int chash_chunk(void *arg, const uint8_t *p, size_t n)
{
	struct chash *h = arg;
	uint8_t d[32];
	int rc;

	if ((rc = ctree_sha256(p, n, d)) < 0)
		return rc;
	if (h->chunk_fn && (rc = h->chunk_fn(h->chunk_arg, d, (uint32_t)n)) < 0)
		return rc;
	return ctree_add(h->tb, d, (uint32_t)n);
}

int chash_feed(struct chash *h, const void *p, size_t n)
{
	if (!ready(h))
		return -ENOMEM;
	if (n == 0)
		return 0;
	h->fed += n;
	if ((h->what & CHASH_SHA256) && EVP_DigestUpdate(h->md, p, n) != 1)
		return -EIO;
	if (h->what & CHASH_TREE)
		return chunker_feed(h->ck, p, n, chash_chunk, h);
	return 0;
}

int chash_finish(struct chash *h, uint8_t sha256[32], uint8_t root[32], uint64_t *size)
{
	unsigned olen = 0;
	int rc;

	if (!ready(h))
		return -ENOMEM;
	memset(sha256, 0, 32);
	memset(root, 0, 32);
	*size = h->fed;
	if ((h->what & CHASH_SHA256) && EVP_DigestFinal_ex(h->md, sha256, &olen) != 1)
		return -EIO;
	if (!(h->what & CHASH_TREE))
		return 0;
	if ((rc = chunker_flush(h->ck, chash_chunk, h)) != 0)
		return rc;
	return ctree_finish(h->tb, root, size);
}

void chash_set_chunk_fn(struct chash *h, int (*fn)(void *arg, const uint8_t sha[32], uint32_t len),
			void *arg)
{
	h->chunk_fn = fn;
	h->chunk_arg = arg;
}

void chash_free(struct chash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->md);
	chunker_free(h->ck);
	ctree_builder_free(h->tb);
	free(h);
}
