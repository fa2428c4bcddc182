/* test_chunker.c — FastCDC chunker: pinned format, bounds, split invariance,
 * edit locality, error propagation; SQLite streams cut into pages, mode
 * detection, resuming mid-stream with chunker_set_mode. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <openssl/evp.h>

#include "common/chunker.h"

#define MAXCH 8192

struct rec {
	const uint8_t *src;      /* the whole input, to check emitted bytes */
	size_t off;
	size_t n;
	size_t len[MAXCH];
	uint8_t sha[MAXCH][32];  /* filled when want_sha */
	int want_sha;
	int fail_at;             /* emit returns -EIO on this chunk (1-based), 0 never */
};

static void fill_random(uint8_t *b, size_t n, uint64_t seed)
{
	uint64_t x = seed;
	size_t i;
	int j;

	for (i = 0; i < n; i += 8) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		for (j = 0; j < 8 && i + j < n; j++)
			b[i + j] = (uint8_t)(x >> (8 * j));
	}
}

static int emit_rec(void *arg, const uint8_t *data, size_t len)
{
	struct rec *r = arg;
	unsigned int olen;

	assert_true(r->n < MAXCH);
	assert_true(len > 0);
	if (r->src)
		assert_memory_equal(data, r->src + r->off, len);
	if (r->want_sha)
		assert_int_equal(EVP_Digest(data, len, r->sha[r->n], &olen, EVP_sha256(), NULL), 1);
	r->len[r->n++] = len;
	r->off += len;
	if (r->fail_at && (int)r->n == r->fail_at)
		return -5;
	return 0;
}

/* Feeds buf in pieces of `step` bytes (0: empty feeds around one whole feed). */
static void chunk_with_step(const uint8_t *buf, size_t n, size_t step, struct rec *r)
{
	struct chunker *c = chunker_new();
	size_t off = 0, k;

	assert_non_null(c);
	memset(r, 0, sizeof(*r));
	r->src = buf;
	if (step == 0) {
		assert_int_equal(chunker_feed(c, buf, 0, emit_rec, r), 0);
		assert_int_equal(chunker_feed(c, buf, n, emit_rec, r), 0);
		assert_int_equal(chunker_feed(c, buf + n, 0, emit_rec, r), 0);
	} else {
		for (off = 0; off < n; off += k) {
			k = n - off < step ? n - off : step;
			assert_int_equal(chunker_feed(c, buf + off, k, emit_rec, r), 0);
		}
	}
	assert_int_equal(chunker_flush(c, emit_rec, r), 0);
	assert_int_equal(r->off, n);
	chunker_free(c);
}

/* The gear table and the cut points are part of the store format. */
static void test_pinned_format(void **state)
{
	static const size_t want[] = { 9697, 11029, 10445, 8432, 3553, 27456, 9663, 8381 };
	size_t n = 1 << 20, i;
	uint8_t *buf = malloc(n);
	struct rec *r = malloc(sizeof(*r));

	assert_int_equal(chunker_gear(0), 0x3a6a2ec9b128466cULL);
	assert_int_equal(chunker_gear(1), 0x105fa7d450c31da0ULL);
	assert_int_equal(chunker_gear(255), 0x0a2811d114865d48ULL);
	fill_random(buf, n, 0x12345678abcdefULL);
	chunk_with_step(buf, n, n, r);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(r->len[i], want[i]);
	free(r);
	free(buf);
}

static void check_bounds(const struct rec *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		assert_true(r->len[i] <= CHUNK_MAX);
		if (i + 1 < r->n)
			assert_true(r->len[i] >= CHUNK_MIN);
	}
}

/* The chunker's definition, one byte at a time (chunker.h, store format):
 * the cut points of a stream, for checking the optimised scan. */
