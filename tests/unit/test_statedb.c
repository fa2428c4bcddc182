/* test_statedb.c — the shipped table and the durable change queue:
 * round trips, earliest first_seen kept, generation-checked removal,
 * due times and attempts, persistence across reopen (kill -9 analogue),
 * hostile paths (binary bytes, very long). */
#include <errno.h>
#include <limits.h>
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

#include "daemon/statedb.h"

struct fx { char dir[64]; struct statedb *db; };

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-sdb-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(statedb_open(f->dir, &f->db), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	statedb_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void mkrow(struct shipped *s, const char *path, uint64_t ino)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->type = 1;
	s->size = 12345678901ULL;
	s->mtime_ns = 1700000000123456789LL;
	s->ctime_ns = -5;
	s->ino = ino;
	s->dev = 0xfd01;
	s->mode = 0100644;
	s->uid = 4294967294u;
	s->gid = 7;
	s->version = 42;
	memset(s->sha256, 0xab, 32);
	memset(s->root, 0xcd, 32);
	s->capture_ns = 1700000001000000000LL;
}

static void test_shipped_round_trip(void **state)
{
	struct fx *f = *state;
	static const char *const paths[] = {
		"/a", "/dir/with space/x.txt", "/\xe4\xb8\xad\xe6\x96\x87", "/bin\x01\xff\x7f",
		"/x'; DROP TABLE shipped; --",
	};
	struct shipped *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		mkrow(a, paths[i], 100 + i);
		snprintf(a->link, sizeof(a->link), "target-%zu", i);
		assert_int_equal(statedb_put(f->db, a), 0);
		assert_int_equal(statedb_get(f->db, paths[i], b), 0);
		assert_memory_equal(a, b, sizeof(*a));
	}
	assert_int_equal(statedb_count_shipped(f->db), 5);
	assert_int_equal(statedb_get(f->db, "/nope", b), -ENOENT);
	assert_int_equal(statedb_find_ino(f->db, 0xfd01, 100, "/other", b), 0);
	assert_string_equal(b->path, "/a");
	assert_int_equal(statedb_find_ino(f->db, 0xfd01, 100, "/a", b), -ENOENT);
	assert_int_equal(statedb_del(f->db, "/a"), 0);
	assert_int_equal(statedb_get(f->db, "/a", b), -ENOENT);
	/* a path near PATH_MAX */
	memset(a->path, 'p', PATH_MAX - 1);
	a->path[0] = '/';
	a->path[PATH_MAX - 1] = '\0';
	assert_int_equal(statedb_put(f->db, a), 0);
	assert_int_equal(statedb_get(f->db, a->path, b), 0);
	assert_string_equal(a->path, b->path);
	free(a);
	free(b);
}

/* statedb_look: the row and a moved file's row in one statement, as
 * statedb_get and statedb_find_ino give them. */
static void test_look(void **state)
{
	struct fx *f = *state;
	struct shipped *a = malloc(sizeof(*a)), *row = malloc(sizeof(*row));
	struct shipped *mv = malloc(sizeof(*mv)), *want = malloc(sizeof(*want));

	mkrow(a, "/a", 100);
	assert_int_equal(statedb_put(f->db, a), 0);
	mkrow(a, "/b", 200);
	a->type = 2;   /* a directory with a file's ino: never a rename source */
	assert_int_equal(statedb_put(f->db, a), 0);
	/* a path with a row: the row alone (its own ino is not "elsewhere") */
	assert_int_equal(statedb_look(f->db, "/a", true, 0xfd01, 100, row, mv), STATEDB_LOOK_ROW);
	assert_int_equal(statedb_get(f->db, "/a", want), 0);
	assert_memory_equal(row, want, sizeof(*row));
	/* a new path with /a's dev+ino: /a as the moved one */
	assert_int_equal(statedb_look(f->db, "/n", true, 0xfd01, 100, row, mv), STATEDB_LOOK_MOVED);
	assert_memory_equal(mv, want, sizeof(*mv));
	/* not asked for, or another ino, or only a directory with it: nothing */
	assert_int_equal(statedb_look(f->db, "/n", false, 0xfd01, 100, row, mv), 0);
	assert_int_equal(statedb_look(f->db, "/n", true, 0xfd01, 101, row, mv), 0);
	assert_int_equal(statedb_look(f->db, "/n", true, 0xfd01, 200, row, mv), 0);
	/* a row and another path's with the same dev+ino (a hard link): both */
	mkrow(a, "/h", 100);
	assert_int_equal(statedb_put(f->db, a), 0);
	assert_int_equal(statedb_look(f->db, "/h", true, 0xfd01, 100, row, mv),
			 STATEDB_LOOK_ROW | STATEDB_LOOK_MOVED);
	assert_string_equal(row->path, "/h");
	assert_string_equal(mv->path, "/a");
	free(a);
	free(row);
	free(mv);
	free(want);
}

