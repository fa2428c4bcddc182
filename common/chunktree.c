/* chunktree.c — streaming builder and hostile-safe decoder of chunk-tree pages.
 *
 * Each level keeps one open page, encoded in place.  Pages close lazily: an
 * entry that satisfies the boundary rule only marks its page; the page is
 * closed (hashed, handed to put_page, and entered one level up) when the
 * next entry arrives, or at finish.  So at finish the lowest level that
 * never closed a page holds exactly the root, and no level above it exists:
 * the tree is canonical without a special case for a one-entry top page. */
#include "common/chunktree.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/byteorder.h"
#include "common/chunker.h"

struct ct_level {
	size_t n;              /* entries in the open page */
	bool cut_pending;      /* the last entry ends the page */
	uint64_t closed;       /* pages closed at this level so far */
	uint64_t bytes;        /* content bytes below the open page */
	uint8_t page[CTREE_PAGE_BYTES_MAX];
};

struct ctree_builder {
	ctree_put_page_fn put_page;
	void *arg;
	uint64_t total;
	int err;               /* first error; latched */
	struct ct_level *lv[CTREE_LEVELS_MAX];
};

static size_t entry_size(int level)
{
	return level == 0 ? CTREE_LEAF_ENTRY : CTREE_INNER_ENTRY;
}

static bool is_boundary(const uint8_t hash[32])
{
	return be32_get(hash) % CTREE_FANOUT == 0;
}

int ctree_sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int olen = 0;

	if (EVP_Digest(p, n, out, &olen, EVP_sha256(), NULL) != 1 || olen != 32)
		return -EIO;
	return 0;
}

int ctree_empty_root(uint8_t root[32])
{
	uint8_t page[CTREE_HDR] = { CTREE_VERSION, 0, 0, 0, 0, 0 };

	return ctree_sha256(page, sizeof(page), root);
}

struct ctree_builder *ctree_builder_new(ctree_put_page_fn put_page, void *arg)
{
	struct ctree_builder *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->put_page = put_page;
	b->arg = arg;
	return b;
}

void ctree_builder_free(struct ctree_builder *b)
{
	int i;

	if (!b)
		return;
	for (i = 0; i < CTREE_LEVELS_MAX; i++)
		free(b->lv[i]);
	free(b);
}

static struct ct_level *level_get(struct ctree_builder *b, int level)
{
	if (level >= CTREE_LEVELS_MAX) {
		errno = EFBIG;
		return NULL;
	}
	if (!b->lv[level])
		b->lv[level] = calloc(1, sizeof(struct ct_level));
	return b->lv[level];
}

/* Encodes the open page's header, hashes it and hands it to put_page. */
static int page_emit(struct ctree_builder *b, int level, uint8_t hash[32])
{
	struct ct_level *lv = b->lv[level];
	size_t len = CTREE_HDR + lv->n * entry_size(level);
	int r;

	lv->page[0] = CTREE_VERSION;
	lv->page[1] = (uint8_t)level;
	be32_put(lv->page + 2, (uint32_t)lv->n);
	if ((r = ctree_sha256(lv->page, len, hash)) < 0)
		return r;
	if (b->put_page && (r = b->put_page(b->arg, hash, lv->page, len)) != 0)
		return r;
	return 0;
}

static int level_add(struct ctree_builder *b, int level, const uint8_t hash[32], uint64_t len);

/* Closes the open page of a level and enters it one level up. */
static int level_close(struct ctree_builder *b, int level)
{
	struct ct_level *lv = b->lv[level];
	uint8_t hash[32];
	uint64_t bytes = lv->bytes;
	int r;

	if ((r = page_emit(b, level, hash)) < 0)
		return r;
	lv->closed++;
	lv->n = 0;
	lv->bytes = 0;
	lv->cut_pending = false;
	return level_add(b, level + 1, hash, bytes);
}

static int level_add(struct ctree_builder *b, int level, const uint8_t hash[32], uint64_t len)
{
	struct ct_level *lv = level_get(b, level);
	uint8_t *e;
	int r;

	if (!lv)
		return -errno;
	if ((lv->cut_pending || lv->n == CTREE_PAGE_MAX) && (r = level_close(b, level)) < 0)
		return r;
	e = lv->page + CTREE_HDR + lv->n * entry_size(level);
	memcpy(e, hash, 32);
	if (level == 0)
		be32_put(e + 32, (uint32_t)len);
	else
		be64_put(e + 32, len);
	lv->n++;
	lv->bytes += len;
	/* at least two entries per page: each level shrinks, so the tree ends */
	lv->cut_pending = lv->n >= 2 && is_boundary(hash);
	return 0;
}

int ctree_add(struct ctree_builder *b, const uint8_t chunk_sha256[32], uint32_t len)
{
	if (b->err)
		return b->err;
	if (len == 0 || len > CHUNK_MAX || b->total + len < b->total)
		return -EINVAL;
	b->err = level_add(b, 0, chunk_sha256, len);
	if (!b->err)
		b->total += len;
	return b->err;
}

/* Entries a page of identical entries holds when it closes. */
static uint64_t run_page(const uint8_t hash[32])
{
	return is_boundary(hash) ? 2 : CTREE_PAGE_MAX;
}

static bool page_full(const struct ct_level *lv)
{
	return lv->cut_pending || lv->n == CTREE_PAGE_MAX;
}

