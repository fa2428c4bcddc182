/* test_content.c — versions in the chunk store: build/read round trips,
 * roots equal to what a device computes, chunk reuse by vbuild_copy, resume
 * after a checkpoint, librsync deltas (good and hostile), ranges, and two
 * builders at once; SQLite databases (page-sized chunks) through deltas,
 * ranges and resume. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librsync.h>

#include "common/chash.h"
#include "common/chunker.h"
#include "common/chunktree.h"
#include "common/hex.h"
#include "common/rsync_params.h"
#include "server/store/content.h"
#include "tests/unit/root_fixture.h"
#include "tests/unit/store_fixture.h"
#include "server/store/content_vb.h"
#include "server/store/store_int.h"

static const struct devkey key1 = { { 1, 2, 3 } };

struct fx {
	char dir[STOREFX_DIR];
	struct store *st;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(storefx_open(f->dir, "content", &f->st), 0);
	*state = f;
	return 0;
}

/* A store encrypted whatever VIGIL_TEST_ENCRYPT says. */
static int fx_setup_sealed(void **state)
{
	const char *e = getenv("VIGIL_TEST_ENCRYPT");
	char *was = e ? strdup(e) : NULL;
	int r;

	setenv("VIGIL_TEST_ENCRYPT", "1", 1);
	r = fx_setup(state);
	if (was)
		setenv("VIGIL_TEST_ENCRYPT", was, 1);
	else
		unsetenv("VIGIL_TEST_ENCRYPT");
	free(was);
	return r;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	int rc = storefx_remove(f->dir, f->st);

	free(f);
	return rc;
}

static void build(struct store *st, const uint8_t *p, size_t n, size_t piece,
		  struct content_ref *ref)
{
	struct vbuild *vb;
	size_t off = 0, k;
	uint8_t sha[32], want[32];

	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	if (piece == 0)   /* zero-sized writes first, then all at once */
		assert_int_equal(vbuild_write(vb, p, 0), 0);
	while (off < n) {
		k = piece && n - off > piece ? piece : n - off;
		assert_int_equal(vbuild_write(vb, p + off, k), 0);
		off += k;
	}
	assert_int_equal(vbuild_finish(vb, ref), 0);
	assert_int_equal(vbuild_sha256(vb, sha), 0);
	ctree_sha256(p, n, want);
	assert_memory_equal(sha, want, 32);
	vbuild_free(vb);
}

static void check_read(struct store *st, const struct content_ref *ref, const uint8_t *p, size_t n)
{
	struct vreader *vr;
	uint8_t *b = malloc(n + 100);
	uint64_t x = 12345;
	int i;

	assert_int_equal(vreader_open(st, &key1, ref, &vr), 0);
	assert_int_equal(vreader_size(vr), n);
	assert_int_equal(vreader_pread(vr, b, n + 100, 0), (ssize_t)n);
	if (n)
		assert_memory_equal(b, p, n);
	assert_int_equal(vreader_pread(vr, b, 10, n), 0);
	assert_int_equal(vreader_pread(vr, b, 10, n + 5000), 0);
	for (i = 0; i < 200 && n; i++) {
		uint64_t off, len;
		ssize_t got;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		off = x % n;
		len = (x >> 32) % 70000;
		got = vreader_pread(vr, b, len, off);
		assert_int_equal(got, (ssize_t)(off + len > n ? n - off : len));
		assert_memory_equal(b, p + off, (size_t)got);
	}
	vreader_free(vr);
	free(b);
}

static void test_roundtrip_sizes(void **state)
{
	struct fx *f = *state;
	static const size_t sizes[] = { 0, 1, CHUNK_MIN, CHUNK_MAX, CHUNK_MAX + 1, 300000,
					 10u << 20 };
	static const size_t pieces[] = { 0, 1, 2, 3, 7, 100, 10000, 200000 };
	size_t i, j;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		uint8_t *p = malloc(n + 1);
		struct content_ref ref, dev;

		fill(p, n, i + 1);
		device_root(p, n, &dev);
		for (j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++) {
			if (pieces[j] && pieces[j] < 100 && n > 400000)
				continue;   /* byte-sized writes of 10 MiB: slow, nothing new */
			build(f->st, p, n, pieces[j], &ref);
			assert_int_equal(ref.size, n);
			assert_memory_equal(ref.root, dev.root, 32);
		}
		check_read(f->st, &ref, p, n);
		free(p);
	}
}

/* A build without its whole-content sha256 (a big first upload, left to
 * the background worker): the same root and bytes, the digest of the
 * bytes, no sha256; not once bytes were appended. */
static void test_digest_only(void **state)
{
	struct fx *f = *state;
	size_t n = 12u << 20;
	uint8_t *p = malloc(n), sha[32], d[CHASH_DIGEST_LEN], want[CHASH_DIGEST_LEN];
	struct content_ref ref, dev;
	struct vbuild *vb;

	assert_non_null(p);
	fill(p, n, 4242);
	device_root(p, n, &dev);
	assert_int_equal(vbuild_new(f->st, &key1, &vb), 0);
	assert_int_equal(vbuild_digest_only(vb), 0);
	for (size_t off = 0; off < n; off += 65536)
		assert_int_equal(vbuild_write(vb, p + off, n - off < 65536 ? n - off : 65536), 0);
	assert_int_equal(vbuild_digest_only(vb), -EINVAL);
	assert_int_equal(vbuild_finish(vb, &ref), 0);
	assert_true(vbuild_pipelined(vb));
	assert_int_equal(vbuild_sha256(vb, sha), -EINVAL);
	assert_int_equal(vbuild_digest(vb, d), 0);
	chash_digest_of(p, n, want);
	assert_memory_equal(d, want, CHASH_DIGEST_LEN);
	assert_int_equal(ref.size, n);
	assert_memory_equal(ref.root, dev.root, 32);
	vbuild_free(vb);
	check_read(f->st, &ref, p, n);
	free(p);
}

/* Exactly one chunk: a chunk the chunker cuts by content, alone. */
static int first_cut(void *arg, const uint8_t *d, size_t len)
{
	size_t *n = arg;

	if (!*n)
		*n = len;
	return 0;
}

static void test_one_chunk(void **state)
{
	struct fx *f = *state;
	uint8_t *p = malloc(CHUNK_MAX * 2);
	struct chunker *c = chunker_new();
	struct content_ref ref, dev;
	size_t n = 0;

	fill(p, CHUNK_MAX * 2, 99);
	assert_int_equal(chunker_feed(c, p, CHUNK_MAX * 2, first_cut, &n), 0);
	assert_true(n >= CHUNK_MIN && n <= CHUNK_MAX);
	build(f->st, p, n, 4096, &ref);
	device_root(p, n, &dev);
	assert_memory_equal(ref.root, dev.root, 32);
	check_read(f->st, &ref, p, n);
	chunker_free(c);
	free(p);
}