static size_t ref_cuts(const uint8_t *p, size_t n, size_t *len, size_t max)
{
	uint64_t fp = 0, gear[256];
	size_t k = 0, pos = 0;

	for (unsigned g = 0; g < 256; g++)
		gear[g] = chunker_gear(g);
	for (size_t i = 0; i < n; i++) {
		bool cut;

		pos++;
		if (pos > CHUNK_MIN) {
			fp = (fp << 1) + gear[p[i]];
			cut = !(fp & (pos <= CHUNK_AVG ? 0x0001d90603530000ULL : 0x0000d90203530000ULL));
		} else {
			cut = false;
		}
		if (cut || pos == CHUNK_MAX) {
			assert_true(k < max);
			len[k++] = pos;
			pos = 0;
			fp = 0;
		}
	}
	if (pos) {
		assert_true(k < max);
		len[k++] = pos;
	}
	return k;
}

/* The scan cuts where the byte-by-byte definition does: random bytes,
 * zeros (every chunk CHUNK_MAX), low-entropy text, and cuts forced at
 * every offset parity, fed whole and in odd pieces. */
static void test_matches_definition(void **state)
{
	const size_t n = 8 << 20;
	uint8_t *buf = malloc(n);
	size_t *want = malloc(MAXCH * sizeof(*want)), k;
	struct rec *r = malloc(sizeof(*r));

	for (int kind = 0; kind < 3; kind++) {
		if (kind == 0)
			fill_random(buf, n, 7 + (uint64_t)kind);
		else if (kind == 1)
			memset(buf, 0, n);
		else
			for (size_t s = 0; s < n; s++)
				buf[s] = "lorem ipsum dolor sit amet 42\n"[(s * 3 + s / 4099) % 30];
		k = ref_cuts(buf, n, want, MAXCH);
		chunk_with_step(buf, n, n, r);
		assert_int_equal(r->n, k);
		assert_memory_equal(r->len, want, k * sizeof(*want));
		chunk_with_step(buf, n, 4097, r);
		assert_int_equal(r->n, k);
		assert_memory_equal(r->len, want, k * sizeof(*want));
	}
	free(want);
	free(r);
	free(buf);
}

/* Boundaries are the same whatever the feed() piece sizes. */
static void test_split_invariance(void **state)
{
	static const size_t steps[] = { 0, 1, 2, 3, 7, 100, 10000, 200000 };
	const size_t n = 3 << 20;
	uint8_t *buf = malloc(n);
	struct rec *ref = malloc(sizeof(*ref)), *r = malloc(sizeof(*r));
	size_t s, kind;

	for (kind = 0; kind < 3; kind++) {
		if (kind == 0)
			fill_random(buf, n, 42);
		else if (kind == 1)
			memset(buf, 0, n);               /* no content cuts: all CHUNK_MAX */
		else
			for (s = 0; s < n; s++)          /* low entropy, repetitive text */
				buf[s] = "the quick brown fox 0123456789\n"[(s * 7 + s / 977) % 31];
		chunk_with_step(buf, n, n, ref);
		check_bounds(ref);
		if (kind == 1) {
			assert_int_equal(ref->n, n / CHUNK_MAX);
			assert_int_equal(ref->len[0], CHUNK_MAX);
		}
		for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			chunk_with_step(buf, n, steps[s], r);
			assert_int_equal(r->n, ref->n);
			assert_memory_equal(r->len, ref->len, ref->n * sizeof(ref->len[0]));
		}
	}
	free(ref);
	free(r);
	free(buf);
}

static void test_sizes_random(void **state)
{
	const size_t n = 32 << 20;
	uint8_t *buf = malloc(n);
	struct rec *r = malloc(sizeof(*r));

	fill_random(buf, n, 7);
	chunk_with_step(buf, n, 65536 + 13, r);
	check_bounds(r);
	/* normalized: ~10 KiB on random data (CHUNK_MIN skipped + CHUNK_AVG) */
	assert_true(n / r->n > 8 * 1024 && n / r->n < 12 * 1024);
	free(r);
	free(buf);
}

