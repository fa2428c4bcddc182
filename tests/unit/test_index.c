/* test_index.c — the server's SQLite index: identities, versions, --at
 * selection, ls one level and recursive with paging, monotonic capture,
 * implicit ancestors, deletes and renames of subtrees, hostile names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/tls.h"
#include "server/index.h"
#include "server/index_int.h"
#include "server/quota.h"
#include "server/srv.h"
#include "tests/unit/index_fixture.h"

struct fx { char dir[64]; struct index *idx; int64_t dev; };

static int count_quota(void *arg, const char *name, uint64_t limit, uint64_t used)
{
	(void)limit, (void)used;
	assert_string_equal(name, "phone1");
	++*(int *)arg;
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	idxfx_open(f->dir, "test_index", &f->idx);
	f->dev = idxfx_device(f->idx, "phone1", 7);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	idxfx_remove(f->dir, f->idx);
	free(f);
	return 0;
}

/* Commits one version; returns the index_commit result. */
static int put(struct fx *f, const char *path, int type, uint64_t size, int64_t capture,
	       bool deleted, uint64_t *version)
{
	struct index_version *v = calloc(1, sizeof(*v));
	int r;

	snprintf(v->e.path, sizeof(v->e.path), "%s", path);
	v->e.type = (uint8_t)type;
	v->e.size = size;
	v->e.mode = 0644;
	v->e.capture_ns = capture;
	v->e.deleted = deleted;
	memset(v->e.sha256, (int)size, 32);
	memset(v->content_root, (int)size + 1, 32);
	r = index_commit(f->idx, f->dev, v, false, 0, NULL);
	if (version)
		*version = v->e.version;
	free(v);
	return r;
}

struct list { char paths[64][256]; int64_t capture[64]; uint64_t size[64]; size_t n; size_t stop_at; };

static int take(void *arg, const struct index_version *v)
{
	struct list *l = arg;

	if (l->stop_at && l->n == l->stop_at)
		return 1;
	assert_true(l->n < 64);
	assert_true(strlen(v->e.path) < sizeof(l->paths[0]));
	memcpy(l->paths[l->n], v->e.path, strlen(v->e.path) + 1);
	l->capture[l->n] = v->e.capture_ns;
	l->size[l->n] = v->e.size;
	l->n++;
	return 0;
}

static void ls(struct fx *f, const char *dir, int64_t at, bool rec, struct list *l)
{
	memset(l, 0, sizeof(*l));
	assert_true(index_ls(f->idx, f->dev, dir, at, rec, "", SIZE_MAX, take, l) >= 0);
}

