/* test_chunktree.c — chunk tree: canonical roots, structure (walk back to the
 * chunk list), edit locality in pages, degenerate inputs, hostile decoding. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/chunker.h"
#include "common/chunktree.h"

/* A small open-addressing map: page hash -> page bytes. */
#define MAP_SLOTS (1u << 16)
struct page_map {
	size_t puts, fresh;     /* put_page calls, of them pages not seen before */
	int count_only;         /* don't keep bytes, only hashes */
	struct slot { int used; uint8_t h[32]; uint8_t *p; size_t len; } *s;
};

static struct page_map *map_new(int count_only)
{
	struct page_map *m = calloc(1, sizeof(*m));

	m->s = calloc(MAP_SLOTS, sizeof(*m->s));
	m->count_only = count_only;
	return m;
}

static void map_free(struct page_map *m)
{
	size_t i;

	for (i = 0; i < MAP_SLOTS; i++)
		free(m->s[i].p);
	free(m->s);
	free(m);
}

static struct slot *map_find(struct page_map *m, const uint8_t h[32])
{
	uint32_t i = ((uint32_t)h[0] << 8 | h[1] | (uint32_t)h[2] << 16) % MAP_SLOTS;

	while (m->s[i].used && memcmp(m->s[i].h, h, 32))
		i = (i + 1) % MAP_SLOTS;
	return &m->s[i];
}

static int put_page(void *arg, const uint8_t hash[32], const uint8_t *page, size_t len)
{
	struct page_map *m = arg;
	struct slot *s = map_find(m, hash);
	uint8_t check[32];

	assert_int_equal(ctree_sha256(page, len, check), 0);
	assert_memory_equal(check, hash, 32);
	assert_true(len <= CTREE_PAGE_BYTES_MAX);
	m->puts++;
	if (s->used) {
		if (!m->count_only)
			assert_memory_equal(s->p, page, len);
		return 0;
	}
	s->used = 1;
	memcpy(s->h, hash, 32);
	if (!m->count_only) {
		s->p = malloc(len);
		memcpy(s->p, page, len);
		s->len = len;
	}
	m->fresh++;
	return 0;
}

static void synth_hash(uint64_t i, uint8_t h[32])
{
	uint8_t in[8];
	int k;

	for (k = 0; k < 8; k++)
		in[k] = (uint8_t)(i >> (8 * k));
	assert_int_equal(ctree_sha256(in, sizeof(in), h), 0);
}

static void build_synth(uint64_t n, struct page_map *m, uint8_t root[32], uint64_t *size)
{
	struct ctree_builder *b = ctree_builder_new(m ? put_page : NULL, m);
	uint8_t h[32];
	uint64_t i;

	assert_non_null(b);
	for (i = 0; i < n; i++) {
		synth_hash(i, h);
		assert_int_equal(ctree_add(b, h, 1000 + i % 5000), 0);
	}
	assert_int_equal(ctree_finish(b, root, size), 0);
	assert_int_equal(ctree_add(b, h, 1), -EALREADY);
	ctree_builder_free(b);
}

/* Walks the tree from a page; checks subtree sizes; returns content bytes
 * and appends the leaf entries to *next. */
static uint64_t walk(struct page_map *m, const uint8_t h[32], int want_level, uint64_t *next,
		     void (*leaf)(uint64_t idx, const struct ctree_page_entry *e))
{
	struct slot *s = map_find(m, h);
	struct ctree_page pg;
	uint64_t total = 0, sub;
	size_t i;

	assert_true(s->used);
	assert_int_equal(ctree_page_decode(s->p, s->len, &pg), 0);
	if (want_level >= 0)
		assert_int_equal(pg.level, want_level);
	for (i = 0; i < pg.n; i++) {
		if (pg.level == 0) {
			if (leaf)
				leaf(*next, &pg.e[i]);
			(*next)++;
			total += pg.e[i].len;
		} else {
			sub = walk(m, pg.e[i].hash, pg.level - 1, next, leaf);
			assert_int_equal(sub, pg.e[i].len);
			total += sub;
		}
	}
	ctree_page_release(&pg);
	return total;
}