static void test_tiny_inputs(void **state)
{
	static const size_t sizes[] = { 0, 1, CHUNK_MIN - 1, CHUNK_MIN, CHUNK_MIN + 1 };
	uint8_t *buf = malloc(CHUNK_MIN + 1);
	struct rec *r = malloc(sizeof(*r));
	size_t i;

	fill_random(buf, CHUNK_MIN + 1, 3);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		chunk_with_step(buf, sizes[i], 1, r);
		assert_int_equal(r->n, sizes[i] ? 1 : 0);
	}
	free(r);
	free(buf);
}

static size_t count_new(const struct rec *old, const struct rec *nw)
{
	size_t i, j, fresh = 0;

	for (i = 0; i < nw->n; i++) {
		for (j = 0; j < old->n; j++)
			if (!memcmp(nw->sha[i], old->sha[j], 32))
				break;
		fresh += j == old->n;
	}
	return fresh;
}

static void chunk_sha(const uint8_t *buf, size_t n, struct rec *r)
{
	struct chunker *c = chunker_new();

	memset(r, 0, sizeof(*r));
	r->want_sha = 1;
	assert_int_equal(chunker_feed(c, buf, n, emit_rec, r), 0);
	assert_int_equal(chunker_flush(c, emit_rec, r), 0);
	chunker_free(c);
}

/* Edits change only the chunks around them. */
static void test_edit_locality(void **state)
{
	const size_t n = 32 << 20;
	uint8_t *a = malloc(n), *b = malloc(n + 100);
	struct rec *ra = malloc(sizeof(*ra)), *rb = malloc(sizeof(*rb));

	fill_random(a, n, 99);
	chunk_sha(a, n, ra);
	/* 100 bytes inserted near the start */
	memcpy(b, a, 5000);
	fill_random(b + 5000, 100, 1234);
	memcpy(b + 5100, a + 5000, n - 5000);
	chunk_sha(b, n + 100, rb);
	assert_true(count_new(ra, rb) >= 1);
	assert_true(count_new(ra, rb) <= 2);
	/* 4 KiB overwritten in the middle */
	memcpy(b, a, n);
	fill_random(b + n / 2 + 333, 4096, 5678);
	chunk_sha(b, n, rb);
	assert_true(count_new(ra, rb) >= 1);
	assert_true(count_new(ra, rb) <= 2);
	free(ra);
	free(rb);
	free(a);
	free(b);
}

/* Over many random edits: most change <= 2 chunks, none spreads far. */
static void test_edit_locality_stats(void **state)
{
	const size_t n = 4 << 20;
	uint8_t *a = malloc(n), *b = malloc(n + 100);
	struct rec *ra = malloc(sizeof(*ra)), *rb = malloc(sizeof(*rb));
	int seed, ovw_small = 0, ins_small = 0;
	size_t k, at;

	for (seed = 1; seed <= 40; seed++) {
		fill_random(a, n, 7919u * seed);
		chunk_sha(a, n, ra);
		at = 3000 + 37u * seed;
		memcpy(b, a, at);
		fill_random(b + at, 100, seed);
		memcpy(b + at + 100, a + at, n - at);
		chunk_sha(b, n + 100, rb);
		k = count_new(ra, rb);
		assert_true(k >= 1 && k <= 6);
		ins_small += k <= 2;
		memcpy(b, a, n);
		fill_random(b + n / 2 + 333u * seed, 4096, seed + 100);
		chunk_sha(b, n, rb);
		k = count_new(ra, rb);
		assert_true(k >= 1 && k <= 10);
		ovw_small += k <= 2;
	}
	assert_true(ins_small >= 36);   /* measured: ~97% */
	assert_true(ovw_small >= 28);   /* measured: ~88% */
	free(ra);
	free(rb);
	free(a);
	free(b);
}

/* emit's error stops the feed and is returned; the chunker starts afresh. */
static void test_emit_error(void **state)
{
	const size_t n = 1 << 20;
	uint8_t *buf = malloc(n);
	struct rec *r = calloc(1, sizeof(*r));
	struct chunker *c = chunker_new();

	fill_random(buf, n, 11);
	r->fail_at = 3;
	assert_int_equal(chunker_feed(c, buf, n, emit_rec, r), -5);
	assert_int_equal(r->n, 3);
	memset(r, 0, sizeof(*r));
	r->src = buf;
	assert_int_equal(chunker_feed(c, buf, n, emit_rec, r), 0);
	assert_int_equal(chunker_flush(c, emit_rec, r), 0);
	assert_int_equal(r->off, n);
	chunker_free(c);
	chunker_free(NULL);
	free(r);
	free(buf);
}