static void test_unknown_root(void **state)
{
	struct fx *f = *state;
	struct content_ref ref = { { 7 }, 100 };
	struct vreader *vr;
	struct devkey other = { { 9 } };
	uint8_t p[5000];
	struct content_ref good;

	assert_int_equal(vreader_open(f->st, &key1, &ref, &vr), -ENOENT);
	ref.size = 0;
	assert_int_equal(vreader_open(f->st, &key1, &ref, &vr), -ENOENT);
	/* another device's key does not open this device's content */
	fill(p, sizeof(p), 5);
	build(f->st, p, sizeof(p), 0, &good);
	assert_int_equal(vreader_open(f->st, &other, &good, &vr), -ENOENT);
	/* wrong size for a real root: the tree says otherwise */
	good.size++;
	assert_int_equal(vreader_open(f->st, &key1, &good, &vr), -EBADMSG);
}

/* A damaged record among records read back to back (one pread of many,
 * content_read.c's span) reads as EIO, never as other bytes; the records
 * around it still read. */
static void test_damaged_in_span(void **state)
{
	struct fx *f = *state;
	size_t n = 4u << 20;
	uint8_t *p = malloc(n), *b = malloc(n), x;
	struct content_ref ref;
	struct vreader *vr;
	char path[128];
	off_t size;
	int fd;

	fill(p, n, 77);
	build(f->st, p, n, 0, &ref);
	snprintf(path, sizeof(path), "%s/packs/00000001.pack", f->dir);
	assert_true((fd = open(path, O_RDWR)) >= 0);
	size = lseek(fd, 0, SEEK_END);
	assert_int_equal(pread(fd, &x, 1, size / 2), 1);
	x ^= 0x40;
	assert_int_equal(pwrite(fd, &x, 1, size / 2), 1);
	close(fd);
	assert_int_equal(vreader_open(f->st, &key1, &ref, &vr), 0);
	assert_int_equal(vreader_pread(vr, b, n, 0), -EIO);
	vreader_free(vr);
	assert_int_equal(vreader_open(f->st, &key1, &ref, &vr), 0);
	assert_int_equal(vreader_pread(vr, b, 65536, 0), 65536);
	assert_memory_equal(b, p, 65536);
	assert_int_equal(vreader_pread(vr, b, 65536, n - 65536), 65536);
	assert_memory_equal(b, p + n - 65536, 65536);
	vreader_free(vr);
	free(p);
	free(b);
}

/* The pack's record covering file offset `at` (records are scanned from
 * the pack's start): its payload byte at its middle is changed; with
 * recrc the record's CRC-32 is made to match again (a forged record). */
static void damage_record(const char *dir, off_t at, bool recrc)
{
	char path[128];
	uint8_t h[REC_HDR], *pay;
	off_t off = 0;
	uint32_t clen, crc;
	int fd;

	snprintf(path, sizeof(path), "%s/packs/00000001.pack", dir);
	assert_true((fd = open(path, O_RDWR)) >= 0);
	for (;;) {
		assert_int_equal(pread(fd, h, REC_HDR, off), REC_HDR);
		clen = (uint32_t)h[44] << 24 | (uint32_t)h[45] << 16 | (uint32_t)h[46] << 8 | h[47];
		if (off + REC_HDR + (off_t)clen > at)
			break;
		off += REC_HDR + (off_t)clen;
	}
	assert_true(clen > 2 && !(h[4] & 1));   /* a raw record (random content) */
	assert_non_null(pay = malloc(clen));
	assert_int_equal(pread(fd, pay, clen, off + REC_HDR), (ssize_t)clen);
	pay[clen / 2] ^= 0x40;
	assert_int_equal(pwrite(fd, pay, clen, off + REC_HDR), (ssize_t)clen);
	if (recrc) {
		crc = store_crc32(store_crc32(0, h, 48), pay, clen);
		h[48] = (uint8_t)(crc >> 24); h[49] = (uint8_t)(crc >> 16);
		h[50] = (uint8_t)(crc >> 8); h[51] = (uint8_t)crc;
		assert_int_equal(pwrite(fd, h, REC_HDR, off), REC_HDR);
	}
	free(pay);
	close(fd);
}

/* Reads all n bytes of ref with a verified (or plain) reader: the
 * result of vreader_pread, the counts in *ct. */
static ssize_t read_all(struct store *st, const struct content_ref *ref, bool verified,
			uint8_t *b, size_t n, struct vreader_counts *ct)
{
	struct vreader *vr;
	ssize_t got;

	assert_int_equal(vreader_open(st, &key1, ref, &vr), 0);
	vreader_set_verified(vr, verified);
	got = vreader_pread(vr, b, n, 0);
	vreader_get_counts(vr, ct);
	vreader_free(vr);
	return got;
}

/* A verified reader (`vigil get`'s, which checks the whole content
 * itself) reads the same bytes without hashing a chunk; most chunks are
 * decoded straight into the caller's buffer.  A damaged record fails its
 * CRC-32 (EIO) in both modes.  A record forged with a matching CRC-32 is
 * caught by the plain reader's sha256 (EIO) and passed by the verified one,
 * whose caller's whole-content check is what catches it (t_getpar.sh). */
static void test_verified_reader(void **state)
{
	struct fx *f = *state;
	size_t n = 4u << 20;
	uint8_t *p = malloc(n), *b = malloc(n);
	struct vreader_counts ct;
	struct content_ref ref;

	fill(p, n, 78);
	build(f->st, p, n, 0, &ref);
	assert_int_equal(read_all(f->st, &ref, false, b, n, &ct), (ssize_t)n);
	assert_memory_equal(b, p, n);
	assert_true(ct.chunks > 100 && ct.chunks_hashed == ct.chunks);
	assert_true(ct.chunks_direct > ct.chunks / 2);
	memset(b, 0, n);
	assert_int_equal(read_all(f->st, &ref, true, b, n, &ct), (ssize_t)n);
	assert_memory_equal(b, p, n);
	assert_true(ct.chunks > 100 && ct.chunks_hashed == 0);
	check_read(f->st, &ref, p, n);   /* random offsets and lengths */

	damage_record(f->dir, (off_t)n / 2, true);   /* forged */
	assert_int_equal(read_all(f->st, &ref, false, b, n, &ct), -EIO);
	if (storefx_key()) {   /* encrypted: the GCM tag catches the forgery */
		assert_int_equal(read_all(f->st, &ref, true, b, n, &ct), -EIO);
	} else {
		assert_int_equal(read_all(f->st, &ref, true, b, n, &ct), (ssize_t)n);
		assert_memory_not_equal(b, p, n);
	}
	damage_record(f->dir, (off_t)n / 4, false);   /* damaged: its CRC-32 fails */
	assert_int_equal(read_all(f->st, &ref, true, b, n, &ct), -EIO);
	assert_int_equal(read_all(f->st, &ref, false, b, n, &ct), -EIO);
	free(p);
	free(b);
}

