/* test_groupcommit.c — group commit in the server's index and chunk store:
 * commits that arrive while one is being made durable are made durable
 * together (one transaction, one fdatasync per pack), each waiter returns
 * only once its group is durable, and a version refused inside a group
 * leaves the others.  Deterministic: the test holds the lock the leader
 * needs until every other committer is queued behind it. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/tls.h"
#include "server/index.h"
#include "server/index_int.h"
#include "server/store/store.h"
#include "server/store/store_int.h"

#define NTHREADS 8

struct fx { char dir[64]; struct index *idx; struct store *st; int64_t dev; };

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ident id = { .role = ROLE_DEVICE, .enrolled_ns = 1 };

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_gc.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(index_open(f->dir, true, &f->idx), 0);
	assert_int_equal(store_open(f->dir, &f->st), 0);
	snprintf(id.name, sizeof(id.name), "phone1");
	memset(id.devkey, 7, 32);
	assert_int_equal(index_ident_add(f->idx, &id), 0);
	f->dev = id.id;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	store_close(f->st);
	index_close(f->idx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int64_t meta(struct fx *f, const char *key)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(f->idx->db, "SELECT value FROM meta WHERE key = ?1",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int64_t sql_int(struct fx *f, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(f->idx->db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, f->dev);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

struct job {
	struct fx *f;
	int i;
	bool stale;          /* a DELTA-like commit whose base is wrong */
	int r;
	uint64_t version;
};

static void *commit_one(void *arg)
{
	struct job *j = arg;
	struct index_version *v = calloc(1, sizeof(*v));

	snprintf(v->e.path, sizeof(v->e.path), "/d/f%d", j->i);
	v->e.type = VG_FILE;
	v->e.size = (uint64_t)j->i;
	v->e.mode = 0644;
	v->e.capture_ns = 1000 + j->i;
	memset(v->content_root, j->i + 1, 32);
	j->r = index_commit(j->f->idx, j->f->dev, v, j->stale, 99, NULL);
	j->version = v->e.version;
	free(v);
	return NULL;
}

static size_t queued_index(struct index *idx)
{
	size_t n = 0;

	pthread_mutex_lock(&idx->gate);
	for (struct commit_wait *w = idx->cq_head; w; w = w->next)
		n++;
	pthread_mutex_unlock(&idx->gate);
	return n;
}

/* The leader of the first group blocks on the index lock the test holds;
 * the other seven queue behind it and go as one group of seven. */
static void test_index_group(void **state)
{
	struct fx *f = *state;
	struct job j[NTHREADS];
	pthread_t th[NTHREADS];
	int64_t g0 = meta(f, "commit_groups"), v0 = meta(f, "commit_versions");
	int i;

	g0 = g0 < 0 ? 0 : g0;
	v0 = v0 < 0 ? 0 : v0;
	pthread_mutex_lock(&f->idx->lock);
	for (i = 0; i < NTHREADS; i++) {
		j[i] = (struct job){ .f = f, .i = i, .stale = i == 5 };
		assert_int_equal(pthread_create(&th[i], NULL, commit_one, &j[i]), 0);
		if (i == 0)   /* wait until it leads (queue empty, leader set) */
			while (!__atomic_load_n(&f->idx->cq_leading, __ATOMIC_ACQUIRE))
				usleep(1000);
	}
	while (queued_index(f->idx) < NTHREADS - 1)
		usleep(1000);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(j[i].version, 0);   /* nobody returned before durable */
	pthread_mutex_unlock(&f->idx->lock);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < NTHREADS; i++) {
		struct index_version got;

		if (i == 5) {   /* refused in its group; the others stay */
			assert_int_equal(j[i].r, -ESTALE);
			continue;
		}
		assert_int_equal(j[i].r, 0);
		assert_int_equal(j[i].version, 1);
		char path[32];
		snprintf(path, sizeof(path), "/d/f%d", i);
		assert_int_equal(index_latest(f->idx, f->dev, path, INDEX_AT_LATEST, true, &got), 0);
		assert_int_equal(got.e.size, (uint64_t)i);
	}
	assert_int_equal(meta(f, "commit_groups") - g0, 2);
	assert_int_equal(meta(f, "commit_versions") - v0, NTHREADS - 1);
	/* the device row, kept in memory through the group and written at
	 * its end: the live files of the versions that committed, and the
	 * capture maximum that every capture time is under (a version's
	 * own all distinct; an implicit directory takes its file's) */
	struct index_devstate ds;

	assert_int_equal(index_dev_state(f->idx, f->dev, &ds), 0);
	assert_int_equal(ds.files, NTHREADS - 1);
	assert_int_equal(ds.bytes, NTHREADS * (NTHREADS - 1) / 2 - 5);
	assert_int_equal(sql_int(f, "SELECT max_capture_ns = (SELECT max(capture_ns) FROM versions)"
				 " FROM devices WHERE dev = ?1"), 1);
	assert_int_equal(sql_int(f, "SELECT count(DISTINCT capture_ns) = count(*) FROM versions"
				 " WHERE dev = ?1 AND implicit = 0"), 1);
}

