/* test_chunkdelta.c — a delta guided by the old chunk list rebuilds the new
 * content exactly (applied with librsync's own patcher): an edit inside a
 * chunk, on a chunk boundary, at the start and the end, an insertion and a
 * deletion shifting the rest, a deletion longer than the lookahead, an
 * append, a truncation, an unchanged file, everything new; fed in pieces
 * of 1, 7, 4096, 65536 and 200000 bytes, with chunks told before their
 * bytes (the capture's order) and after.  A small edit sends only its
 * chunks through librsync and asks for the signatures of only a few
 * chunks' worth of old bytes, every region within the old content; a
 * failing signature source fails the delta; no list of the version:
 * -ENOENT.  A deletion of 4 or 20 MiB in the middle of a big file (far
 * past the lookahead, and past a librsync segment) still sends the rest
 * as COPY: the cursor resynchronises by probing ahead, and a file
 * rewritten entirely costs only a few probes. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/chash.h"
#include "daemon/chunkdelta.h"
#include "daemon/chunklist.h"

#include "common/chunker.h"
#include "common/rsync_params.h"
#include "daemon/rsstream.h"

static char dir[64], tmp[96];

/* the fingerprints' secret (a device's is random, in its state db) */
static uint8_t fp_secret[CHASH_FP_SECRET];

/* A state directory /tmp/vigil-cd-XXXXXX with its tmp/ (dir, tmp). */
static int setup(void **state)
{
	assert_int_equal(chash_fp_secret(fp_secret, "test_chunkdelta seed", 20), 0);
	snprintf(dir, sizeof(dir), "/tmp/vigil-cd-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
	assert_int_equal(mkdir(tmp, 0700), 0);
	rsstream_quiet_librsync();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static uint64_t rng = 0x853c49e6748fea9bULL;

/* xorshift64: the same bytes on every run */
static uint8_t rnd8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)rng;
}

/* ---- the old version: its chunk list under its root, and the
 * signatures of its regions (as the server gives them) ---- */

struct oldsrc {
	const uint8_t *p;
	size_t n;
	uint64_t regions, bytes;
	int fail;                      /* returned instead of a signature */
};

static int sig_of(void *arg, uint64_t off, uint64_t len, rs_signature_t **out)
{
	struct oldsrc *o = arg;
	struct sigload *l;
	struct rsstream *s;

	if (o->fail)
		return o->fail;
	assert_true(off <= o->n && len <= o->n - off);
	o->regions++;
	o->bytes += len;
	assert_int_equal(sigload_new(&l), 0);
	s = rsstream_new(rs_sig_begin(VG_RS_BLOCK_LEN, VG_RS_STRONG_LEN, VG_RS_SIG_MAGIC), 0,
			 sigload_feed, l);
	assert_non_null(s);
	assert_int_equal(rsstream_feed(s, o->p + off, len), 0);
	assert_int_equal(rsstream_finish(s), 0);
	rsstream_free(s);
	assert_int_equal(sigload_finish(l, out), 0);
	sigload_free(l);
	return 0;
}

/* put_state writes a list as fetched from the server: no fingerprints */
static bool list_without_fp;

static int add_chunk(void *arg, const uint8_t sha[32], uint32_t len, const uint8_t *fp)
{
	static const uint8_t none[CHASH_FP_LEN];

	assert_non_null(fp);
	return clwriter_add(arg, sha, len, list_without_fp ? none : fp);
}

static void put_state(const char *path, const uint8_t *p, size_t n, uint8_t root[32])
{
	struct chash *h = chash_new(CHASH_TREE);
	struct clwriter *cw;
	uint8_t sha[32];
	uint64_t size;

	assert_int_equal(clwriter_new(dir, 4096, &cw), 0);
	chash_set_chunk_fn(h, add_chunk, cw);
	chash_set_fp(h, fp_secret, NULL, NULL);
	assert_int_equal(chash_feed(h, p, n), 0);
	assert_int_equal(chash_finish(h, sha, root, &size), 0);
	assert_int_equal(clwriter_commit(cw, path, root), 0);
	clwriter_free(cw);
	chash_free(h);
}

/* ---- feeding the new content as a capture does ---- */

