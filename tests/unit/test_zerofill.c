/* test_zerofill.c — the caps on what one upload makes the server build
 * (issue 10, finding 1.1): a run of zeros in a ranges upload costs the
 * same whatever its length and gives the very tree byte-by-byte chunking
 * gives (ctree_add_run against ctree_add, vranges against a device's root
 * of the same bytes, FastCDC and SQLite page mode); a 1 TiB announce with
 * an empty body builds and reads back as zeros within a CPU budget that
 * byte-by-byte zero filling would need ~2000 s for; a delta stops with
 * -EFBIG as soon as its output passes the announced size; a cancel hook
 * stops a long COPY loop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/chunker.h"
#include "common/chunktree.h"
#include "server/store/content.h"
#include "tests/unit/root_fixture.h"
#include "tests/unit/store_fixture.h"

static const struct devkey key1 = { { 9, 8, 7 } };

struct fx {
	char dir[STOREFX_DIR];
	struct store *st;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(storefx_open(f->dir, "zerofill", &f->st), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	int rc = storefx_remove(f->dir, f->st);

	free(f);
	return rc;
}

/* ---- ctree_add_run == ctree_add repeated ---- */

/* The root of: npre entries of other chunks, count of h, npost others. */
static void run_root(const uint8_t h[32], uint64_t count, int npre, int npost, bool as_run,
		     uint8_t root[32])
{
	struct ctree_builder *b = ctree_builder_new(NULL, NULL);
	uint8_t o[32];
	uint64_t size;
	int i;

	for (i = 0; i < npre + npost; i++) {
		if (i == npre) {
			if (as_run) {
				assert_int_equal(ctree_add_run(b, h, 4096, count), 0);
			} else {
				for (uint64_t k = 0; k < count; k++)
					assert_int_equal(ctree_add(b, h, 4096), 0);
			}
		}
		memset(o, i + 1, sizeof(o));
		assert_int_equal(ctree_add(b, o, 1000 + i), 0);
	}
	if (npost == 0)
		assert_int_equal(as_run ? ctree_add_run(b, h, 4096, count) : 0, 0);
	if (npost == 0 && !as_run)
		for (uint64_t k = 0; k < count; k++)
			assert_int_equal(ctree_add(b, h, 4096), 0);
	assert_int_equal(ctree_finish(b, root, &size), 0);
	ctree_builder_free(b);
}

static void test_run_is_repeated_add(void **state)
{
	static const uint64_t counts[] = { 0, 1, 2, 3, 255, 256, 257, 511, 512, 513,
					   65535, 65536, 65537, 100000 };
	uint8_t h[2][32], want[32], got[32];
	int v, pre, post;
	size_t i;

	memset(h[0], 0x11, 32);   /* 0x11111111 % 32 != 0: pages of 256 */
	memset(h[1], 0x40, 32);   /* 0x40404040 % 32 == 0: pages of 2 */
	for (v = 0; v < 2; v++)
		for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
			for (pre = 0; pre <= 3; pre += 3)
				for (post = 0; post <= 2; post += 2) {
					run_root(h[v], counts[i], pre, post, false, want);
					run_root(h[v], counts[i], pre, post, true, got);
					assert_memory_equal(got, want, 32);
				}
}

/* ---- ranges with zero gaps == the device's root of the same bytes ---- */

