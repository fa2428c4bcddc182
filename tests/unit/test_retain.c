/* test_retain.c — server/retain_db.c and retain_apply.c on a real
 * index.db: a policy drops exactly the versions no kept instant sees,
 * readers no longer find them, a hold (freeze, erase, SIM swap) keeps
 * everything until released, the release is recorded, a device's own
 * policy overrides the default, a policy change or a cancel flag stops a
 * running pass, and
 * an index from schema 3 gets the tables at open. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/bundle.h"
#include "common/sign.h"
#include "server/commands.h"
#include "server/index.h"
#include "server/retain.h"
#include "tests/unit/index_fixture.h"

#define NS 1000000000LL
#define DAY (86400 * NS)
/* 2026-03-01 12:00 UTC: day 1 of the history */
#define DAY1 ((int64_t)1772366400 * NS)
#define AT(d) (DAY1 + ((d) - 1) * DAY)
#define NOW AT(30)
#define MANY 600

struct fx {
	char dir[64];
	struct index *idx;
	int64_t dev;
	int drops;
};

static void put(struct fx *f, const char *path, int64_t capture, bool deleted)
{
	struct index_version *v = calloc(1, sizeof(*v));

	snprintf(v->e.path, sizeof(v->e.path), "%s", path);
	v->e.type = 1;
	v->e.size = deleted ? 0 : 10;
	v->e.mode = 0644;
	v->e.capture_ns = capture;
	v->e.deleted = deleted;
	memset(v->e.sha256, 1, 32);
	memset(v->content_root, 2, 32);
	assert_int_equal(index_commit(f->idx, f->dev, v, false, 0, NULL), 0);
	assert_int_equal(v->e.capture_ns, capture);   /* increasing: not clamped */
	free(v);
}

/* /d/a edited at 12:00 on days 1..10, /d/b on days 1 and 9, /d/c made on
 * day 1 and deleted on day 2; /d/many written MANY times on day 1 (11:00
 * onwards, a second apart).  The device's instants: 12:00 of days 1..10. */