/* The page cache stays within STATEDB_CACHE_KIB however big the db
 * grows (20,000 rows: several MB on disk), a bound on vigild's RSS. */
static void test_cache_bound(void **state)
{
	struct fx *f = *state;
	struct shipped *a = malloc(sizeof(*a));
	char p[64];
	int64_t used;

	assert_int_equal(statedb_begin(f->db), 0);
	for (int i = 0; i < 20000; i++) {
		snprintf(p, sizeof(p), "/root/d%03d/f%06d", i % 20, i);
		mkrow(a, p, 1000 + (uint64_t)i);
		assert_int_equal(statedb_put(f->db, a), 0);
		assert_int_equal(statedb_enqueue(f->db, p, i, 0, "scan"), 0);
	}
	assert_int_equal(statedb_commit(f->db), 0);
	for (int i = 0; i < 20000; i += 7) {   /* lookups all over it */
		snprintf(p, sizeof(p), "/root/d%03d/f%06d", i % 20, i);
		assert_int_equal(statedb_get(f->db, p, a), 0);
	}
	used = statedb_cache_used(f->db);
	assert_true(used > 0);
	/* the pages, plus SQLite's per-page headers (about 10 %) */
	assert_true(used <= STATEDB_CACHE_KIB * 1024 * 12 / 10);
	free(a);
}

static long long wal_size(const struct fx *f)
{
	char p[128];
	struct stat st;

	snprintf(p, sizeof(p), "%s/state.db-wal", f->dir);
	return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

/* statedb_tidy: a write-ahead log past STATEDB_WAL_KEEP_KIB is truncated
 * (its rows are in the db, and stay); a smaller one is left as it is. */
static void test_tidy(void **state)
{
	struct fx *f = *state;
	struct shipped *a = malloc(sizeof(*a));
	char p[64];
	long long small;

	mkrow(a, "/root/one", 1);
	assert_int_equal(statedb_put(f->db, a), 0);
	small = wal_size(f);
	assert_true(small > 0 && small <= STATEDB_WAL_KEEP_KIB * 1024LL);
	assert_int_equal(statedb_tidy(f->db), 0);
	assert_int_equal(wal_size(f), small);
	for (int i = 0; i < 600; i++) {   /* one commit each: a frame or more apiece */
		snprintf(p, sizeof(p), "/root/d%03d/f%06d", i % 20, i);
		mkrow(a, p, 1000 + (uint64_t)i);
		assert_int_equal(statedb_put(f->db, a), 0);
	}
	assert_true(wal_size(f) > STATEDB_WAL_KEEP_KIB * 1024LL);
	assert_int_equal(statedb_tidy(f->db), 0);
	assert_int_equal(wal_size(f), 0);
	assert_int_equal(statedb_get(f->db, "/root/d019/f000599", a), 0);
	assert_int_equal(a->ino, 1599);
	free(a);
}

static int count_cb(void *arg, const struct shipped *s)
{
	(*(int *)arg)++;
	return 0;
}

static void test_each_under(void **state)
{
	struct fx *f = *state;
	static const char *const paths[] = {
		"/r", "/r/a", "/r/a/b", "/r-x", "/r0", "/ra", "/q", "/r/z",
	};
	struct shipped s;
	int n = 0;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		mkrow(&s, paths[i], i + 1);
		assert_int_equal(statedb_put(f->db, &s), 0);
	}
	assert_int_equal(statedb_each_under(f->db, "/r", count_cb, &n), 0);
	assert_int_equal(n, 4);   /* /r /r/a /r/a/b /r/z, not /r-x /r0 /ra */
	n = 0;
	assert_int_equal(statedb_each_under(f->db, "/", count_cb, &n), 0);
	assert_int_equal(n, 8);
	/* more rows than one batch, names that differ only after a prefix */
	for (int i = 0; i < 200; i++) {
		char p[64];

		snprintf(p, sizeof(p), "/big/%s%d", i % 2 ? "x" : "x/y", i);
		mkrow(&s, p, 1000 + (uint64_t)i);
		assert_int_equal(statedb_put(f->db, &s), 0);
	}
	n = 0;
	assert_int_equal(statedb_each_under(f->db, "/big", count_cb, &n), 0);
	assert_int_equal(n, 200);
	n = 0;
	assert_int_equal(statedb_each_under(f->db, "/big/x", count_cb, &n), 0);
	assert_int_equal(n, 100);   /* /big/x/y... only; /big/x1 etc. are siblings */
}