struct feed {
	struct chunkdelta *d;
	bool chunks_late;              /* tell chunks after their bytes */
	uint8_t sha[64][32], fp[64][CHASH_FP_LEN];
	uint32_t len[64];
	size_t n;
	uint64_t sha_chunks, fp_chunks;  /* out: chunks sha256-hashed, fingerprinted */
};

static int on_chunk(void *arg, const uint8_t sha[32], uint32_t len, const uint8_t *fp)
{
	struct feed *f = arg;

	assert_non_null(fp);
	if (!f->chunks_late)
		return chunkdelta_chunk(f->d, sha, len, fp);
	assert_true(f->n < 64);
	memcpy(f->sha[f->n], sha, 32);
	memcpy(f->fp[f->n], fp, CHASH_FP_LEN);
	f->len[f->n++] = len;
	return 0;
}

/* the capture's known hook: a chunk the old list proves unchanged */
static int on_known(void *arg, const uint8_t fp[CHASH_FP_LEN], uint32_t len, uint8_t sha[32])
{
	struct feed *f = arg;

	return chunkdelta_known(f->d, fp, len, sha);
}

static void flush_late(struct feed *f)
{
	for (size_t i = 0; i < f->n; i++)
		assert_int_equal(chunkdelta_chunk(f->d, f->sha[i], f->len[i], f->fp[i]), 0);
	f->n = 0;
}

/* The tree root of p[0..n) hashed in full, every chunk's sha256 computed. */
static void plain_root(const uint8_t *p, size_t n, uint8_t root[32])
{
	struct chash *h = chash_new(CHASH_TREE);
	uint8_t sha[32];
	uint64_t size;

	assert_int_equal(chash_feed(h, p, n), 0);
	assert_int_equal(chash_finish(h, sha, root, &size), 0);
	chash_free(h);
}

/* Feeds p as a capture does (fingerprints, sha256 of unchanged chunks
 * from the old list); the root must be the one of a full hash. */
static void feed_all(struct feed *f, const uint8_t *p, size_t n, size_t piece)
{
	struct chash *h = chash_new(CHASH_TREE);
	uint8_t sha[32], root[32], want[32];
	uint64_t size;

	chash_set_chunk_fn(h, on_chunk, f);
	chash_set_fp(h, fp_secret, on_known, f);
	for (size_t off = 0; off < n; off += piece) {
		size_t k = n - off < piece ? n - off : piece;

		assert_int_equal(chash_feed(h, p + off, k), 0);   /* capture: hash, then sink */
		assert_int_equal(chunkdelta_data(f->d, p + off, k), 0);
		flush_late(f);
	}
	assert_int_equal(chash_finish(h, sha, root, &size), 0);
	flush_late(f);
	chash_counts(h, &f->sha_chunks, &f->fp_chunks);
	chash_free(h);
	plain_root(p, n, want);
	assert_memory_equal(root, want, 32);
}

/* ---- applying a delta with librsync's patcher ---- */

struct base {
	const uint8_t *p;
	size_t n;
};

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

struct outbuf {
	uint8_t *p;
	size_t n, cap;
};

static int collect(void *arg, const void *p, size_t n)
{
	struct outbuf *o = arg;

	if (n > o->cap - o->n)
		return -EFBIG;
	memcpy(o->p + o->n, p, n);
	o->n += n;
	return 0;
}

static void check_patch(int fd, uint64_t dsize, const uint8_t *old, size_t on,
			const uint8_t *neu, size_t nn)
{
	struct base b = { old, on };
	struct outbuf o = { malloc(nn + 1), 0, nn + 1 };
	struct rsstream *s = rsstream_new(rs_patch_begin(copy_cb, &b), 0, collect, &o);
	uint8_t *d = malloc(dsize + 1);

	assert_int_equal(pread(fd, d, dsize, 0), (ssize_t)dsize);
	assert_int_equal(rsstream_feed(s, d, dsize), 0);
	assert_int_equal(rsstream_finish(s), 0);
	assert_int_equal(o.n, nn);
	assert_memory_equal(o.p, neu, nn);
	rsstream_free(s);
	free(o.p);
	free(d);
}

struct dcase {
	const char *name;
	size_t size;
	int kind;          /* 0 overwrite, 1 insert, 2 delete, 3 append, 4 truncate, 5 all new,
			    * 6 a byte changed every len bytes from off */
	size_t off, len;
	uint64_t max_rsync;    /* 0: unchecked; also bounds the old bytes summed */
	int max_sha;           /* chunks whose sha256 is computed (-1: unchecked) */
	uint64_t max_delta;    /* 0: unchecked */
	uint64_t max_probes;   /* probes of the old list past the window (0: unchecked) */
};