/* A sequential reader finds the chunks one upload stored back to back by
 * their records' headers, after the first one the index located: a few
 * lookups for hundreds of chunks.  Where a content's records do not
 * follow each other (chunks shared with another content, stored with it)
 * it asks the index again, and reads the same bytes either way. */
static void test_sequential_lookups(void **state)
{
	struct fx *f = *state;
	size_t n = 4u << 20;
	uint8_t *p = malloc(n), *q = malloc(n), *b = malloc(n);
	struct vreader_counts ct, cq;
	struct content_ref rp, rq;

	fill(p, n, 79);
	build(f->st, p, n, 0, &rp);
	fill(q, n, 80);
	memcpy(q + n / 4, p + n / 4, n / 2);   /* q's middle half is p's */
	build(f->st, q, n, 0, &rq);
	assert_int_equal(read_all(f->st, &rp, false, b, n, &ct), (ssize_t)n);
	assert_memory_equal(b, p, n);
	assert_true(ct.chunks > 100 && ct.lookups > 0 && ct.lookups * 8 < ct.chunks);
	assert_int_equal(read_all(f->st, &rq, true, b, n, &cq), (ssize_t)n);
	assert_memory_equal(b, q, n);
	assert_int_equal(read_all(f->st, &rq, false, b, n, &cq), (ssize_t)n);
	assert_memory_equal(b, q, n);
	assert_true(cq.lookups > ct.lookups && cq.lookups * 8 < cq.chunks);
	check_read(f->st, &rq, q, n);   /* random offsets and lengths */
	free(p);
	free(q);
	free(b);
}

/* ---- librsync helpers (the device side, in memory) ---- */
struct obuf { uint8_t *p; size_t n, cap; };

static void ob_put(struct obuf *o, const void *p, size_t n)
{
	if (o->n + n > o->cap) {
		o->cap = (o->n + n) * 2 + 4096;
		o->p = realloc(o->p, o->cap);
		assert_non_null(o->p);
	}
	memcpy(o->p + o->n, p, n);
	o->n += n;
}

static int ob_out(void *arg, const void *p, size_t n)
{
	ob_put(arg, p, n);
	return 0;
}

static void run_job(rs_job_t *job, const uint8_t *in, size_t n, struct obuf *o)
{
	uint8_t out[65536];
	rs_buffers_t b = { .next_in = (char *)in, .avail_in = n, .eof_in = 1 };
	rs_result r;

	do {
		b.next_out = (char *)out;
		b.avail_out = sizeof(out);
		r = rs_job_iter(job, &b);
		assert_true(r == RS_DONE || r == RS_BLOCKED);
		if (o)
			ob_put(o, out, sizeof(out) - b.avail_out);
	} while (r != RS_DONE);
	rs_job_free(job);
}

/* delta turning the content whose signature is sig into target */
static void make_delta(const struct obuf *sig, const uint8_t *target, size_t n, struct obuf *delta)
{
	rs_signature_t *sums = NULL;

	run_job(rs_loadsig_begin(&sums), sig->p, sig->n, NULL);
	assert_int_equal(rs_build_hash_table(sums), RS_DONE);
	run_job(rs_delta_begin(sums), target, n, delta);
	rs_free_sumset(sums);
}

static void server_sig(struct store *st, const struct content_ref *ref, struct obuf *sig)
{
	struct vreader *vr;

	assert_int_equal(vreader_open(st, &key1, ref, &vr), 0);
	assert_int_equal(content_signature(vr, ob_out, sig), 0);
	vreader_free(vr);
}

static int patch(struct store *st, const struct content_ref *base, const uint8_t *d, size_t n,
		 size_t piece, struct content_ref *out)
{
	struct vpatch *vp;
	size_t off = 0, k;
	int r = 0;

	assert_int_equal(vpatch_new(st, &key1, base, CONTENT_SIZE_MAX, &vp), 0);
	while (off < n && r == 0) {
		k = piece && n - off > piece ? piece : n - off;
		r = vpatch_feed(vp, d + off, k);
		off += k;
	}
	if (r == 0)
		r = vpatch_finish(vp, out);
	if (r == 0) {
		uint8_t sha[32];
		assert_int_equal(vpatch_sha256(vp, sha), 0);
	}
	vpatch_free(vp);
	return r;
}

static void test_signature_matches_librsync(void **state)
{
	struct fx *f = *state;
	size_t n = 3 * 1024 * 1024 + 77;
	uint8_t *p = malloc(n);
	struct content_ref ref;
	struct obuf a = { 0 }, b = { 0 };

	fill(p, n, 42);
	build(f->st, p, n, 0, &ref);
	server_sig(f->st, &ref, &a);
	run_job(rs_sig_begin(VG_RS_BLOCK_LEN, VG_RS_STRONG_LEN, VG_RS_SIG_MAGIC), p, n, &b);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.p, b.p, a.n);
	free(a.p); free(b.p); free(p);
}

enum edit { E_SAME, E_CHANGE4K, E_INSERT100, E_TRUNC, E_APPEND, E_EMPTY, E_NEW };

/* target for an edit of base (n bytes); returns its length */
static size_t edit(const uint8_t *base, size_t n, enum edit e, uint8_t *t)
{
	switch (e) {
	case E_SAME: memcpy(t, base, n); return n;
	case E_CHANGE4K: memcpy(t, base, n); fill(t + n / 2, 4096, 777); return n;
	case E_INSERT100:
		memcpy(t, base, n / 2); fill(t + n / 2, 100, 778);
		memcpy(t + n / 2 + 100, base + n / 2, n - n / 2); return n + 100;
	case E_TRUNC: memcpy(t, base, n / 3); return n / 3;
	case E_APPEND: memcpy(t, base, n); fill(t + n, 50000, 779); return n + 50000;
	case E_EMPTY: return 0;
	case E_NEW: fill(t, 70000, 780); return 70000;
	}
	return 0;
}

