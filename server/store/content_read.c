/* content_read.c — random-access reads of a version through its chunk tree.
 *
 * A read descends from the root page to the leaf entry covering the offset
 * (binary search over each page's running byte totals), then fetches that
 * chunk.  Decoded pages live in a small LRU cache and the last chunk is
 * kept, so sequential reads touch the store once per chunk; where the next
 * chunks lie is found for up to VR_LOCS entries of the leaf at once: after
 * a jump a few, by the index in one store_locate; for a sequential reader
 * the first by the index and the records that follow it in its pack,
 * read in the same pread, by their headers (loc_predict).  Every page and chunk is checked against
 * the hash that names it before use; a verified reader
 * (vreader_set_verified: its caller checks the whole content against the
 * version's sha256 or tree root) checks each chunk's record by its CRC-32
 * instead.  A chunk that lies wholly inside the caller's buffer is decoded
 * straight into it; only one cut by the buffer's ends passes through the
 * reader's own chunk buffer. */
#include "server/store/content_int.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/chunker.h"
#include "common/chunktree.h"

#include <openssl/evp.h>

#define VR_PAGES  48
#define VR_LOCS   64   /* chunk locations looked up ahead of a sequential reader */
#define VR_LOCS_RANDOM 4  /* ... and of a jump */
#define VR_SPAN   (256 * 1024)  /* records read back to back in one pread at most */

struct vpage {
	uint8_t hash[32];
	struct ctree_page pg;
	uint64_t *start;    /* n+1 running totals: entry i covers [start[i], start[i+1]) */
	uint64_t used;      /* LRU tick; 0: slot empty */
};

struct vreader {
	struct store *st;
	struct devkey key;
	struct content_ref ref;
	struct vpage cache[VR_PAGES];
	uint64_t tick;
	uint8_t *pagebuf;            /* CTREE_PAGE_BYTES_MAX */
	uint8_t *chunk;              /* grown to the largest chunk loaded */
	size_t chunkcap;
	struct vchunk cur;           /* chunk in 'chunk', valid when have_chunk */
	bool have_chunk;
	uint8_t leaf[32];            /* leaf page of the last vreader_chunk_at, */
	size_t leaf_i;               /* ... and its entry */
	/* located chunks from the leaf onwards: hash, store id, place */
	uint8_t loc_sha[VR_LOCS][32], loc_id[VR_LOCS][STORE_ID_LEN];
	struct store_loc loc[VR_LOCS];
	size_t nlocs;
	uint64_t next_start;         /* where a sequential reader's next chunk starts */
	/* records read ahead in one pread: [span_off, span_off + span_len) of span_pack */
	uint8_t *span;               /* VR_SPAN, allocated by the first span read */
	uint32_t span_pack;
	uint64_t span_off;
	size_t span_len;
	EVP_MD_CTX *md;              /* sha256 of each chunk, reused */
	struct store_idmac *mac;     /* chunk and page ids: one HMAC context, reused */
	bool verified;               /* records by CRC-32, not chunks by sha256 */
	struct vreader_counts counts;
	struct store_pin pin;        /* the root, for a running sweep (store.h) */
};

const struct content_ref *vreader_ref(const struct vreader *vr) { return &vr->ref; }
uint64_t vreader_size(const struct vreader *vr) { return vr->ref.size; }
void vreader_set_verified(struct vreader *vr, bool on) { vr->verified = on; }
void vreader_get_counts(const struct vreader *vr, struct vreader_counts *out) { *out = vr->counts; }

static void vpage_clear(struct vpage *p)
{
	ctree_page_release(&p->pg);
	free(p->start);
	memset(p, 0, sizeof(*p));
}

void vreader_free(struct vreader *vr)
{
	int i;

	if (!vr)
		return;
	store_unpin(vr->st, &vr->pin);
	for (i = 0; i < VR_PAGES; i++)
		vpage_clear(&vr->cache[i]);
	free(vr->pagebuf);
	free(vr->chunk);
	free(vr->span);
	EVP_MD_CTX_free(vr->md);
	store_idmac_free(vr->mac);
	free(vr);
}

