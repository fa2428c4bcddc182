/* test_sweep.c — the store's sweep (store_sweep.c, content_sweep.c): what
 * is deleted, what is kept (marked, touched by ingest meanwhile, pinned by
 * a reader, named by an upload state), pins refused while deleting, and
 * the wait for older guards.  docs/store-format.md, "Sweeping
 * unreferenced chunks". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/chunktree.h"
#include "server/store/content.h"
#include "server/store/idset.h"
#include "tests/unit/store_fixture.h"

static const struct devkey key1 = { { 7, 7, 7 } };

#define SZ (300 * 1024)   /* ~30 chunks and a few pages */

struct fx {
	char dir[STOREFX_DIR];
	struct store *st;
	uint8_t *a, *b;
	struct content_ref ra, rb;
};

static void build(struct store *st, const uint8_t *p, size_t n, struct content_ref *ref)
{
	struct vbuild *vb;

	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	assert_int_equal(vbuild_write(vb, p, n), 0);
	assert_int_equal(vbuild_finish(vb, ref), 0);
	vbuild_free(vb);
}

/* 0 when ref reads back as p; else the reader's error. */
static int read_back(struct store *st, const struct content_ref *ref, const uint8_t *p, size_t n)
{
	struct vreader *vr;
	uint8_t *b = malloc(n);
	ssize_t got;
	int r;

	if ((r = vreader_open(st, &key1, ref, &vr)) < 0) {
		free(b);
		return r;
	}
	got = vreader_pread(vr, b, n, 0);
	r = got < 0 ? (int)got : got != (ssize_t)n || memcmp(b, p, n) ? -EILSEQ : 0;
	vreader_free(vr);
	free(b);
	return r;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(storefx_open(f->dir, "sweep", &f->st), 0);
	f->a = malloc(SZ);
	f->b = malloc(SZ);
	fill(f->a, SZ, 1);
	fill(f->b, SZ, 2);
	memcpy(f->b, f->a, SZ / 3);   /* a third shared with a */
	build(f->st, f->a, SZ, &f->ra);
	build(f->st, f->b, SZ, &f->rb);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	int rc = storefx_remove(f->dir, f->st);

	free(f->a);
	free(f->b);
	free(f);
	return rc;
}

/* One sweep with roots[0..n) as the live versions. */
static struct store_sweep_stats sweep(struct store *st, const struct content_ref *roots, size_t n)
{
	struct store_sweep_stats s;
	struct store_idmac *mac = store_idmac_new(&key1);
	struct store_root *p;
	uint64_t pages = 0;
	size_t np, i;
	bool del = false;