static void test_delta_apply(void **state)
{
	struct fx *f = *state;
	static const size_t pieces[] = { 0, 1, 2, 3, 7, 100, 10000, 200000 };
	static const size_t bases[] = { 0, 5000, 1 << 20 };
	size_t n, tn, bi, j;
	int e;

	for (bi = 0; bi < 3; bi++) {
		uint8_t *base, *t;
		struct content_ref bref, dev, out;
		struct obuf sig = { 0 };

		n = bases[bi];
		base = malloc(n + 1);
		t = malloc(n + 100000);
		fill(base, n, 10 + bi);
		build(f->st, base, n, 0, &bref);
		server_sig(f->st, &bref, &sig);
		for (e = E_SAME; e <= E_NEW; e++) {
			struct obuf delta = { 0 };

			tn = edit(base, n, (enum edit)e, t);
			make_delta(&sig, t, tn, &delta);
			device_root(t, tn, &dev);
			for (j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++) {
				if (pieces[j] && pieces[j] < 100 && delta.n > 100000)
					continue;
				assert_int_equal(patch(f->st, &bref, delta.p, delta.n, pieces[j], &out), 0);
				assert_int_equal(out.size, tn);
				assert_memory_equal(out.root, dev.root, 32);
			}
			check_read(f->st, &out, t, tn);
			free(delta.p);
		}
		free(sig.p); free(base); free(t);
	}
}

static uint64_t records_read(struct store *st)
{
	struct store_stats s;

	assert_int_equal(store_stats(st, &s), 0);
	return s.records_read;
}

static uint64_t pack_bytes(struct store *st)
{
	struct store_stats s;

	assert_int_equal(store_stats(st, &s), 0);
	return s.pack_bytes;
}

/* A big base, a small edit: the new version must cost a few chunks only. */
static void reuse_case(struct fx *f, size_t n, enum edit e, const char *what)
{
	uint8_t *base = malloc(n), *t = malloc(n + 100);
	struct content_ref bref, dev, out;
	struct obuf sig = { 0 }, delta = { 0 };
	uint64_t before, grew;
	size_t tn;

	fill(base, n, 1234);
	build(f->st, base, n, 1 << 20, &bref);
	server_sig(f->st, &bref, &sig);
	tn = edit(base, n, e, t);
	make_delta(&sig, t, tn, &delta);
	device_root(t, tn, &dev);
	before = pack_bytes(f->st);
	assert_int_equal(patch(f->st, &bref, delta.p, delta.n, 65536, &out), 0);
	assert_memory_equal(out.root, dev.root, 32);
	grew = pack_bytes(f->st) - before;
	printf("store growth, %zu MiB base, %s: %llu bytes (delta %zu bytes)\n",
	       n >> 20, what, (unsigned long long)grew, delta.n);
	assert_true(grew < 64 * 1024);
	free(sig.p); free(delta.p); free(base); free(t);
}

static void test_delta_reuse_256m(void **state)
{
	reuse_case(*state, 256u << 20, E_CHANGE4K, "4 KiB changed in the middle");
}

static void test_delta_reuse_insert(void **state)
{
	reuse_case(*state, 64u << 20, E_INSERT100, "100 bytes inserted in the middle");
}

static void test_delta_hostile(void **state)
{
	struct fx *f = *state;
	size_t n = 200000, i, tn;
	uint8_t *base = malloc(n), *t = malloc(n + 100);
	struct content_ref bref, out;
	struct obuf sig = { 0 }, delta = { 0 };
	static const struct { size_t len; uint8_t b[24]; } bad[] = {
		{ 0, { 0 } },                                   /* nothing */
		{ 3, { 'r', 's', 2 } },                         /* short magic */
		{ 5, { 'r', 's', 1, '6', 0 } },                 /* signature magic */
		{ 4, { 'r', 's', 2, '6' } },                    /* no END */
		{ 5, { 'r', 's', 2, '6', 0x55 } },              /* reserved op */
		{ 5, { 'r', 's', 2, '6', 0xff } },
		{ 6, { 'r', 's', 2, '6', 0, 0 } },              /* data after END */
		{ 7, { 'r', 's', 2, '6', 3, 'a', 0 } },         /* literal cut short */
		/* COPY pos 0 len 0x40000 (> base) */
		{ 10, { 'r', 's', 2, '6', 0x4d, 0, 0, 0, 0, 0 } },
		{ 13, { 'r', 's', 2, '6', 0x4f, 0, 0, 0, 0, 0, 4, 0, 0 } },
		/* COPY pos past end, len 1 */
		{ 11, { 'r', 's', 2, '6', 0x4d, 0, 4, 0, 0, 1, 0 } },
		/* COPY pos 2^64-1 len 2: overflow */
		{ 15, { 'r', 's', 2, '6', 0x51, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0 } },
		/* LITERAL of 2^64-1 bytes */
		{ 14, { 'r', 's', 2, '6', 0x44, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'x' } },
	};
	uint64_t x = 99;

	fill(base, n, 5);
	build(f->st, base, n, 0, &bref);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(patch(f->st, &bref, bad[i].b, bad[i].len, 1, &out), -EBADMSG);
	/* every strict prefix of a good delta is bad */
	server_sig(f->st, &bref, &sig);
	tn = edit(base, n, E_INSERT100, t);
	make_delta(&sig, t, tn, &delta);
	for (i = 0; i < delta.n; i += (i < 64 ? 1 : 997))
		assert_int_equal(patch(f->st, &bref, delta.p, i, 7, &out), -EBADMSG);
	/* random garbage after a good magic: any result but a crash */
	for (i = 0; i < 300; i++) {
		uint8_t g[64] = { 'r', 's', 2, '6' };
		int r;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		fill(g + 4, sizeof(g) - 4, x);
		r = patch(f->st, &bref, g, 4 + x % 60, 3, &out);
		assert_true(r == 0 || r == -EBADMSG);
	}
	free(sig.p); free(delta.p); free(base); free(t);
}