/* Fills p from the decoded page: running totals, sanity of lengths. */
static int vpage_index(struct vpage *p)
{
	size_t i;

	p->start = malloc((p->pg.n + 1) * sizeof(*p->start));
	if (!p->start)
		return -ENOMEM;
	p->start[0] = 0;
	for (i = 0; i < p->pg.n; i++) {
		uint64_t l = p->pg.e[i].len;

		if (l == 0 || l > CONTENT_SIZE_MAX || p->start[i] > CONTENT_SIZE_MAX - l ||
		    (p->pg.level == 0 && l > STORE_CHUNK_MAX))
			return -EBADMSG;
		p->start[i + 1] = p->start[i] + l;
	}
	return 0;
}

static struct vpage *page_get(struct vreader *vr, const uint8_t hash[32], int *err)
{
	struct vpage *p, *victim = &vr->cache[0];
	uint8_t id[STORE_ID_LEN], h[32];
	size_t n;
	int i, r;

	for (i = 0; i < VR_PAGES; i++) {
		p = &vr->cache[i];
		if (p->used && !memcmp(p->hash, hash, 32)) {
			p->used = ++vr->tick;
			return p;
		}
		if (p->used < victim->used)
			victim = p;
	}
	vpage_clear(victim);
	r = store_idmac(vr->mac, hash, id);
	if (r == 0)
		r = store_get(vr->st, id, vr->pagebuf, CTREE_PAGE_BYTES_MAX, &n);
	if (r == -EMSGSIZE)
		r = -EBADMSG;
	if (r == 0 && ((r = content_sha256_of(vr->pagebuf, n, h)) == 0) && memcmp(h, hash, 32))
		r = -EIO;
	if (r == 0 && (r = ctree_page_decode(vr->pagebuf, n, &victim->pg)) == 0)
		r = vpage_index(victim);
	if (r < 0) {
		vpage_clear(victim);
		*err = r;
		return NULL;
	}
	memcpy(victim->hash, hash, 32);
	victim->used = ++vr->tick;
	return victim;
}

/* Index of the entry of p covering rel (< total), by binary search. */
static size_t page_find(const struct vpage *p, uint64_t rel)
{
	size_t lo = 0, hi = p->pg.n;   /* start[lo] <= rel < start[hi] */

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->start[mid] <= rel)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Where a descent of the tree stands: the page named hash covers
 * [base, base + want) of the content, one level below `level` (-1: the
 * root, whose level is its own). */
struct descent {
	uint8_t hash[32];
	uint64_t base, want;
	int level;
};

static void descent_init(const struct vreader *vr, struct descent *d)
{
	memcpy(d->hash, vr->ref.root, 32);
	d->base = 0;
	d->want = vr->ref.size;
	d->level = -1;
}

/* The page d names, checked against its parent: it must hold exactly the
 * bytes its parent says, one level down.  NULL with *err on failure;
 * d->level becomes the page's. */
static struct vpage *descend_page(struct vreader *vr, struct descent *d, int *err)
{
	struct vpage *p = page_get(vr, d->hash, err);

	if (!p)
		return NULL;
	if (p->pg.n == 0 || p->start[p->pg.n] != d->want ||
	    (d->level >= 0 && p->pg.level != d->level - 1)) {
		*err = -EBADMSG;
		return NULL;
	}
	d->level = p->pg.level;
	return p;
}

/* d moves down into entry i of p (the page it named). */
static void descend_into(struct descent *d, const struct vpage *p, size_t i)
{
	d->base += p->start[i];
	d->want = p->pg.e[i].len;
	memcpy(d->hash, p->pg.e[i].hash, 32);
}

int vreader_chunk_at(struct vreader *vr, uint64_t off, struct vchunk *c)
{
	struct descent d;
	int depth, r = 0;

	if (off >= vr->ref.size)
		return -EINVAL;
	if (vr->have_chunk && off >= vr->cur.start && off - vr->cur.start < vr->cur.len) {
		*c = vr->cur;
		return 0;
	}
	descent_init(vr, &d);
	for (depth = 0; depth <= CTREE_LEVELS_MAX; depth++) {
		struct vpage *p = descend_page(vr, &d, &r);
		size_t i;

		if (!p)
			return r;
		i = page_find(p, off - d.base);
		if (d.level == 0) {
			memcpy(vr->leaf, d.hash, 32);
			vr->leaf_i = i;
			c->start = d.base + p->start[i];
			c->len = (uint32_t)p->pg.e[i].len;
			memcpy(c->sha, p->pg.e[i].hash, 32);
			c->last = c->start + c->len == vr->ref.size;
			return 0;
		}
		descend_into(&d, p, i);
	}
	return -EBADMSG;
}