/* A fake SQLite database: the 16-byte magic, page size field ps, random rest. */
static void fake_sqlite(uint8_t *b, size_t n, unsigned ps, uint64_t seed)
{
	fill_random(b, n, seed);
	memcpy(b, "SQLite format 3", 16);
	b[16] = (uint8_t)(ps >> 8);
	b[17] = (uint8_t)ps;
}

static void test_detect(void **state)
{
	static const struct { unsigned field; uint32_t mode; } t[] = {
		{ 512, CHUNK_SQLITE_MIN }, { 1024, CHUNK_SQLITE_MIN }, { 2048, CHUNK_SQLITE_MIN },
		{ 4096, 4096 }, { 8192, 8192 }, { 16384, 16384 }, { 32768, 32768 },
		{ 1, 65536 },
		/* not a valid page size: FastCDC */
		{ 0, CHUNK_MODE_CDC }, { 2, CHUNK_MODE_CDC }, { 256, CHUNK_MODE_CDC },
		{ 511, CHUNK_MODE_CDC }, { 513, CHUNK_MODE_CDC }, { 3000, CHUNK_MODE_CDC },
		{ 4097, CHUNK_MODE_CDC }, { 0xffff, CHUNK_MODE_CDC }, { 0x8001, CHUNK_MODE_CDC },
	};
	uint8_t h[64];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		fake_sqlite(h, sizeof(h), t[i].field, i);
		assert_int_equal(chunker_detect(h, sizeof(h)), t[i].mode);
		assert_int_equal(chunker_detect(h, CHUNK_DETECT_LEN), t[i].mode);
		assert_int_equal(chunker_detect(h, CHUNK_DETECT_LEN - 1), CHUNK_MODE_CDC);
	}
	fake_sqlite(h, sizeof(h), 4096, 1);
	h[15] = ' ';                              /* the NUL is part of the magic */
	assert_int_equal(chunker_detect(h, sizeof(h)), CHUNK_MODE_CDC);
	fake_sqlite(h, sizeof(h), 4096, 1);
	h[0] = 's';
	assert_int_equal(chunker_detect(h, sizeof(h)), CHUNK_MODE_CDC);
	assert_int_equal(chunker_detect(h, 0), CHUNK_MODE_CDC);
}

/* A SQLite stream is cut into fixed chunks, whatever the feed pieces. */
static void test_sqlite_pages(void **state)
{
	static const size_t steps[] = { 0, 1, 2, 3, 7, 100, 10000, 200000 };
	static const unsigned fields[] = { 4096, 1024, 1, 32768, 8192 };
	const size_t n = (3 << 20) + 1234;
	uint8_t *buf = malloc(n);
	struct rec *r = malloc(sizeof(*r));
	size_t s, f, i;

	for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		uint32_t want;

		fake_sqlite(buf, n, fields[f], 100 + f);
		want = chunker_detect(buf, n);
		assert_true(want >= CHUNK_SQLITE_MIN && want <= CHUNK_MAX);
		for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			if (steps[s] && steps[s] < 7 && f > 1)
				continue;   /* byte-wise feeds of every page size: slow, nothing new */
			chunk_with_step(buf, n, steps[s], r);
			assert_int_equal(r->n, (n + want - 1) / want);
			for (i = 0; i + 1 < r->n; i++)
				assert_int_equal(r->len[i], want);
			assert_int_equal(r->len[r->n - 1], n % want ? n % want : want);
		}
	}
	/* exactly a whole number of pages: no short last chunk */
	fake_sqlite(buf, 40960, 4096, 5);
	chunk_with_step(buf, 40960, 3, r);
	assert_int_equal(r->n, 10);
	assert_int_equal(r->len[9], 4096);
	free(r);
	free(buf);
}