	assert_int_equal(store_sweep_begin(st), 0);
	assert_int_equal(store_sweep_wait(st, 1000), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(content_mark_tree(st, mac, roots[i].root, roots[i].size, &pages), 0);
	do {
		assert_int_equal(store_sweep_pins(st, &p, &np, true, &del), 0);
		for (i = 0; i < np; i++)
			assert_int_equal(content_mark_tree(st, mac, p[i].root, p[i].size, &pages), 0);
		free(p);
	} while (!del);
	assert_int_equal(store_sweep_delete(st, NULL), 0);
	store_sweep_end(st, &s);
	store_idmac_free(mac);
	return s;
}

static uint64_t nchunks(struct store *st)
{
	struct store_stats s;

	assert_int_equal(store_stats(st, &s), 0);
	return s.chunks;
}

/* b dropped: its own chunks and pages go, a's all stay and read back. */
static void test_drop_one(void **state)
{
	struct fx *f = *state;
	uint64_t before = nchunks(f->st);
	struct store_sweep_stats s = sweep(f->st, &f->ra, 1);
	struct store_stats ss;

	assert_true(s.deleted > 10);
	assert_int_equal(nchunks(f->st), before - s.deleted);
	assert_int_equal(read_back(f->st, &f->ra, f->a, SZ), 0);
	assert_int_equal(read_back(f->st, &f->rb, f->b, SZ), -ENOENT);   /* its root is gone */
	assert_int_equal(store_stats(f->st, &ss), 0);
	assert_true(ss.freed_records >= s.deleted);
	/* nothing left to do */
	s = sweep(f->st, &f->ra, 1);
	assert_int_equal(s.deleted, 0);
	assert_int_equal(read_back(f->st, &f->ra, f->a, SZ), 0);
}

/* An upload that reuses b's chunks while the sweep marks (a dedup hit
 * after begin) keeps them: the new version reads back whole. */
static void test_touched_kept(void **state)
{
	struct fx *f = *state;
	struct store_idmac *mac = store_idmac_new(&key1);
	struct content_ref rc;
	struct store_sweep_stats s;
	struct store_root *p;
	uint64_t pages = 0;
	size_t np;
	bool del = false;

	assert_int_equal(store_sweep_begin(f->st), 0);
	assert_int_equal(store_sweep_wait(f->st, 1000), 0);
	assert_int_equal(content_mark_tree(f->st, mac, f->ra.root, f->ra.size, &pages), 0);
	build(f->st, f->b, SZ, &rc);   /* the same content as b: every chunk a dedup hit */
	assert_memory_equal(rc.root, f->rb.root, 32);
	do {
		assert_int_equal(store_sweep_pins(f->st, &p, &np, true, &del), 0);
		free(p);
	} while (!del);
	assert_int_equal(store_sweep_delete(f->st, NULL), 0);
	store_sweep_end(f->st, &s);
	assert_true(s.kept_touched > 10);
	assert_int_equal(s.deleted, 0);
	assert_int_equal(read_back(f->st, &rc, f->b, SZ), 0);
	/* the next sweep with c live keeps it, without b it would go */
	s = sweep(f->st, (struct content_ref[]){ f->ra, rc }, 2);
	assert_int_equal(s.deleted, 0);
	assert_int_equal(read_back(f->st, &rc, f->b, SZ), 0);
	store_idmac_free(mac);
}

/* A reader open on b (its version dropped) keeps b whole through the
 * sweep; once closed, the next sweep deletes it. */
static void test_pinned_reader(void **state)
{
	struct fx *f = *state;
	struct store_sweep_stats s;
	struct vreader *vr;
	uint8_t *buf = malloc(SZ);

	assert_int_equal(vreader_open(f->st, &key1, &f->rb, &vr), 0);
	s = sweep(f->st, &f->ra, 1);
	assert_int_equal(s.deleted, 0);
	assert_int_equal(vreader_pread(vr, buf, SZ, 0), SZ);
	assert_memory_equal(buf, f->b, SZ);
	vreader_free(vr);
	s = sweep(f->st, &f->ra, 1);
	assert_true(s.deleted > 10);
	assert_int_equal(read_back(f->st, &f->rb, f->b, SZ), -ENOENT);
	free(buf);
}

/* A reader opened while the sweep deletes gets its data (a marked root)
 * or -ENOENT (a dropped one), never part of a tree. */
static void test_pin_while_deleting(void **state)
{
	struct fx *f = *state;
	struct store_idmac *mac = store_idmac_new(&key1);
	struct content_ref rc, rd;
	uint8_t *c = malloc(SZ);
	struct store_root *p;
	struct vreader *vr;
	uint64_t pages = 0;
	size_t np;
	bool del = false;

	assert_int_equal(store_sweep_begin(f->st), 0);
	assert_int_equal(store_sweep_wait(f->st, 1000), 0);
	assert_int_equal(content_mark_tree(f->st, mac, f->ra.root, f->ra.size, &pages), 0);
	do {
		assert_int_equal(store_sweep_pins(f->st, &p, &np, true, &del), 0);
		free(p);
	} while (!del);
	assert_int_equal(vreader_open(f->st, &key1, &f->rb, &vr), -ENOENT);
	assert_int_equal(read_back(f->st, &f->ra, f->a, SZ), 0);
	/* a version stored while the sweep runs (new rows) and one that
	 * reuses dropped content (touched) read back: not refused */
	fill(c, SZ, 4);
	build(f->st, c, SZ, &rc);
	assert_int_equal(read_back(f->st, &rc, c, SZ), 0);
	build(f->st, f->b, SZ, &rd);
	assert_int_equal(read_back(f->st, &rd, f->b, SZ), 0);
	assert_int_equal(store_sweep_delete(f->st, NULL), 0);
	store_sweep_end(f->st, NULL);
	assert_int_equal(read_back(f->st, &f->ra, f->a, SZ), 0);
	assert_int_equal(read_back(f->st, &rc, c, SZ), 0);
	assert_int_equal(read_back(f->st, &rd, f->b, SZ), 0);
	store_idmac_free(mac);
	free(c);
}

/* A sweep waits for a batch (an upload) older than itself. */
static void test_waits_for_older_guard(void **state)
{
	struct fx *f = *state;
	struct store_batch *b;
	struct store_guard g;

	assert_int_equal(store_batch_new(f->st, &b), 0);
	assert_int_equal(store_sweep_begin(f->st), 0);
	assert_int_equal(store_sweep_begin(f->st), -EBUSY);   /* one at a time */
	store_guard_enter(f->st, &g);   /* younger than the sweep: not waited for */
	assert_int_equal(store_sweep_wait(f->st, 50), -ETIMEDOUT);
	store_batch_free(b);
	assert_int_equal(store_sweep_wait(f->st, 50), 0);
	store_guard_exit(f->st, &g);
	store_sweep_end(f->st, NULL);
}

/* An abandoned resumable upload's chunks are kept while its state file
 * names them, and the upload resumes to the right root after the sweep. */
static void test_upload_state_kept(void **state)
{
	struct fx *f = *state;
	const uint8_t token[16] = { 9, 9, 9 };
	struct vbuild *vb;
	struct content_ref rc;
	struct store_sweep_stats s;
	struct store_root *p;
	struct store_idmac *mac = store_idmac_new(&key1);
	uint8_t *c = malloc(SZ);
	uint64_t off = 0, states = 0, pages = 0;
	size_t np;
	bool del = false;

	fill(c, SZ, 3);
	assert_int_equal(vbuild_resume(f->st, &key1, token, &vb, &off), -ENOENT);
	assert_int_equal(vbuild_new(f->st, &key1, &vb), 0);
	assert_int_equal(vbuild_write(vb, c, SZ / 2), 0);
	assert_int_equal(vbuild_checkpoint(vb, token), 0);
	vbuild_free(vb);   /* the connection went */
	assert_int_equal(store_sweep_begin(f->st), 0);
	assert_int_equal(store_sweep_wait(f->st, 1000), 0);
	assert_int_equal(content_mark_uploads(f->st, &key1, 1, &states), 0);
	assert_int_equal(states, 1);
	assert_int_equal(content_mark_tree(f->st, mac, f->ra.root, f->ra.size, &pages), 0);
	do {
		assert_int_equal(store_sweep_pins(f->st, &p, &np, true, &del), 0);
		free(p);
	} while (!del);
	assert_int_equal(store_sweep_delete(f->st, NULL), 0);
	store_sweep_end(f->st, &s);
	assert_true(s.deleted > 0);   /* b's own chunks, and the state's pages */
	assert_int_equal(vbuild_resume(f->st, &key1, token, &vb, &off), 0);
	assert_true(off > 0 && off <= SZ / 2);
	assert_int_equal(vbuild_write(vb, c + off, SZ - off), 0);
	assert_int_equal(vbuild_finish(vb, &rc), 0);
	vbuild_free(vb);
	vbuild_forget(f->st, &key1, token);
	assert_int_equal(read_back(f->st, &rc, c, SZ), 0);
	store_idmac_free(mac);
	free(c);
}

/* The id set: adds, finds, grows, keeps the all-zero prefix apart. */
static void test_idset(void **state)
{
	struct idset s = { 0 };
	uint8_t id[32] = { 0 };
	uint32_t i;

	(void)state;
	assert_false(idset_has(&s, id));
	assert_int_equal(idset_add(&s, id), 1);
	assert_int_equal(idset_add(&s, id), 0);
	for (i = 1; i <= 5000; i++) {
		memcpy(id, &i, sizeof(i));
		id[20] = 1;   /* past the key: ignored */
		assert_int_equal(idset_add(&s, id), 1);
	}
	assert_int_equal(idset_count(&s), 5001);
	for (i = 1; i <= 5000; i++) {
		memcpy(id, &i, sizeof(i));
		assert_true(idset_has(&s, id));
	}
	i = 5001;
	memcpy(id, &i, sizeof(i));
	assert_false(idset_has(&s, id));
	idset_clear(&s);
	assert_int_equal(idset_count(&s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_drop_one, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_touched_kept, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pinned_reader, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pin_while_deleting, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_waits_for_older_guard, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_upload_state_kept, fx_setup, fx_teardown),
		cmocka_unit_test(test_idset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
