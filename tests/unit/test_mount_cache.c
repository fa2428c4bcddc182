/* test_mount_cache.c — the mount's content cache (cache.h): hits and
 * misses, the slot bound, LRU order, held blocks never evicted, failed and
 * cancelled loads, readahead reservations, block-size sweep, and many
 * threads at once; plus the xattr walker of cached listings (dir.h). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/wire.h"
#include "controller/mount/cache.h"
#include "controller/mount/dir.h"

/* A fake server: block content is a function of (id[0], block, offset). */
struct fake {
	size_t file_size;
	int fail_next;            /* fail this many fills with -EIO */
	unsigned fills;           /* total */
	unsigned loading[256];    /* concurrent fills per id[0] (must stay <= 1 per key) */
	unsigned max_overlap;
	unsigned delay_us;
	pthread_mutex_t lock;
};

static uint8_t pattern(const struct mcache_key *k, size_t i)
{
	return (uint8_t)(k->id[0] * 31 + k->block * 7 + i);
}

static ssize_t fake_fill(void *arg, const struct mcache_key *k, uint8_t *dst, size_t cap)
{
	struct fake *f = arg;
	uint64_t off = k->block * cap;
	size_t n, i;
	unsigned idx = (unsigned)(k->id[0] + k->block * 16) % 256;

	pthread_mutex_lock(&f->lock);
	f->fills++;
	if (++f->loading[idx] > f->max_overlap)
		f->max_overlap = f->loading[idx];
	if (f->fail_next > 0) {
		f->fail_next--;
		f->loading[idx]--;
		pthread_mutex_unlock(&f->lock);
		return -EIO;
	}
	pthread_mutex_unlock(&f->lock);
	if (f->delay_us)
		usleep(f->delay_us);
	n = off >= f->file_size ? 0 : f->file_size - off < cap ? f->file_size - off : cap;
	for (i = 0; i < n; i++)
		dst[i] = pattern(k, i);
	pthread_mutex_lock(&f->lock);
	f->loading[idx]--;
	pthread_mutex_unlock(&f->lock);
	return (ssize_t)n;
}

static void fake_init(struct fake *f, size_t file_size)
{
	memset(f, 0, sizeof(*f));
	f->file_size = file_size;
	pthread_mutex_init(&f->lock, NULL);
}

static struct mcache_key key(uint8_t id, uint64_t block)
{
	struct mcache_key k;

	memset(&k, 0, sizeof(k));
	memset(k.id, id, sizeof(k.id));
	k.block = block;
	return k;
}

/* Gets k, checks its bytes, releases it. */
static void get_check(struct mcache *c, struct fake *f, struct mcache_key k, size_t want_len)
{
	struct mblock *b;
	const uint8_t *p;
	size_t len, i;

	assert_int_equal(mcache_get(c, &k, fake_fill, f, &b), 0);
	p = mblock_data(b, &len);
	assert_int_equal(len, want_len);
	for (i = 0; i < len; i++)
		if (p[i] != pattern(&k, i))
			fail_msg("block %llu byte %zu", (unsigned long long)k.block, i);
	mcache_put(c, b);
}

static void test_bad_args(void **state)
{
	errno = 0;
	assert_null(mcache_new(0, 1 << 20));
	assert_int_equal(errno, EINVAL);
	assert_null(mcache_new((size_t)1 << 40, 1 << 20));
	mcache_free(NULL);
}

static void test_hit_miss(void **state)
{
	struct mcache *c = mcache_new(4096, 4 * 4096);
	struct mcache_stats st;
	struct fake f;

	fake_init(&f, 1 << 20);
	get_check(c, &f, key(1, 0), 4096);
	get_check(c, &f, key(1, 0), 4096);
	get_check(c, &f, key(2, 0), 4096);   /* other content, same index */
	assert_int_equal(f.fills, 2);
	mcache_get_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.nslots, 4);
	assert_int_equal(st.held, 0);
	mcache_free(c);
}

static void test_bound_and_lru(void **state)
{
	struct mcache *c = mcache_new(1000, 3000);   /* 3 slots */
	struct mcache_stats st;
	struct fake f;
	uint64_t i;

	fake_init(&f, 1 << 20);
	for (i = 0; i < 30; i++)
		get_check(c, &f, key(1, i), 1000);
	mcache_get_stats(c, &st);
	assert_int_equal(st.ready, 3);
	assert_int_equal(st.evictions, 27);
	/* A B C cached (27 28 29); touch 27; load 31: 28 goes */
	get_check(c, &f, key(1, 27), 1000);
	get_check(c, &f, key(1, 31), 1000);
	f.fills = 0;
	get_check(c, &f, key(1, 27), 1000);
	get_check(c, &f, key(1, 29), 1000);
	assert_int_equal(f.fills, 0);
	get_check(c, &f, key(1, 28), 1000);
	assert_int_equal(f.fills, 1);
	mcache_free(c);
}