static const struct dcase cases[] = {
	{ "unchanged", 1 << 20, 0, 0, 0, 1, 0, 0, 0 },
	{ "4k in the middle", 1 << 20, 0, 500000, 4096, 4 * 65536, 3, 0, 0 },
	{ "first byte", 1 << 20, 0, 0, 1, 2 * 65536, 2, 0, 0 },
	{ "last byte", (1 << 20) + 7, 0, 1 << 20, 1, 2 * 65536, 2, 0, 0 },
	{ "insert 3000", 1 << 20, 1, 300000, 3000, 4 * 65536, 3, 0, 0 },
	{ "delete 5000", 1 << 20, 2, 700000, 5000, 4 * 65536, 3, 0, 0 },
	{ "delete 3 MiB (past the lookahead)", 5 << 20, 2, 100000, 3 << 20, 0, -1, 0, 0 },
	{ "append 100000", 1 << 20, 3, 0, 100000, 100000 + 2 * 65536, -1, 0, 0 },
	{ "truncate", 1 << 20, 4, 654321, 0, 2 * 65536, 2, 0, 0 },
	{ "all new", 600000, 5, 0, 0, 0, -1, 0, 0 },
	/* nearly every chunk changed, in many short runs: 3 of 4 blocks
	 * still match, and runs close together share a region */
	{ "a byte every 8 KiB", 4 << 20, 6, 4096, 8192, 0, -1, (4 << 20) * 4 / 10, 0 },
};

static size_t make_new(const struct dcase *c, const uint8_t *old, uint8_t *neu)
{
	size_t n = c->size;

	memcpy(neu, old, c->size);
	switch (c->kind) {
	case 0: for (size_t i = 0; i < c->len; i++) neu[c->off + i] ^= 0xa5; break;
	case 1:
		memmove(neu + c->off + c->len, old + c->off, c->size - c->off);
		for (size_t i = 0; i < c->len; i++) neu[c->off + i] = rnd8();
		n += c->len;
		break;
	case 2:
		memmove(neu + c->off, old + c->off + c->len, c->size - c->off - c->len);
		n -= c->len;
		break;
	case 3: for (size_t i = 0; i < c->len; i++) neu[c->size + i] = rnd8();
		n += c->len; break;
	case 4: n = c->off; break;
	case 5: for (size_t i = 0; i < n; i++) neu[i] = rnd8(); break;
	case 6: for (size_t i = c->off; i < n; i += c->len) neu[i] ^= 0x5a; break;
	}
	return n;
}

static void run_one(const struct dcase *c, const uint8_t *old, const uint8_t *neu, size_t nn,
		    const uint8_t root[32], size_t piece, bool late)
{
	struct oldsrc o = { old, c->size, 0, 0, 0 };
	struct feed f = { .chunks_late = late };
	uint64_t dsize = 0, rb = 0;
	int fd;

	assert_int_equal(chunkdelta_new(dir, tmp, "/f", root, c->size, sig_of, &o, &f.d), 0);
	feed_all(&f, neu, nn, piece);
	assert_int_equal(chunkdelta_finish(f.d, &fd, &dsize), 0);
	check_patch(fd, dsize, old, c->size, neu, nn);
	if (c->max_delta)
		assert_true(dsize <= c->max_delta);
	if (c->max_probes) {
		uint64_t pe, probes = chunkdelta_probes(f.d, &pe);

		print_message("  delta %llu bytes, %llu probes over %llu entries\n",
			      (unsigned long long)dsize, (unsigned long long)probes,
			      (unsigned long long)pe);
		assert_true(probes <= c->max_probes);
	}
	if (c->kind == 6)   /* short runs close together share their regions */
		assert_true(o.regions <= c->size / CD_REGION_MIN + 2);
	assert_int_equal(chunkdelta_sig_regions(f.d, &rb), o.regions);
	assert_int_equal(rb, o.bytes);
	if (c->max_rsync) {
		assert_true(chunkdelta_rsync_bytes(f.d) <= c->max_rsync);
		/* the regions: the changed bytes (at least CD_REGION_MIN) and a
		 * chunk each side, at most */
		assert_true(o.bytes <= (c->max_rsync > CD_REGION_MIN ? c->max_rsync : CD_REGION_MIN) +
				       2 * CHUNK_MAX * o.regions);
	}
	/* every chunk fingerprinted; sha256 only for the changed ones */
	assert_true(f.fp_chunks >= nn / 65536);
	if (c->max_sha >= 0)
		assert_true(f.sha_chunks <= (uint64_t)c->max_sha);
	if (c->kind == 5)
		assert_int_equal(f.sha_chunks, f.fp_chunks);
	chunkdelta_free(f.d);
}