static void test_versions_and_at(void **state)
{
	struct fx *f = *state;
	struct index_version *v = calloc(1, sizeof(*v));
	uint64_t ver;
	struct list l;

	assert_int_equal(put(f, "/d", VG_DIR, 0, 100, false, &ver), 0);
	assert_int_equal(ver, 1);
	assert_int_equal(put(f, "/d/a", VG_FILE, 10, 200, false, &ver), 0);
	assert_int_equal(ver, 1);
	assert_int_equal(put(f, "/d/a", VG_FILE, 20, 300, false, &ver), 0);
	assert_int_equal(ver, 2);
	assert_int_equal(put(f, "/d/a", VG_FILE, 30, 400, false, &ver), 0);
	assert_int_equal(ver, 3);

	/* --at: newest version captured at or before the time */
	static const struct { int64_t at; int rc; uint64_t size; } cases[] = {
		{ 150, -ENOENT, 0 }, { 200, 0, 10 }, { 299, 0, 10 }, { 300, 0, 20 },
		{ 399, 0, 20 }, { 400, 0, 30 }, { INDEX_AT_LATEST, 0, 30 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = index_latest(f->idx, f->dev, "/d/a", cases[i].at, false, v);

		assert_int_equal(rc, cases[i].rc);
		if (rc == 0)
			assert_int_equal(v->e.size, cases[i].size);
		ls(f, "/d", cases[i].at, false, &l);
		assert_int_equal(l.n, cases[i].rc == 0 ? 1 : 0);
		if (l.n)
			assert_int_equal(l.size[0], cases[i].size);
	}
	assert_int_equal(index_version_get(f->idx, f->dev, "/d/a", 2, v), 0);
	assert_int_equal(v->e.size, 20);
	assert_int_equal(index_version_get(f->idx, f->dev, "/d/a", 9, v), -ENOENT);

	/* log: all versions oldest first; paging by version */
	memset(&l, 0, sizeof(l));
	assert_int_equal(index_log(f->idx, f->dev, "/d/a", 0, SIZE_MAX, take, &l), 3);
	assert_int_equal(l.size[0], 10);
	assert_int_equal(l.size[2], 30);
	memset(&l, 0, sizeof(l));
	assert_int_equal(index_log(f->idx, f->dev, "/d/a", 2, SIZE_MAX, take, &l), 1);
	assert_int_equal(l.size[0], 30);
	free(v);
}

static void test_monotonic_capture(void **state)
{
	struct fx *f = *state;
	struct index_version *v = calloc(1, sizeof(*v));

	assert_int_equal(put(f, "/x", VG_FILE, 1, 1000, false, NULL), 0);
	/* a clock that went back: stored as max + 1 ns */
	assert_int_equal(put(f, "/y", VG_FILE, 2, 500, false, NULL), 0);
	assert_int_equal(index_latest(f->idx, f->dev, "/y", INDEX_AT_LATEST, false, v), 0);
	assert_int_equal(v->e.capture_ns, 1001);
	assert_int_equal(put(f, "/x", VG_FILE, 3, 10, false, NULL), 0);
	assert_int_equal(index_latest(f->idx, f->dev, "/x", INDEX_AT_LATEST, false, v), 0);
	assert_int_equal(v->e.capture_ns, 1002);
	/* an equal time too: two versions of /x at 1002 and 1002 would leave
	 * the older out of every --at */
	assert_int_equal(put(f, "/x", VG_FILE, 4, 1002, false, NULL), 0);
	assert_int_equal(index_latest(f->idx, f->dev, "/x", INDEX_AT_LATEST, false, v), 0);
	assert_int_equal(v->e.capture_ns, 1003);
	assert_int_equal(index_latest(f->idx, f->dev, "/x", 1002, false, v), 0);
	assert_int_equal(v->e.size, 3);
	assert_true(v->e.recv_ns > 0);
	free(v);
}

static void test_ls_levels_and_paging(void **state)
{
	struct fx *f = *state;
	static const char *const paths[] = {
		"/home/a/1", "/home/a/2", "/home/a.b", "/home/a/sub/3", "/home/b", "/home/c",
	};
	struct list l;
	char after[256] = "";
	int total = 0;

	for (size_t i = 0; i < 6; i++)
		assert_int_equal(put(f, paths[i], VG_FILE, i + 1, 100, false, NULL), 0);
	/* implicit ancestors make "/" list "/home" */
	ls(f, "/", INDEX_AT_LATEST, false, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.paths[0], "/home");
	ls(f, "/home", INDEX_AT_LATEST, false, &l);
	assert_int_equal(l.n, 4);   /* a, a.b, b, c */
	ls(f, "/home/a", INDEX_AT_LATEST, false, &l);
	assert_int_equal(l.n, 3);   /* 1, 2, sub */
	ls(f, "/home/a", INDEX_AT_LATEST, true, &l);
	assert_int_equal(l.n, 4);   /* 1, 2, sub, sub/3 */
	ls(f, "/", INDEX_AT_LATEST, true, &l);
	assert_int_equal(l.n, 9);   /* home, a, a/1, a/2, a/sub, a/sub/3, a.b, b, c */
	/* "/home/a" must not match "/home/a.b" as a subtree */
	for (size_t i = 0; i < l.n; i++)
		assert_true(strlen(l.paths[i]) > 0);
	/* paging: two at a time gives the same list */
	for (;;) {
		struct list pg = { .stop_at = 2 };
		int n = index_ls(f->idx, f->dev, "/", INDEX_AT_LATEST, true, after, SIZE_MAX, take, &pg);

		assert_true(n >= 0);
		for (int i = 0; i < n; i++)
			assert_string_equal(pg.paths[i], l.paths[total + i]);
		total += n;
		if (n < 2)
			break;
		snprintf(after, sizeof(after), "%s", pg.paths[n - 1]);
	}
	assert_int_equal(total, 9);
	/* paging one level */
	{
		struct list pg = { 0 };

		assert_int_equal(index_ls(f->idx, f->dev, "/home", INDEX_AT_LATEST, false, "/home/a.b",
					  SIZE_MAX, take, &pg), 2);
		assert_string_equal(pg.paths[0], "/home/b");
	}
	assert_int_equal(index_has_children(f->idx, f->dev, "/home/a"), 1);
	assert_int_equal(index_has_children(f->idx, f->dev, "/home/b"), 0);
}

static void test_delete_and_dir_delete(void **state)
{
	struct fx *f = *state;
	struct index_devstate ds;
	uint64_t ver;
	struct list l;

	assert_int_equal(put(f, "/d/a", VG_FILE, 5, 100, false, NULL), 0);
	assert_int_equal(put(f, "/d/s/b", VG_FILE, 7, 100, false, NULL), 0);
	assert_int_equal(put(f, "/d/c", VG_FILE, 9, 100, false, NULL), 0);
	assert_int_equal(index_dev_state(f->idx, f->dev, &ds), 0);
	assert_int_equal(ds.files, 3);
	assert_int_equal(ds.bytes, 21);
	assert_int_equal(put(f, "/d/c", VG_FILE, 0, 200, true, &ver), 0);
	assert_int_equal(ver, 2);
	/* deleting again stores nothing */
	assert_int_equal(put(f, "/d/c", VG_FILE, 0, 250, true, &ver), 0);
	assert_int_equal(ver, 2);
	assert_int_equal(put(f, "/never", VG_FILE, 0, 250, true, &ver), 0);
	assert_int_equal(ver, 0);
	ls(f, "/d", INDEX_AT_LATEST, false, &l);
	assert_int_equal(l.n, 2);   /* a, s */
	ls(f, "/d", 150, false, &l);
	assert_int_equal(l.n, 3);   /* before the delete */
	/* a deleted directory takes its subtree */
	assert_int_equal(put(f, "/d", VG_DIR, 0, 300, true, NULL), 0);
	ls(f, "/", INDEX_AT_LATEST, true, &l);
	assert_int_equal(l.n, 0);
	ls(f, "/", 250, true, &l);
	assert_int_equal(l.n, 4);   /* d, d/a, d/s, d/s/b */
	assert_int_equal(index_dev_state(f->idx, f->dev, &ds), 0);
	assert_int_equal(ds.files, 0);
	assert_int_equal(ds.bytes, 0);
}

static void test_rename_subtree(void **state)
{
	struct fx *f = *state;
	struct index_version *v = calloc(1, sizeof(*v));
	struct list l;

	assert_int_equal(put(f, "/r/old/x", VG_FILE, 11, 100, false, NULL), 0);
	assert_int_equal(put(f, "/r/old/y/z", VG_FILE, 12, 100, false, NULL), 0);
	assert_int_equal(index_latest(f->idx, f->dev, "/r/old", INDEX_AT_LATEST, false, v), 0);
	snprintf(v->e.path, sizeof(v->e.path), "/r/new");
	v->e.capture_ns = 200;
	assert_int_equal(index_commit(f->idx, f->dev, v, false, 0, "/r/old"), 0);
	ls(f, "/r", INDEX_AT_LATEST, true, &l);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.paths[0], "/r/new");
	assert_string_equal(l.paths[1], "/r/new/x");
	assert_int_equal(l.size[1], 11);
	assert_string_equal(l.paths[3], "/r/new/y/z");
	assert_int_equal(l.size[3], 12);
	/* renaming into itself, from the root, or from nothing */
	snprintf(v->e.path, sizeof(v->e.path), "/r/new/in");
	assert_int_equal(index_commit(f->idx, f->dev, v, false, 0, "/r/new"), -EINVAL);
	snprintf(v->e.path, sizeof(v->e.path), "/q");
	assert_int_equal(index_commit(f->idx, f->dev, v, false, 0, "/r/old"), -ENOENT);
	assert_int_equal(index_commit(f->idx, f->dev, v, false, 0, "/"), -EINVAL);
	/* a file's rename naming a directory as its source moves nothing */
	memset(v, 0, sizeof(*v));
	snprintf(v->e.path, sizeof(v->e.path), "/q.bin");
	v->e.type = VG_FILE;
	v->e.capture_ns = 300;
	assert_int_equal(index_commit(f->idx, f->dev, v, false, 0, "/r/new"), -ENOENT);
	ls(f, "/r", INDEX_AT_LATEST, true, &l);
	assert_int_equal(l.n, 4);
	assert_int_equal(index_latest(f->idx, f->dev, "/q.bin", INDEX_AT_LATEST, false, v), -ENOENT);
	/* the file content moved: same content root */
	assert_int_equal(index_latest(f->idx, f->dev, "/r/new/x", INDEX_AT_LATEST, false, v), 0);
	assert_int_equal(v->content_root[0], 12);
	free(v);
}

