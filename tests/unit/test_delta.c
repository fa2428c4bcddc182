/* test_delta.c — librsync through vigild's streaming code: signature
 * cache round trip, delta, patch, at input/output buffer sizes
 * 0 (one piece, default buffer), 1, 2, 3, 7, 100, 10000, 200000; and
 * hostile signature files. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/chunktree.h"
#include "daemon/sigcache.h"
#include "daemon/pathstate.h"

static const size_t sizes[] = { 0, 1, 2, 3, 7, 100, 10000, 200000 };

struct membuf { uint8_t *p; size_t n, cap; };

static int mem_out(void *arg, const void *p, size_t n)
{
	struct membuf *m = arg;

	if (m->n + n > m->cap) {
		m->cap = (m->n + n) * 2;
		m->p = realloc(m->p, m->cap);
		assert_non_null(m->p);
	}
	memcpy(m->p + m->n, p, n);
	m->n += n;
	return 0;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* Feeds p in pieces of k bytes (k == 0: all at once, and an empty feed). */
typedef int (*feed_fn)(void *obj, const void *p, size_t n);
static void feed_pieces(feed_fn f, void *obj, const uint8_t *p, size_t n, size_t k)
{
	if (k == 0) {
		assert_int_equal(f(obj, p, 0), 0);
		assert_int_equal(f(obj, p, n), 0);
		return;
	}
	for (size_t off = 0; off < n; off += k)
		assert_int_equal(f(obj, p + off, n - off < k ? n - off : k), 0);
}

static int sw_feed(void *o, const void *p, size_t n) { return sigwriter_feed(o, p, n); }
static int dw_feed(void *o, const void *p, size_t n) { return deltawriter_feed(o, p, n); }
static int rs_feed(void *o, const void *p, size_t n) { return rsstream_feed(o, p, n); }

struct base { const uint8_t *p; size_t n; };

static rs_result copy_cb(void *arg, rs_long_t pos, size_t *len, void **buf)
{
	struct base *b = arg;

	if (pos < 0 || (size_t)pos > b->n)
		return RS_INPUT_ENDED;
	if (*len > b->n - (size_t)pos)
		*len = b->n - (size_t)pos;
	memcpy(*buf, b->p + pos, *len);
	return RS_DONE;
}

struct fixture { char dir[64]; };

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char sub[96];

	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-delta-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(sub, sizeof(sub), "%s/sigs", f->dir);
	mkdir(sub, 0700);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* base -> signature (cache) -> delta of new -> patch(base) == new */
static void round_trip(const char *dir, const uint8_t *base, size_t bn,
		       const uint8_t *neu, size_t nn, size_t k)
{
	struct sigwriter *sw;
	struct deltawriter *dw;
	rs_signature_t *sig;
	uint8_t sha[32], other[32];
	struct membuf delta = { 0 }, out = { 0 };
	struct base b = { base, bn };
	struct rsstream *ps;
	uint64_t dsize;
	int dfd;
	ssize_t r;
	uint8_t tmp[65536];

	ctree_sha256(base, bn, sha);
	assert_int_equal(sigwriter_new(dir, &sw), 0);
	feed_pieces(sw_feed, sw, base, bn, k);
	assert_int_equal(sigwriter_commit(sw, "/data/file", sha), 0);
	sigwriter_free(sw);

	memset(other, 0xee, 32);
	assert_int_equal(sigcache_load(dir, "/data/file", other, &sig), -ENOENT);
	assert_int_equal(sigcache_load(dir, "/data/other", sha, &sig), -ENOENT);
	assert_int_equal(sigcache_load(dir, "/data/file", sha, &sig), 0);

	assert_int_equal(deltawriter_new(dir, sig, k, &dw), 0);
	feed_pieces(dw_feed, dw, neu, nn, k);
	assert_int_equal(deltawriter_finish(dw, &dfd, &dsize), 0);
	while ((r = read(dfd, tmp, sizeof(tmp))) > 0)
		mem_out(&delta, tmp, (size_t)r);
	assert_int_equal(delta.n, dsize);
	deltawriter_free(dw);
	rs_free_sumset(sig);

	ps = rsstream_new(rs_patch_begin(copy_cb, &b), k, mem_out, &out);
	assert_non_null(ps);
	feed_pieces(rs_feed, ps, delta.p, delta.n, k);
	assert_int_equal(rsstream_finish(ps), 0);
	rsstream_free(ps);
	assert_int_equal(out.n, nn);
	if (nn)
		assert_memory_equal(out.p, neu, nn);
	free(delta.p);
	free(out.p);
	{
		struct pathstate pst = { .statedir = dir };
		char file[PATH_MAX];

		assert_int_equal(pathstate_drop(&pst, "/data/file", PS_SIG), 0);
		assert_int_equal(pathstate_file(dir, PS_DIR_SIGS, "/data/file", file), 0);
		assert_int_equal(access(file, F_OK), -1);
	}
}