static void leaf_synth(uint64_t idx, const struct ctree_page_entry *e)
{
	uint8_t h[32];

	synth_hash(idx, h);
	assert_memory_equal(e->hash, h, 32);
	assert_int_equal(e->len, 1000 + idx % 5000);
}

static void test_empty_and_small(void **state)
{
	static const uint64_t counts[] = { 0, 1, 2, 3, 31, 257, 1000, 100000 };
	uint8_t root[32], root2[32], empty[32];
	uint64_t size, next, i, want;
	size_t c;

	assert_int_equal(ctree_empty_root(empty), 0);
	for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		struct page_map *m = map_new(0);

		build_synth(counts[c], m, root, &size);
		for (i = 0, want = 0; i < counts[c]; i++)
			want += 1000 + i % 5000;
		assert_int_equal(size, want);
		if (counts[c] == 0)
			assert_memory_equal(root, empty, 32);
		next = 0;
		assert_int_equal(walk(m, root, -1, &next, leaf_synth), want);
		assert_int_equal(next, counts[c]);
		/* equal inputs give equal roots, with or without put_page */
		build_synth(counts[c], NULL, root2, &size);
		assert_memory_equal(root, root2, 32);
		map_free(m);
	}
	build_synth(1000, NULL, root, &size);
	build_synth(1001, NULL, root2, &size);
	assert_memory_not_equal(root, root2, 32);
}

/* Identical chunk hashes (a zero-filled file): the tree still ends. */
static void test_degenerate(void **state)
{
	uint8_t h[32], root[32];
	uint64_t size, next, n = 20000, i;
	int boundary;

	for (boundary = 0; boundary < 2; boundary++) {
		struct page_map *m = map_new(0);
		struct ctree_builder *b = ctree_builder_new(put_page, m);

		memset(h, boundary ? 0x00 : 0x01, 32);    /* 0x00.. satisfies the rule */
		for (i = 0; i < n; i++)
			assert_int_equal(ctree_add(b, h, CHUNK_MAX), 0);
		assert_int_equal(ctree_finish(b, root, &size), 0);
		assert_int_equal(size, n * CHUNK_MAX);
		next = 0;
		assert_int_equal(walk(m, root, -1, &next, NULL), n * CHUNK_MAX);
		assert_int_equal(next, n);
		assert_true(m->fresh < 40);   /* repeated pages are the same page */
		ctree_builder_free(b);
		map_free(m);
	}
}

static void test_add_rejects(void **state)
{
	struct ctree_builder *b = ctree_builder_new(NULL, NULL);
	uint8_t h[32] = { 0 }, root[32];
	uint64_t size;

	assert_int_equal(ctree_add(b, h, 0), -EINVAL);
	assert_int_equal(ctree_add(b, h, CHUNK_MAX + 1), -EINVAL);
	assert_int_equal(ctree_add(b, h, 5), 0);
	assert_int_equal(ctree_finish(b, root, &size), 0);
	assert_int_equal(size, 5);
	ctree_builder_free(b);
	ctree_builder_free(NULL);
}

static int fail_put(void *arg, const uint8_t hash[32], const uint8_t *page, size_t len)
{
	return -ENOSPC;
}

static void test_put_error(void **state)
{
	struct ctree_builder *b = ctree_builder_new(fail_put, NULL);
	uint8_t h[32], root[32];
	uint64_t size, i;
	int r = 0;

	for (i = 0; i < 2000 && r == 0; i++) {
		synth_hash(i, h);
		r = ctree_add(b, h, 10);
	}
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(ctree_finish(b, root, &size), -ENOSPC);
	ctree_builder_free(b);
}

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

static int emit_tree(void *arg, const uint8_t *data, size_t len)
{
	uint8_t h[32];
	int r;

	if ((r = ctree_sha256(data, len, h)) < 0)
		return r;
	return ctree_add(arg, h, (uint32_t)len);
}

