/* test_chunklist.c — chunk lists and the PUT_RANGES splice: for a table of
 * edits (in place, at chunk edges, at the start and end, appends, shrinks,
 * truncate-then-extend, several ranges) the spliced root equals the root of
 * re-chunking the whole new content, at every read-buffer size of the
 * sweep; the spliced list reads back entry for entry; a small edit in a
 * big file reads only a few chunks; corrupt lists are refused. */
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

#include <cmocka.h>

#include "common/chunker.h"
#include "common/chunktree.h"
#include "daemon/pathstate.h"
#include "daemon/chunklist.h"

static char dir[64];

/* the fingerprints' secret (a device's is random, kept in its state db) */
static uint8_t fp_secret[CHASH_FP_SECRET];

static int setup(void **state)
{
	assert_int_equal(chash_fp_secret(fp_secret, "test_chunklist seed", 19), 0);
	snprintf(dir, sizeof(dir), "/tmp/vigil-cl-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static uint64_t rng = 88172645463325252ULL;

static uint8_t rnd8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)rng;
}

struct full {
	struct clwriter *w;
	struct ctree_builder *tb;
};

static int full_emit(void *arg, const uint8_t *d, size_t n)
{
	struct full *f = arg;
	uint8_t sha[32], fp[CHASH_FP_LEN];

	assert_int_equal(ctree_sha256(d, n, sha), 0);
	chash_fingerprint(fp_secret, d, n, fp);
	if (f->w)
		assert_int_equal(clwriter_add(f->w, sha, (uint32_t)n, fp), 0);
	return ctree_add(f->tb, sha, (uint32_t)n);
}

/* Chunks the whole of p; root out; the list committed for "path" when w. */
static void full_chunk(const uint8_t *p, size_t n, uint8_t root[32], struct clwriter *w)
{
	struct full f = { .w = w, .tb = ctree_builder_new(NULL, NULL) };
	struct chunker *c = chunker_new();
	uint64_t size;

	assert_non_null(f.tb);
	assert_int_equal(chunker_feed(c, p, n, full_emit, &f), 0);
	assert_int_equal(chunker_flush(c, full_emit, &f), 0);
	assert_int_equal(ctree_finish(f.tb, root, &size), 0);
	assert_int_equal(size, n);
	ctree_builder_free(f.tb);
	chunker_free(c);
	if (w)
		assert_int_equal(clwriter_commit(w, "/f", root), 0);
}

struct mem {
	const uint8_t *p;
	size_t n;
	uint64_t bytes_seen;
	uint64_t next_off;
};

static ssize_t mem_pread(void *arg, void *buf, size_t n, uint64_t off)
{
	struct mem *m = arg;

	if (off >= m->n)
		return 0;
	if (n > m->n - off)
		n = m->n - off;
	memcpy(buf, m->p + off, n);
	return (ssize_t)n;
}

static int mem_bytes(void *arg, uint64_t off, const uint8_t *p, size_t n)
{
	struct mem *m = arg;

	/* a run may start inside what the last one read ahead: bytes may
	 * repeat, but always as the content's own */
	assert_true(off + n <= m->n);
	assert_memory_equal(p, m->p + off, n);
	m->next_off = off + n;
	m->bytes_seen += n;
	return 0;
}

struct edit {
	const char *name;
	size_t old_size, new_size;
	size_t nr;
	struct { uint64_t off, len; } r[4];   /* rewritten with random bytes */
	uint64_t eof_from;                  /* 0: none; else value-1 */
	uint64_t max_read;                  /* 0: no bound checked */
};