int vreader_subtrees_at(struct vreader *vr, uint64_t off, uint64_t len, struct vsubtree *out)
{
	struct descent d;
	int n = 0, r = 0;

	if (off >= vr->ref.size)
		return -EINVAL;
	descent_init(vr, &d);
	for (int depth = 0; depth <= CTREE_LEVELS_MAX; depth++) {
		struct vpage *p = descend_page(vr, &d, &r);

		if (!p)
			return r;
		if (d.level == 0)
			return n;
		descend_into(&d, p, page_find(p, off - d.base));
		if (d.base == off && d.want <= len && off + d.want < vr->ref.size &&
		    n < VSUBTREE_MAX) {
			out[n].level = d.level - 1;
			memcpy(out[n].hash, d.hash, 32);
			out[n].start = d.base;
			out[n].bytes = d.want;
			n++;
		}
		if (d.level == 1)
			return n;   /* the leaf page below is not needed: never read it */
	}
	return -EBADMSG;
}

/* The root is pinned while the reader lives: a sweep keeps its tree, or,
 * when the version was dropped and is being swept, -ENOENT now rather
 * than a chunk missing later (docs/store-format.md, "Readers"). */
static int root_pin(struct vreader *vr)
{
	uint8_t id[STORE_ID_LEN];
	int r = store_idmac(vr->mac, vr->ref.root, id);

	return r < 0 ? r : store_pin(vr->st, &vr->pin, &vr->key, vr->ref.root, id, vr->ref.size);
}

int vreader_open(struct store *st, const struct devkey *key, const struct content_ref *ref,
		 struct vreader **out)
{
	struct vreader *vr = calloc(1, sizeof(*vr));
	struct vchunk c;
	int r = -ENOMEM;

	*out = NULL;
	if (!vr)
		return -ENOMEM;
	vr->st = st;
	vr->key = *key;
	vr->ref = *ref;
	vr->pagebuf = malloc(CTREE_PAGE_BYTES_MAX);
	/* HMAC() would look HMAC and SHA-256 up again for every chunk's id:
	 * four times the cost of one context reused (docs/performance.md) */
	vr->mac = store_idmac_new(key);
	if (!vr->pagebuf || !vr->mac)
		goto fail;
	if (ref->size > CONTENT_SIZE_MAX) {
		r = -EBADMSG;
		goto fail;
	}
	if (ref->size > 0 && (r = root_pin(vr)) < 0)
		goto fail;
	if (ref->size > 0 && (r = vreader_chunk_at(vr, 0, &c)) < 0)
		goto fail;
	if (ref->size == 0) {
		uint8_t empty[32];

		if ((r = ctree_empty_root(empty)) < 0)
			goto fail;
		if (memcmp(empty, ref->root, 32)) {
			r = -ENOENT;
			goto fail;
		}
	}
	*out = vr;
	return 0;
fail:
	vreader_free(vr);
	return r;
}

/* Index of sha among the located chunks, or -1. */
static int loc_find(const struct vreader *vr, const uint8_t sha[32])
{
	size_t i;

	for (i = 0; i < vr->nlocs; i++)
		if (!memcmp(vr->loc_sha[i], sha, 32))
			return (int)i;
	return -1;
}

/* The most bytes on disk the record of the leaf entry leaf_i + i takes. */
static size_t entry_max(const struct vreader *vr, const struct vpage *p, size_t i)
{
	size_t e = vr->leaf_i + i;

	return store_rec_max(p->start[e + 1] - p->start[e]);
}

/* Whether the record at span offset at (got bytes read) is the leaf's
 * entry leaf_i + i: then loc[i] holds its place.  1, 0 or -errno. */
static int rec_next(struct vreader *vr, const struct vpage *p, size_t i, uint64_t at, size_t got)
{
	size_t e = vr->leaf_i + i;
	struct store_loc *l = &vr->loc[i];
	int r;

	memcpy(vr->loc_sha[i], p->pg.e[e].hash, 32);
	if ((r = store_idmac(vr->mac, vr->loc_sha[i], vr->loc_id[i])) < 0)
		return r;
	if (at >= got || !store_rec_named(vr->st, vr->span + at, got - at, vr->loc_id[i],
					  (uint32_t)(p->start[e + 1] - p->start[e]), l))
		return 0;
	l->pack = vr->loc[0].pack;
	l->off = vr->loc[0].off + at;
	return 1;
}