static void test_stale_base(void **state)
{
	struct fx *f = *state;
	struct index_version *v = calloc(1, sizeof(*v));

	assert_int_equal(put(f, "/s/f", VG_FILE, 1, 100, false, NULL), 0);
	snprintf(v->e.path, sizeof(v->e.path), "/s/f");
	v->e.type = VG_FILE;
	v->e.capture_ns = 200;
	assert_int_equal(index_commit(f->idx, f->dev, v, true, 0, NULL), -ESTALE);
	assert_int_equal(index_commit(f->idx, f->dev, v, true, 2, NULL), -ESTALE);
	assert_int_equal(index_commit(f->idx, f->dev, v, true, 1, NULL), 0);
	assert_int_equal(v->e.version, 2);
	/* the implicit parent /s is not the device's: base 0 still fits */
	snprintf(v->e.path, sizeof(v->e.path), "/s");
	v->e.type = VG_DIR;
	assert_int_equal(index_latest(f->idx, f->dev, "/s", INDEX_AT_LATEST, true, v), -ENOENT);
	snprintf(v->e.path, sizeof(v->e.path), "/s");
	assert_int_equal(index_commit(f->idx, f->dev, v, true, 0, NULL), 0);
	assert_int_equal(v->e.version, 2);   /* after the implicit version 1 */
	free(v);
}