static const struct edit edits[] = {
	{ "no change", 300000, 300000, 0, { { 0, 0 } }, 0, 1 },
	{ "4k middle", 1 << 20, 1 << 20, 1, { { 500000, 4096 } }, 0, 400000 },
	{ "1 byte at 0", 200000, 200000, 1, { { 0, 1 } }, 0, 200000 },
	{ "last byte", 200000, 200000, 1, { { 199999, 1 } }, 0, 0 },
	{ "two far apart", 1 << 20, 1 << 20, 2, { { 10000, 100 }, { 900000, 5000 } }, 0, 600000 },
	{ "two close", 400000, 400000, 2, { { 100000, 10 }, { 100020, 10 } }, 0, 0 },
	{ "four", 600000, 600000, 4, { { 0, 10 }, { 70000, 3 }, { 300000, 70000 }, { 599990, 10 } }, 0, 0 },
	{ "append", 300000, 350000, 1, { { 300000, 50000 } }, 0, 0 },
	{ "append + edit", 300000, 310000, 2, { { 1000, 5 }, { 300000, 10000 } }, 0, 0 },
	{ "shrink", 300000, 123456, 0, { { 0, 0 } }, 0, 0 },
	{ "shrink + edit", 300000, 200000, 1, { { 50000, 100 } }, 0, 0 },
	{ "shrink then extend", 300000, 300000, 0, { { 0, 0 } }, 100001, 0 },
	{ "grow from tiny", 100, 300000, 1, { { 100, 299900 } }, 0, 0 },
	{ "whole rewrite", 200000, 200000, 1, { { 0, 200000 } }, 0, 0 },
	{ "edit in last chunk", 200000, 200000, 1, { { 199000, 100 } }, 0, 0 },
};

static void run_edit(const struct edit *e, size_t bufsize)
{
	size_t big = e->old_size > e->new_size ? e->old_size : e->new_size;
	uint8_t *old = malloc(big), *neu = malloc(big), want[32], oldroot[32];
	struct cl_region reg[4];
	struct clwriter *w, *w2;
	struct clreader *rd, *rd2, *rd3;
	struct mem m;
	struct cl_splice s;
	char file[PATH_MAX];
	int fd;

	for (size_t i = 0; i < big; i++)
		old[i] = rnd8();
	memcpy(neu, old, big);
	if (e->new_size > e->old_size)
		memset(neu + e->old_size, 0, e->new_size - e->old_size);
	if (e->eof_from)
		memset(neu + e->eof_from - 1, 0, e->new_size - (e->eof_from - 1));
	for (size_t i = 0; i < e->nr; i++) {
		for (uint64_t k = 0; k < e->r[i].len; k++)
			neu[e->r[i].off + k] = rnd8();
		reg[i] = (struct cl_region){ e->r[i].off, e->r[i].off + e->r[i].len };
	}
	assert_int_equal(clwriter_new(dir, bufsize ? bufsize : 1, &w), 0);
	full_chunk(old, e->old_size, oldroot, w);
	clwriter_free(w);
	full_chunk(neu, e->new_size, want, NULL);

	assert_int_equal(clreader_open(dir, "/f", oldroot, bufsize ? bufsize : 1, &rd), 0);
	assert_int_equal(clreader_size(rd), e->old_size);
	m = (struct mem){ .p = neu, .n = e->new_size };
	s = (struct cl_splice){ .old = rd, .new_size = e->new_size, .reg = reg, .nreg = e->nr,
				.eof_from = e->eof_from ? e->eof_from - 1 : UINT64_MAX,
				.pread = mem_pread, .bytes = mem_bytes, .arg = &m, .bufsize = bufsize,
				.fp_secret = fp_secret };
	assert_int_equal(clwriter_new(dir, 7, &w2), 0);
	assert_int_equal(chunklist_splice(&s, w2), 0);
	assert_memory_equal(s.root, want, 32);
	assert_int_equal(s.bytes_read, m.bytes_seen);
	if (e->max_read)
		assert_true(s.bytes_read <= e->max_read);
	/* every changed byte was read */
	for (size_t i = 0; i < e->nr; i++)
		assert_true(s.bytes_read >= e->r[i].len);
	assert_int_equal(clwriter_commit(w2, "/g", s.root), 0);
	clwriter_free(w2);
	clreader_free(rd);

	/* the spliced list equals the list of a full chunking */
	assert_int_equal(clwriter_new(dir, 100, &w), 0);
	full_chunk(neu, e->new_size, want, w);
	clwriter_free(w);
	assert_int_equal(clreader_open(dir, "/f", want, 3, &rd2), 0);
	assert_int_equal(clreader_open(dir, "/g", want, 10000, &rd3), 0);
	assert_int_equal(clreader_count(rd2), clreader_count(rd3));
	for (;;) {
		struct cl_entry a, b;
		int x = clreader_next(rd2, &a), y = clreader_next(rd3, &b);

		assert_int_equal(x, y);
		if (x == 0)
			break;
		assert_int_equal(x, 1);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.sha, b.sha, 32);
		assert_memory_equal(a.fp, b.fp, CHASH_FP_LEN);
	}
	clreader_free(rd2);
	clreader_free(rd3);
	assert_int_equal(pathstate_file(dir, PS_DIR_CHUNKS, "/f", file), 0);
	fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
	free(old);
	free(neu);
}