static void test_table(void **state)
{
	static const size_t pieces[] = { 1, 7, 4096, 65536, 200000 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];
		size_t cap = c->size + c->len + 1, nn;
		uint8_t *old = malloc(cap), *neu = malloc(cap), root[32];

		print_message("%s\n", c->name);
		for (size_t k = 0; k < c->size; k++)
			old[k] = rnd8();
		nn = make_new(c, old, neu);
		for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
			if (pieces[p] < 4096 && c->size > (1 << 20))
				continue;   /* byte by byte through 5 MiB: slow, nothing new */
			/* chunks told late: at most CD_HOLD bytes wait */
			for (int late = 0; late < (pieces[p] <= 65536 ? 2 : 1); late++) {
				put_state("/f", old, c->size, root);
				run_one(c, old, neu, nn, root, pieces[p], late);
			}
		}
		free(old);
		free(neu);
	}
}

/* Deletions far longer than the lookahead (and than a segment, whose
 * region would trail the data by the deletion's length): the chunks after
 * them are found by probing ahead, the rest of the file goes as COPY (the
 * delta a few KiB, not megabytes of literals), with a handful of probes.
 * A file rewritten entirely (~3,000 chunks) probes at miss streaks 4, 8,
 * 16, ...: about a dozen times, not once per chunk. */
static void test_long_deletions(void **state)
{
	static const struct dcase lcases[] = {
		{ "24 MiB, 4 MiB deleted at 10 MiB", 24 << 20, 2, 10 << 20, 4 << 20, 0, -1, 1 << 20, 4 },
		{ "40 MiB, 20 MiB deleted at 8 MiB", 40 << 20, 2, 8 << 20, 20 << 20, 0, -1, 1 << 20,
		  4 },
		{ "24 MiB rewritten entirely", 24 << 20, 5, 0, 0, 0, -1, 0, 14 },
	};

	for (size_t i = 0; i < sizeof(lcases) / sizeof(lcases[0]); i++) {
		const struct dcase *c = &lcases[i];
		uint8_t *old = malloc(c->size + 1), *neu = malloc(c->size + 1), root[32];
		size_t nn;

		print_message("%s\n", c->name);
		for (size_t k = 0; k < c->size; k++)
			old[k] = rnd8();
		nn = make_new(c, old, neu);
		/* chunks told early, late, and a list from the server
		 * (matched by sha256) */
		for (int v = 0; v < 3; v++) {
			list_without_fp = v == 2;
			put_state("/f", old, c->size, root);
			list_without_fp = false;
			run_one(c, old, neu, nn, root, 65536, v == 1);
		}
		free(old);
		free(neu);
	}
}

/* Random edits (overwrites, insertions, deletions, one after another on
 * the same file): the root taken with the old list's sha256s is the root
 * of a full hash (feed_all checks), the delta rebuilds the content, and
 * sha256 is computed for a few chunks per edit only. */