/* A header with a bogus page size is no SQLite database: FastCDC, with the
 * same cuts as the same bytes without the magic (FastCDC hashes nothing in
 * a chunk's first CHUNK_MIN bytes). */
static void test_sqlite_bogus(void **state)
{
	static const unsigned fields[] = { 0, 3, 100, 513, 3000, 0xffff };
	const size_t n = 1 << 20;
	uint8_t *buf = malloc(n);
	struct rec *ref = malloc(sizeof(*ref)), *r = malloc(sizeof(*r));
	size_t f;

	for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		fake_sqlite(buf, n, fields[f], 7);
		chunk_with_step(buf, n, 7, r);
		buf[0] = 'X';
		chunk_with_step(buf, n, n, ref);
		assert_int_equal(r->n, ref->n);
		assert_memory_equal(r->len, ref->len, ref->n * sizeof(ref->len[0]));
		assert_true(r->n < n / 4096);    /* ~10 KiB FastCDC chunks, not pages */
	}
	free(ref);
	free(r);
	free(buf);
}

/* Streams shorter than the detection window, or than one page. */
static void test_sqlite_short(void **state)
{
	static const size_t sizes[] = { 1, 15, 16, 17, 18, 19, 100, 4095, 4096, 4097 };
	uint8_t buf[8192];
	struct rec *r = malloc(sizeof(*r));
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fake_sqlite(buf, sizeof(buf), 4096, 9);
		chunk_with_step(buf, sizes[i], 1, r);
		assert_int_equal(r->n, sizes[i] > 4096 ? 2 : 1);
		assert_int_equal(r->len[0], sizes[i] > 4096 ? 4096 : sizes[i]);
	}
	free(r);
}

/* Feeds buf[from..n) into a chunker resumed at boundary `from` with mode. */
static void resume_with(const uint8_t *buf, size_t n, size_t from, uint32_t mode, struct rec *r)
{
	struct chunker *c = chunker_new();
	size_t off, k;

	memset(r, 0, sizeof(*r));
	r->src = buf;
	r->off = from;
	chunker_reset(c);
	assert_int_equal(chunker_set_mode(c, mode), 0);
	assert_int_equal(chunker_mode(c), mode);
	for (off = from; off < n; off += k) {
		k = n - off < 10007 ? n - off : 10007;
		assert_int_equal(chunker_feed(c, buf + off, k, emit_rec, r), 0);
	}
	assert_int_equal(chunker_flush(c, emit_rec, r), 0);
	assert_int_equal(chunker_mode(c), CHUNK_MODE_UNSET);
	chunker_free(c);
}

/* Resuming at any chunk boundary with the stream's mode gives the same
 * chunks as one pass; with the mode of the resumed bytes alone it would not. */