static void test_splice_table(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 7, 100, 10000, 200000 };

	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++)
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			if (sizes[k] && sizes[k] < 100 && edits[i].new_size > 400000)
				continue;   /* tiny buffers on big files: slow, same code */
			print_message("%s / buffer %zu\n", edits[i].name, sizes[k]);
			run_edit(&edits[i], sizes[k]);
		}
}

/* A 4 KiB edit in a 64 MiB file reads a handful of chunks. */
static void test_small_edit_reads_little(void **state)
{
	static const struct edit e = { "4k in 64M", 64 << 20, 64 << 20, 1,
				       { { 40 << 20, 4096 } }, 0, 256 * 1024 };

	run_edit(&e, 0);
}

static void test_bad_lists(void **state)
{
	uint8_t root[32] = { 0 }, buf[CL_HDR + CL_ENTRY];
	struct clreader *rd;
	struct cl_entry en;
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/bad", dir);
	/* short header, wrong magic */
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, "VGCHL00", 7), 7);
	assert_int_equal(clreader_fdopen(fd, 100, &rd), -EBADMSG);
	/* the format before fingerprints: not read (as if there were none) */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "VGCHL001", 8);
	assert_int_equal(pwrite(fd, buf, CL_HDR, 0), CL_HDR);
	assert_int_equal(clreader_fdopen(fd, 100, &rd), -EBADMSG);
	/* count says 2, one entry present */
	memcpy(buf, "VGCHL002", 8);
	buf[40 + 7] = 10;   /* size 10 */
	buf[48 + 7] = 2;    /* count 2 */
	buf[CL_HDR + 51] = 10;
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(clreader_fdopen(fd, CL_ENTRY, &rd), 0);
	assert_int_equal(clreader_next(rd, &en), 1);
	assert_int_equal(clreader_next(rd, &en), -EBADMSG);
	clreader_free(rd);
	/* sizes do not add up; zero length */
	fd = open(path, O_RDWR);
	buf[48 + 7] = 1;
	buf[40 + 7] = 11;
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(clreader_fdopen(fd, CL_ENTRY, &rd), 0);
	assert_int_equal(clreader_next(rd, &en), 1);
	assert_int_equal(clreader_next(rd, &en), -EBADMSG);
	clreader_free(rd);
	fd = open(path, O_RDWR);
	buf[CL_HDR + 51] = 0;
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(clreader_fdopen(fd, CL_ENTRY, &rd), 0);
	assert_int_equal(clreader_next(rd, &en), -EBADMSG);
	clreader_free(rd);
	/* wrong root: ignored */
	assert_int_equal(clreader_open(dir, "/nope", root, 100, &rd), -ENOENT);
}

static void test_bad_regions(void **state)
{
	uint8_t p[5000], root[32];
	struct cl_region r[2] = { { 100, 200 }, { 150, 300 } };
	struct clwriter *w;
	struct clreader *rd;
	struct mem m = { .p = p, .n = sizeof(p) };
	struct cl_splice s;

	memset(p, 7, sizeof(p));
	assert_int_equal(clwriter_new(dir, 1000, &w), 0);
	full_chunk(p, sizeof(p), root, w);
	clwriter_free(w);
	assert_int_equal(clreader_open(dir, "/f", root, 1000, &rd), 0);
	s = (struct cl_splice){ .old = rd, .new_size = sizeof(p), .reg = r, .nreg = 2,
				.eof_from = UINT64_MAX, .pread = mem_pread, .arg = &m };
	assert_int_equal(chunklist_splice(&s, NULL), -EINVAL);   /* overlap */
	r[1] = (struct cl_region){ 300, 6000 };
	assert_int_equal(chunklist_splice(&s, NULL), -EINVAL);   /* past the end */
	/* content shorter than announced: it changed while read */
	r[1] = (struct cl_region){ 300, 400 };
	m.n = 1000;
	s.new_size = sizeof(p);
	assert_int_equal(chunklist_splice(&s, NULL), -EAGAIN);
	clreader_free(rd);
}

/* A list written without sha256s (a first upload's read) filled in from
 * the server's entries (sha256[32], u32 len), in pieces split anywhere:
 * the same list as one written with them, and its tree is the root; a
 * length that differs, an entry too many or too few is refused. */
