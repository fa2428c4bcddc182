/* chunker.c — FastCDC (Xia et al., USENIX ATC 2016) with normalized chunking.
 *
 * The gear hash fp = (fp << 1) + gear[byte] is rolled over the bytes of the
 * current chunk, starting after its first CHUNK_MIN bytes (those never hold a
 * cut).  Below CHUNK_AVG bytes a cut needs the 14 bits of MASK_S to be zero,
 * from there on only the 12 bits of MASK_L ("normalization level 1"), which
 * pulls chunk sizes toward the average.  A chunk ends after the byte at which
 * the masked fp is zero, or at CHUNK_MAX bytes.
 *
 * The state carried between feed calls is (fp, bytes in the current chunk),
 * exactly what the byte-by-byte definition needs, so boundaries do not
 * depend on how the input was split.  The bytes of an unfinished chunk are
 * kept in a CHUNK_MAX buffer; a chunk lying wholly inside one feed() input
 * is emitted straight from it without copying.
 *
 * Before a stream's mode is known (its first CHUNK_DETECT_LEN bytes) the
 * bytes are only buffered: no mode can cut that early (FastCDC hashes
 * nothing before CHUNK_MIN, fixed chunks are >= CHUNK_SQLITE_MIN), so
 * waiting changes no boundary.  A fixed-mode chunk ends when it holds
 * `mode` bytes. */
#include "common/chunker.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Normalization level 1: 14 one bits below CHUNK_AVG, 12 from there on
 * (2^13 = 8 KiB being the average).  The bits sit in the high half so a
 * decision sees ~50 bytes of context, and MASK_L is a subset of MASK_S, so a
 * position that may end a chunk early may also end it late: after an edit
 * the cut points fall back into step sooner.  (Level 2, 15/11 bits, made
 * edits spread over noticeably more chunks in our measurements.) */
#define MASK_S 0x0001d90603530000ULL
#define MASK_L 0x0000d90203530000ULL

/* Gear table generator: entry i is the (i+1)-th output of splitmix64
 * (Vigna) seeded with the ASCII bytes "vigl-cdc".  Documented in
 * docs/store-format.md; never change it, stored trees depend on it. */
#define GEAR_SEED 0x7669676c2d636463ULL

static const uint8_t sqlite_magic[16] = "SQLite format 3";   /* with its NUL */

struct chunker {
	uint64_t gear[256];
	uint64_t gear2[256];     /* gear[i] << 1: two bytes per step (roll2) */
	uint32_t mode;           /* CHUNK_MODE_*, or the fixed chunk size */
	uint64_t fp;
	size_t pos;              /* bytes of the current chunk seen so far */
	size_t blen;             /* of them, kept in buf (== pos between calls) */
	/* chunker_take_cuts: the chunks' lengths come from the caller */
	bool cuts;
	uint32_t sample;         /* one chunk in sample is scanned whole */
	uint64_t rng;            /* which ones (xorshift64) */
	uint32_t q[CHUNK_CUTS_MAX];   /* announced lengths, from qh on */
	unsigned qh, qn;
	uint8_t buf[CHUNK_MAX];
};