static void test_resume_mode(void **state)
{
	const size_t n = 2 << 20;
	uint8_t *buf = malloc(n);
	struct rec *ref = malloc(sizeof(*ref)), *r = malloc(sizeof(*r));
	struct chunker *c = chunker_new();
	size_t kind, i, j, at;

	for (kind = 0; kind < 2; kind++) {
		if (kind == 0)
			fake_sqlite(buf, n, 4096, 77);
		else
			fill_random(buf, n, 77);
		chunk_with_step(buf, n, n, ref);
		for (i = 1; i < ref->n; i += ref->n / 7 + 1) {
			for (at = 0, j = 0; j < i; j++)
				at += ref->len[j];
			resume_with(buf, n, at, chunker_detect(buf, n), r);
			assert_int_equal(r->n, ref->n - i);
			assert_memory_equal(r->len, ref->len + i, r->n * sizeof(r->len[0]));
			if (kind == 0) {   /* the page bytes alone look like FastCDC input */
				assert_int_equal(chunker_detect(buf + at, n - at), CHUNK_MODE_CDC);
				resume_with(buf, n, at, CHUNK_MODE_CDC, r);
				assert_true(r->n < ref->n - i);
			}
		}
	}
	/* the mode is known once CHUNK_DETECT_LEN bytes were fed */
	fake_sqlite(buf, n, 8192, 1);
	assert_int_equal(chunker_mode(c), CHUNK_MODE_UNSET);
	memset(r, 0, sizeof(*r));
	assert_int_equal(chunker_feed(c, buf, CHUNK_DETECT_LEN - 1, emit_rec, r), 0);
	assert_int_equal(chunker_mode(c), CHUNK_MODE_UNSET);
	assert_int_equal(chunker_feed(c, buf + CHUNK_DETECT_LEN - 1, 1, emit_rec, r), 0);
	assert_int_equal(chunker_mode(c), 8192);
	/* not at a boundary: refused, nothing changed */
	assert_int_equal(chunker_set_mode(c, CHUNK_MODE_CDC), -EINVAL);
	assert_int_equal(chunker_mode(c), 8192);
	chunker_reset(c);
	assert_int_equal(chunker_mode(c), CHUNK_MODE_UNSET);
	/* invalid modes */
	assert_int_equal(chunker_set_mode(c, 2), -EINVAL);
	assert_int_equal(chunker_set_mode(c, 512), -EINVAL);
	assert_int_equal(chunker_set_mode(c, 4097), -EINVAL);
	assert_int_equal(chunker_set_mode(c, 6144), -EINVAL);
	assert_int_equal(chunker_set_mode(c, CHUNK_MAX * 2), -EINVAL);
	assert_int_equal(chunker_set_mode(c, CHUNK_MODE_UNSET), 0);
	assert_int_equal(chunker_set_mode(c, CHUNK_MAX), 0);
	chunker_free(c);
	free(ref);
	free(r);
	free(buf);
}

/* Given cuts (chunker_take_cuts): feeds buf in pieces of `step` bytes,
 * announcing before each piece the lengths of lens[] (all but the last)
 * whose chunks end inside it, as a device does; 0 once every byte went
 * through and the emitted chunks are lens[], else the first error. */
static int feed_cuts(const uint8_t *buf, size_t n, const size_t *lens, size_t nl, size_t step,
		     uint32_t sample, struct rec *r)
{
	struct chunker *c = chunker_new();
	size_t off = 0, k, i = 0, end = 0;
	uint32_t l;
	int rc = 0;

	assert_non_null(c);
	memset(r, 0, sizeof(*r));
	r->src = buf;
	chunker_take_cuts(c, sample, 12345);
	for (off = 0; rc == 0 && off < n; off += k) {
		k = n - off < step ? n - off : step;
		while (rc == 0 && i + 1 < nl && end + lens[i] <= off + k) {
			l = (uint32_t)lens[i];
			end += lens[i++];
			rc = chunker_push_cuts(c, &l, 1);
		}
		if (rc == 0)
			rc = chunker_feed(c, buf + off, k, emit_rec, r);
	}
	if (rc == 0)
		rc = chunker_flush(c, emit_rec, r);
	if (rc == 0) {
		assert_int_equal(r->n, nl);
		for (i = 0; i < nl; i++)
			assert_int_equal(r->len[i], lens[i]);
	}
	chunker_free(c);
	return rc;
}

/* The canonical cuts pass at every feed size and sampling; any other
 * cut is refused: a boundary moved by one byte (the end test, whatever
 * the sampling), two chunks sent as one (a skipped cut point: only the
 * whole-chunk scan sees it, so with every chunk sampled), a chunk past
 * CHUNK_MAX unannounced, a cut announced past the end, and a SQLite
 * stream's page cut elsewhere. */