/* ---- ranges ---- */
static void rec_put(struct obuf *o, uint64_t off, uint32_t len, const uint8_t *bytes)
{
	uint8_t h[12];
	int i;

	for (i = 0; i < 8; i++)
		h[i] = (uint8_t)(off >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		h[8 + i] = (uint8_t)(len >> (24 - 8 * i));
	ob_put(o, h, 12);
	ob_put(o, bytes, len);
}

static int ranges(struct store *st, const struct content_ref *base, uint64_t size,
		  const uint8_t *d, size_t n, size_t piece, struct content_ref *out)
{
	struct vranges *vg;
	size_t off = 0, k;
	int r;

	assert_int_equal(vranges_new(st, &key1, base, size, &vg), 0);
	r = 0;
	while (off < n && r == 0) {
		k = piece && n - off > piece ? piece : n - off;
		r = vranges_feed(vg, d + off, k);
		off += k;
	}
	if (r == 0)
		r = vranges_finish(vg, out);
	vranges_free(vg);
	return r;
}

struct rcase { uint64_t new_size; int nrec; struct { uint64_t off; uint32_t len; } rec[3]; };

static void test_ranges_apply(void **state)
{
	struct fx *f = *state;
	size_t n = 1 << 20, j;
	static const struct rcase cases[] = {
		{ 1 << 20, 0, { { 0, 0 } } },                               /* unchanged */
		{ 1 << 20, 1, { { 500000, 100 } } },
		{ 1 << 20, 3, { { 0, 10 }, { 10, 5000 }, { (1 << 20) - 7, 7 } } },
		{ 2 << 20, 1, { { (1 << 20) + 300000, 4096 } } },           /* zero gap, then bytes */
		{ 3000, 1, { { 100, 0 } } },                                /* cut, empty record */
		{ 0, 0, { { 0, 0 } } },
		{ 1 << 20, 2, { { 1, 65536 }, { 700000, 1 << 18 } } },
	};
	static const size_t pieces[] = { 0, 1, 2, 3, 7, 100, 10000, 200000 };
	uint8_t *base = malloc(n), *want = malloc(4 << 20), *bytes = malloc(1 << 20);
	struct content_ref bref, dev, out;

	fill(base, n, 31);
	fill(bytes, 1 << 20, 32);
	build(f->st, base, n, 0, &bref);
	for (j = 0; j < sizeof(cases) / sizeof(cases[0]); j++) {
		const struct rcase *c = &cases[j];
		struct obuf body = { 0 };
		size_t k, sz = c->new_size;
		int i;

		memset(want, 0, sz);
		memcpy(want, base, sz < n ? sz : n);
		for (i = 0; i < c->nrec; i++) {
			rec_put(&body, c->rec[i].off, c->rec[i].len, bytes + i * 1000);
			memcpy(want + c->rec[i].off, bytes + i * 1000, c->rec[i].len);
		}
		device_root(want, sz, &dev);
		for (k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
			if (pieces[k] && pieces[k] < 100 && body.n > 100000)
				continue;
			assert_int_equal(ranges(f->st, &bref, sz, body.p, body.n, pieces[k], &out), 0);
			assert_int_equal(out.size, sz);
			assert_memory_equal(out.root, dev.root, 32);
		}
		check_read(f->st, &out, want, sz);
		free(body.p);
	}
	free(base); free(want); free(bytes);
}

static void test_ranges_hostile(void **state)
{
	struct fx *f = *state;
	uint8_t base[100000], x[16] = { 0 };
	struct content_ref bref, out;
	struct { uint64_t size; int nrec; struct { uint64_t off; uint32_t len; } rec[2]; size_t cut; } bad[] = {
		{ 100000, 2, { { 500, 10 }, { 100, 10 } }, 0 },       /* unsorted */
		{ 100000, 2, { { 500, 10 }, { 505, 10 } }, 0 },       /* overlap */
		{ 100000, 1, { { 99995, 10 } }, 0 },                  /* past new size */
		{ 100000, 1, { { UINT64_MAX - 2, 10 } }, 0 },         /* overflow */
		{ 100000, 1, { { 10, 10 } }, 5 },                     /* record cut short */
		{ 100000, 1, { { 10, 10 } }, 17 },                    /* header cut short */
	};
	size_t i;

	fill(base, sizeof(base), 8);
	build(f->st, base, sizeof(base), 0, &bref);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct obuf body = { 0 };
		int k;

		for (k = 0; k < bad[i].nrec; k++)
			rec_put(&body, bad[i].rec[k].off, bad[i].rec[k].len > 16 ? 16 : bad[i].rec[k].len, x);
		assert_int_equal(ranges(f->st, &bref, bad[i].size, body.p, body.n - bad[i].cut, 3, &out),
				 -EBADMSG);
		free(body.p);
	}
	/* a record longer than VRANGES_LEN_MAX is refused from its header */
	{
		struct obuf body = { 0 };
		uint8_t h[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 1 };

		ob_put(&body, h, 12);
		assert_int_equal(ranges(f->st, &bref, 100 << 20, body.p, body.n, 0, &out), -EBADMSG);
		free(body.p);
	}
	assert_int_equal(vranges_new(f->st, &key1, &bref, CONTENT_SIZE_MAX + 1, &(struct vranges *){0}),
			 -EFBIG);
}

static void test_ranges_reuse(void **state)
{
	struct fx *f = *state;
	size_t n = 32u << 20;
	uint8_t *base = malloc(n), *want = malloc(n);
	struct content_ref bref, dev, out;
	struct obuf body = { 0 };
	uint64_t before, grew, reads;

	fill(base, n, 77);
	build(f->st, base, n, 1 << 20, &bref);
	memcpy(want, base, n);
	fill(want + 10000000, 100, 5);
	rec_put(&body, 10000000, 100, want + 10000000);
	device_root(want, n, &dev);
	before = pack_bytes(f->st);
	reads = records_read(f->st);
	assert_int_equal(ranges(f->st, &bref, n, body.p, body.n, 0, &out), 0);
	assert_memory_equal(out.root, dev.root, 32);
	grew = pack_bytes(f->st) - before;
	reads = records_read(f->st) - reads;
	printf("store growth, 32 MiB base, one 100-byte range: %llu bytes, %llu records read\n",
	       (unsigned long long)grew, (unsigned long long)reads);
	assert_true(grew < 64 * 1024);
	/* the untouched parts go in as whole subtrees: the pages along the
	 * edit's path and a few chunks around it are read, not the ~100 leaf
	 * pages of the base (reading them all would cost in proportion to
	 * the file) */
	assert_true(reads <= 24);
	free(body.p); free(base); free(want);
}

/* Subtree reuse gives the root a device computes over the whole bytes:
 * a chain of random edits (overwrites, growth, cuts, several records),
 * each built on the version before, in FastCDC and in a SQLite file's
 * fixed mode. */
static void test_ranges_chain(void **state)
{
	struct fx *f = *state;
	size_t cap = 20u << 20, n = 12u << 20;
	uint8_t *cur = malloc(cap), *bytes = malloc(1 << 20);
	struct content_ref bref, dev, out;
	uint64_t x = 12345;

	for (int mode = 0; mode < 2; mode++) {
		n = 12u << 20;
		fill(cur, cap, 90 + (uint64_t)mode);
		if (mode == 1) {   /* an SQLite header, 4096-byte pages: fixed chunks */
			memcpy(cur, "SQLite format 3", 16);
			cur[16] = 0x10;
			cur[17] = 0;
		}
		build(f->st, cur, n, 0, &bref);
		for (int it = 0; it < 12; it++) {
			struct obuf body = { 0 };
			uint64_t size = n, off = 4096;
			int nrec;

			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			if (it % 4 == 1)
				size = n + (x >> 40) % 300000;              /* grows */
			else if (it % 4 == 3)
				size = n - (x >> 40) % 300000;              /* shrinks */
			memset(cur + (n < size ? n : size), 0, size > n ? size - n : 0);
			nrec = 1 + (int)((x >> 20) % 3);
			for (int i = 0; i < nrec && off < size; i++) {
				uint64_t o = off + (x >> (8 * i)) % ((size - off) / (uint64_t)(nrec - i) + 1);
				uint32_t l = (uint32_t)(1 + (x >> (3 * i)) % 9000);

				if (o + l > size)
					l = (uint32_t)(size - o);
				fill(bytes, l, x + (uint64_t)i);
				rec_put(&body, o, l, bytes);
				memcpy(cur + o, bytes, l);
				off = o + l;
			}
			n = size;
			device_root(cur, n, &dev);
			assert_int_equal(ranges(f->st, &bref, n, body.p, body.n, 0, &out), 0);
			assert_int_equal(out.size, n);
			assert_memory_equal(out.root, dev.root, 32);
			bref = out;
			free(body.p);
		}
		check_read(f->st, &bref, cur, n);
	}
	free(cur);
	free(bytes);
}

