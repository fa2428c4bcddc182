/* test_upload_expire.c — abandoned resumable uploads and failed batches give
 * their space back (issue 10, finding 1.6): an upload's state untouched for
 * UPLOAD_EXPIRE_S (aged here by setting its mtime back) is removed with the
 * chunks only it owned (index rows deleted, records punched out of the
 * packs: the packs' disk use drops); resuming an expired token starts over
 * and the new upload completes; chunks another build reused, and those of
 * an upload that finished but kept its state (a crash before forget), stay
 * readable; a dropped batch's records that are not at the pack tail are
 * punched. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
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

#include <sqlite3.h>

#include "common/chunker.h"
#include "common/chunktree.h"
#include "common/clock.h"
#include "server/store/content.h"
#include "tests/unit/store_fixture.h"

static const struct devkey key1 = { { 7, 7, 7 } };
static const uint8_t token[16] = { 0x10, 0x20 };
static char dir[STOREFX_DIR];
static struct store *st;

static struct store_stats stats(void)
{
	struct store_stats s;

	assert_int_equal(store_stats(st, &s), 0);
	return s;
}

/* Sets every upload state's mtime back by secs; returns how many. */
static size_t age_uploads(int64_t secs)
{
	struct timespec tv[2] = { { .tv_nsec = UTIME_OMIT }, { 0 } };
	char pat[128];
	glob_t g;
	size_t i, n;

	tv[1].tv_sec = (time_t)(real_ns() / 1000000000 - secs);
	snprintf(pat, sizeof(pat), "%s/uploads/*/*", dir);
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	for (i = 0; i < g.gl_pathc; i++)
		assert_int_equal(utimensat(AT_FDCWD, g.gl_pathv[i], tv, 0), 0);
	n = g.gl_pathc;
	globfree(&g);
	return n;
}

/* Writes p[0..n) into vb, checkpointing under token every MiB. */
static void upload(struct vbuild *vb, const uint8_t *p, size_t n, bool ckpt)
{
	for (size_t off = 0; off < n; off += 1u << 20) {
		size_t k = n - off < (1u << 20) ? n - off : 1u << 20;

		assert_int_equal(vbuild_write(vb, p + off, k), 0);
		if (ckpt)
			assert_int_equal(vbuild_checkpoint(vb, token), 0);
	}
}

static void read_back(const struct content_ref *ref, const uint8_t *p, size_t n)
{
	struct vreader *vr;
	uint8_t *b = malloc(n);

	assert_int_equal(vreader_open(st, &key1, ref, &vr), 0);
	assert_int_equal(vreader_pread(vr, b, n, 0), (ssize_t)n);
	assert_memory_equal(b, p, n);
	vreader_free(vr);
	free(b);
}

static void expire(struct upload_expired *x)
{
	assert_int_equal(vbuild_expire(st, real_ns(), x), 0);
}

static void test_abandoned_collected(void **state)
{
	size_t n = 4u << 20;
	uint8_t *p = malloc(n);
	struct store_stats s0 = stats(), s1, s2;
	struct upload_expired x;
	struct content_ref ref;
	struct vbuild *vb;
	uint64_t off;

	fill(p, n, 1);
	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	upload(vb, p, n - 100000, true);
	vbuild_free(vb);                        /* the device never comes back */
	s1 = stats();
	assert_true(s1.chunks > s0.chunks + 300);
	assert_true(s1.pack_disk > s0.pack_disk + (3u << 20));
	expire(&x);                             /* not a day old: kept */
	assert_int_equal(x.uploads, 0);
	assert_int_equal(age_uploads(UPLOAD_EXPIRE_S - 60), 1);
	expire(&x);
	assert_int_equal(x.uploads, 0);
	assert_int_equal(age_uploads(UPLOAD_EXPIRE_S + 60), 1);
	expire(&x);
	assert_int_equal(x.uploads, 1);
	assert_int_equal(x.records, s1.chunks - s0.chunks);
	s2 = stats();
	assert_int_equal(s2.chunks, s0.chunks);
	assert_true(s2.pack_disk < s0.pack_disk + (64u << 10));   /* space given back */
	assert_int_equal(s2.freed_records - s0.freed_records, x.records);
	assert_int_equal(age_uploads(0), 0);    /* the state is gone */
	/* the same token again: a fresh upload that completes */
	assert_int_equal(vbuild_resume(st, &key1, token, &vb, &off), -ENOENT);
	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	upload(vb, p, n, true);
	assert_int_equal(vbuild_finish(vb, &ref), 0);
	vbuild_free(vb);
	vbuild_forget(st, &key1, token);
	read_back(&ref, p, n);
	free(p);
}