static void test_cuts(void **state)
{
	static const size_t steps[] = { 1, 7, 10000, 65536, 200000 };
	const size_t n = 1 << 20;
	uint8_t *buf = malloc(n);
	struct rec *r = malloc(sizeof(*r));
	size_t *lens = malloc(MAXCH * sizeof(*lens)), *bad = malloc(MAXCH * sizeof(*bad));
	size_t nl, s, i;
	struct chunker *c = chunker_new();
	uint32_t l;

	assert_non_null(c);
	fill_random(buf, n, 77);
	nl = ref_cuts(buf, n, lens, MAXCH);
	assert_true(nl > 50);
	for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		assert_int_equal(feed_cuts(buf, n, lens, nl, steps[s], 1, r), 0);
		assert_int_equal(feed_cuts(buf, n, lens, nl, steps[s], 16, r), 0);
	}
	/* one boundary a byte late, never sampled: the end test refuses it */
	memcpy(bad, lens, nl * sizeof(*bad));
	bad[10]++;
	bad[11]--;
	assert_int_equal(feed_cuts(buf, n, bad, nl, 65536, 1u << 31, r), -EBADMSG);
	/* a skipped cut point: chunks 20 and 21 as one (their sum fits) */
	for (i = 20; lens[i] + lens[i + 1] > CHUNK_MAX; i++)
		;
	memcpy(bad, lens, i * sizeof(*bad));
	bad[i] = lens[i] + lens[i + 1];
	memcpy(bad + i + 1, lens + i + 2, (nl - i - 2) * sizeof(*bad));
	assert_int_equal(feed_cuts(buf, n, bad, nl - 1, 65536, 1, r), -EBADMSG);
	/* ... the last chunk too: the stream's end without its last cut */
	memcpy(bad, lens, nl * sizeof(*bad));
	bad[nl - 2] += bad[nl - 1];
	if (bad[nl - 2] <= CHUNK_MAX)
		assert_int_equal(feed_cuts(buf, n, bad, nl - 1, 65536, 1, r), -EBADMSG);
	/* nothing announced: CHUNK_MAX bytes may wait, one more may not */
	assert_int_equal(feed_cuts(buf, CHUNK_MAX + 1, lens, 0, CHUNK_MAX + 1, 1, r), -EBADMSG);
	/* a cut announced past the end */
	chunker_take_cuts(c, 1, 1);
	l = 5000;
	assert_int_equal(chunker_push_cuts(c, &l, 1), 0);
	assert_int_equal(chunker_feed(c, buf, 100, emit_rec, r), 0);
	assert_int_equal(chunker_flush(c, emit_rec, r), -EBADMSG);
	/* lengths out of range, too many pending, no take_cuts */
	l = 0;
	assert_int_equal(chunker_push_cuts(c, &l, 1), -EBADMSG);
	l = CHUNK_MAX + 1;
	assert_int_equal(chunker_push_cuts(c, &l, 1), -EBADMSG);
	l = 4096;
	for (i = 0; i < CHUNK_CUTS_MAX; i++)
		assert_int_equal(chunker_push_cuts(c, &l, 1), 0);
	assert_int_equal(chunker_push_cuts(c, &l, 1), -ENOSPC);
	chunker_free(c);
	c = chunker_new();
	assert_int_equal(chunker_push_cuts(c, &l, 1), -EINVAL);
	/* SQLite pages: exactly the page size, the last one shorter */
	fake_sqlite(buf, 40960 + 100, 4096, 5);
	for (i = 0; i < 10; i++)
		lens[i] = 4096;
	lens[10] = 100;
	assert_int_equal(feed_cuts(buf, 40960 + 100, lens, 11, 65536, 1u << 31, r), 0);
	lens[3] = 4095;
	lens[4] = 4097;
	assert_int_equal(feed_cuts(buf, 40960 + 100, lens, 11, 65536, 1u << 31, r), -EBADMSG);
	chunker_free(c);
	free(bad);
	free(lens);
	free(r);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pinned_format),
		cmocka_unit_test(test_matches_definition),
		cmocka_unit_test(test_split_invariance),
		cmocka_unit_test(test_sizes_random),
		cmocka_unit_test(test_tiny_inputs),
		cmocka_unit_test(test_edit_locality),
		cmocka_unit_test(test_edit_locality_stats),
		cmocka_unit_test(test_emit_error),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_sqlite_pages),
		cmocka_unit_test(test_sqlite_bogus),
		cmocka_unit_test(test_sqlite_short),
		cmocka_unit_test(test_resume_mode),
		cmocka_unit_test(test_cuts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