/* A sequential reader's next chunks without the index: one upload stored
 * a file's chunks as records back to back, so the span read from the
 * record of entry leaf_i (located, loc[0]) is walked header by header
 * while each names the leaf's next entry, with its length.  What is
 * decoded from such a place is checked as any record (CRC-32 or sha256),
 * and a chunk that fails there is located by the index (chunk_relocate):
 * the index stays the authority, the span only saves its lookups
 * (docs/store-format.md, "Readers").  Sets nlocs.  0 or -errno. */
static int loc_predict(struct vreader *vr, const struct vpage *p, size_t n)
{
	const struct store_loc *l0 = &vr->loc[0];
	size_t i, want = 0, first;
	ssize_t got, more;
	uint64_t at;
	int r;

	vr->nlocs = 1;
	if (n < 2)
		return 0;
	/* no further than the n records could reach: a small file's read
	 * stays small */
	for (i = 0; i < n && want < VR_SPAN; i++)
		want += entry_max(vr, p, i);
	want = want < VR_SPAN ? want : VR_SPAN;
	/* first the two records, and the rest only when the second follows
	 * the first: content whose chunks lie apart costs a short read per
	 * chunk, not VR_SPAN */
	first = entry_max(vr, p, 0) + entry_max(vr, p, 1);
	first = first < want ? first : want;
	if (!vr->span && !(vr->span = malloc(VR_SPAN)))
		return -ENOMEM;
	/* a pack gone meanwhile: loc[0] is read alone, and located again */
	if ((got = store_read_upto(vr->st, l0->pack, l0->off, first, vr->span)) <= 0)
		return 0;
	vr->span_pack = l0->pack;
	vr->span_off = l0->off;
	vr->span_len = (size_t)got;
	at = store_rec_bytes(l0);
	if ((r = rec_next(vr, p, 1, at, (size_t)got)) <= 0)
		return r;
	if ((size_t)got == first && first < want &&
	    (more = store_read_upto(vr->st, l0->pack, l0->off + first, want - first,
				    vr->span + first)) > 0)
		vr->span_len = (size_t)(got += more);
	for (i = 1;;) {
		at += store_rec_bytes(&vr->loc[i]);
		if (++i >= n || (r = rec_next(vr, p, i, at, (size_t)got)) == 0)
			break;
		if (r < 0)
			return r;
	}
	vr->nlocs = i;
	return 0;
}

/* Locates the chunks of the last leaf from its entry onwards: for a
 * sequential reader the first by the index and the ones after it that
 * follow it in its pack (loc_predict), after a jump a few, by the index
 * in one store round. */
static int loc_fill(struct vreader *vr, bool sequential)
{
	struct vpage *p;
	size_t i, n;
	int r = 0;

	vr->nlocs = 0;
	vr->span_len = 0;   /* loc[] is replaced: the span is only used through it */
	if (!(p = page_get(vr, vr->leaf, &r)))
		return r;
	if (p->pg.level != 0 || vr->leaf_i >= p->pg.n)
		return -EBADMSG;
	n = p->pg.n - vr->leaf_i;
	if (n > (sequential ? VR_LOCS : VR_LOCS_RANDOM))
		n = sequential ? VR_LOCS : VR_LOCS_RANDOM;
	for (i = 0; i < (sequential ? 1 : n); i++) {
		memcpy(vr->loc_sha[i], p->pg.e[vr->leaf_i + i].hash, 32);
		if ((r = store_idmac(vr->mac, vr->loc_sha[i], vr->loc_id[i])) < 0)
			return r;
	}
	if ((r = store_locate(vr->st, (const uint8_t (*)[STORE_ID_LEN])vr->loc_id, i, vr->loc)) < 0)
		return r;
	vr->counts.lookups += i;
	vr->nlocs = i;
	if (sequential && vr->loc[0].found)
		return loc_predict(vr, p, n);
	return 0;
}