static void test_queue(void **state)
{
	struct fx *f = *state;
	struct qitem q, q2;
	uint64_t n;
	int64_t oldest;

	assert_int_equal(statedb_queue_next(f->db, 1000, 100, NULL, 0, &q), -ENOENT);
	assert_int_equal(statedb_enqueue(f->db, "/b", 500, 200, "scan"), 0);
	assert_int_equal(statedb_enqueue(f->db, "/a", 300, 2000, "event"), 0);
	/* re-queue: keeps the earliest first_seen and the earlier due time */
	assert_int_equal(statedb_enqueue(f->db, "/a", 900, 100, "event"), 0);
	assert_int_equal(statedb_queue_stats(f->db, &n, &oldest), 0);
	assert_int_equal(n, 2);
	assert_int_equal(oldest, 300);
	assert_int_equal(statedb_queue_next(f->db, 50, 100, NULL, 0, &q), -ENOENT);   /* nothing due */
	assert_int_equal(statedb_queue_next(f->db, 1000, 100, NULL, 0, &q), 0);
	assert_string_equal(q.path, "/a");
	assert_int_equal(q.first_seen_ns, 300);
	/* queued again while shipping: done with the old gen keeps it */
	assert_int_equal(statedb_enqueue(f->db, "/a", 950, 0, "event"), 0);
	assert_int_equal(statedb_queue_done(f->db, "/a", q.gen), 0);
	assert_int_equal(statedb_queue_get(f->db, "/a", &q2), 0);
	assert_int_equal(statedb_queue_done(f->db, "/a", q2.gen), 0);
	assert_int_equal(statedb_queue_get(f->db, "/a", &q2), -ENOENT);
	/* defer counts attempts; max_attempts hides it */
	assert_int_equal(statedb_queue_defer(f->db, "/b", 5000), 0);
	assert_int_equal(statedb_queue_next(f->db, 1000, 100, NULL, 0, &q), -ENOENT);
	assert_int_equal(statedb_queue_next(f->db, 6000, 1, NULL, 0, &q), -ENOENT);
	assert_int_equal(statedb_queue_next(f->db, 6000, 2, NULL, 0, &q), 0);
	assert_int_equal(q.attempts, 1);
	assert_int_equal(statedb_queue_reset_attempts(f->db), 0);
	assert_int_equal(statedb_queue_next(f->db, 6000, 1, NULL, 0, &q), 0);
	{
		char *ex[] = { "/b" };

		assert_int_equal(statedb_queue_next(f->db, 6000, 1, ex, 1, &q), -ENOENT);
		assert_int_equal(statedb_enqueue(f->db, "/c", 9000, 0, "scan"), 0);
		assert_int_equal(statedb_queue_next(f->db, 6000, 1, ex, 1, &q), 0);
		assert_string_equal(q.path, "/c");
		assert_int_equal(statedb_queue_remove(f->db, "/c"), 0);
	}
	assert_int_equal(statedb_queue_remove(f->db, "/b"), 0);
	assert_int_equal(statedb_queue_stats(f->db, &n, &oldest), 0);
	assert_int_equal(n, 0);
	assert_int_equal(oldest, 0);
}