/* ---- resume ---- */

/* Appends an entry naming (sha, len) to the upload state of token the way
 * a checkpoint writes it (sealed in an encrypted store), after a build of
 * p[0, n) checkpointed there. */
static void state_with_entry(struct store *st, const uint8_t token[16], const uint8_t *p, size_t n,
			     const uint8_t sha[32], uint32_t len)
{
	struct vbuild *vb;

	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	assert_int_equal(vbuild_write(vb, p, n), 0);
	assert_int_equal(vbuild_checkpoint(vb, token), 0);
	assert_int_equal(vb_add_entry(vb, sha, len), 0);
	assert_int_equal(vbuild_checkpoint(vb, token), 0);
	vbuild_free(vb);
}

static void test_resume(void **state)
{
	struct fx *f = *state;
	static const uint8_t token[16] = { 0xab, 1, 2, 3 };
	static const uint8_t other[16] = { 0xcd };
	size_t n = 5u << 20;
	uint8_t *p = malloc(n);
	struct content_ref dev, out;
	struct vbuild *vb;
	uint64_t off, off2;
	uint8_t sha[32], want[32];
	char path[256];

	fill(p, n, 66);
	device_root(p, n, &dev);
	ctree_sha256(p, n, want);
	assert_int_equal(vbuild_resume(f->st, &key1, token, &vb, &off), -ENOENT);
	assert_int_equal(vbuild_new(f->st, &key1, &vb), 0);
	assert_int_equal(vbuild_write(vb, p, 1000000), 0);
	assert_int_equal(vbuild_checkpoint(vb, token), 0);
	assert_int_equal(vbuild_write(vb, p + 1000000, 2000000), 0);
	assert_int_equal(vbuild_checkpoint(vb, token), 0);
	assert_int_equal(vbuild_checkpoint(vb, other), -EINVAL);
	assert_int_equal(vbuild_write(vb, p + 3000000, 500000), 0);
	vbuild_free(vb);                            /* connection lost */
	store_close(f->st);                         /* server restarted */
	assert_int_equal(storefx_reopen(f->dir, &f->st), 0);

	assert_int_equal(vbuild_resume(f->st, &key1, token, &vb, &off), 0);
	assert_true(off > 3000000 - CHUNK_MAX && off <= 3000000);
	vbuild_free(vb);
	{	/* another device does not see this device's upload */
		struct devkey key2 = { { 2 } };
		assert_int_equal(vbuild_resume(f->st, &key2, token, &vb, &off2), -ENOENT);
	}
	/* a torn record at the end of the state file is cut off */
	snprintf(path, sizeof(path), "for x in %s/uploads/*/*; do printf garbage >> $x; done", f->dir);
	assert_int_equal(system(path), 0);
	assert_int_equal(vbuild_resume(f->st, &key1, token, &vb, &off2), 0);
	assert_int_equal(off2, off);
	assert_int_equal(vbuild_write(vb, p + off, n - off), 0);
	assert_int_equal(vbuild_finish(vb, &out), 0);
	assert_memory_equal(out.root, dev.root, 32);
	assert_int_equal(vbuild_sha256(vb, sha), 0);
	assert_memory_equal(sha, want, 32);
	vbuild_free(vb);
	check_read(f->st, &out, p, n);
	vbuild_forget(f->st, &key1, token);
	assert_int_equal(vbuild_resume(f->st, &key1, token, &vb, &off), -ENOENT);

	/* state naming a chunk the store does not have: dropped, start over */
	memset(sha, 0x5a, 32);
	state_with_entry(f->st, token, p, 300000, sha, 0x1000);
	assert_int_equal(vbuild_resume(f->st, &key1, token, &vb, &off), -ENOENT);
	snprintf(path, sizeof(path), "test -z \"$(ls %s/uploads)\"", f->dir);
	assert_int_equal(system(path), 0);     /* the unusable state is gone */
	free(p);
}

/* vbuild_chunk_list's output of a finished build */
static int list_out(void *arg, const void *p, size_t n)
{
	return storefx_collect(arg, p, n / CONTENT_CHUNK_ENTRY);
}

/* The one upload state file of the store in dir, whole: its length. */
static size_t state_file(const char *dir, char *name, size_t ncap, uint8_t *buf, size_t cap)
{
	ssize_t got;
	int fd;

	storefx_upload_file(dir, "*", name, ncap);
	assert_true((fd = open(name, O_RDONLY)) >= 0);
	got = read(fd, buf, cap);
	close(fd);
	assert_true(got > 0 && (size_t)got < cap);
	return (size_t)got;
}

/* An upload state as the store writes it: in an encrypted store the
 * owner's header stays readable for expiry, the file is not named by the
 * token, and no chunk sha256 is in the file, raw or in hex (a plain
 * store's holds them all); the entries read
 * back, the upload resumes there; a changed last byte cuts the state at
 * its record; the chunk list sent after finishing is the content's. */