static void test_identities(void **state)
{
	struct fx *f = *state;
	struct ident id = { .role = ROLE_CONTROLLER }, got;
	static const char *const hostile[] = {
		"phone1", "x'); DROP TABLE identities; --", "",
		"\xff\xfe", "a%s%s%n", "very-long-name-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};

	snprintf(id.name, sizeof(id.name), "phone1");
	assert_int_equal(index_ident_add(f->idx, &id), -EEXIST);   /* names are one namespace */
	snprintf(id.name, sizeof(id.name), "admin");
	id.sign_pub_len = 32;
	memset(id.sign_pub, 3, 32);
	assert_int_equal(index_ident_add(f->idx, &id), 0);
	assert_int_equal(index_ident_get(f->idx, "admin", &got), 0);
	assert_int_equal(got.role, ROLE_CONTROLLER);
	assert_int_equal(got.sign_pub_len, 32);
	assert_false(got.revoked);
	assert_int_equal(index_ident_revoke(f->idx, "admin", 5), 0);
	assert_int_equal(index_ident_get(f->idx, "admin", &got), 0);
	assert_true(got.revoked);
	assert_int_equal(index_ident_revoke(f->idx, "nobody", 5), -ENOENT);
	/* hostile strings are data, never SQL */
	for (size_t i = 1; i < sizeof(hostile) / sizeof(hostile[0]); i++)
		assert_int_equal(index_ident_get(f->idx, hostile[i], &got), -ENOENT);
	assert_int_equal(index_ident_get(f->idx, hostile[0], &got), 0);
	assert_int_equal(got.devkey[0], 7);
}

static void test_hostile_paths(void **state)
{
	struct fx *f = *state;
	struct index_version *v = calloc(1, sizeof(*v));
	static const char *const paths[] = {
		"/a'b", "/a\"b", "/%s%n", "/\xff\xfe", "/a b/c", "/x%/y_", "/'); DROP TABLE versions;--",
	};
	struct list l;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(put(f, paths[i], VG_FILE, 1, 100, false, NULL), 0);
		assert_int_equal(index_latest(f->idx, f->dev, paths[i], INDEX_AT_LATEST, false, v), 0);
		assert_string_equal(v->e.path, paths[i]);
	}
	/* LIKE-style wildcards are not wildcards: "/x%" has only its own child */
	ls(f, "/x%", INDEX_AT_LATEST, true, &l);
	assert_int_equal(l.n, 1);
	ls(f, "/", INDEX_AT_LATEST, false, &l);
	assert_int_equal(l.n, 7);   /* a'b a"b %s%n \xff\xfe "a b" x% ')... */
	free(v);
}