/* The wall clock went back by days after entries were queued: an entry
 * due further ahead than any hold is due now; an ordinary hold is kept. */
static void test_queue_clock_back(void **state)
{
	struct fx *f = *state;
	const int64_t now = 1000LL * 1000000000, day = 86400LL * 1000000000;
	struct qitem q;

	assert_int_equal(statedb_enqueue(f->db, "/held", 100, now + 30LL * 1000000000, "event"), 0);
	assert_int_equal(statedb_queue_next(f->db, now, 100, NULL, 0, &q), -ENOENT);
	assert_int_equal(statedb_enqueue(f->db, "/ahead", 200, now + 3 * day, "event"), 0);
	assert_int_equal(statedb_queue_next(f->db, now, 100, NULL, 0, &q), 0);
	assert_string_equal(q.path, "/ahead");
	assert_int_equal(statedb_queue_next(f->db, now + STATEDB_HOLD_MAX_NS, 100, NULL, 0, &q), 0);
	assert_string_equal(q.path, "/held");
	assert_int_equal(statedb_queue_next(f->db, INT64_MAX, 100, NULL, 0, &q), 0);
}

static bool skip_b(void *arg, const char *path)
{
	return !strcmp(path, "/b");
}

/* A batch's gathering: due entries in queue order, the held ones (skip)
 * left out, from a cursor on; a batch's capture times reserved at once. */
