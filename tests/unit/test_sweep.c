/* test_sweep.c — the store's sweep (store_sweep.c, content_sweep.c): what
 * is deleted, what is kept (marked, touched by ingest meanwhile, pinned by
 * a reader, named by an upload state), pins refused while deleting, the
 * wait for older guards, and compaction (store_compact.c), cancelled too.  docs/store-format.md, "Sweeping
 * unreferenced chunks". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/chunktree.h"
#include "server/store/content.h"
#include "server/store/content_int.h"   /* vreader_chunk_at */
#include "server/store/idset.h"
#include "server/store/store_int.h"   /* store_batch_move */
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

/* Step 3's end: the pins made while marking are marked too, until the
 * store lets the sweep delete. */
static void mark_pins_until_delete(struct store *st, struct store_idmac *mac)
{
	struct store_root *p;
	uint64_t pages = 0;
	size_t np, i;
	bool del = false;

	do {
		assert_int_equal(store_sweep_pins(st, &p, &np, true, &del), 0);
		for (i = 0; i < np; i++)
			assert_int_equal(content_mark_tree(st, mac, p[i].root, p[i].size, &pages), 0);
		free(p);
	} while (!del);
}

/* One sweep with roots[0..n) as the live versions, compacting with
 * max_unused (-1: no compaction) until *cancel (NULL: none) is set;
 * compaction's result into *rc (NULL: it must be 0). */