/* A report an older build stored (no instant at its end) still reads. */
static void old_report(struct fx *f)
{
	static const uint8_t blob[] = { 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0,
					0, 0, 0, 3, 'b', 'p', 'f', 0, 0, 0, 0 };
	struct index_devstate ds;
	char path[128];
	sqlite3_stmt *st;
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/index.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE devices SET report = ?1 WHERE dev = ?2",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, blob, sizeof(blob), SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, f->dev);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(index_dev_state(f->idx, f->dev, &ds), 0);
	assert_int_equal(ds.report.backlog_files, 7);
	assert_string_equal(ds.report.tracker, "bpf");
	assert_int_equal(ds.report.at_ns, 0);
}

static void test_report_and_events(void **state)
{
	struct fx *f = *state;
	struct vg_report rep = { .backlog_files = 12, .backlog_oldest_ns = 99, .ncounters = 1,
				 .at_ns = 1200 };
	struct index_devstate ds;

	snprintf(rep.tracker, sizeof(rep.tracker), "bpf");
	snprintf(rep.counters[0].name, sizeof(rep.counters[0].name), "drops");
	rep.counters[0].value = 4;
	assert_int_equal(index_dev_report(f->idx, f->dev, &rep, 1234), 0);
	assert_int_equal(index_dev_state(f->idx, f->dev, &ds), 0);
	assert_int_equal(ds.report.backlog_files, 12);
	assert_int_equal(ds.report.backlog_oldest_ns, 99);
	assert_string_equal(ds.report.tracker, "bpf");
	assert_int_equal(ds.report.counters[0].value, 4);
	assert_int_equal(ds.report.at_ns, 1200);
	assert_int_equal(ds.report_ns, 1234);
	old_report(f);
	assert_int_equal(ds.last_seen_ns, 1234);
	assert_int_equal(index_dev_seen(f->idx, f->dev, 1000), 0);   /* never goes back */
	assert_int_equal(index_dev_state(f->idx, f->dev, &ds), 0);
	assert_int_equal(ds.last_seen_ns, 1234);
	for (int i = 0; i < 40; i++)
		assert_int_equal(index_event_add(f->idx, f->dev, i, "kind", "detail"), 0);
}

static int count_ev(void *arg) { return ++*(int *)arg; }
static void ev_cb(void *arg, int64_t t, const char *k, const char *d) { (void)t; (void)k; (void)d; count_ev(arg); }

static void test_events_cap(void **state)
{
	struct fx *f = *state;
	int n = 0;

	for (int i = 0; i < 40; i++)
		assert_int_equal(index_event_add(f->idx, f->dev, i, "k", "d"), 0);
	assert_int_equal(index_events(f->idx, f->dev, 32, ev_cb, &n), 32);
	assert_int_equal(n, 32);
}


/* A version committed with its sha256 pending (PUT_RANGES), its META and
 * RENAME copies, their completion by content root, a META that read its
 * base before the completion, and the deleted versions a rename leaves. */