/* Chunks buf in 1 MiB feeds into a tree whose pages go to m. */
static void tree_of(const uint8_t *buf, size_t n, struct page_map *m, uint8_t root[32])
{
	struct ctree_builder *b = ctree_builder_new(put_page, m);
	struct chunker *c = chunker_new();
	uint64_t size;
	size_t off, k;

	for (off = 0; off < n; off += k) {
		k = n - off < (1u << 20) ? n - off : (1u << 20);
		assert_int_equal(chunker_feed(c, buf + off, k, emit_tree, b), 0);
	}
	assert_int_equal(chunker_flush(c, emit_tree, b), 0);
	assert_int_equal(ctree_finish(b, root, &size), 0);
	assert_int_equal(size, n);
	chunker_free(c);
	ctree_builder_free(b);
}

/* An edit changes only the pages on its path (a handful), not the tree. */
static void test_edit_pages(void **state)
{
	const size_t n = 32 << 20;
	uint8_t *a = malloc(n), *b = malloc(n + 100);
	uint8_t ra[32], rb[32];
	struct page_map *m = map_new(0);
	size_t before, next;

	fill_random(a, n, 2024);
	tree_of(a, n, m, ra);
	before = m->fresh;
	assert_true(before > 100);        /* ~3300 chunks: ~100 leaves + inner */
	next = 0;
	assert_int_equal(walk(m, ra, -1, &next, NULL), n);
	/* 100 bytes inserted near the start */
	memcpy(b, a, 7000);
	fill_random(b + 7000, 100, 77);
	memcpy(b + 7100, a + 7000, n - 7000);
	tree_of(b, n + 100, m, rb);
	assert_memory_not_equal(ra, rb, 32);
	assert_true(m->fresh - before >= 2 && m->fresh - before < 10);
	/* 4 KiB overwritten in the middle */
	before = m->fresh;
	memcpy(b, a, n);
	fill_random(b + n / 2 + 1234, 4096, 78);
	tree_of(b, n, m, rb);
	assert_true(m->fresh - before >= 2 && m->fresh - before < 10);
	/* the same content again adds no page and gives the same root */
	before = m->fresh;
	tree_of(a, n, m, rb);
	assert_memory_equal(ra, rb, 32);
	assert_int_equal(m->fresh, before);
	map_free(m);
	free(a);
	free(b);
}

static void put_hdr(uint8_t *p, uint8_t ver, uint8_t level, uint32_t n)
{
	p[0] = ver;
	p[1] = level;
	p[2] = n >> 24; p[3] = n >> 16; p[4] = n >> 8; p[5] = n;
}