/* Room in vr->chunk for a chunk of len bytes (at most STORE_CHUNK_MAX: a
 * longer one fails to load anyway).  A reader of small files does not take
 * a megabyte.  0 or -ENOMEM. */
static int chunk_room(struct vreader *vr, uint64_t len)
{
	size_t need = len < STORE_CHUNK_MAX ? (size_t)len : STORE_CHUNK_MAX;
	uint8_t *q;

	if (need == 0)
		need = 1;
	if (need <= vr->chunkcap)
		return 0;
	if (!(q = realloc(vr->chunk, need)))
		return -ENOMEM;
	vr->chunk = q;
	vr->chunkcap = need;
	return 0;
}

/* Reads the record of located chunk k together with the located records
 * that follow it back to back in the same pack (a file's chunks as one
 * upload stored them), in one pread of at most VR_SPAN.  Returns 1 when
 * the record is in vr->span now, 0 when it stands alone (read it by
 * itself), or -errno. */
static int span_fill(struct vreader *vr, size_t k)
{
	const struct store_loc *l = &vr->loc[k];
	uint64_t end = l->off + store_rec_bytes(l);
	size_t j;
	int r;

	for (j = k + 1; j < vr->nlocs; j++) {
		const struct store_loc *n = &vr->loc[j];

		if (!n->found || n->pack != l->pack || n->off != end ||
		    end + store_rec_bytes(n) - l->off > VR_SPAN)
			break;
		end += store_rec_bytes(n);
	}
	if (j == k + 1)
		return 0;
	if (!vr->span && !(vr->span = malloc(VR_SPAN)))
		return -ENOMEM;
	vr->span_len = 0;
	if ((r = store_read_span(vr->st, l->pack, l->off, (size_t)(end - l->off), vr->span)) < 0)
		return r;
	vr->span_pack = l->pack;
	vr->span_off = l->off;
	vr->span_len = (size_t)(end - l->off);
	return 1;
}

/* Whether the record of located chunk k lies in vr->span. */
static bool in_span(const struct vreader *vr, size_t k)
{
	const struct store_loc *l = &vr->loc[k];

	return l->found && vr->span_len && l->pack == vr->span_pack && l->off >= vr->span_off &&
	       l->off + store_rec_bytes(l) <= vr->span_off + vr->span_len;
}

static EVP_MD *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* SHA-256 fetched once: EVP_sha256() makes every EVP_DigestInit_ex look
 * the implementation up again, once per chunk. */
const EVP_MD *content_md_sha256(void)
{
	pthread_once(&md_once, md_fetch);
	return md_sha256 ? md_sha256 : EVP_sha256();
}