static void test_sha_pending(void **state)
{
	struct fx *f = *state;
	struct index_version *v = calloc(1, sizeof(*v));
	struct index_pending pd[8];
	uint8_t sha[32], zero[32] = { 0 };
	int n;

	assert_non_null(v);
	assert_int_equal(index_sha_pending(f->idx, 0, pd, 8), 0);
	snprintf(v->e.path, sizeof(v->e.path), "/a");
	v->e.type = VG_FILE;
	v->e.size = 10;
	v->e.capture_ns = 100;
	memset(v->e.sha256, 9, 32);            /* ignored: a pending row stores zeros */
	memset(v->content_root, 0x51, 32);
	memset(v->e.digest, 0xd1, sizeof(v->e.digest));   /* a first upload's */
	v->sha_pending = true;
	assert_int_equal(index_commit(f->idx, f->dev, v, false, 0, NULL), 0);
	/* META copy (base 1) and a late META of the same content */
	v->e.capture_ns = 200;
	assert_int_equal(index_commit(f->idx, f->dev, v, true, 1, NULL), 0);
	assert_int_equal(v->e.version, 2);
	assert_int_equal(index_latest(f->idx, f->dev, "/a", INDEX_AT_LATEST, true, v), 0);
	assert_true(v->sha_pending);
	assert_memory_equal(v->e.sha256, zero, 32);
	assert_memory_equal(v->e.digest, (uint8_t[16]){ [0 ... 15] = 0xd1 }, 16);
	/* a directory or a deleted row is never pending, nor keeps a digest */
	memset(v, 0, sizeof(*v));
	snprintf(v->e.path, sizeof(v->e.path), "/d");
	v->e.type = VG_DIR;
	v->e.capture_ns = 250;
	v->sha_pending = true;
	memset(v->e.digest, 0xd2, sizeof(v->e.digest));
	assert_int_equal(index_commit(f->idx, f->dev, v, false, 0, NULL), 0);
	assert_int_equal(index_latest(f->idx, f->dev, "/d", INDEX_AT_LATEST, true, v), 0);
	assert_false(v->sha_pending);
	assert_memory_equal(v->e.digest, zero, 16);
	/* RENAME /a -> /b: the copy is pending too, /a's deleted row is not */
	memset(v, 0, sizeof(*v));
	snprintf(v->e.path, sizeof(v->e.path), "/b");
	v->e.type = VG_FILE;
	v->e.capture_ns = 300;
	assert_int_equal(index_commit(f->idx, f->dev, v, false, 0, "/a"), 0);
	assert_true(v->sha_pending);
	assert_int_equal(index_latest(f->idx, f->dev, "/b", INDEX_AT_LATEST, true, v), 0);
	assert_memory_equal(v->e.digest, (uint8_t[16]){ [0 ... 15] = 0xd1 }, 16);
	assert_int_equal(index_latest(f->idx, f->dev, "/a", INDEX_AT_LATEST, true, v), 0);
	assert_true(v->e.deleted);
	assert_false(v->sha_pending);
	assert_memory_equal(v->e.digest, zero, 16);
	n = index_sha_pending(f->idx, 0, pd, 8);
	assert_int_equal(n, 3);                /* /a 1, /a 2, /b 1 */
	for (int i = 0; i < n; i++) {
		assert_int_equal(pd[i].dev, f->dev);
		assert_int_equal(pd[i].size, 10);
		assert_memory_equal(pd[i].content_root, (uint8_t[32]){ [0 ... 31] = 0x51 }, 32);
		assert_memory_equal(pd[i].devkey, (uint8_t[32]){ [0 ... 31] = 7 }, 32);
		if (i)
			assert_true(pd[i].id > pd[i - 1].id);
	}
	/* paging by row id */
	assert_int_equal(index_sha_pending(f->idx, pd[0].id, pd + 4, 1), 1);
	assert_int_equal(pd[4].id, pd[1].id);
	assert_int_equal(index_sha_pending(f->idx, pd[2].id, pd, 8), 0);
	/* another device's or another content's completion changes nothing */
	memset(sha, 0xab, 32);
	assert_int_equal(index_sha_done(f->idx, f->dev + 1, (uint8_t[32]){ [0 ... 31] = 0x51 }, sha), 0);
	assert_int_equal(index_sha_done(f->idx, f->dev, (uint8_t[32]){ [0 ... 31] = 0x52 }, sha), 0);
	assert_int_equal(index_sha_done(f->idx, f->dev, (uint8_t[32]){ [0 ... 31] = 0x51 }, sha), 3);
	assert_int_equal(index_sha_pending(f->idx, 0, pd, 8), 0);
	assert_int_equal(index_version_get(f->idx, f->dev, "/a", 1, v), 0);
	assert_false(v->sha_pending);
	assert_memory_equal(v->e.sha256, sha, 32);
	assert_int_equal(index_latest(f->idx, f->dev, "/b", INDEX_AT_LATEST, true, v), 0);
	assert_memory_equal(v->e.sha256, sha, 32);
	/* a META that read /b's base while it was pending commits after the
	 * completion: it takes the computed sha256 */
	v->sha_pending = true;
	memset(v->e.sha256, 0, 32);
	v->e.capture_ns = 400;
	assert_int_equal(index_commit(f->idx, f->dev, v, true, 1, NULL), 0);
	assert_false(v->sha_pending);
	assert_int_equal(index_latest(f->idx, f->dev, "/b", INDEX_AT_LATEST, true, v), 0);
	assert_int_equal(v->e.version, 2);
	assert_false(v->sha_pending);
	assert_memory_equal(v->e.sha256, sha, 32);
	assert_int_equal(index_sha_pending(f->idx, 0, pd, 8), 0);
	free(v);
}