static void test_state_format(void **state)
{
	struct fx *f = *state;
	static const uint8_t token[16] = { 0x5e, 0xa1 };
	size_t n = 6u << 20, fs, fs2, i, found = 0;
	uint8_t *p = malloc(n), *file = malloc(1 << 20), *e;
	struct storefx_ents got = { malloc(1 << 20), 0, 1 << 20 }, want = { malloc(1 << 20), 0, 1 << 20 };
	struct content_ref dev, out;
	struct vbuild *vb;
	uint64_t off, off2, good, cnt, sum = 0;
	char name[400], hx[HEX_SIZE(32)];
	int fd;

	fill(p, n, 77);
	device_root(p, n, &dev);
	assert_int_equal(vbuild_new(f->st, &key1, &vb), 0);
	assert_int_equal(vbuild_write(vb, p, 2000000), 0);
	assert_int_equal(vbuild_checkpoint(vb, token), 0);
	assert_int_equal(vbuild_write(vb, p + 2000000, 2000000), 0);
	assert_int_equal(vbuild_checkpoint(vb, token), 0);
	vbuild_free(vb);

	fs = state_file(f->dir, name, sizeof(name), file, 1 << 20);
	assert_memory_equal(file, f->st->enc ? "VGUPLDS1" : "VGUPLD01", 8);
	/* the token (a hash of the path and content) names only a plain state */
	hex_encode(token, 16, hx);
	assert_int_equal(!strcmp(strrchr(name, '/') + 1, hx), !f->st->enc);
	assert_true((fd = open(name, O_RDONLY)) >= 0);
	assert_true(upload_owner_fd(fd) != 0);
	assert_int_equal(upload_entries(f->st, fd, UINT64_MAX, storefx_collect, &got, &good, &cnt), 0);
	close(fd);
	assert_int_equal(good, fs);
	assert_true(cnt > 20);
	for (i = 0; i < cnt; i++) {
		e = got.buf + i * CONTENT_CHUNK_ENTRY;
		sum += (uint32_t)e[32] << 24 | (uint32_t)e[33] << 16 | (uint32_t)e[34] << 8 | e[35];
		hex_encode(e, 32, hx);
		found += memmem(file, fs, e, 32) != NULL;
		found += memmem(file, fs, hx, 64) != NULL;
	}
	assert_int_equal(found, f->st->enc ? 0 : cnt);
	assert_int_equal(vbuild_resume(f->st, &key1, token, &vb, &off), 0);
	assert_int_equal(off, sum);
	vbuild_free(vb);

	/* a changed last byte: the state is cut at that record */
	assert_true((fd = open(name, O_RDWR)) >= 0);
	file[fs - 1] ^= 1;
	assert_int_equal(pwrite(fd, file + fs - 1, 1, (off_t)(fs - 1)), 1);
	close(fd);
	assert_int_equal(vbuild_resume(f->st, &key1, token, &vb, &off2), 0);
	assert_true(off2 > 0 && off2 < off);
	fs2 = state_file(f->dir, name, sizeof(name), file, 1 << 20);
	assert_true(fs2 < fs);
	assert_int_equal(vbuild_write(vb, p + off2, n - off2), 0);
	assert_int_equal(vbuild_finish(vb, &out), 0);
	assert_memory_equal(out.root, dev.root, 32);
	got.n = 0;
	assert_int_equal(vbuild_chunk_count(vb, &cnt), 0);
	assert_int_equal(vbuild_chunk_list(vb, list_out, &got), 0);
	assert_int_equal(got.n, cnt * CONTENT_CHUNK_ENTRY);
	vbuild_free(vb);
	vbuild_forget(f->st, &key1, token);
	assert_int_equal(vbuild_new(f->st, &key1, &vb), 0);   /* never checkpointed */
	assert_int_equal(vbuild_write(vb, p, n), 0);
	assert_int_equal(vbuild_finish(vb, &out), 0);
	assert_int_equal(vbuild_chunk_list(vb, list_out, &want), 0);
	vbuild_free(vb);
	assert_int_equal(want.n, got.n);
	assert_memory_equal(want.buf, got.buf, got.n);
	free(p);
	free(file);
	free(got.buf);
	free(want.buf);
}

/* ---- SQLite databases: fixed page-sized chunks ---- */
#define PG 4096

static void fake_db(uint8_t *p, size_t n, unsigned ps, uint64_t seed)
{
	fill(p, n, seed);
	memcpy(p, "SQLite format 3", 16);
	p[16] = (uint8_t)(ps >> 8);
	p[17] = (uint8_t)ps;
}

struct dbcase {
	const char *what;
	int sqlite_base;         /* base is a database (else random bytes) */
	size_t new_size;
	int npages;              /* whole pages rewritten, scattered */
	int partial;             /* 100-byte writes at unaligned offsets */
	int hdr;                 /* 0 keep, 1 change counter, 2 break magic, 3 page size 8192,
				  * 4 make it a database */
};

/* t = base edited as the case says; records the writes as ranges in body */
static void db_edit(const struct dbcase *c, const uint8_t *base, size_t n, uint8_t *t,
		    struct obuf *body)
{
	uint64_t x = 4242;
	size_t i, nw = 0, keep = c->new_size < n ? c->new_size : n;
	struct { uint64_t off; uint32_t len; } w[200];

	memset(t, 0, c->new_size);
	memcpy(t, base, keep);
	switch (c->hdr) {
	case 1: w[nw].off = 24; w[nw++].len = 4; t[27]++; break;
	case 2: w[nw].off = 0; w[nw++].len = 1; t[0] = 'X'; break;
	case 3: w[nw].off = 16; w[nw++].len = 2; t[16] = 0x20; t[17] = 0; break;
	case 4: w[nw].off = 0; w[nw++].len = 18; memcpy(t, "SQLite format 3\0\x10\0", 18); break;
	}
	for (i = 0; i < (size_t)(c->npages + c->partial); i++) {
		size_t pg;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		pg = 1 + (x >> 8) % (c->new_size / PG - 1);
		w[nw].off = pg * PG + ((int)i < c->npages ? 0 : 1000 + i);
		w[nw].len = (int)i < c->npages ? PG : 100;
		fill(t + w[nw].off, w[nw].len, 9000 + i);
		nw++;
	}
	/* ranges must be sorted and disjoint: merge after sorting by offset */
	for (i = 1; i < nw; i++) {
		size_t j = i;

		while (j > 0 && w[j - 1].off > w[j].off) {
			uint64_t o = w[j].off; uint32_t l = w[j].len;
			w[j] = w[j - 1]; w[j - 1].off = o; w[j - 1].len = l;
			j--;
		}
	}
	for (i = 0; i < nw; i++) {
		uint64_t off = w[i].off, end = off + w[i].len;

		while (i + 1 < nw && w[i + 1].off <= end) {
			if (w[i + 1].off + w[i + 1].len > end)
				end = w[i + 1].off + w[i + 1].len;
			i++;
		}
		rec_put(body, off, (uint32_t)(end - off), t + off);
	}
	if (c->new_size > n)       /* appended pages */
		rec_put(body, n, (uint32_t)(c->new_size - n), t + n);
}

/* Deltas and ranges against a database base give the device's root, and
 * cost about the changed pages. */