uint64_t chunker_gear(unsigned i)
{
	uint64_t z = GEAR_SEED + (uint64_t)((i & 255u) + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct chunker *chunker_new(void)
{
	struct chunker *c = malloc(sizeof(*c));
	unsigned i;

	if (!c)
		return NULL;
	for (i = 0; i < 256; i++) {
		c->gear[i] = chunker_gear(i);
		c->gear2[i] = c->gear[i] << 1;
	}
	c->cuts = false;
	chunker_reset(c);
	return c;
}

void chunker_free(struct chunker *c)
{
	free(c);
}

/* The next chunk starts (the stream's mode is kept). */
static void chunk_start(struct chunker *c)
{
	c->fp = 0;
	c->pos = 0;
	c->blen = 0;
}

void chunker_reset(struct chunker *c)
{
	chunk_start(c);
	c->mode = CHUNK_MODE_UNSET;
	c->qh = c->qn = 0;
}

uint32_t chunker_detect(const void *head, size_t n)
{
	const uint8_t *p = head;
	uint32_t ps;

	if (n < CHUNK_DETECT_LEN || memcmp(p, sqlite_magic, sizeof(sqlite_magic)))
		return CHUNK_MODE_CDC;
	ps = (uint32_t)p[16] << 8 | p[17];   /* SQLite: big-endian, 1 means 65536 */
	if (ps == 1)
		ps = 65536;
	if (ps < 512 || (ps & (ps - 1)))
		return CHUNK_MODE_CDC;
	return ps < CHUNK_SQLITE_MIN ? CHUNK_SQLITE_MIN : ps;
}

uint32_t chunker_mode(const struct chunker *c)
{
	return c->mode;
}

static bool mode_valid(uint32_t m)
{
	return m == CHUNK_MODE_UNSET || m == CHUNK_MODE_CDC ||
	       (m >= CHUNK_SQLITE_MIN && m <= CHUNK_MAX && !(m & (m - 1)));
}

int chunker_set_mode(struct chunker *c, uint32_t mode)
{
	if (!mode_valid(mode) || c->blen > 0)
		return -EINVAL;
	chunk_start(c);
	c->mode = mode;
	return 0;
}

/* Buffers the first bytes of a stream until its mode is known. */
static size_t detect_scan(struct chunker *c, const uint8_t *p, size_t n)
{
	size_t k = CHUNK_DETECT_LEN - c->blen < n ? CHUNK_DETECT_LEN - c->blen : n;

	memcpy(c->buf + c->blen, p, k);
	c->blen += k;
	c->pos += k;
	if (c->blen == CHUNK_DETECT_LEN)
		c->mode = chunker_detect(c->buf, c->blen);
	return k;
}

/* Fixed mode: the chunk ends once it holds c->mode bytes. */
static size_t fixed_scan(struct chunker *c, size_t n, bool *cut)
{
	size_t k = c->mode - c->pos < n ? c->mode - c->pos : n;

	c->pos += k;
	*cut = c->pos == c->mode;
	return k;
}

/* Rolls fp over p[i..lim) until a byte leaves (fp & mask) == 0: the index
 * after that byte, *cut set; else lim.  The definition is one byte at a
 * time, fp = (fp << 1) + gear[b]; two steps are (fp << 2) + ((gear[a] << 1)
 * + gear[b]), so the chain each byte waits on is half as long (the
 * per-byte value for the first byte's test is computed beside it): the
 * same fp at every byte, hence the same cut points, about twice as fast. */
static size_t roll2(const struct chunker *c, const uint8_t *p, size_t i, size_t lim,
		    uint64_t mask, uint64_t *fpp, bool *cut)
{
	const uint64_t *gear = c->gear, *gear2 = c->gear2;
	uint64_t fp = *fpp, a;

	for (; i + 2 <= lim; i += 2) {
		a = (fp << 1) + gear[p[i]];
		fp = (fp << 2) + (gear2[p[i]] + gear[p[i + 1]]);
		if (!(a & mask)) {
			*fpp = a;
			*cut = true;
			return i + 1;
		}
		if (!(fp & mask)) {
			*fpp = fp;
			*cut = true;
			return i + 2;
		}
	}
	if (i < lim) {
		fp = (fp << 1) + gear[p[i++]];
		*cut = !(fp & mask);
	}
	*fpp = fp;
	return i;
}

/* FastCDC over p[0..n) as the continuation of a chunk that holds base
 * bytes before p[0] with hash *fp: how many bytes belong to it; *cut
 * tells whether it ended after the last. */
static size_t cdc_run(const struct chunker *c, const uint8_t *p, size_t n, size_t base,
		      uint64_t *fp, bool *cut)
{
	size_t i = 0, lim_s, lim_m;

	*cut = false;
	if (base < CHUNK_MIN)
		i = CHUNK_MIN - base < n ? CHUNK_MIN - base : n;
	/* p[i] is chunk byte base+i (0-based): the strict mask applies while
	 * base+i < CHUNK_AVG, and byte CHUNK_MAX-1 always ends the chunk. */
	lim_s = base < CHUNK_AVG ? CHUNK_AVG - base : 0;
	if (lim_s > n)
		lim_s = n;
	lim_m = CHUNK_MAX - base < n ? CHUNK_MAX - base : n;
	if (i < lim_s)
		i = roll2(c, p, i, lim_s, MASK_S, fp, cut);
	if (!*cut && i < lim_m)
		i = roll2(c, p, i, lim_m, MASK_L, fp, cut);
	if (!*cut && base + i == CHUNK_MAX)
		*cut = true;
	return i;
}

/* Scans p[0..n) as the continuation of the current chunk.  Returns how many
 * bytes belong to it; *cut tells whether the chunk ended after the last. */
static size_t cdc_scan(struct chunker *c, const uint8_t *p, size_t n, bool *cut)
{
	size_t i = cdc_run(c, p, n, c->pos, &c->fp, cut);

	c->pos += i;
	return i;
}

/* Given cuts: the current chunk ends where the next announced length
 * says; with none announced it grows (the stream's last chunk has no
 * announcement), but never past CHUNK_MAX.  -EBADMSG when the chunk
 * already holds more bytes than announced (a length under
 * CHUNK_DETECT_LEN) or would pass CHUNK_MAX unannounced. */
static int cuts_scan(struct chunker *c, size_t n, size_t *k, bool *cut)
{
	size_t want = c->qn ? c->q[c->qh] : CHUNK_MAX;

	if (want < c->pos)
		return -EBADMSG;
	*k = want - c->pos < n ? want - c->pos : n;
	c->pos += *k;
	*cut = c->qn && c->pos == want;
	if (!c->qn && c->pos == CHUNK_MAX && *k < n)
		return -EBADMSG;
	return 0;
}

/* Would FastCDC end a chunk after the last of its len bytes p?  The gear
 * hash at a byte depends only on the 64 bytes up to it (each step shifts
 * the older ones one bit further out of 64), so rolling those alone
 * gives the hash the chunker tests there: 64 steps, not len. */
static bool end_is_cut(const struct chunker *c, const uint8_t *p, size_t len)
{
	size_t i = len > CHUNK_MIN + 64 ? len - 64 : CHUNK_MIN;
	uint64_t fp = 0;

	if (len == CHUNK_MAX)
		return true;
	if (len <= CHUNK_MIN || len > CHUNK_MAX)
		return false;
	for (; i < len; i++)
		fp = (fp << 1) + c->gear[p[i]];
	return !(fp & (len - 1 < CHUNK_AVG ? MASK_S : MASK_L));
}

/* An announced chunk (last: the stream's remainder at flush) is the one
 * the chunker would have cut: in a fixed mode by its length; in FastCDC
 * its end is a cut point, checked always (cheap: end_is_cut), and no
 * earlier byte is one, which only a scan of the whole chunk can tell:
 * done for one chunk in c->sample, picked at random so that a sender
 * cannot tell which. */
static bool cut_ok(struct chunker *c, const uint8_t *p, size_t len, bool last)
{
	uint64_t fp = 0;
	bool cut;

	if (c->mode != CHUNK_MODE_CDC)
		return c->mode == CHUNK_MODE_UNSET || (last ? len <= c->mode : len == c->mode);
	if (!last && !end_is_cut(c, p, len))
		return false;
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	if (c->rng % c->sample)
		return true;
	return cdc_run(c, p, len, 0, &fp, &cut) == len && (cut || last);
}

void chunker_take_cuts(struct chunker *c, uint32_t sample, uint64_t seed)
{
	c->cuts = true;
	c->sample = sample ? sample : 1;
	c->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;   /* xorshift64 never leaves 0 */
}

int chunker_push_cuts(struct chunker *c, const uint32_t *len, size_t n)
{
	size_t i;

	if (!c->cuts)
		return -EINVAL;
	if (n > CHUNK_CUTS_MAX - c->qn)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		if (len[i] == 0 || len[i] > CHUNK_MAX)
			return -EBADMSG;
		c->q[(c->qh + c->qn + i) % CHUNK_CUTS_MAX] = len[i];
	}
	c->qn += (unsigned)n;
	return 0;
}

/* Emits the current chunk (its last k bytes are q[0..k)); with given
 * cuts, checked first (-EBADMSG) and its announcement taken. */
static int emit_chunk(struct chunker *c, const uint8_t *q, size_t k, bool last,
		      chunk_emit_fn emit, void *arg)
{
	const uint8_t *data = q;

	if (c->blen > 0) {
		memcpy(c->buf + c->blen, q, k);
		data = c->buf;
	}
	if (c->cuts) {
		if (!cut_ok(c, data, c->blen + k, last))
			return -EBADMSG;
		if (!last) {
			c->qh = (c->qh + 1) % CHUNK_CUTS_MAX;
			c->qn--;
		}
	}
	return emit(arg, data, c->blen + k);
}

int chunker_feed(struct chunker *c, const void *p, size_t n, chunk_emit_fn emit, void *arg)
{
	const uint8_t *q = p;
	size_t k;
	bool cut;
	int r = 0;

	while (n > 0) {
		if (c->mode == CHUNK_MODE_UNSET) {
			k = detect_scan(c, q, n);
			q += k;
			n -= k;
			continue;
		}
		if (c->cuts)
			r = cuts_scan(c, n, &k, &cut);
		else if (c->mode == CHUNK_MODE_CDC)
			k = cdc_scan(c, q, n, &cut);
		else
			k = fixed_scan(c, n, &cut);
		if (r == 0 && !cut) {
			/* k == n here; c->pos <= CHUNK_MAX bounds the buffer */
			memcpy(c->buf + c->blen, q, k);
			c->blen += k;
			return 0;
		}
		if (r == 0)
			r = emit_chunk(c, q, k, false, emit, arg);
		if (r) {
			chunker_reset(c);
			return r;
		}
		chunk_start(c);
		q += k;
		n -= k;
	}
	return 0;
}

int chunker_flush(struct chunker *c, chunk_emit_fn emit, void *arg)
{
	int r = 0;

	if (c->cuts && c->qn)
		r = -EBADMSG;   /* a cut announced past the end */
	else if (c->blen > 0)
		r = emit_chunk(c, c->buf, 0, true, emit, arg);
	chunker_reset(c);
	return r;
}