static int64_t schema_of(const char *dir)
{
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	snprintf(path, sizeof(path), "%s/index.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema'", -1,
					    &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void sql_on(const char *dir, const char *sql)
{
	char path[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/index.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* An index.db made before sha_pending and digest existed (schema 4) gets
 * the columns at open, keeps its rows (not pending), says schema 5, and is
 * not migrated twice; one from a newer server is refused, untouched. */
static void test_sha_pending_migration(void **state)
{
	struct fx *f = *state;
	struct index_version *v = calloc(1, sizeof(*v));
	struct index_pending pd[2];

	assert_non_null(v);
	assert_int_equal(put(f, "/old", VG_FILE, 5, 10, false, NULL), 0);
	index_close(f->idx);
	f->idx = NULL;
	assert_int_equal(schema_of(f->dir), 5);
	sql_on(f->dir, "DROP INDEX versions_sha_pending; ALTER TABLE versions DROP COLUMN sha_pending;"
		       " ALTER TABLE versions DROP COLUMN digest;"
		       " UPDATE meta SET value = 4 WHERE key = 'schema'");
	for (int k = 0; k < 2; k++) {
		assert_int_equal(index_open(f->dir, false, &f->idx), 0);
		assert_int_equal(index_latest(f->idx, f->dev, "/old", INDEX_AT_LATEST, true, v), 0);
		assert_false(v->sha_pending);
		assert_memory_equal(v->e.sha256, (uint8_t[32]){ [0 ... 31] = 5 }, 32);
		assert_int_equal(index_sha_pending(f->idx, 0, pd, 2), 0);
		if (k == 0) {
			index_close(f->idx);
			assert_int_equal(schema_of(f->dir), 5);
		}
	}
	v->sha_pending = true;
	v->e.capture_ns = 20;
	memset(v->content_root, 0x77, 32);
	memset(v->e.digest, 0xd3, sizeof(v->e.digest));
	assert_int_equal(index_commit(f->idx, f->dev, v, true, 1, NULL), 0);
	assert_int_equal(index_sha_pending(f->idx, 0, pd, 2), 1);
	assert_int_equal(index_latest(f->idx, f->dev, "/old", INDEX_AT_LATEST, true, v), 0);
	assert_memory_equal(v->e.digest, (uint8_t[16]){ [0 ... 15] = 0xd3 }, 16);
	index_close(f->idx);
	f->idx = NULL;
	/* a newer server's file */
	sql_on(f->dir, "UPDATE meta SET value = 6 WHERE key = 'schema'");
	assert_int_equal(index_open(f->dir, false, &f->idx), -EPROTO);
	assert_null(f->idx);
	assert_int_equal(schema_of(f->dir), 6);
	free(v);
}

/* The reader connection (index_open_reader): it sees every committed
 * version, refuses to write, and answers while the writer holds its own
 * lock (as it does across each commit's fsync) — were it to wait for that
 * lock, this test would hang. */
static void test_reader(void **state)
{
	struct fx *f = *state;
	struct index *rd = NULL;
	struct index_version *v = calloc(1, sizeof(*v));
	struct ident id = { .role = ROLE_DEVICE, .enrolled_ns = 1 };
	uint64_t ver = 0;

	assert_non_null(v);
	assert_int_equal(index_open_reader(f->dir, &rd), 0);
	assert_int_equal(index_latest(rd, f->dev, "/a", INDEX_AT_LATEST, false, v), -ENOENT);
	assert_int_equal(put(f, "/a", VG_FILE, 5, 10, false, &ver), 0);
	pthread_mutex_lock(&f->idx->lock);
	assert_int_equal(index_latest(rd, f->dev, "/a", INDEX_AT_LATEST, false, v), 0);
	assert_int_equal(v->e.version, ver);
	assert_int_equal(v->e.size, 5);
	pthread_mutex_unlock(&f->idx->lock);
	snprintf(id.name, sizeof(id.name), "phone2");
	assert_true(index_ident_add(rd, &id) < 0);
	assert_int_equal(index_ident_get(f->idx, "phone2", &id), -ENOENT);
	index_close(rd);
	assert_int_equal(index_open_reader("/nonexistent-vigil-dir", &rd), -ENOENT);
	assert_null(rd);
	free(v);
}

/* Quotas (index_quota.c, server/quota.c): set, read with what the device
 * holds, list, remove (each an event); the ingest rule: growth past the
 * quota refused, shrinking and same-size always admitted, a batch's
 * admitted growth counted. */
static void test_quota(void **state)
{
	struct fx *f = *state;
	struct srv srv = { .idx = f->idx };
	struct index_version *latest = calloc(1, sizeof(*latest));
	struct quota_guard q;
	uint64_t limit, used, v;
	int n = 0;

	assert_int_equal(index_quota_get(f->idx, f->dev, &limit, &used), 0);
	assert_int_equal(put(f, "/a", VG_FILE, 600, 10, false, &v), 0);
	assert_int_equal(index_quota_set(f->idx, f->dev, 1000, 20), 0);
	assert_int_equal(index_quota_get(f->idx, f->dev, &limit, &used), 1);
	assert_true(limit == 1000 && used == 600);
	assert_int_equal(index_quota_list(f->idx, count_quota, &n), 0);
	assert_int_equal(n, 1);

	assert_int_equal(quota_load(&srv, f->dev, &q), 0);
	assert_true(q.set);
	assert_int_equal(quota_admit(&srv, f->dev, &q, "/b", 300, NULL), 0);   /* 900 */
	assert_int_equal(quota_admit(&srv, f->dev, &q, "/c", 200, NULL), -EDQUOT); /* 1100 */
	/* /a grows by 100 only: 1000 fits; looked up in the index (latest NULL) */
	assert_int_equal(quota_admit(&srv, f->dev, &q, "/a", 700, NULL), 0);
	assert_int_equal(quota_admit(&srv, f->dev, &q, "/a", 701, NULL), -EDQUOT);
	/* a file shrinking, or the same size, always fits */
	latest->e.type = VG_FILE;
	latest->e.size = 600;
	assert_int_equal(index_quota_set(f->idx, f->dev, 100, 30), 0);   /* over it */
	assert_int_equal(quota_load(&srv, f->dev, &q), 0);
	assert_int_equal(quota_admit(&srv, f->dev, &q, "/a", 600, latest), 0);
	assert_int_equal(quota_admit(&srv, f->dev, &q, "/a", 10, latest), 0);
	assert_int_equal(quota_admit(&srv, f->dev, &q, "/a", 601, latest), -EDQUOT);
	assert_int_equal(quota_admit(&srv, f->dev, &q, "/new", 0, NULL), 0);

	assert_int_equal(index_quota_set(f->idx, f->dev, 0, 40), 0);
	assert_int_equal(index_quota_get(f->idx, f->dev, &limit, &used), 0);
	assert_int_equal(quota_load(&srv, f->dev, &q), 0);
	assert_false(q.set);
	assert_int_equal(quota_admit(&srv, f->dev, &q, "/huge", 1ull << 40, NULL), 0);
	assert_int_equal(index_event_seen(f->idx, f->dev, "quota", "quota removed"), 1);
	assert_int_equal(index_event_seen(f->idx, f->dev, "quota", "quota set to 1000 bytes"), 1);
	free(latest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_versions_and_at, setup, teardown),
		cmocka_unit_test_setup_teardown(test_monotonic_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ls_levels_and_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_dir_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_and_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sha_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sha_pending_migration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