static void test_sqlite_delta_ranges(void **state)
{
	struct fx *f = *state;
	static const struct dbcase cases[] = {
		{ "40 pages + counter", 1, 4u << 20, 40, 0, 1 },
		{ "appended pages", 1, (4u << 20) + 5 * PG, 3, 0, 1 },
		{ "unaligned writes", 1, 4u << 20, 0, 20, 0 },
		{ "cut mid-page", 1, (3u << 20) + 777, 5, 0, 1 },
		{ "magic broken", 1, 4u << 20, 2, 0, 2 },
		{ "page size 8192", 1, 4u << 20, 2, 0, 3 },
		{ "becomes a database", 0, 4u << 20, 2, 0, 4 },
	};
	static const size_t pieces[] = { 0, 7, 10000 };
	size_t n = 4u << 20, i, j;
	uint8_t *dbase = malloc(n), *rbase = malloc(n), *t = malloc(n + 8 * PG);
	struct content_ref dref, rref;
	struct obuf dsig = { 0 }, rsig = { 0 };

	fake_db(dbase, n, PG, 1);
	fill(rbase, n, 2);
	build(f->st, dbase, n, 1 << 20, &dref);
	build(f->st, rbase, n, 1 << 20, &rref);
	server_sig(f->st, &dref, &dsig);
	server_sig(f->st, &rref, &rsig);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dbcase *c = &cases[i];
		const struct content_ref *bref = c->sqlite_base ? &dref : &rref;
		struct obuf body = { 0 }, delta = { 0 };
		struct content_ref dev, out;
		uint64_t before, grew_d, grew_r;

		db_edit(c, c->sqlite_base ? dbase : rbase, n, t, &body);
		make_delta(c->sqlite_base ? &dsig : &rsig, t, c->new_size, &delta);
		device_root(t, c->new_size, &dev);
		before = pack_bytes(f->st);
		assert_int_equal(patch(f->st, bref, delta.p, delta.n, 65536, &out), 0);
		assert_memory_equal(out.root, dev.root, 32);
		grew_d = pack_bytes(f->st) - before;
		before = pack_bytes(f->st);
		assert_int_equal(ranges(f->st, bref, c->new_size, body.p, body.n, 0, &out), 0);
		assert_memory_equal(out.root, dev.root, 32);
		grew_r = pack_bytes(f->st) - before;
		for (j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++) {
			assert_int_equal(ranges(f->st, bref, c->new_size, body.p, body.n, pieces[j], &out), 0);
			assert_memory_equal(out.root, dev.root, 32);
			assert_int_equal(patch(f->st, bref, delta.p, delta.n, pieces[j], &out), 0);
			assert_memory_equal(out.root, dev.root, 32);
		}
		check_read(f->st, &out, t, c->new_size);
		printf("sqlite %s: store growth %llu bytes (delta %zu bytes)\n", c->what,
		       (unsigned long long)grew_d, delta.n);
		if (i == 0) {
			/* 41 pages changed: their chunks + the leaf pages above
			 * them (~1.2 KB each) + a few inner pages */
			assert_true(grew_d < 41 * (PG + 1400) + 16 * 1024);
			assert_true(grew_r == 0);   /* same content: all deduplicated */
		}
		free(body.p); free(delta.p);
	}
	free(dsig.p); free(rsig.p); free(dbase); free(rbase); free(t);
}

/* A database upload resumed after a checkpoint: page chunks continue. */
static void test_resume_sqlite(void **state)
{
	struct fx *f = *state;
	static const uint8_t token[16] = { 0x5e, 9 };
	size_t n = (3u << 20) + 100;
	uint8_t *p = malloc(n), q[10000], sha[32];
	struct content_ref dev, out;
	struct vbuild *vb;
	uint64_t off;

	fake_db(p, n, PG, 3);
	device_root(p, n, &dev);
	assert_int_equal(vbuild_new(f->st, &key1, &vb), 0);
	assert_int_equal(vbuild_write(vb, p, 1000003), 0);
	assert_int_equal(vbuild_checkpoint(vb, token), 0);
	vbuild_free(vb);
	assert_int_equal(vbuild_resume(f->st, &key1, token, &vb, &off), 0);
	assert_int_equal(off, 1000003 / PG * PG);
	assert_int_equal(vbuild_write(vb, p + off, 7), 0);     /* odd pieces after resuming */
	assert_int_equal(vbuild_write(vb, p + off + 7, n - off - 7), 0);
	assert_int_equal(vbuild_finish(vb, &out), 0);
	assert_memory_equal(out.root, dev.root, 32);
	vbuild_free(vb);
	vbuild_forget(f->st, &key1, token);

	/* a state whose chunks do not fit the database's pages (written by an
	 * older chunker, say): dropped, the upload starts over */
	fill(q, sizeof(q), 4);
	build(f->st, q, sizeof(q), 0, &out);          /* one stored chunk of 10000 bytes */
	ctree_sha256(q, sizeof(q), sha);
	state_with_entry(f->st, token, p, 300000, sha, sizeof(q));
	assert_int_equal(vbuild_resume(f->st, &key1, token, &vb, &off), -ENOENT);
	free(p);
}

/* ---- two builders at once ---- */
struct job { struct store *st; size_t n; uint64_t seed; struct content_ref ref; int r; };

static void *job_run(void *arg)
{
	struct job *j = arg;
	uint8_t *p = malloc(j->n);
	struct vbuild *vb;
	size_t off;

	fill(p, j->n, j->seed);
	j->r = vbuild_new(j->st, &key1, &vb);
	for (off = 0; off < j->n && j->r == 0; off += 4099)
		j->r = vbuild_write(vb, p + off, j->n - off < 4099 ? j->n - off : 4099);
	if (j->r == 0)
		j->r = vbuild_finish(vb, &j->ref);
	vbuild_free(vb);
	free(p);
	return NULL;
}

static void test_concurrent(void **state)
{
	struct fx *f = *state;
	struct job j[4] = {
		{ .st = f->st, .n = 20u << 20, .seed = 1001 }, { .st = f->st, .n = 20u << 20, .seed = 1002 },
		{ .st = f->st, .n = 3u << 20, .seed = 1003 }, { .st = f->st, .n = 3u << 20, .seed = 1003 },
	};
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, job_run, &j[i]), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 4; i++) {
		uint8_t *p = malloc(j[i].n);
		struct content_ref dev;

		assert_int_equal(j[i].r, 0);
		fill(p, j[i].n, j[i].seed);
		device_root(p, j[i].n, &dev);
		assert_memory_equal(j[i].ref.root, dev.root, 32);
		check_read(f->st, &j[i].ref, p, j[i].n);
		free(p);
	}
	/* still all there after a restart */
	store_close(f->st);
	assert_int_equal(storefx_reopen(f->dir, &f->st), 0);
	{
		uint8_t *p = malloc(j[1].n);

		fill(p, j[1].n, j[1].seed);
		check_read(f->st, &j[1].ref, p, j[1].n);
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_sizes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_one_chunk, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_digest_only, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_root, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_in_span, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_verified_reader, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sequential_lookups, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_signature_matches_librsync, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_delta_apply, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_delta_hostile, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ranges_apply, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ranges_hostile, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ranges_chain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ranges_reuse, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_resume, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_state_format, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_state_format, fx_setup_sealed, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_delta_ranges, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_resume_sqlite, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_delta_reuse_insert, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_delta_reuse_256m, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