static void test_sweep_edits(void **state)
{
	struct fixture *f = *state;
	size_t bn = 300000, nn;
	uint8_t *base = malloc(bn), *neu = malloc(bn + 100);

	fill(base, bn, 1);
	/* new = base with an insert near the start, an edit in the middle,
	 * and a cut near the end: most blocks still match */
	memcpy(neu, base, 1000);
	memcpy(neu + 1000, "inserted!", 9);
	memcpy(neu + 1009, base + 1000, 200000 - 1000);
	memcpy(neu + 1009 + 100000, "EDITED", 6);
	memcpy(neu + 200009, base + 250000, bn - 250000);
	nn = 200009 + bn - 250000;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		round_trip(f->dir, base, bn, neu, nn, sizes[i]);
	free(base);
	free(neu);
}

static void test_edge_contents(void **state)
{
	struct fixture *f = *state;
	static const struct { size_t bn, nn; } cases[] = {
		{ 0, 0 }, { 0, 5000 }, { 5000, 0 }, { 1, 1 }, { 2047, 2049 }, { 2048, 2048 },
	};
	uint8_t *a = malloc(8192), *b = malloc(8192);

	fill(a, 8192, 7);
	fill(b, 8192, 7);
	b[100] ^= 1;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			round_trip(f->dir, a, cases[c].bn, b, cases[c].nn, sizes[i]);
	free(a);
	free(b);
}

/* The delta of an unchanged file is tiny: it copies everything. */
static void test_small_delta(void **state)
{
	struct fixture *f = *state;
	size_t n = 1 << 20;
	uint8_t *a = malloc(n), sha[32];
	struct sigwriter *sw;
	struct deltawriter *dw;
	rs_signature_t *sig;
	uint64_t dsize;
	int dfd;

	fill(a, n, 3);
	ctree_sha256(a, n, sha);
	assert_int_equal(sigwriter_new(f->dir, &sw), 0);
	assert_int_equal(sigwriter_feed(sw, a, n), 0);
	assert_int_equal(sigwriter_commit(sw, "/x", sha), 0);
	sigwriter_free(sw);
	assert_int_equal(sigcache_load(f->dir, "/x", sha, &sig), 0);
	assert_int_equal(deltawriter_new(f->dir, sig, 0, &dw), 0);
	assert_int_equal(deltawriter_feed(dw, a, n), 0);
	assert_int_equal(deltawriter_finish(dw, &dfd, &dsize), 0);
	assert_true(dsize < 1024);
	deltawriter_free(dw);
	rs_free_sumset(sig);
	free(a);
}

/* Garbage where a signature should be: an error, never a crash. */
static void test_hostile_sig(void **state)
{
	struct fixture *f = *state;
	static const struct { const char *bytes; size_t n; } bad[] = {
		{ "", 0 }, { "r", 1 }, { "rs\x01\x37", 4 }, { "\x72\x73\x01\x47\0\0\x08\0", 8 },
		{ "\x72\x73\x01\x47\xff\xff\xff\xff\0\0\0\x08zzzz", 16 },
		{ "not a signature at all, just text that goes on for a while", 58 },
	};
	uint8_t sha[32];
	char file[PATH_MAX];
	rs_signature_t *sig;

	memset(sha, 0x42, 32);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd;

		assert_int_equal(pathstate_file(f->dir, PS_DIR_SIGS, "/h", file), 0);
		fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, sha, 32), 32);
		assert_int_equal(write(fd, bad[i].bytes, bad[i].n), (ssize_t)bad[i].n);
		close(fd);
		sig = NULL;
		assert_true(sigcache_load(f->dir, "/h", sha, &sig) < 0);
		assert_null(sig);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sweep_edits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edge_contents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_delta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_sig, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