/* The sha256 of a chunk, with a context reused across chunks. */
static int chunk_sha(struct vreader *vr, const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	if (!vr->md && !(vr->md = EVP_MD_CTX_new()))
		return -ENOMEM;
	if (EVP_DigestInit_ex(vr->md, content_md_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(vr->md, p, n) != 1 || EVP_DigestFinal_ex(vr->md, out, &len) != 1)
		return -EIO;
	return 0;
}

/* Fetches located chunk k into dst (cap bytes): from the span, else
 * alone.  *crc: its record's CRC-32 was checked (store_get_at always
 * checks it; a span's records only for a verified reader). */
static int chunk_fetch(struct vreader *vr, size_t k, uint8_t *dst, size_t cap, size_t *n,
		       bool *crc)
{
	const struct store_loc *l = &vr->loc[k];
	const uint8_t *rec;
	int r;

	if (!in_span(vr, k) && l->found && (r = span_fill(vr, k)) < 0)
		return r;
	*crc = !in_span(vr, k) || vr->verified;
	if (!in_span(vr, k))
		return store_get_at(vr->st, vr->loc_id[k], l, dst, cap, n);
	rec = vr->span + (l->off - vr->span_off);
	return store_decode(vr->st, vr->loc_id[k], l, rec, vr->verified, dst, cap, n);
}

/* Loads chunk c, which vreader_chunk_at just returned, into dst (c->len
 * bytes; vr->chunk or the caller's buffer) and checks it: against its
 * sha256, or for a verified reader by its record's CRC-32. */
/* Fetches located chunk k into dst and checks it.  0 or -errno. */
static int chunk_check(struct vreader *vr, const struct vchunk *c, size_t k, uint8_t *dst)
{
	uint8_t h[32];
	bool crc;
	size_t n;
	int r;

	r = chunk_fetch(vr, k, dst, c->len, &n, &crc);
	if (r == -ENOENT || r == -EMSGSIZE)
		r = -EIO;
	if (r == 0 && n != c->len)
		r = -EIO;
	if (r == 0 && !(vr->verified && crc)) {
		vr->counts.chunks_hashed++;
		if ((r = chunk_sha(vr, dst, n, h)) == 0 && memcmp(h, c->sha, 32))
			r = -EIO;
	}
	return r;
}

/* After chunk k failed to load: its place looked up again (compaction may
 * have moved the record and removed its pack since it was located, docs/
 * store-format.md "Compaction").  The new index of c's entry, or -1 when
 * the place is the same (the failure stands) or cannot be had. */
static int chunk_relocate(struct vreader *vr, const struct vchunk *c, int k)
{
	struct store_loc was = vr->loc[k];

	if (loc_fill(vr, false) < 0 || (k = loc_find(vr, c->sha)) < 0)
		return -1;
	if (vr->loc[k].found == was.found && vr->loc[k].pack == was.pack &&
	    vr->loc[k].off == was.off)
		return -1;
	return k;
}

static int chunk_load_to(struct vreader *vr, const struct vchunk *c, uint8_t *dst)
{
	int k, k2, r;

	if ((k = loc_find(vr, c->sha)) < 0) {
		if ((r = loc_fill(vr, c->start == vr->next_start)) < 0)
			return r;
		if ((k = loc_find(vr, c->sha)) < 0)
			return -EIO;
	}
	r = chunk_check(vr, c, (size_t)k, dst);
	if (r == -EIO && (k2 = chunk_relocate(vr, c, k)) >= 0) {
		vr->counts.relocated++;
		r = chunk_check(vr, c, (size_t)k2, dst);
	}
	if (r < 0)
		return r;
	vr->counts.chunks++;
	vr->counts.chunks_direct += dst != vr->chunk;
	vr->next_start = c->start + c->len;
	return 0;
}

/* Loads chunk c into vr->chunk, where it stays for the next reads. */
static int chunk_load(struct vreader *vr, const struct vchunk *c)
{
	int r;

	vr->have_chunk = false;
	if ((r = chunk_room(vr, c->len)) < 0 || (r = chunk_load_to(vr, c, vr->chunk)) < 0)
		return r;
	vr->cur = *c;
	vr->have_chunk = true;
	return 0;
}

ssize_t vreader_pread(struct vreader *vr, void *buf, size_t n, uint64_t off)
{
	uint8_t *out = buf;
	size_t done = 0;
	struct vchunk c;
	int r;

	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	while (done < n && off < vr->ref.size) {
		size_t k;

		if ((r = vreader_chunk_at(vr, off, &c)) < 0)
			return r;
		if ((!vr->have_chunk || vr->cur.start != c.start) && c.start == off &&
		    c.len <= n - done) {
			/* the whole chunk lies in buf: decoded straight into it */
			if ((r = chunk_load_to(vr, &c, out + done)) < 0)
				return r;
			done += c.len;
			off += c.len;
			continue;
		}
		if ((!vr->have_chunk || vr->cur.start != c.start) && (r = chunk_load(vr, &c)) < 0)
			return r;
		k = (size_t)(c.start + c.len - off);
		if (k > n - done)
			k = n - done;
		memcpy(out + done, vr->chunk + (off - c.start), k);
		done += k;
		off += k;
	}
	return (ssize_t)done;
}

int content_sha256(struct vreader *vr, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t off = 0;
	unsigned int len = 32;
	uint8_t *b = malloc(65536);
	ssize_t k;
	int r = -ENOMEM;

	if (!md || !b || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	r = 0;
	while (off < vr->ref.size) {
		k = vreader_pread(vr, b, 65536, off);
		if (k <= 0) {
			r = k < 0 ? (int)k : -EIO;
			goto out;
		}
		if (EVP_DigestUpdate(md, b, (size_t)k) != 1) {
			r = -EIO;
			goto out;
		}
		off += (uint64_t)k;
	}
	if (EVP_DigestFinal_ex(md, out, &len) != 1)
		r = -EIO;
out:
	EVP_MD_CTX_free(md);
	free(b);
	return r;
}