static void rec_put(uint8_t *o, size_t *n, uint64_t off, uint32_t len, const uint8_t *bytes)
{
	for (int i = 0; i < 8; i++)
		o[(*n)++] = (uint8_t)(off >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		o[(*n)++] = (uint8_t)(len >> (24 - 8 * i));
	memcpy(o + *n, bytes, len);
	*n += len;
}

static void build(struct store *st, const uint8_t *p, size_t n, struct content_ref *ref)
{
	struct vbuild *vb;

	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	assert_int_equal(vbuild_write(vb, p, n), 0);
	assert_int_equal(vbuild_finish(vb, ref), 0);
	vbuild_free(vb);
}

struct zcase {
	size_t base, size;     /* base bytes (random, or a SQLite file), new size */
	bool sqlite;
	int nrec;
	uint64_t off[2];
	uint32_t len[2];
};

static void check_case(struct store *st, const struct zcase *c)
{
	uint8_t *want = calloc(1, (c->size > c->base ? c->size : c->base) + 1), *body = malloc(1 << 20), *bytes = malloc(70000);
	uint8_t *rd = malloc(1 << 16);
	struct content_ref bref, out, dev;
	struct vranges *vg;
	struct vreader *vr;
	size_t bn = 0;
	int i;

	fill(want, c->base, c->size);
	if (c->sqlite) {   /* a SQLite header, page size 4096: fixed chunks */
		memcpy(want, "SQLite format 3", 16);
		want[16] = 0x10;
		want[17] = 0;
	}
	build(st, want, c->base, &bref);
	if (c->size < c->base)
		memset(want + c->size, 0, c->base - c->size);
	fill(bytes, 70000, c->off[0] + 1);
	for (i = 0; i < c->nrec; i++) {
		rec_put(body, &bn, c->off[i], c->len[i], bytes);
		memcpy(want + c->off[i], bytes, c->len[i]);
	}
	device_root(want, c->size, &dev);
	assert_int_equal(vranges_new(st, &key1, &bref, c->size, &vg), 0);
	assert_int_equal(vranges_feed(vg, body, bn), 0);
	assert_int_equal(vranges_finish(vg, &out), 0);
	vranges_free(vg);
	assert_int_equal(out.size, c->size);
	assert_memory_equal(out.root, dev.root, 32);
	assert_int_equal(vreader_open(st, &key1, &out, &vr), 0);
	for (uint64_t off = 0; off < c->size; off += c->size / 7 + 1) {
		ssize_t k = vreader_pread(vr, rd, 1 << 16, off);

		assert_true(k > 0);
		assert_memory_equal(rd, want + off, (size_t)k);
	}
	vreader_free(vr);
	free(want); free(body); free(bytes); free(rd);
}

static void test_ranges_gaps_match_device(void **state)
{
	struct fx *f = *state;
	const size_t M = 1 << 20;
	const struct zcase cases[] = {
		{ 0, 20 * M + 12345, false, 0, { 0 }, { 0 } },               /* all zeros */
		{ 0, 20 * M, false, 1, { 20 * M - 100 }, { 100 } },          /* zeros, then bytes */
		{ M + 77, 20 * M + 3, false, 0, { 0 }, { 0 } },              /* base, zeros */
		{ M, 30 * M, false, 2, { 5, 17 * M + 1 }, { 60000, 4097 } }, /* bytes in the gap */
		{ 10, 16 * M + 65536, false, 1, { 20 }, { 3 } },            /* short base */
		{ 4 * M, 20 * M + 100, true, 1, { 9 * M + 4096 }, { 4096 } }, /* SQLite pages */
		{ 100, 17, false, 0, { 0 }, { 0 } },                         /* cut */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(f->st, &cases[i]);
}

/* ---- 1 TiB announced, nothing sent ---- */

/* The root of `size` zero bytes, one ctree_add per chunk (no zero
 * hashing beyond one chunk; Z from the chunker itself). */
static int zeros_first(void *arg, const uint8_t *d, size_t len)
{
	*(size_t *)arg = len;
	return 1;
}

static void zeros_root(uint64_t size, uint8_t root[32])
{
	uint8_t *z = calloc(1, CHUNK_MAX * 2), h[32];
	struct chunker *c = chunker_new();
	struct ctree_builder *b = ctree_builder_new(NULL, NULL);
	size_t zl = 0;
	uint64_t n, got;

	assert_int_equal(chunker_feed(c, z, CHUNK_MAX * 2, zeros_first, &zl), 1);
	assert_true(zl >= CHUNK_MIN && zl <= CHUNK_MAX && size % zl == 0);
	assert_int_equal(ctree_sha256(z, zl, h), 0);
	for (n = size / zl; n > 0; n--)
		assert_int_equal(ctree_add(b, h, (uint32_t)zl), 0);
	assert_int_equal(ctree_finish(b, root, &got), 0);
	assert_int_equal(got, size);
	ctree_builder_free(b);
	chunker_free(c);
	free(z);
}

/* Builds CONTENT_SIZE_MAX zeros from an empty body; in a child limited
 * to 60 CPU seconds (byte-by-byte filling needs thousands). */
static void child_tib(struct store *st, const uint8_t want[32])
{
	struct rlimit rl = { 60, 60 };
	struct content_ref base = { { 0 }, 0 }, out;
	struct vranges *vg;
	struct vreader *vr;
	uint8_t buf[4096], zero[4096] = { 0 };

	if (setrlimit(RLIMIT_CPU, &rl) < 0 || ctree_empty_root(base.root) < 0 ||
	    vranges_new(st, &key1, &base, CONTENT_SIZE_MAX, &vg) < 0 ||
	    vranges_finish(vg, &out) < 0)
		_exit(2);
	vranges_free(vg);
	if (out.size != CONTENT_SIZE_MAX || memcmp(out.root, want, 32))
		_exit(3);
	if (vreader_open(st, &key1, &out, &vr) < 0 ||
	    vreader_pread(vr, buf, sizeof(buf), CONTENT_SIZE_MAX / 2 + 12345) != sizeof(buf) ||
	    memcmp(buf, zero, sizeof(buf)) ||
	    vreader_pread(vr, buf, sizeof(buf), CONTENT_SIZE_MAX - 10) != 10)
		_exit(4);
	vreader_free(vr);
	_exit(0);
}

static void test_tib_of_nothing(void **state)
{
	struct fx *f = *state;
	uint8_t want[32];
	pid_t pid;
	int st;

	zeros_root(CONTENT_SIZE_MAX, want);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_tib(f->st, want);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));   /* not SIGXCPU: the budget held */
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- a delta is capped at the announced size ---- */

static int patch(struct store *st, const struct content_ref *base, uint64_t max,
		 const uint8_t *d, size_t n, content_cancel_fn gone, int *fed)
{
	struct vpatch *vp;
	struct content_ref out;
	int r = 0;
	size_t k;

	assert_int_equal(vpatch_new(st, &key1, base, max, &vp), 0);
	if (gone)
		vpatch_set_cancel(vp, gone, NULL);
	for (*fed = 0; n > 0 && r == 0; (*fed)++, d += k, n -= k) {
		k = n < 9 ? n : 9;
		r = vpatch_feed(vp, d, k);
	}
	if (r == 0)
		r = vpatch_finish(vp, &out);
	vpatch_free(vp);
	return r;
}

/* "rs\x02\x36", ncopy × COPY(0, 1 MiB) (op 0x4f: u32 pos, u32 len), END. */
static size_t copies(uint8_t *d, int ncopy)
{
	static const uint8_t cp[9] = { 0x4f, 0, 0, 0, 0, 0, 0x10, 0, 0 };
	size_t n = 4;

	memcpy(d, "rs\x02\x36", 4);
	for (int i = 0; i < ncopy; i++, n += 9)
		memcpy(d + n, cp, 9);
	d[n++] = 0;
	return n;
}

static bool always_gone(void *arg)
{
	return true;
}

static void test_delta_cap(void **state)
{
	struct fx *f = *state;
	uint8_t *base = malloc(1 << 20), d[4 + 9 * 8 + 1];
	struct content_ref bref;
	size_t n;
	int fed;

	fill(base, 1 << 20, 5);
	build(f->st, base, 1 << 20, &bref);
	n = copies(d, 8);
	/* 8 MiB of output from 77 bytes: fine with 8 MiB announced */
	assert_int_equal(patch(f->st, &bref, 8 << 20, d, n, NULL, &fed), 0);
	/* announced 2 MiB: the third COPY fails, the rest is not read */
	assert_int_equal(patch(f->st, &bref, 2 << 20, d, n, NULL, &fed), -EFBIG);
	assert_int_equal(fed, 4);   /* magic+first 5 bytes, COPY 1, COPY 2, COPY 3 */
	/* a literal past the cap */
	{
		uint8_t lit[4 + 1 + 20 + 1] = { 'r', 's', 2, '6', 20 };

		assert_int_equal(patch(f->st, &bref, 10, lit, sizeof(lit), NULL, &fed), -EFBIG);
	}
	/* the peer is gone: the first COPY stops */
	assert_int_equal(patch(f->st, &bref, 8 << 20, d, n, always_gone, &fed), -ECANCELED);
	free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_is_repeated_add),
		cmocka_unit_test_setup_teardown(test_ranges_gaps_match_device, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tib_of_nothing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_delta_cap, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