struct sjob {
	struct store *st;
	int i;
	int r;
	bool ready, go, done;   /* put, may commit, committed (atomics) */
};

static void chunk_id(int i, uint8_t id[32])
{
	memset(id, 0, 32);
	id[0] = (uint8_t)i;
	id[31] = 0x5a;
}

static void *store_one(void *arg)
{
	struct sjob *j = arg;
	struct store_batch *b;
	uint8_t id[32], data[4096];

	chunk_id(j->i, id);
	memset(data, j->i, sizeof(data));
	assert_int_equal(store_batch_new(j->st, &b), 0);
	assert_int_equal(store_batch_put(b, id, data, sizeof(data)), 0);
	__atomic_store_n(&j->ready, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&j->go, __ATOMIC_ACQUIRE))
		usleep(1000);
	j->r = store_batch_commit(b);
	__atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
	store_batch_free(b);
	return NULL;
}

static size_t queued_store(struct store *st)
{
	size_t n = 0;

	pthread_mutex_lock(&st->gcmu);
	for (struct gc_wait *w = st->gc_head; w; w = w->next)
		n++;
	pthread_mutex_unlock(&st->gcmu);
	return n;
}

/* Same for the chunk store: the leader syncs, then waits for the database
 * lock the test holds; seven batches queue and commit as one group. */
static void test_store_group(void **state)
{
	struct fx *f = *state;
	struct sjob j[NTHREADS];
	pthread_t th[NTHREADS];
	uint64_t g0, b0, g1, b1;
	uint8_t id[32], buf[4096];
	size_t n;
	int i;

	store_group_stats(f->st, &g0, &b0);
	for (i = 0; i < NTHREADS; i++) {   /* the puts look the ids up: before the lock */
		j[i] = (struct sjob){ .st = f->st, .i = i };
		assert_int_equal(pthread_create(&th[i], NULL, store_one, &j[i]), 0);
		while (!__atomic_load_n(&j[i].ready, __ATOMIC_ACQUIRE))
			usleep(1000);
	}
	pthread_mutex_lock(&f->st->dbmu);
	__atomic_store_n(&j[0].go, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&f->st->gc_leading, __ATOMIC_ACQUIRE))
		usleep(1000);
	for (i = 1; i < NTHREADS; i++)
		__atomic_store_n(&j[i].go, true, __ATOMIC_RELEASE);
	while (queued_store(f->st) < NTHREADS - 1)
		usleep(1000);
	for (i = 0; i < NTHREADS; i++)
		assert_false(__atomic_load_n(&j[i].done, __ATOMIC_ACQUIRE));
	pthread_mutex_unlock(&f->st->dbmu);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	store_group_stats(f->st, &g1, &b1);
	assert_int_equal(g1 - g0, 2);
	assert_int_equal(b1 - b0, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(j[i].r, 0);
		chunk_id(i, id);
		assert_int_equal(store_get(f->st, id, buf, sizeof(buf), &n), 0);
		assert_int_equal(n, sizeof(buf));
		assert_int_equal(buf[0], (uint8_t)i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_index_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_group, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