/* count copies of one entry at a level.  Once the open page is full, the
 * pages that follow are alike (P entries each): one is built and hashed,
 * and its hash goes one level up as a run of its own.  The last page of
 * the run stays open, as lazy closing leaves it after single adds. */
static int level_run(struct ctree_builder *b, int level, const uint8_t hash[32], uint64_t len,
		     uint64_t count)
{
	struct ct_level *lv = level_get(b, level);
	uint64_t P = run_page(hash), k, i;
	uint8_t ph[32];
	int r;

	if (!lv)
		return -errno;
	for (; count > 0 && !page_full(lv); count--)
		if ((r = level_add(b, level, hash, len)) < 0)
			return r;
	k = count ? (count - 1) / P : 0;   /* whole pages closed before the run's last */
	if (k > 0) {
		if ((r = level_close(b, level)) < 0)
			return r;
		for (i = 0; i < P; i++)
			if ((r = level_add(b, level, hash, len)) < 0)
				return r;
		if ((r = page_emit(b, level, ph)) < 0)
			return r;
		lv->closed += k;
		lv->n = 0;
		lv->bytes = 0;
		lv->cut_pending = false;
		if ((r = level_run(b, level + 1, ph, P * len, k)) < 0)
			return r;
		count -= k * P;
	}
	for (; count > 0; count--)
		if ((r = level_add(b, level, hash, len)) < 0)
			return r;
	return 0;
}

int ctree_add_run(struct ctree_builder *b, const uint8_t chunk_sha256[32], uint32_t len,
		  uint64_t count)
{
	if (b->err)
		return b->err;
	if (len == 0 || len > CHUNK_MAX || count > (UINT64_MAX - b->total) / len)
		return -EINVAL;
	if (count == 0)
		return 0;
	b->err = level_run(b, 0, chunk_sha256, len, count);
	if (!b->err)
		b->total += count * len;
	return b->err;
}

/* A replay of the subtree's entries would first close each full page of
 * the levels it spans (a page closes when the next entry for it comes);
 * closing them now gives the same pages.  Then, if every level up to the
 * subtree's is empty, the replay would build exactly the subtree's pages
 * and enter its top page one level up: that entry is added directly.  The
 * replay would leave the subtree's last pages open (closed by the next
 * entry or at the end); here those levels stay empty with pages closed,
 * which ctree_finish skips. */
int ctree_add_subtree(struct ctree_builder *b, int level, const uint8_t hash[32], uint64_t bytes)
{
	struct ct_level *lv;
	int l;

	if (b->err)
		return b->err;
	if (level < 0 || level + 1 >= CTREE_LEVELS_MAX || bytes == 0 || b->total + bytes < b->total)
		return -EINVAL;
	for (l = 0; l <= level; l++) {
		if (!(lv = b->lv[l]))
			return -EAGAIN;
		if (page_full(lv) && (b->err = level_close(b, l)) < 0)
			return b->err;
		if (lv->n != 0)
			return -EAGAIN;
	}
	if ((b->err = level_add(b, level + 1, hash, bytes)) < 0)
		return b->err;
	b->total += bytes;
	return 0;
}

int ctree_finish(struct ctree_builder *b, uint8_t root[32], uint64_t *size)
{
	struct ct_level *lv;
	int level, r;

	if (b->err)
		return b->err;
	for (level = 0; level < CTREE_LEVELS_MAX; level++) {
		if (!(lv = level_get(b, level))) {
			r = -errno;
			goto out;
		}
		if (lv->closed == 0) {
			/* the only page of the lowest one-page level: the root */
			if ((r = page_emit(b, level, root)) < 0)
				goto out;
			*size = b->total;
			b->err = -EALREADY;   /* the builder is done */
			return 0;
		}
		/* lazy closing leaves the open page non-empty once one closed,
		 * unless a subtree was added above it (ctree_add_subtree) */
		if (lv->n == 0)
			continue;
		if ((r = level_close(b, level)) < 0)
			goto out;
	}
	r = -EFBIG;
out:
	b->err = r;
	return r;
}

int ctree_page_decode(const uint8_t *p, size_t len, struct ctree_page *out)
{
	size_t n, i, esz;
	const uint8_t *e;
	int level;

	memset(out, 0, sizeof(*out));
	if (!p || len < CTREE_HDR || p[0] != CTREE_VERSION || p[1] >= CTREE_LEVELS_MAX)
		return -EBADMSG;
	level = p[1];
	n = be32_get(p + 2);
	esz = entry_size(level);
	if (n > CTREE_PAGE_MAX || len != CTREE_HDR + n * esz || (n == 0 && level != 0))
		return -EBADMSG;
	out->e = calloc(n ? n : 1, sizeof(*out->e));
	if (!out->e)
		return -ENOMEM;
	for (i = 0, e = p + CTREE_HDR; i < n; i++, e += esz) {
		memcpy(out->e[i].hash, e, 32);
		out->e[i].len = level == 0 ? be32_get(e + 32) : be64_get(e + 32);
		if (out->e[i].len == 0 || (level == 0 && out->e[i].len > CHUNK_MAX)) {
			ctree_page_release(out);
			return -EBADMSG;
		}
	}
	out->level = level;
	out->n = n;
	return 0;
}

void ctree_page_release(struct ctree_page *pg)
{
	if (!pg)
		return;
	free(pg->e);
	pg->e = NULL;
	pg->n = 0;
}