struct nosha { struct clwriter *w; uint8_t *ents; size_t n; };

static int nosha_emit(void *arg, const uint8_t *d, size_t len)
{
	struct nosha *x = arg;
	uint8_t fp[CHASH_FP_LEN], *e = x->ents + x->n++ * CL_FILL_ENTRY;

	chash_fingerprint(fp_secret, d, len, fp);
	assert_int_equal(clwriter_add(x->w, NULL, (uint32_t)len, fp), 0);
	assert_int_equal(ctree_sha256(d, len, e), 0);
	e[32] = (uint8_t)(len >> 24); e[33] = (uint8_t)(len >> 16);
	e[34] = (uint8_t)(len >> 8); e[35] = (uint8_t)len;
	return 0;
}

/* Writes p's list without sha256s (buffer bufsize) into *w, its server
 * entries into x.ents; returns how many. */
static size_t nosha_list(const uint8_t *p, size_t n, size_t bufsize, struct nosha *x)
{
	struct chunker *c = chunker_new();

	assert_int_equal(clwriter_new(dir, bufsize, &x->w), 0);
	x->n = 0;
	assert_int_equal(chunker_feed(c, p, n, nosha_emit, x), 0);
	assert_int_equal(chunker_flush(c, nosha_emit, x), 0);
	chunker_free(c);
	return x->n;
}

static void test_fill(void **state)
{
	size_t n = 300000, k, piece[] = { 1, 7, 36, 100, 5000, 1u << 20 };
	uint8_t *p = malloc(n), root[32], got[32];
	struct nosha x = { .ents = malloc((n / CHUNK_MIN + 1) * CL_FILL_ENTRY) };
	struct clreader *a, *b;
	struct cl_entry ea, eb;
	struct clwriter *w;
	int ra;

	for (size_t i = 0; i < n; i++)
		p[i] = rnd8();
	assert_int_equal(clwriter_new(dir, 1000, &w), 0);
	full_chunk(p, n, root, w);   /* "/f": the list written with sha256s */
	clwriter_free(w);
	for (size_t t = 0; t < sizeof(piece) / sizeof(piece[0]); t++) {
		k = nosha_list(p, n, 100 + t * 997, &x) * CL_FILL_ENTRY;
		for (size_t off = 0; off < k; off += piece[t])
			assert_int_equal(clwriter_fill(x.w, x.ents + off,
						       k - off < piece[t] ? k - off : piece[t]), 0);
		assert_int_equal(clwriter_fill_end(x.w, got), 0);
		assert_memory_equal(got, root, 32);
		assert_int_equal(clwriter_commit(x.w, "/g", got), 0);
		clwriter_free(x.w);
		assert_int_equal(clreader_open(dir, "/f", root, 1000, &a), 0);
		assert_int_equal(clreader_open(dir, "/g", root, 333, &b), 0);
		while ((ra = clreader_next(a, &ea)) == 1) {
			assert_int_equal(clreader_next(b, &eb), 1);
			assert_memory_equal(&ea, &eb, sizeof(ea));
		}
		assert_int_equal(ra, 0);
		assert_int_equal(clreader_next(b, &eb), 0);
		clreader_free(a);
		clreader_free(b);
	}
	/* another length, one entry too many, one too few */
	k = nosha_list(p, n, 1000, &x);
	x.ents[5 * CL_FILL_ENTRY + 35] ^= 1;
	assert_int_equal(clwriter_fill(x.w, x.ents, k * CL_FILL_ENTRY), -EBADMSG);
	clwriter_free(x.w);
	k = nosha_list(p, n, 1000, &x);
	assert_int_equal(clwriter_fill(x.w, x.ents, k * CL_FILL_ENTRY), 0);
	assert_int_equal(clwriter_fill(x.w, x.ents, CL_FILL_ENTRY), -EBADMSG);
	clwriter_free(x.w);
	k = nosha_list(p, n, 1000, &x);
	assert_int_equal(clwriter_fill(x.w, x.ents, (k - 1) * CL_FILL_ENTRY), 0);
	assert_int_equal(clwriter_fill_end(x.w, got), -EBADMSG);
	clwriter_free(x.w);
	free(x.ents);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_splice_table),
		cmocka_unit_test(test_small_edit_reads_little),
		cmocka_unit_test(test_bad_lists),
		cmocka_unit_test(test_bad_regions),
		cmocka_unit_test(test_fill),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