struct getter {
	struct mcache *c;
	struct fake *f;
	struct mcache_key k;
	int r;
	volatile bool done;
};

static void *getter_run(void *arg)
{
	struct getter *g = arg;
	struct mblock *b;

	g->r = mcache_get(g->c, &g->k, fake_fill, g->f, &b);
	if (g->r == 0)
		mcache_put(g->c, b);
	g->done = true;
	return NULL;
}

static void test_held_not_evicted(void **state)
{
	struct mcache *c = mcache_new(100, 200);   /* 2 slots */
	struct mcache_key ka = key(1, 0), kb = key(1, 1), kc = key(1, 2);
	struct mblock *a, *b, *r;
	struct getter g;
	pthread_t t;
	struct fake f;

	fake_init(&f, 1 << 20);
	assert_int_equal(mcache_get(c, &ka, fake_fill, &f, &a), 0);
	assert_int_equal(mcache_get(c, &kb, fake_fill, &f, &b), 0);
	assert_int_equal(mcache_reserve(c, &kc, &r), -EBUSY);
	g = (struct getter){ .c = c, .f = &f, .k = kc };
	pthread_create(&t, NULL, getter_run, &g);
	usleep(50000);
	assert_false(g.done);                 /* waits: every slot held */
	assert_int_equal(mblock_data(a, &(size_t){ 0 })[0], pattern(&ka, 0));
	mcache_put(c, a);                      /* frees one */
	pthread_join(t, NULL);
	assert_int_equal(g.r, 0);
	get_check(c, &f, kb, 100);             /* b, still held, was not evicted */
	mcache_put(c, b);
	mcache_free(c);
}

static void test_failed_fill(void **state)
{
	struct mcache *c = mcache_new(512, 4096);
	struct mcache_key k = key(3, 5);
	struct mcache_stats st;
	struct mblock *b;
	struct fake f;

	fake_init(&f, 1 << 20);
	f.fail_next = 1;
	assert_int_equal(mcache_get(c, &k, fake_fill, &f, &b), -EIO);
	get_check(c, &f, k, 512);              /* forgotten: tried again */
	assert_int_equal(f.fills, 2);
	mcache_get_stats(c, &st);
	assert_int_equal(st.fills_failed, 1);
	assert_int_equal(st.held, 0);
	mcache_free(c);
}

static void test_reserve_complete(void **state)
{
	struct mcache *c = mcache_new(256, 256 * 8);
	struct mcache_key k = key(9, 2), k2 = key(9, 3);
	struct mblock *b, *dup;
	struct getter g;
	pthread_t t;
	struct fake f;
	size_t i;

	fake_init(&f, 1 << 20);
	assert_int_equal(mcache_reserve(c, &k, &b), 1);
	assert_int_equal(mcache_reserve(c, &k, &dup), 0);   /* loading already */
	g = (struct getter){ .c = c, .f = &f, .k = k };
	pthread_create(&t, NULL, getter_run, &g);
	usleep(30000);
	assert_false(g.done);                                /* waits for the reservation */
	for (i = 0; i < 256; i++)
		mblock_buf(b)[i] = pattern(&k, i);
	mcache_complete(c, b, 256);
	mcache_put(c, b);
	pthread_join(t, NULL);
	assert_int_equal(g.r, 0);
	assert_int_equal(f.fills, 0);                        /* nobody fetched twice */

	/* a cancelled readahead: the waiting reader loads it itself */
	assert_int_equal(mcache_reserve(c, &k2, &b), 1);
	g = (struct getter){ .c = c, .f = &f, .k = k2 };
	pthread_create(&t, NULL, getter_run, &g);
	usleep(30000);
	mcache_complete(c, b, -EAGAIN);
	mcache_put(c, b);
	pthread_join(t, NULL);
	assert_int_equal(g.r, 0);
	assert_int_equal(f.fills, 1);
	get_check(c, &f, k2, 256);
	mcache_free(c);
}

static void test_block_size_sweep(void **state)
{
	static const size_t sizes[] = { 1, 2, 3, 7, 100, 10000, 200000 };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t bs = sizes[i], file = bs * 3 + bs / 2;   /* last block short (or empty) */
		struct mcache *c = mcache_new(bs, bs * 2);
		struct fake f;
		uint64_t blk;

		assert_non_null(c);
		assert_int_equal(mcache_block_size(c), bs);
		fake_init(&f, file);
		for (blk = 0; blk < 4; blk++)
			get_check(c, &f, key(4, blk), blk < 3 ? bs : bs / 2);
		get_check(c, &f, key(4, 9), 0);                 /* past the end */
		mcache_free(c);
	}
}