static struct store_sweep_stats sweep_cancel(struct store *st, const struct content_ref *roots,
					     size_t n, int max_unused, const volatile int *cancel,
					     int *rc)
{
	struct store_sweep_stats s;
	struct store_idmac *mac = store_idmac_new(&key1);
	uint64_t pages = 0;
	size_t i;
	int r;

	assert_int_equal(store_sweep_begin(st), 0);
	assert_int_equal(store_sweep_wait(st, 1000), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(content_mark_tree(st, mac, roots[i].root, roots[i].size, &pages), 0);
	mark_pins_until_delete(st, mac);
	assert_int_equal(store_sweep_delete(st, NULL), 0);
	r = store_sweep_compact(st, max_unused, cancel);
	if (rc)
		*rc = r;
	else
		assert_int_equal(r, 0);
	store_sweep_end(st, &s);
	store_idmac_free(mac);
	return s;
}

static struct store_sweep_stats sweep_mu(struct store *st, const struct content_ref *roots, size_t n,
					 int max_unused)
{
	return sweep_cancel(st, roots, n, max_unused, NULL, NULL);
}

static struct store_sweep_stats sweep(struct store *st, const struct content_ref *roots, size_t n)
{
	return sweep_mu(st, roots, n, -1);
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
	uint64_t pages = 0;

	assert_int_equal(store_sweep_begin(f->st), 0);
	assert_int_equal(store_sweep_wait(f->st, 1000), 0);
	assert_int_equal(content_mark_tree(f->st, mac, f->ra.root, f->ra.size, &pages), 0);
	build(f->st, f->b, SZ, &rc);   /* the same content as b: every chunk a dedup hit */
	assert_memory_equal(rc.root, f->rb.root, 32);
	mark_pins_until_delete(f->st, mac);
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
	struct vreader *vr;
	uint64_t pages = 0;

	assert_int_equal(store_sweep_begin(f->st), 0);
	assert_int_equal(store_sweep_wait(f->st, 1000), 0);
	assert_int_equal(content_mark_tree(f->st, mac, f->ra.root, f->ra.size, &pages), 0);
	mark_pins_until_delete(f->st, mac);
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
	struct store_idmac *mac = store_idmac_new(&key1);
	uint8_t *c = malloc(SZ);
	uint64_t off = 0, states = 0, pages = 0;

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
	mark_pins_until_delete(f->st, mac);
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

/* Whether pack number p's file exists in the fixture's store. */
static bool pack_exists(const struct fx *f, unsigned p)
{
	char path[STOREFX_DIR + 32];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/packs/%08u.pack", f->dir, p);
	return stat(path, &sb) == 0;
}

#define NSMALL 96   /* small contents of SMALL bytes, one chunk each */
#define SMALL  3000

/* 2*NSMALL small contents after a and b in pack 1, their records side by
 * side: r[1..] (every other one is kept: r[0] = a, r[1+2i] the kept ones,
 * 1+NSMALL roots in all).  Dropping b and the others leaves pack 1 about
 * half garbage that holes cannot give back (records share blocks). */
static void smalls(struct fx *f, struct content_ref *r)
{
	uint8_t p[SMALL];
	struct content_ref drop;
	int i;

	r[0] = f->ra;
	for (i = 0; i < NSMALL; i++) {
		fill(p, SMALL, 100 + 2 * (uint64_t)i);
		build(f->st, p, SMALL, &r[1 + i]);
		fill(p, SMALL, 101 + 2 * (uint64_t)i);
		build(f->st, p, SMALL, &drop);
	}
}

/* b and half the small contents dropped: pack 1 is a third garbage that
 * holes cannot give back.  Past the threshold the pack is rewritten (the
 * live rows moved to a new pack, the file gone); a second sweep finds
 * nothing more to do. */
static void test_compact_rewrites(void **state)
{
	struct fx *f = *state;
	struct content_ref r[1 + NSMALL];
	uint64_t before;
	struct store_sweep_stats s;

	smalls(f, r);
	before = nchunks(f->st);
	s = sweep_mu(f->st, r, 1 + NSMALL, 5);

	assert_true(s.deleted > 10);
	assert_int_equal(s.packs_rewritten, 1);
	assert_int_equal(s.packs_removed, 1);
	assert_int_equal(s.moved, before - s.deleted);   /* every live row moved */
	assert_int_equal(s.unreadable, 0);
	assert_false(pack_exists(f, 1));
	assert_true(pack_exists(f, 2));
	assert_int_equal(nchunks(f->st), before - s.deleted);
	assert_int_equal(read_back(f->st, &f->ra, f->a, SZ), 0);
	s = sweep_mu(f->st, r, 1 + NSMALL, 5);
	assert_int_equal(s.deleted + s.packs_rewritten + s.packs_removed, 0);
	assert_int_equal(read_back(f->st, &f->ra, f->a, SZ), 0);
}

/* Below the threshold nothing moves: a pack wholly live under
 * --max-unused 0, one about half garbage under 90; a pack with nothing
 * live is removed whatever the threshold. */
static void test_compact_threshold(void **state)
{
	struct fx *f = *state;
	struct content_ref r[1 + NSMALL], rc;
	struct store_sweep_stats s;
	uint8_t *c = malloc(SZ);

	s = sweep_mu(f->st, (struct content_ref[]){ f->ra, f->rb }, 2, 0);
	assert_int_equal(s.deleted + s.packs_rewritten + s.packs_removed, 0);
	assert_true(pack_exists(f, 1));
	smalls(f, r);   /* into pack 2: the sweep rolled */
	s = sweep_mu(f->st, r, 1 + NSMALL, 90);
	assert_true(s.deleted > NSMALL);
	assert_int_equal(s.packs_rewritten + s.packs_removed, 0);
	assert_true(pack_exists(f, 1) && pack_exists(f, 2));
	fill(c, SZ, 5);
	build(f->st, c, SZ, &rc);   /* pack 3, then dropped */
	s = sweep_mu(f->st, r, 1 + NSMALL, 100);
	assert_true(s.deleted > 10);
	assert_int_equal(s.packs_rewritten, 0);
	assert_int_equal(s.packs_removed, 1);
	assert_true(pack_exists(f, 1) && pack_exists(f, 2));
	assert_false(pack_exists(f, 3));
	assert_int_equal(read_back(f->st, &f->ra, f->a, SZ), 0);
	free(c);
}

/* Every live content of smalls() reads back. */
static void smalls_read_back(struct fx *f, const struct content_ref *r)
{
	uint8_t p[SMALL];

	assert_int_equal(read_back(f->st, &r[0], f->a, SZ), 0);
	for (int i = 0; i < NSMALL; i++) {
		fill(p, SMALL, 100 + 2 * (uint64_t)i);
		assert_int_equal(read_back(f->st, &r[1 + i], p, SMALL), 0);
	}
}

/* A stopping server's cancel, set before compaction: it ends at once with
 * -ECANCELED, after step 4's deletions, having moved and removed nothing;
 * the next sweep compacts. */
static void test_compact_cancelled(void **state)
{
	struct fx *f = *state;
	struct content_ref r[1 + NSMALL];
	struct store_sweep_stats s;
	volatile int cancel = 1;
	int rc = 0;

	smalls(f, r);
	s = sweep_cancel(f->st, r, 1 + NSMALL, 5, &cancel, &rc);
	assert_int_equal(rc, -ECANCELED);
	assert_true(s.deleted > 10);
	assert_int_equal(s.moved + s.packs_rewritten + s.packs_removed, 0);
	assert_true(pack_exists(f, 1));
	smalls_read_back(f, r);
	s = sweep_mu(f->st, r, 1 + NSMALL, 5);
	assert_int_equal(s.packs_rewritten, 1);
	assert_int_equal(s.packs_removed, 1);
	assert_false(pack_exists(f, 1));
	smalls_read_back(f, r);
}

struct canceller { volatile int flag; useconds_t after; };

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;

	usleep(c->after);
	c->flag = 1;
	return NULL;
}

/* A cancel that comes while compaction runs, wherever it lands (between
 * pages, packs or records, or after the end): 0 or -ECANCELED, every live
 * content reads back, a cancelled pack stays whole (some of its rows
 * moved, the rest in place), and the next sweep finishes the job. */
static void test_compact_cancel_anytime(void **state)
{
	struct fx *f = *state;
	struct content_ref r[1 + NSMALL];
	struct store_sweep_stats s;
	struct canceller c = { .after = 0 };
	pthread_t th;
	int rc = 0;

	smalls(f, r);
	for (c.after = 0; c.after <= 50000; c.after += 250) {   /* until one finishes */
		c.flag = 0;
		assert_int_equal(pthread_create(&th, NULL, cancel_later, &c), 0);
		s = sweep_cancel(f->st, r, 1 + NSMALL, 5, &c.flag, &rc);
		pthread_join(th, NULL);
		assert_true(rc == 0 || rc == -ECANCELED);
		assert_int_equal(s.unreadable, 0);
		assert_true(rc == 0 || s.packs_removed == 0);   /* the one pack, whole or gone */
		smalls_read_back(f, r);
		if (rc == 0)
			break;
	}
	s = sweep_mu(f->st, r, 1 + NSMALL, 5);
	assert_false(pack_exists(f, 1));
	smalls_read_back(f, r);
}

/* A move whose row no longer names the old place (moved or stored anew
 * meanwhile) leaves the row alone; one that does moves it. */
static void test_move_not_clobbered(void **state)
{
	struct fx *f = *state;
	struct store_idmac *mac = store_idmac_new(&key1);
	struct store_loc l, stale, now;
	struct store_batch *b;
	uint8_t id[STORE_ID_LEN], *buf = malloc(STORE_CHUNK_MAX);
	uint64_t moved, gone;
	size_t n;

	assert_int_equal(store_idmac(mac, f->ra.root, id), 0);   /* a's root page */
	assert_int_equal(store_locate(f->st, (const uint8_t (*)[STORE_ID_LEN])id, 1, &l), 0);
	assert_true(l.found);
	assert_int_equal(store_get_at(f->st, id, &l, buf, STORE_CHUNK_MAX, &n), 0);
	stale = l;
	stale.off += 1;   /* where the row does not point */
	assert_int_equal(store_batch_new(f->st, &b), 0);
	assert_int_equal(store_batch_move(b, id, &stale, buf, n), 0);
	assert_int_equal(store_batch_commit(b), 0);
	store_batch_move_counts(b, &moved, &gone);
	assert_int_equal(moved, 0);
	assert_int_equal(gone, 1);
	assert_int_equal(store_locate(f->st, (const uint8_t (*)[STORE_ID_LEN])id, 1, &now), 0);
	assert_true(now.found && now.pack == l.pack && now.off == l.off);
	assert_int_equal(store_batch_move(b, id, &l, buf, n), 0);
	assert_int_equal(store_batch_commit(b), 0);
	store_batch_move_counts(b, &moved, &gone);
	assert_int_equal(moved, 1);
	store_batch_free(b);
	assert_int_equal(store_locate(f->st, (const uint8_t (*)[STORE_ID_LEN])id, 1, &now), 0);
	assert_true(now.found && (now.pack != l.pack || now.off != l.off));
	assert_int_equal(read_back(f->st, &f->ra, f->a, SZ), 0);
	store_idmac_free(mac);
	free(buf);
}

/* The start of b's first chunk after the part it shares with a (b's
 * first third is a's), and of the shared chunk before it. */
static void seam(struct fx *f, uint64_t *last_shared, uint64_t *first_own)
{
	struct vreader *va, *vb;
	struct vchunk ca, cb;
	uint64_t off = 0;

	assert_int_equal(vreader_open(f->st, &key1, &f->ra, &va), 0);
	assert_int_equal(vreader_open(f->st, &key1, &f->rb, &vb), 0);
	*last_shared = 0;
	for (;;) {
		assert_int_equal(vreader_chunk_at(va, off, &ca), 0);
		assert_int_equal(vreader_chunk_at(vb, off, &cb), 0);
		if (ca.len != cb.len || memcmp(ca.sha, cb.sha, 32))
			break;
		*last_shared = off;
		off += cb.len;
	}
	*first_own = off;
	vreader_free(va);
	vreader_free(vb);
}

/* Readers open while compaction removes the pack their records were in
 * get the bytes: a sequential reader of a (the records it read ahead,
 * then the rest where the index says now), and a reader of b that located
 * chunks it had not read yet (a jump to b's last chunk shared with a:
 * the chunks after it lie elsewhere, so they were located by the index,
 * not read with it), which locates them again. */
static void test_reader_relocates(void **state)
{
	struct fx *f = *state;
	struct store_sweep_stats s;
	struct vreader_counts vc;
	struct vreader *va, *vb;
	struct content_ref r[1 + NSMALL];
	uint64_t shared, own;
	uint8_t *buf = malloc(SZ);

	smalls(f, r);
	seam(f, &shared, &own);
	assert_true(shared > 0 && own > shared && own < SZ);
	assert_int_equal(vreader_open(f->st, &key1, &f->ra, &va), 0);
	assert_int_equal(vreader_open(f->st, &key1, &f->rb, &vb), 0);
	assert_int_equal(vreader_pread(va, buf, 1, 0), 1);   /* the first chunks read ahead */
	assert_int_equal(vreader_pread(vb, buf, 1, shared), 1);   /* b's next ones located */
	s = sweep_mu(f->st, r, 1 + NSMALL, 5);
	assert_int_equal(s.packs_removed, 1);
	assert_false(pack_exists(f, 1));
	assert_int_equal(vreader_pread(va, buf, SZ, 0), SZ);
	assert_memory_equal(buf, f->a, SZ);
	assert_int_equal(vreader_pread(vb, buf, SZ - own, own), SZ - own);
	assert_memory_equal(buf, f->b + own, SZ - own);
	vreader_get_counts(vb, &vc);
	assert_true(vc.relocated > 0);
	assert_int_equal(vreader_pread(vb, buf, SZ, 0), SZ);
	assert_memory_equal(buf, f->b, SZ);
	vreader_free(va);
	vreader_free(vb);
	free(buf);
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
		cmocka_unit_test_setup_teardown(test_compact_rewrites, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_compact_threshold, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_compact_cancelled, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_compact_cancel_anytime, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_move_not_clobbered, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reader_relocates, fx_setup, fx_teardown),
		cmocka_unit_test(test_idset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