static void test_queue_scan(void **state)
{
	struct fx *f = *state;
	struct qitem q[4];
	struct qcursor at = { .seen_ns = 200 };
	size_t n = 9;
	int64_t first = 0, v = 0;

	assert_int_equal(statedb_queue_scan(f->db, 1000, 100, NULL, NULL, NULL, q, 4, &n), -ENOENT);
	assert_int_equal(n, 0);
	assert_int_equal(statedb_enqueue(f->db, "/c", 300, 0, "scan"), 0);
	assert_int_equal(statedb_enqueue(f->db, "/a", 100, 0, "scan"), 0);
	assert_int_equal(statedb_enqueue(f->db, "/b", 200, 0, "scan"), 0);
	assert_int_equal(statedb_enqueue(f->db, "/late", 50, 5000, "scan"), 0);   /* not due */
	assert_int_equal(statedb_queue_scan(f->db, 1000, 100, NULL, skip_b, NULL, q, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(q[0].path, "/a");
	assert_string_equal(q[1].path, "/c");
	assert_int_equal(statedb_queue_scan(f->db, 1000, 100, NULL, NULL, NULL, q, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(q[0].path, "/a");
	snprintf(at.path, sizeof(at.path), "/b");
	assert_int_equal(statedb_queue_scan(f->db, 1000, 100, &at, NULL, NULL, q, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(q[0].path, "/c");
	at.seen_ns = 300;
	snprintf(at.path, sizeof(at.path), "/c");
	assert_int_equal(statedb_queue_scan(f->db, 1000, 100, &at, NULL, NULL, q, 4, &n), -ENOENT);

	assert_int_equal(statedb_kv_raise(f->db, "c", 1000, &v), 0);
	assert_int_equal(statedb_kv_raise_by(f->db, "c", 10, 128, &first), 0);   /* clock behind */
	assert_int_equal(first, 1001);
	assert_int_equal(statedb_kv_raise(f->db, "c", 10, &v), 0);
	assert_int_equal(v, 1001 + 128);
	assert_int_equal(statedb_kv_raise_by(f->db, "c", 5000, 4, &first), 0);   /* clock ahead */
	assert_int_equal(first, 5000);
	assert_int_equal(statedb_kv_raise(f->db, "c", 10, &v), 0);
	assert_int_equal(v, 5004);
}

/* Capture times: one increasing sequence, whatever the clock says. */
static void test_kv_raise(void **state)
{
	struct fx *f = *state;
	int64_t v = 0;

	assert_int_equal(statedb_kv_raise(f->db, "c", 1000, &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(statedb_kv_raise(f->db, "c", 1000, &v), 0);   /* same time */
	assert_int_equal(v, 1001);
	assert_int_equal(statedb_kv_raise(f->db, "c", 10, &v), 0);     /* clock went back */
	assert_int_equal(v, 1002);
	assert_int_equal(statedb_kv_raise(f->db, "c", 5000, &v), 0);
	assert_int_equal(v, 5000);
	assert_int_equal(statedb_kv_get(f->db, "c", &v), 0);
	assert_int_equal(v, 5000);
}

/* Space back on the server: entries deferred after failures are due now;
 * one held without a failure (rate limit, debounce) keeps its time. */
static void test_queue_release(void **state)
{
	struct fx *f = *state;
	struct qitem q;

	assert_int_equal(statedb_enqueue(f->db, "/failed", 100, 0, "event"), 0);
	assert_int_equal(statedb_queue_defer(f->db, "/failed", 5000), 0);
	assert_int_equal(statedb_enqueue(f->db, "/held", 200, 5000, "event"), 0);
	assert_int_equal(statedb_queue_next(f->db, 1000, 100, NULL, 0, &q), -ENOENT);
	assert_int_equal(statedb_queue_release(f->db, 1000), 0);
	assert_int_equal(statedb_queue_next(f->db, 1000, 100, NULL, 0, &q), 0);
	assert_string_equal(q.path, "/failed");
	assert_int_equal(statedb_queue_remove(f->db, "/failed"), 0);
	assert_int_equal(statedb_queue_next(f->db, 1000, 100, NULL, 0, &q), -ENOENT);
}

/* Close without any shutdown step (as after kill -9), reopen: all there,
 * and new generations keep increasing. */
static void test_persistence(void **state)
{
	struct fx *f = *state;
	struct shipped s, t;
	struct qitem q;
	uint64_t gen;
	int64_t v;

	mkrow(&s, "/keep", 9);
	assert_int_equal(statedb_put(f->db, &s), 0);
	assert_int_equal(statedb_enqueue(f->db, "/q1", 1, 0, "scan"), 0);
	assert_int_equal(statedb_kv_set(f->db, "k", -77), 0);
	assert_int_equal(statedb_queue_get(f->db, "/q1", &q), 0);
	gen = q.gen;
	statedb_close(f->db);
	assert_int_equal(statedb_open(f->dir, &f->db), 0);
	assert_int_equal(statedb_get(f->db, "/keep", &t), 0);
	assert_int_equal(t.ino, 9);
	assert_int_equal(statedb_kv_get(f->db, "k", &v), 0);
	assert_int_equal(v, -77);
	assert_int_equal(statedb_kv_get(f->db, "missing", &v), -ENOENT);
	assert_int_equal(statedb_enqueue(f->db, "/q2", 2, 0, "scan"), 0);
	assert_int_equal(statedb_queue_get(f->db, "/q2", &q), 0);
	assert_true(q.gen > gen);
}

static void test_transaction(void **state)
{
	struct fx *f = *state;
	char p[32];
	uint64_t n;
	int64_t o;

	assert_int_equal(statedb_begin(f->db), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(p, sizeof(p), "/t/%d", i);
		assert_int_equal(statedb_enqueue(f->db, p, i + 1, 0, "scan"), 0);
	}
	assert_int_equal(statedb_commit(f->db), 0);
	assert_int_equal(statedb_queue_stats(f->db, &n, &o), 0);
	assert_int_equal(n, 1000);
	assert_int_equal(o, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shipped_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_under, setup, teardown),
		cmocka_unit_test_setup_teardown(test_look, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tidy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_clock_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kv_raise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transaction, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