/* Decoding untrusted pages: every malformed form fails cleanly. */
static void test_decode_hostile(void **state)
{
	static uint8_t p[CTREE_PAGE_BYTES_MAX + 64];
	struct ctree_page pg;
	struct {
		uint8_t ver, level;
		uint32_t n;
		size_t len;
		uint32_t entry_len;   /* value of every entry's length field */
		int want;
	} cases[] = {
		{ 1, 0, 0, 6, 1, 0 },                                /* empty leaf: ok */
		{ 1, 0, 1, 6 + 36, 1, 0 },
		{ 1, 0, 1, 6 + 36, CHUNK_MAX, 0 },
		{ 1, 1, 2, 6 + 80, 7, 0 },
		{ 1, 0, 256, 6 + 256 * 36, 9, 0 },
		{ 2, 0, 1, 6 + 36, 1, -EBADMSG },                    /* version */
		{ 0, 0, 0, 6, 1, -EBADMSG },
		{ 1, CTREE_LEVELS_MAX, 1, 6 + 40, 1, -EBADMSG },     /* level */
		{ 1, 255, 1, 6 + 40, 1, -EBADMSG },
		{ 1, 1, 0, 6, 1, -EBADMSG },                         /* empty inner */
		{ 1, 0, 2, 6 + 36, 1, -EBADMSG },                    /* count > bytes */
		{ 1, 0, 1, 6 + 72, 1, -EBADMSG },                    /* trailing bytes */
		{ 1, 1, 1, 6 + 36, 1, -EBADMSG },                    /* leaf size at level 1 */
		{ 1, 0, 257, 6 + 257 * 36, 1, -EBADMSG },            /* over the page max */
		{ 1, 0, 0xffffffffu, 6 + 36, 1, -EBADMSG },          /* huge count */
		{ 1, 0, 0x10000001u, 6 + 36, 1, -EBADMSG },          /* count*36 wraps 32 bits */
		{ 1, 0, 1, 6 + 36, 0, -EBADMSG },                    /* zero-length chunk */
		{ 1, 0, 1, 6 + 36, CHUNK_MAX + 1, -EBADMSG },        /* oversized chunk */
		{ 1, 2, 1, 6 + 40, 0, -EBADMSG },                    /* empty subtree */
		{ 1, 0, 0, 5, 1, -EBADMSG },                         /* short header */
	};
	size_t c, i, esz;
	uint8_t *e;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		memset(p, 0xab, sizeof(p));
		put_hdr(p, cases[c].ver, cases[c].level, cases[c].n);
		esz = cases[c].level == 0 ? 36 : 40;
		for (i = 0; i < cases[c].n && 6 + (i + 1) * esz <= sizeof(p); i++) {
			e = p + 6 + i * esz;
			memset(e + 32, 0, esz - 32);
			e[esz - 4] = cases[c].entry_len >> 24;
			e[esz - 3] = cases[c].entry_len >> 16;
			e[esz - 2] = cases[c].entry_len >> 8;
			e[esz - 1] = cases[c].entry_len;
		}
		assert_int_equal(ctree_page_decode(p, cases[c].len, &pg), cases[c].want);
		if (cases[c].want == 0) {
			assert_int_equal(pg.n, cases[c].n);
			assert_int_equal(pg.level, cases[c].level);
			if (pg.n)
				assert_int_equal(pg.e[pg.n - 1].len, cases[c].entry_len);
		} else {
			assert_null(pg.e);
		}
		ctree_page_release(&pg);
	}
	assert_int_equal(ctree_page_decode(NULL, 0, &pg), -EBADMSG);
}

/* Every truncation and every single-byte corruption of real pages is
 * either rejected or decodes to a consistent page; never a crash. */
static void test_decode_truncated_garbage(void **state)
{
	struct page_map *m = map_new(0);
	struct ctree_page pg;
	uint8_t root[32], buf[CTREE_PAGE_BYTES_MAX], x = 1;
	uint64_t size;
	size_t i, k, pages = 0;

	build_synth(20000, m, root, &size);
	for (i = 0; i < MAP_SLOTS && pages < 20; i++) {
		struct slot *s = &m->s[i];

		if (!s->used)
			continue;
		pages++;
		for (k = 0; k < s->len; k++)
			assert_int_equal(ctree_page_decode(s->p, k, &pg), -EBADMSG);
		assert_int_equal(ctree_page_decode(s->p, s->len, &pg), 0);
		ctree_page_release(&pg);
		for (k = 0; k < s->len; k += 7) {
			memcpy(buf, s->p, s->len);
			buf[k] ^= x++ | 1;
			if (ctree_page_decode(buf, s->len, &pg) == 0) {
				assert_true(k >= 6);   /* header damage is always caught */
				assert_true(pg.n * (pg.level ? 40 : 36) + 6 == s->len);
				ctree_page_release(&pg);
			}
		}
	}
	assert_int_equal(pages, 20);
	for (i = 0; i < 5000; i++) {               /* pure garbage */
		fill_random(buf, sizeof(buf), i + 1);
		buf[0] = i & 1;                        /* half with a valid version */
		if (ctree_page_decode(buf, i % sizeof(buf), &pg) == 0)
			ctree_page_release(&pg);
	}
	map_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_small),
		cmocka_unit_test(test_degenerate),
		cmocka_unit_test(test_add_rejects),
		cmocka_unit_test(test_put_error),
		cmocka_unit_test(test_edit_pages),
		cmocka_unit_test(test_decode_hostile),
		cmocka_unit_test(test_decode_truncated_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