static void test_resume_expired(void **state)
{
	size_t n = 3u << 20;
	uint8_t *p = malloc(n);
	struct store_stats s0 = stats();
	struct content_ref ref;
	struct vbuild *vb;
	uint64_t off;

	fill(p, n, 2);
	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	upload(vb, p, 2u << 20, true);
	vbuild_free(vb);
	assert_int_equal(vbuild_resume(st, &key1, token, &vb, &off), 0);   /* fresh: resumes */
	assert_true(off > 0);
	vbuild_free(vb);
	age_uploads(UPLOAD_EXPIRE_S + 1);
	assert_int_equal(vbuild_resume(st, &key1, token, &vb, &off), -ENOENT);
	assert_int_equal(off, 0);
	assert_int_equal(stats().chunks, s0.chunks);   /* collected on the way */
	assert_int_equal(age_uploads(0), 0);
	assert_int_equal(vbuild_new(st, &key1, &vb), 0);   /* starts over cleanly */
	upload(vb, p, n, true);
	assert_int_equal(vbuild_finish(vb, &ref), 0);
	vbuild_free(vb);
	read_back(&ref, p, n);
	free(p);
}

/* Nothing a version uses is collected: chunks another build reused while
 * the upload lay abandoned, and an upload that finished but whose state
 * stayed (killed before vbuild_forget). */
static void test_used_chunks_kept(void **state)
{
	size_t n = 3u << 20;
	uint8_t *p = malloc(n), *q = malloc(n);
	struct content_ref a, b;
	struct upload_expired x;
	struct vbuild *vb;

	fill(p, n, 3);
	fill(q, n, 4);
	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	upload(vb, p, n, true);
	vbuild_free(vb);                           /* abandoned, all checkpointed */
	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	upload(vb, p, n, false);                   /* the same bytes, not resumable */
	assert_int_equal(vbuild_finish(vb, &a), 0);
	vbuild_free(vb);
	age_uploads(UPLOAD_EXPIRE_S + 1);
	expire(&x);
	assert_int_equal(x.uploads, 1);
	read_back(&a, p, n);

	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	upload(vb, q, n, true);
	assert_int_equal(vbuild_finish(vb, &b), 0);
	vbuild_free(vb);                           /* no vbuild_forget: a crash */
	age_uploads(UPLOAD_EXPIRE_S + 1);
	expire(&x);
	assert_int_equal(x.uploads, 1);
	assert_int_equal(x.records, 0);
	read_back(&b, q, n);
	free(p);
	free(q);
}

/* Runs sql on the closed store's chunks.db (the store is reopened after);
 * returns the integer the last statement's first row gives, or -1. */