static void test_random_edits(void **state)
{
	size_t cap = (3 << 20) + 12 * 20000 + 1, n = 3 << 20;
	uint8_t *old = malloc(cap), *neu = malloc(cap), root[32];

	for (size_t k = 0; k < n; k++)
		old[k] = rnd8();
	for (int round = 0; round < 12; round++) {
		struct feed f = { 0 };
		size_t off = ((size_t)rnd8() << 16 | (size_t)rnd8() << 8 | rnd8()) % n;
		size_t len = 1 + (((size_t)rnd8() << 8 | rnd8()) % 20000), nn = n;
		int kind = rnd8() % 3;
		uint64_t dsize;
		int fd;

		if (off + len > n)
			len = n - off;
		memcpy(neu, old, n);
		if (kind == 0) {
			for (size_t i = 0; i < len; i++)
				neu[off + i] = rnd8();
		} else if (kind == 1) {
			memmove(neu + off + len, old + off, n - off);
			for (size_t i = 0; i < len; i++)
				neu[off + i] = rnd8();
			nn += len;
		} else {
			memmove(neu + off, old + off + len, n - off - len);
			nn -= len;
		}
		struct oldsrc o = { old, n, 0, 0, 0 };

		put_state("/r", old, n, root);
		assert_int_equal(chunkdelta_new(dir, tmp, "/r", root, n, sig_of, &o, &f.d), 0);
		feed_all(&f, neu, nn, 65536);
		assert_int_equal(chunkdelta_finish(f.d, &fd, &dsize), 0);
		check_patch(fd, dsize, old, n, neu, nn);
		print_message("edit %d at %zu len %zu: sha256 of %llu of %llu chunks\n", kind, off,
			      len, (unsigned long long)f.sha_chunks, (unsigned long long)f.fp_chunks);
		assert_true(f.sha_chunks <= 4 + len / 2048);
		chunkdelta_free(f.d);
		memcpy(old, neu, nn);
		n = nn;
	}
	free(old);
	free(neu);
}

static void test_no_list(void **state)
{
	static uint8_t p[300000];
	uint8_t root[32], other[32] = { 1 };
	struct oldsrc o = { p, sizeof(p), 0, 0, 0 };
	struct chunkdelta *d = (struct chunkdelta *)&d;

	memset(p, 5, sizeof(p));
	put_state("/g", p, sizeof(p), root);
	assert_int_equal(chunkdelta_new(dir, tmp, "/g", other, sizeof(p), sig_of, &o, &d), -ENOENT);
	assert_null(d);
	assert_int_equal(chunkdelta_new(dir, tmp, "/g", root, sizeof(p) + 1, sig_of, &o, &d),
			 -ENOENT);
	assert_int_equal(chunkdelta_new(dir, tmp, "/none", root, sizeof(p), sig_of, &o, &d),
			 -ENOENT);
}

static int chunk_any(void *arg, const uint8_t sha[32], uint32_t len, const uint8_t *fp)
{
	(void)chunkdelta_chunk(arg, sha, len, fp);   /* an error latches: seen at finish */
	return 0;
}

/* The signature source fails (the server would not say): the delta fails
 * with its error, and after a reset with a source that works it is right. */
static void test_sig_fails(void **state)
{
	static uint8_t old[400000], neu[400000];
	struct oldsrc o = { old, sizeof(old), 0, 0, -EIO };
	struct feed f = { .chunks_late = false };
	struct chash *h = chash_new(CHASH_TREE);
	uint8_t root[32], sha[32], r2[32];
	uint64_t dsize = 0, size;
	int fd;

	for (size_t i = 0; i < sizeof(old); i++)
		old[i] = neu[i] = rnd8();
	for (size_t i = 200000; i < 204096; i++)
		neu[i] ^= 0x5a;
	put_state("/s", old, sizeof(old), root);
	assert_int_equal(chunkdelta_new(dir, tmp, "/s", root, sizeof(old), sig_of, &o, &f.d), 0);
	chash_set_chunk_fn(h, chunk_any, f.d);
	chash_set_fp(h, fp_secret, NULL, NULL);
	assert_int_equal(chash_feed(h, neu, sizeof(neu)), 0);
	assert_int_equal(chash_finish(h, sha, r2, &size), 0);
	chash_free(h);
	assert_int_equal(chunkdelta_data(f.d, neu, sizeof(neu)), -EIO);
	assert_int_equal(chunkdelta_finish(f.d, &fd, &dsize), -EIO);
	o.fail = 0;
	assert_int_equal(chunkdelta_reset(f.d), 0);
	feed_all(&f, neu, sizeof(neu), 65536);
	assert_int_equal(chunkdelta_finish(f.d, &fd, &dsize), 0);
	check_patch(fd, dsize, old, sizeof(old), neu, sizeof(neu));
	assert_int_equal(o.regions, 1);   /* one region holds the whole small file */
	chunkdelta_free(f.d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_random_edits),
		cmocka_unit_test(test_long_deletions),
		cmocka_unit_test(test_no_list),
		cmocka_unit_test(test_sig_fails),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