struct worker_arg {
	struct mcache *c;
	struct fake *f;
	unsigned seed;
	int errors;
};

static void *hammer(void *arg)
{
	struct worker_arg *w = arg;
	int i;

	for (i = 0; i < 3000; i++) {
		struct mcache_key k = key((uint8_t)(rand_r(&w->seed) % 4), rand_r(&w->seed) % 16);
		struct mblock *b;
		const uint8_t *p;
		size_t len, j;

		if (rand_r(&w->seed) % 8 == 0) {   /* readahead-style reservation */
			if (mcache_reserve(w->c, &k, &b) == 1) {
				mcache_complete(w->c, b, fake_fill(w->f, &k, mblock_buf(b), 64));
				mcache_put(w->c, b);
			}
			continue;
		}
		if (mcache_get(w->c, &k, fake_fill, w->f, &b) != 0) {
			w->errors++;
			continue;
		}
		p = mblock_data(b, &len);
		if (len != 64)
			w->errors++;
		for (j = 0; j < len; j++)
			if (p[j] != pattern(&k, j))
				w->errors++;
		mcache_put(w->c, b);
	}
	return NULL;
}

static void test_concurrency(void **state)
{
	struct mcache *c = mcache_new(64, 64 * 12);   /* 12 slots, 64 keys */
	struct worker_arg w[8];
	struct mcache_stats st;
	pthread_t t[8];
	struct fake f;
	int i;

	fake_init(&f, 1 << 20);
	f.delay_us = 20;
	for (i = 0; i < 8; i++) {
		w[i] = (struct worker_arg){ .c = c, .f = &f, .seed = (unsigned)i + 1 };
		pthread_create(&t[i], NULL, hammer, &w[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].errors, 0);
	}
	mcache_get_stats(c, &st);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.loading, 0);
	assert_true(st.ready <= 12);
	assert_int_equal(f.max_overlap, 1);   /* one load per block at a time */
	assert_true(st.hits > 0 && st.evictions > 0);
	mcache_free(c);
}

/* ------------------------------------------------------------ xattrs */

static void test_xattr_walk(void **state)
{
	struct mnode n;
	struct buf b;
	const char *name;
	const uint8_t *v;
	size_t pos = 0, nlen, vlen;

	buf_init(&b, 4096);
	wire_put_str(&b, "user.a");
	wire_put_blob(&b, "1", 1);
	wire_put_str(&b, "user.empty");
	wire_put_blob(&b, "", 0);
	memset(&n, 0, sizeof(n));
	n.xattrs = b.data;
	n.xattr_len = (uint32_t)b.len;
	assert_int_equal(mnode_xattr_next(&n, &pos, &name, &nlen, &v, &vlen), 1);
	assert_int_equal(nlen, 6);
	assert_memory_equal(name, "user.a", 6);
	assert_int_equal(vlen, 1);
	assert_int_equal(v[0], '1');
	assert_int_equal(mnode_xattr_next(&n, &pos, &name, &nlen, &v, &vlen), 1);
	assert_int_equal(vlen, 0);
	assert_int_equal(mnode_xattr_next(&n, &pos, &name, &nlen, &v, &vlen), 0);

	/* hostile: every truncation of the list is either clean or -EBADMSG */
	for (n.xattr_len = 0; n.xattr_len < b.len; n.xattr_len++) {
		int r;

		pos = 0;
		while ((r = mnode_xattr_next(&n, &pos, &name, &nlen, &v, &vlen)) == 1)
			assert_true(pos <= n.xattr_len);
		assert_true(r == 0 || r == -EBADMSG);
	}
	/* an empty name and a name with a NUL are malformed */
	buf_reset(&b);
	wire_put_blob(&b, "", 0);
	wire_put_blob(&b, "x", 1);
	n.xattrs = b.data;
	n.xattr_len = (uint32_t)b.len;
	pos = 0;
	assert_int_equal(mnode_xattr_next(&n, &pos, &name, &nlen, &v, &vlen), -EBADMSG);
	buf_reset(&b);
	wire_put_blob(&b, "a\0b", 3);
	wire_put_blob(&b, "x", 1);
	n.xattrs = b.data;
	n.xattr_len = (uint32_t)b.len;
	pos = 0;
	assert_int_equal(mnode_xattr_next(&n, &pos, &name, &nlen, &v, &vlen), -EBADMSG);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_hit_miss),
		cmocka_unit_test(test_bound_and_lru),
		cmocka_unit_test(test_held_not_evicted),
		cmocka_unit_test(test_failed_fill),
		cmocka_unit_test(test_reserve_complete),
		cmocka_unit_test(test_block_size_sweep),
		cmocka_unit_test(test_concurrency),
		cmocka_unit_test(test_xattr_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