static int64_t db_closed(const char *sql)
{
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *q;
	const char *tail = sql;
	int64_t v = -1;

	store_close(st);
	st = NULL;
	snprintf(path, sizeof(path), "%s/chunks.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	while (*tail) {
		assert_int_equal(sqlite3_prepare_v2(db, tail, -1, &q, &tail), SQLITE_OK);
		if (!q)
			break;
		v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	assert_int_equal(storefx_reopen(dir, &st), 0);
	return v;
}

/* A finished upload leaves no provisional row (its prov range is gone in
 * one statement; its chunks rows keep the owner, which says nothing once
 * prov does not list them); an abandoned upload that reused those chunks
 * is collected without them, and the version reads back. */
static void test_release_drops_range(void **state)
{
	size_t n = 3u << 20;
	uint8_t *p = malloc(n);
	struct content_ref ref;
	struct upload_expired x;
	struct vbuild *vb;

	fill(p, n, 7);
	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	upload(vb, p, n / 2, true);
	vbuild_free(vb);                          /* abandoned: it holds a batch of st */
	assert_true(db_closed("SELECT count(*) FROM prov") > 100);
	assert_int_equal(vbuild_resume(st, &key1, token, &vb, &(uint64_t){ 0 }), 0);
	vbuild_free(vb);
	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	upload(vb, p, n, true);                   /* the same token over again */
	assert_int_equal(vbuild_finish(vb, &ref), 0);
	vbuild_free(vb);
	vbuild_forget(st, &key1, token);
	assert_int_equal(db_closed("SELECT count(*) FROM prov"), 0);
	assert_true(db_closed("SELECT count(*) FROM chunks WHERE owner != 0") > 100);
	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	upload(vb, p, n - 5000, true);            /* reuses them, then abandoned */
	vbuild_free(vb);
	age_uploads(UPLOAD_EXPIRE_S + 1);
	expire(&x);
	assert_int_equal(x.uploads, 1);
	assert_true(x.records < 10);              /* its own last chunk and tree pages */
	read_back(&ref, p, n);
	free(p);
}

/* A store from before the prov table (provisional rows marked by their
 * owner column, found through the chunks_owner index) opens: its
 * provisional rows are listed in prov and the index dropped, an abandoned
 * upload in it is still collected, and a finished version reads back. */
static void test_old_store_migrates(void **state)
{
	size_t n = 3u << 20;
	uint8_t *p = malloc(n), *q = malloc(n);
	struct store_stats s0 = stats(), s1, s2;
	struct content_ref ref;
	struct upload_expired x;
	struct vbuild *vb;
	int64_t prov;

	fill(p, n, 8);
	fill(q, n, 9);
	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	upload(vb, q, n, true);
	assert_int_equal(vbuild_finish(vb, &ref), 0);
	vbuild_free(vb);
	vbuild_forget(st, &key1, token);
	s1 = stats();
	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	upload(vb, p, n, true);
	vbuild_free(vb);                          /* abandoned */
	/* the older layout: owner set on provisional rows only, their index */
	prov = db_closed("SELECT count(*) FROM prov");
	assert_true(prov > 100);
	assert_int_equal(db_closed("UPDATE chunks SET owner = 0 WHERE id NOT IN (SELECT id FROM prov);"
				   "DROP TABLE prov;"
				   "CREATE INDEX chunks_owner ON chunks(owner, pack, off) WHERE owner != 0;"
				   "SELECT count(*) FROM sqlite_master WHERE name = 'prov'"), 0);
	/* db_closed reopened it: migrated */
	assert_int_equal(db_closed("SELECT count(*) FROM sqlite_master WHERE name = 'chunks_owner'"), 0);
	assert_int_equal(db_closed("SELECT count(*) FROM prov"), prov);
	read_back(&ref, q, n);
	age_uploads(UPLOAD_EXPIRE_S + 1);
	expire(&x);
	assert_int_equal(x.uploads, 1);
	assert_int_equal(x.records, (uint64_t)prov);
	s2 = stats();
	assert_int_equal(s2.chunks, s1.chunks);
	assert_true(s2.chunks > s0.chunks);
	read_back(&ref, q, n);
	free(p);
	free(q);
}

/* A build dropped while another appended after it: its records cannot be
 * cut from the pack tail, so they are punched. */
static void test_dropped_batch_punched(void **state)
{
	size_t n = 2u << 20;
	uint8_t *p = malloc(n), *q = malloc(n / 2);
	struct store_stats s0, s1, s2;
	struct content_ref ref;
	struct vbuild *dropped, *vb;

	fill(p, n, 5);
	fill(q, n / 2, 6);
	assert_int_equal(vbuild_new(st, &key1, &dropped), 0);
	/* serially: every chunk is appended when write returns (a pipelined
	 * build's queue may hold up to 2 MiB that a drop never writes at all:
	 * test_content_pipe's test_abort) */
	vbuild_set_pipe(dropped, UINT64_MAX);
	assert_int_equal(vbuild_write(dropped, p, n), 0);   /* appended, never committed */
	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	assert_int_equal(vbuild_write(vb, q, n / 2), 0);
	assert_int_equal(vbuild_finish(vb, &ref), 0);       /* after it in the pack */
	s0 = stats();
	vbuild_free(dropped);
	s1 = stats();
	/* (up to 256 KiB of it, store_batch.c's BATCH_WBUF, may never have
	 * left the build's write buffer: nothing to punch for those) */
	assert_true(s1.pack_disk + (n - (64u << 10) - (256u << 10)) < s0.pack_disk);
	assert_true(s1.freed_records > s0.freed_records);
	assert_int_equal(s1.chunks, s0.chunks);
	read_back(&ref, q, n / 2);
	vbuild_free(vb);
	/* space from holes is reused by nothing, but the store goes on */
	assert_int_equal(vbuild_new(st, &key1, &vb), 0);
	assert_int_equal(vbuild_write(vb, p, n), 0);
	assert_int_equal(vbuild_finish(vb, &ref), 0);
	vbuild_free(vb);
	read_back(&ref, p, n);
	s2 = stats();
	assert_true(s2.chunks > s1.chunks);
	free(p);
	free(q);
}

static int setup(void **state)
{
	unsetenv("VIGIL_UPLOAD_EXPIRE_S");
	return storefx_open(dir, "upexp", &st);
}

static int teardown(void **state)
{
	return storefx_remove(dir, st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_abandoned_collected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_used_chunks_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped_batch_punched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_drops_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_store_migrates, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