static void history(struct fx *f)
{
	put(f, "/d/many", AT(1) - 3600 * NS, false);
	for (int i = 1; i < MANY; i++)
		put(f, "/d/many", AT(1) - 3600 * NS + i * NS, false);
	for (int d = 1; d <= 10; d++) {
		put(f, "/d/a", AT(d), false);
		if (d == 1 || d == 9)
			put(f, "/d/b", AT(d) + 1, false);
		if (d <= 2)
			put(f, "/d/c", AT(d) + 2, d == 2);
	}
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	setenv("TZ", "UTC", 1);
	idxfx_open(f->dir, "test_retain", &f->idx);
	f->dev = idxfx_device(f->idx, "phone1", 0);
	history(f);
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

struct vlist { int n; uint64_t v[1024]; };

static int take(void *arg, const struct index_version *v)
{
	struct vlist *l = arg;

	l->v[l->n++] = v->e.version;
	return 0;
}

/* The versions of path left, as "1,2,3". */
static const char *left(struct fx *f, const char *path, char *buf, size_t cap)
{
	struct vlist l = { 0 };
	size_t o = 0;

	assert_true(index_log(f->idx, f->dev, path, 0, 1024, take, &l) >= 0);
	buf[0] = '\0';
	for (int i = 0; i < l.n && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%llu", i ? "," : "",
				      (unsigned long long)l.v[i]);
	return buf;
}

static void count_drop(void *arg, const char *path, uint64_t version)
{
	struct fx *f = arg;

	(void)path;
	(void)version;
	f->drops++;
}

static struct retain_result apply(struct fx *f)
{
	struct retain_result res;

	assert_int_equal(retain_apply(f->idx, f->dev, NOW, count_drop, f, NULL, &res), 0);
	return res;
}

static const struct retain_policy daily3 = { .count = { 0, 3, 0, 0 } };

static void test_default_keeps_all(void **state)
{
	struct fx *f = *state;
	struct retain_result res = apply(f);

	assert_true(res.empty);
	assert_int_equal(res.dropped, 0);
}

/* daily 3 keeps the instants of days 10, 9, 8 (12:00 each) */
static void test_daily(void **state)
{
	struct fx *f = *state;
	struct index_version v;
	struct retain_result res;
	char buf[4096];

	assert_int_equal(retain_set(f->idx, 0, &daily3, NOW), 0);
	res = apply(f);
	assert_false(res.held || res.empty || res.stopped);
	/* /d/a: what it was at days 8, 9, 10 */
	assert_string_equal(left(f, "/d/a", buf, sizeof(buf)), "8,9,10");
	/* /d/b: its day-1 version is what it was at day 8's instant */
	assert_string_equal(left(f, "/d/b", buf, sizeof(buf)), "1,2");
	/* /d/c: deleted on day 2; only the tombstone (newest row) stays */
	assert_string_equal(left(f, "/d/c", buf, sizeof(buf)), "2");
	/* /d/many: only its last write (the newest row, seen by every
	 * kept instant) */
	assert_string_equal(left(f, "/d/many", buf, sizeof(buf)), "600");
	/* the implicit /d made on day 1 is the newest row of /d */
	assert_string_equal(left(f, "/d", buf, sizeof(buf)), "1");
	assert_int_equal(res.dropped, 7 + 1 + (MANY - 1));
	assert_int_equal(f->drops, (int)res.dropped);
	/* readers: --at day 8 finds version 8; --at day 5 finds nothing of
	 * /d/a any more (a clean ENOENT), version 5 is gone */
	assert_int_equal(index_latest(f->idx, f->dev, "/d/a", AT(8), true, &v), 0);
	assert_int_equal(v.e.version, 8);
	assert_int_equal(index_latest(f->idx, f->dev, "/d/a", AT(5), true, &v), -ENOENT);
	assert_int_equal(index_version_get(f->idx, f->dev, "/d/a", 5, &v), -ENOENT);
	/* a second pass drops nothing more */
	f->drops = 0;
	assert_int_equal(apply(f).dropped, 0);
}

static int queue_cmd(struct fx *f, const char *action)
{
	uint8_t body[8] = { 1 }, sig[SIGN_SIG_LEN] = { 2 };
	struct cmd_new n = { .controller = "sec1", .action = action, .seq = 1, .issued_ns = NOW,
			     .expires_ns = NOW + DAY, .body = body, .body_len = sizeof(body),
			     .sig = sig };
	uint64_t id;

	return commands_queue(f->idx, f->dev, &n, NOW, &id);
}

struct evs { int released; char detail[256]; };

static void take_ev(void *arg, int64_t t, const char *kind, const char *detail)
{
	struct evs *e = arg;

	(void)t;
	if (!strcmp(kind, "hold-released")) {
		e->released++;
		snprintf(e->detail, sizeof(e->detail), "%s", detail);
	}
}

static void test_hold(void **state)
{
	struct fx *f = *state;
	struct retain_devinfo h;
	struct cmd_flags fl;
	struct evs e = { 0 };
	char buf[4096];

	assert_int_equal(retain_set(f->idx, 0, &daily3, NOW), 0);
	assert_int_equal(queue_cmd(f, "freeze"), 0);
	assert_int_equal(retain_info(f->idx, f->dev, &h), 0);
	assert_true(h.on_hold);
	assert_string_equal(h.reason, "freeze #1 (pending)");
	assert_true(apply(f).held);
	assert_string_equal(left(f, "/d/a", buf, sizeof(buf)), "1,2,3,4,5,6,7,8,9,10");
	/* release: recorded as an event, then the policy applies */
	assert_int_equal(retain_release(f->idx, f->dev, "vigil-server retain", NOW), 1);
	assert_int_equal(index_events(f->idx, f->dev, 32, take_ev, &e), 2);
	assert_int_equal(e.released, 1);
	assert_non_null(strstr(e.detail, "freeze #1"));
	assert_int_equal(retain_info(f->idx, f->dev, &h), 0);
	assert_false(h.on_hold);
	assert_int_equal(h.released_ns, NOW);
	assert_int_equal(commands_flags(f->idx, f->dev, &fl), 0);
	assert_false(fl.on_hold);
	assert_int_equal(retain_release(f->idx, f->dev, "x", NOW), 0);   /* not held */
	assert_false(apply(f).held);
	assert_string_equal(left(f, "/d/a", buf, sizeof(buf)), "8,9,10");
	/* a SIM swap after the release holds it again */
	assert_int_equal(index_event_add(f->idx, f->dev, NOW, "sim-swap", "ICCID 1 -> 2"), 0);
	assert_int_equal(retain_info(f->idx, f->dev, &h), 0);
	assert_true(h.on_hold);
	assert_int_equal(commands_flags(f->idx, f->dev, &fl), 0);
	assert_true(fl.on_hold);
	assert_true(apply(f).held);
}

static void test_erase_holds(void **state)
{
	struct fx *f = *state;

	assert_int_equal(retain_set(f->idx, 0, &daily3, NOW), 0);
	assert_int_equal(queue_cmd(f, "erase"), 0);
	assert_true(apply(f).held);
	assert_int_equal(f->drops, 0);
}

/* A device's own policy (here: keep everything) wins over the default. */
static void test_own_policy(void **state)
{
	struct fx *f = *state;
	struct retain_policy p, none = { 0 };
	bool own;

	assert_int_equal(retain_set(f->idx, 0, &daily3, NOW), 0);
	assert_int_equal(retain_set(f->idx, f->dev, &none, NOW), 0);
	assert_int_equal(retain_get(f->idx, f->dev, &p, &own), 0);
	assert_true(own);
	assert_true(apply(f).empty);
	assert_int_equal(f->drops, 0);
	assert_int_equal(retain_get(f->idx, f->dev + 1, &p, &own), 0);
	assert_false(own);
	assert_int_equal(p.count[RET_DAILY], 3);
}

/* A policy change while a pass runs stops it before its next deletes. */
static void change_policy(void *arg, const char *path, uint64_t version)
{
	struct fx *f = arg;

	(void)path;
	(void)version;
	if (f->drops++ == 0)
		assert_int_equal(retain_set(f->idx, 0, &daily3, NOW), 0);
}

static void test_change_stops(void **state)
{
	struct fx *f = *state;
	struct retain_result res;

	assert_int_equal(retain_set(f->idx, 0, &daily3, NOW), 0);
	assert_int_equal(retain_apply(f->idx, f->dev, NOW, change_policy, f, NULL, &res), 0);
	assert_true(res.stopped);
	assert_int_equal(res.dropped, RETAIN_DELETE_TXN);
}

/* A stopping server's flag ends a pass before its next delete
 * transaction: what was dropped stays dropped, the rest is left for the
 * next pass, which finishes the job; the cut pass is not recorded. */
struct cancel_fx { struct fx *f; volatile int cancel; };

static void cancel_after_first(void *arg, const char *path, uint64_t version)
{
	struct cancel_fx *c = arg;

	(void)path;
	(void)version;
	c->f->drops++;
	c->cancel = 1;
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	struct cancel_fx c = { .f = f };
	struct retain_result res;
	struct retain_devinfo h;
	volatile int already = 1;

	assert_int_equal(retain_set(f->idx, 0, &daily3, NOW), 0);
	assert_int_equal(retain_apply(f->idx, f->dev, NOW, NULL, NULL, &already, &res), -ECANCELED);
	assert_int_equal(res.dropped, 0);
	assert_int_equal(retain_apply(f->idx, f->dev, NOW, cancel_after_first, &c, &c.cancel, &res),
			 -ECANCELED);
	assert_int_equal(res.dropped, RETAIN_DELETE_TXN);
	assert_int_equal(f->drops, RETAIN_DELETE_TXN);
	assert_int_equal(retain_info(f->idx, f->dev, &h), 0);
	assert_int_equal(h.pass_ns, 0);
	assert_int_equal(h.dropped, RETAIN_DELETE_TXN);
	f->drops = 0;
	assert_int_equal(apply(f).dropped, 7 + 1 + (MANY - 1) - RETAIN_DELETE_TXN);
	assert_int_equal(retain_info(f->idx, f->dev, &h), 0);
	assert_int_equal(h.pass_ns, NOW);
}

/* An index.db of schema 3 gets the retention tables at open. */
static void test_migrate(void **state)
{
	struct fx *f = *state;
	struct retain_policy p;
	char path[128];
	sqlite3 *db;
	bool own;

	index_close(f->idx);
	f->idx = NULL;
	snprintf(path, sizeof(path), "%s/index.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE retain_policy; DROP TABLE retain_dev;"
				      " DROP INDEX versions_by_capture;"
				      " UPDATE meta SET value = 3 WHERE key = 'schema'",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(index_open(f->dir, false, &f->idx), 0);
	assert_int_equal(retain_get(f->idx, f->dev, &p, &own), 0);
	assert_true(retain_policy_empty(&p));
	assert_int_equal(retain_set(f->idx, 0, &daily3, NOW), 0);
	assert_int_equal(apply(f).dropped, 7 + 1 + (MANY - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_keeps_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daily, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_erase_holds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
