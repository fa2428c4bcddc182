/* test_commands.c — the server's command queue and audit trail
 * (server/commands.c) on a real index.db: durability across a reopen,
 * retries, delivery order, expiry, every allowed and refused state change,
 * redelivered results, freeze/erase flags, the events each change leaves,
 * the append-only guards, the schema 1 -> 2 migration, and the wait. */
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
#include <sqlite3.h>

#include "common/clock.h"
#include "common/tls.h"
#include "common/sign.h"
#include "server/cmdadmit.h"
#include "server/commands.h"
#include "server/index.h"
#include "tests/unit/index_fixture.h"

#define T0 ((int64_t)1700000000 * 1000000000)   /* a fixed "now", in the past */
#define SEC ((int64_t)1000000000)

struct fx {
	char dir[64];
	struct index *idx;
	int64_t dev, dev2;
	uint64_t seq;
	struct cmd_row row;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	idxfx_open(f->dir, "test_commands", &f->idx);
	f->dev = idxfx_device(f->idx, "phone1", 7);
	f->dev2 = idxfx_device(f->idx, "phone2", 7);
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

/* Queues `action` for dev expiring `ttl` after T0; the body and signature
 * are bytes derived from seq (the store never parses them). */
static uint64_t queue_ttl(struct fx *f, int64_t dev, const char *action, int64_t ttl)
{
	uint8_t body[40], sig[SIGN_SIG_LEN];
	struct cmd_new n = { .controller = "sec1", .action = action, .seq = ++f->seq,
			     .issued_ns = T0, .expires_ns = T0 + ttl, .body = body,
			     .body_len = sizeof(body), .sig = sig };
	uint64_t id = 0;

	memset(body, (int)f->seq, sizeof(body));
	memset(sig, (int)f->seq + 100, sizeof(sig));
	assert_int_equal(commands_queue(f->idx, dev, &n, T0, &id), 0);
	assert_true(id > 0);
	return id;
}

static uint64_t queue(struct fx *f, const char *action)
{
	return queue_ttl(f, f->dev, action, 3600 * SEC);
}

static int set(struct fx *f, uint64_t id, const char *state, uint64_t files, const char *reason)
{
	struct vg_cmdstate st = { .id = id, .files = files, .bytes = files * 10 };

	snprintf(st.state, sizeof(st.state), "%s", state);
	snprintf(st.reason, sizeof(st.reason), "%s", reason ? reason : "");
	return commands_set_state(f->idx, f->dev, &st, T0 + SEC);
}

static const char *state_of(struct fx *f, uint64_t id)
{
	assert_int_equal(commands_get(f->idx, id, &f->row), 0);
	return f->row.st.state;
}

struct evlist { int n; char detail[64][256]; };

static void take_event(void *arg, int64_t t, const char *kind, const char *detail)
{
	struct evlist *l = arg;

	if (l->n < 64 && strcmp(kind, "command") == 0)
		snprintf(l->detail[l->n++], sizeof(l->detail[0]), "%s", detail);
}

static int nevents(struct fx *f, int64_t dev, struct evlist *l)
{
	memset(l, 0, sizeof(*l));
	assert_true(index_events(f->idx, dev, 64, take_event, l) >= 0);
	return l->n;
}

/* ------------------------------------------------------------------ queue */

static void test_queue_durable(void **state)
{
	struct fx *f = *state;
	struct evlist l;
	uint64_t id = queue(f, "freeze");

	index_close(f->idx);
	f->idx = NULL;
	assert_int_equal(index_open(f->dir, false, &f->idx), 0);
	assert_string_equal(state_of(f, id), "pending");
	assert_int_equal(f->row.dev, f->dev);
	assert_string_equal(f->row.controller, "sec1");
	assert_string_equal(f->row.action, "freeze");
	assert_int_equal(f->row.seq, 1);
	assert_int_equal(f->row.issued_ns, T0);
	assert_int_equal(f->row.expires_ns, T0 + 3600 * SEC);
	assert_int_equal(f->row.queued_ns, T0);
	assert_int_equal(f->row.body_len, 40);
	assert_int_equal(f->row.body[0], 1);
	assert_int_equal(f->row.sig[63], 101);
	assert_int_equal(nevents(f, f->dev, &l), 1);
	assert_string_equal(l.detail[0], "sec1 queued freeze #1");
}

static void test_queue_retry_and_bad(void **state)
{
	struct fx *f = *state;
	uint8_t body[40], sig[SIGN_SIG_LEN];
	struct cmd_new n = { .controller = "sec1", .action = "thaw", .seq = 1, .issued_ns = T0,
			     .expires_ns = T0 + SEC, .body = body, .body_len = 40, .sig = sig };
	struct evlist l;
	uint64_t id = queue(f, "thaw"), again = 0;

	/* the controller retries after a lost reply: same id, one event */
	memset(body, 1, sizeof(body));
	memset(sig, 101, sizeof(sig));
	assert_int_equal(commands_queue(f->idx, f->dev, &n, T0 + SEC, &again), 0);
	assert_int_equal(again, id);
	assert_int_equal(nevents(f, f->dev, &l), 1);
	/* the same seq with another body is not the same command */
	body[0] = 9;
	assert_int_equal(commands_queue(f->idx, f->dev, &n, T0, &again), -EEXIST);
	/* nor for another device */
	body[0] = 1;
	assert_int_equal(commands_queue(f->idx, f->dev2, &n, T0, &again), -EEXIST);
	n.seq = 0;
	assert_int_equal(commands_queue(f->idx, f->dev, &n, T0, &again), -EINVAL);
	n.seq = 5;
	n.body_len = 0;
	assert_int_equal(commands_queue(f->idx, f->dev, &n, T0, &again), -EINVAL);
	n.body_len = CMD_BODY_MAX + 1;
	assert_int_equal(commands_queue(f->idx, f->dev, &n, T0, &again), -EINVAL);
	n.body_len = 40;
	n.controller = "";
	assert_int_equal(commands_queue(f->idx, f->dev, &n, T0, &again), -EINVAL);
	assert_int_equal(nevents(f, f->dev, &l), 1);
}

/* A real signed command, admitted and queued: the store keeps the exact
 * bytes the controller signed, so the device can verify what it relays. */
static void test_admitted_command_kept_exactly(void **state)
{
	struct fx *f = *state;
	struct vg_command c = { .format = CMD_FORMAT, .action = CMD_ERASE, .seq = 3,
				.issued_ns = T0, .expires_ns = T0 + 3600 * SEC };
	struct ident ctl = { .role = ROLE_CONTROLLER, .sign_pub_len = SIGN_PUB_LEN }, dev;
	EVP_PKEY *key = sign_keygen();
	uint8_t sig[SIGN_SIG_LEN];
	struct vg_command got;
	struct cmd_admit a;
	struct cmd_new n;
	char why[VG_ERRMSG_MAX];
	uint64_t id;
	struct buf b;

	assert_non_null(key);
	snprintf(c.device, sizeof(c.device), "phone1");
	snprintf(c.controller, sizeof(c.controller), "sec1");
	snprintf(ctl.name, sizeof(ctl.name), "sec1");
	assert_int_equal(sign_pub_raw(key, ctl.sign_pub), 0);
	buf_init(&b, CMD_BODY_MAX);
	assert_int_equal(command_encode(&c, &b), 0);
	assert_int_equal(command_sign(key, b.data, b.len, sig), 0);
	assert_int_equal(index_ident_get(f->idx, "phone1", &dev), 0);
	a = (struct cmd_admit){ .ctl = &ctl, .body = b.data, .len = b.len, .sig = sig,
				.dev = &dev, .now_ns = T0 + SEC };
	assert_int_equal(cmd_admit(&a, &got, why, sizeof(why)), 0);
	commands_new_from(&n, &got, b.data, b.len, sig);
	assert_int_equal(commands_queue(f->idx, dev.id, &n, T0 + SEC, &id), 0);
	assert_int_equal(commands_next(f->idx, f->dev, 0, T0 + SEC, &f->row), 1);
	assert_int_equal(f->row.st.id, id);
	assert_string_equal(f->row.action, "erase");
	assert_int_equal(f->row.seq, 3);
	assert_int_equal(f->row.body_len, b.len);
	assert_memory_equal(f->row.body, b.data, b.len);
	assert_memory_equal(f->row.sig, sig, SIGN_SIG_LEN);
	assert_int_equal(command_verify(key, f->row.body, f->row.body_len, f->row.sig), 0);
	buf_free(&b);
	EVP_PKEY_free(key);
}

/* --------------------------------------------------------------- delivery */

static void test_next_order(void **state)
{
	struct fx *f = *state;
	uint64_t a = queue(f, "freeze"), other = queue_ttl(f, f->dev2, "erase", SEC),
		 b = queue(f, "thaw"), c = queue(f, "erase");

	assert_true(a < other && other < b && b < c);
	assert_int_equal(commands_next(f->idx, f->dev, 0, T0, &f->row), 1);
	assert_int_equal(f->row.st.id, a);
	assert_int_equal(f->row.body_len, 40);
	assert_int_equal(commands_next(f->idx, f->dev, a, T0, &f->row), 1);
	assert_int_equal(f->row.st.id, b);
	assert_int_equal(commands_next(f->idx, f->dev, c, T0, &f->row), 0);
	/* delivered but not reported: pushed again on a new connection */
	assert_int_equal(set(f, a, "delivered", 0, NULL), 1);
	assert_int_equal(commands_next(f->idx, f->dev, 0, T0, &f->row), 1);
	assert_int_equal(f->row.st.id, a);
	assert_string_equal(f->row.st.state, "delivered");
	/* running, or final: never again */
	assert_int_equal(set(f, a, "running", 0, NULL), 1);
	assert_int_equal(set(f, b, "refused", 0, "signature"), 1);
	assert_int_equal(commands_next(f->idx, f->dev, 0, T0, &f->row), 1);
	assert_int_equal(f->row.st.id, c);
}

static void test_expiry(void **state)
{
	struct fx *f = *state;
	uint64_t a = queue_ttl(f, f->dev, "freeze", 10 * SEC);
	uint64_t b = queue_ttl(f, f->dev, "thaw", 1000 * SEC);
	uint64_t d = queue_ttl(f, f->dev, "erase", 20 * SEC);
	struct evlist l;

	assert_int_equal(set(f, d, "delivered", 0, NULL), 1);
	/* at T0 + 100 s only b is deliverable; a and d are expired on the way */
	assert_int_equal(commands_next(f->idx, f->dev, 0, T0 + 100 * SEC, &f->row), 1);
	assert_int_equal(f->row.st.id, b);
	assert_string_equal(state_of(f, a), "expired");
	assert_int_equal(f->row.st.updated_ns, T0 + 100 * SEC);
	assert_string_equal(state_of(f, d), "expired");
	assert_int_equal(nevents(f, f->dev, &l), 6);
	assert_string_equal(l.detail[4], "#1 freeze expired (queued by sec1)");
	assert_string_equal(l.detail[5], "#3 erase expired (queued by sec1)");
	/* the device's report of an expired command: refused, but on record */
	assert_int_equal(set(f, d, "done", 3, NULL), -EALREADY);
	assert_string_equal(state_of(f, d), "expired");
	assert_int_equal(nevents(f, f->dev, &l), 7);
	assert_string_equal(l.detail[6], "#3 erase reported done after it expired");
	/* a sweep finds nothing more until b's time */
	assert_int_equal(commands_expire(f->idx, f->dev, T0 + 100 * SEC), 0);
	assert_int_equal(commands_expire(f->idx, 0, T0 + 1000 * SEC), 1);
	assert_string_equal(state_of(f, b), "expired");
	assert_int_equal(commands_next(f->idx, f->dev, 0, T0 + 1000 * SEC, &f->row), 0);
}

/* ------------------------------------------------------------ transitions */

/* Every row: a path of states from pending, then one change and what it
 * must return. */
static const struct {
	const char *path[3];
	const char *to;
	int want;
} moves[] = {
	{ { NULL },                            "delivered", 1 },
	{ { NULL },                            "running",   1 },   /* report overtook OK */
	{ { NULL },                            "done",      1 },
	{ { NULL },                            "refused",   1 },
	{ { "delivered" },                     "running",   1 },
	{ { "delivered" },                     "failed",    1 },
	{ { "delivered", "running" },          "done",      1 },
	{ { "delivered", "running" },          "failed",    1 },
	{ { "delivered", "running" },          "refused",   1 },
	{ { "delivered" },                     "delivered", 0 },   /* the relay again */
	{ { "delivered", "running" },          "delivered", -EALREADY },
	{ { "running" },                       "delivered", -EALREADY },
	{ { "done" },                          "failed",    -EALREADY },
	{ { "done" },                          "running",   -EALREADY },
	{ { "done" },                          "delivered", -EALREADY },
	{ { "failed" },                        "done",      -EALREADY },
	{ { "refused" },                       "done",      -EALREADY },
	{ { NULL },                            "pending",   -EINVAL },
	{ { NULL },                            "expired",   -EINVAL },
	{ { NULL },                            "bogus",     -EINVAL },
	{ { NULL },                            "",          -EINVAL },
};

static void test_transitions(void **state)
{
	struct fx *f = *state;
	struct evlist l;
	size_t i, j;

	for (i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
		uint64_t id = queue(f, "freeze");
		int before, r;

		for (j = 0; j < 3 && moves[i].path[j]; j++)
			assert_int_equal(set(f, id, moves[i].path[j], 0, NULL), 1);
		before = nevents(f, f->dev, &l);
		r = set(f, id, moves[i].to, 0, NULL);
		if (r != moves[i].want)
			fail_msg("move %zu (-> %s): %d, want %d", i, moves[i].to, r, moves[i].want);
		/* an event exactly when something changed */
		assert_int_equal(nevents(f, f->dev, &l), before + (r == 1));
		if (r == 1)
			assert_string_equal(state_of(f, id), moves[i].to);
	}
}

static void test_wrong_device_and_unknown(void **state)
{
	struct fx *f = *state;
	struct vg_cmdstate st = { .state = "done" };
	uint64_t id = queue(f, "freeze");

	st.id = id;
	assert_int_equal(commands_set_state(f->idx, f->dev2, &st, T0), -ENOENT);
	st.id = id + 100;
	assert_int_equal(commands_set_state(f->idx, f->dev, &st, T0), -ENOENT);
	assert_int_equal(commands_get(f->idx, id + 100, &f->row), -ENOENT);
	assert_string_equal(state_of(f, id), "pending");
}

static void test_redelivered_result(void **state)
{
	struct fx *f = *state;
	uint64_t id = queue(f, "erase");
	struct vg_cmdstate st = { .id = id, .state = "done", .files = 7, .bytes = 700,
				  .unlinked_only = 2, .fitrim = 1, .luks_slots = 3,
				  .reason = "erased" };
	struct evlist l;

	assert_int_equal(set(f, id, "running", 1, NULL), 1);
	/* progress: new figures, no event */
	assert_int_equal(nevents(f, f->dev, &l), 2);
	assert_int_equal(set(f, id, "running", 5, NULL), 1);
	assert_int_equal(nevents(f, f->dev, &l), 2);
	assert_int_equal(state_of(f, id)[0], 'r');
	assert_int_equal(f->row.st.files, 5);
	assert_int_equal(set(f, id, "running", 5, NULL), 0);
	assert_int_equal(commands_set_state(f->idx, f->dev, &st, T0 + 2 * SEC), 1);
	assert_int_equal(nevents(f, f->dev, &l), 3);
	assert_string_equal(l.detail[2], "#1 erase done (7 files, 700 bytes overwritten, 2 unlinked"
			    " only, fitrim yes, 3 LUKS key slots destroyed): erased");
	/* the same result again (a lost acknowledgement): nothing changes */
	assert_int_equal(commands_set_state(f->idx, f->dev, &st, T0 + 9 * SEC), 0);
	assert_int_equal(nevents(f, f->dev, &l), 3);
	assert_int_equal(commands_get(f->idx, id, &f->row), 0);
	assert_int_equal(f->row.st.updated_ns, T0 + 2 * SEC);
	assert_int_equal(f->row.st.luks_slots, 3);
	assert_int_equal(f->row.st.unlinked_only, 2);
	assert_int_equal(f->row.st.fitrim, 1);
	assert_int_equal(f->row.delivered_ns, T0 + SEC);
	/* another result for the same command: a final state never changes */
	st.files = 8;
	assert_int_equal(commands_set_state(f->idx, f->dev, &st, T0 + 9 * SEC), -EALREADY);
	assert_int_equal(commands_get(f->idx, id, &f->row), 0);
	assert_int_equal(f->row.st.files, 7);
}

/* ------------------------------------------------------------------ flags */

static void flags(struct fx *f, struct cmd_flags *fl)
{
	assert_int_equal(commands_flags(f->idx, f->dev, fl), 0);
}

static void test_flags(void **state)
{
	struct fx *f = *state;
	struct cmd_flags fl;
	uint64_t fr, th, er, er2;

	flags(f, &fl);
	assert_false(fl.frozen);
	assert_false(fl.on_hold);
	assert_string_equal(fl.erase_state, "none");
	th = queue(f, "thaw");
	assert_int_equal(set(f, th, "done", 0, NULL), 1);
	flags(f, &fl);
	assert_false(fl.frozen);
	assert_false(fl.on_hold);          /* a thaw does not hold */
	fr = queue(f, "freeze");
	flags(f, &fl);
	assert_false(fl.frozen);           /* queued is not frozen */
	assert_true(fl.on_hold);
	assert_int_equal(set(f, fr, "done", 0, NULL), 1);
	flags(f, &fl);
	assert_true(fl.frozen);
	th = queue(f, "thaw");
	assert_int_equal(set(f, th, "failed", 0, "cgroup"), 1);
	flags(f, &fl);
	assert_true(fl.frozen);            /* a failed thaw leaves it frozen */
	th = queue(f, "thaw");
	assert_int_equal(set(f, th, "done", 0, NULL), 1);
	flags(f, &fl);
	assert_false(fl.frozen);
	assert_true(fl.on_hold);           /* once held, always */

	er = queue(f, "erase");
	flags(f, &fl);
	assert_string_equal(fl.erase_state, "pending");
	assert_int_equal(set(f, er, "delivered", 0, NULL), 1);
	flags(f, &fl);
	assert_string_equal(fl.erase_state, "pending");
	assert_int_equal(set(f, er, "running", 4, NULL), 1);
	flags(f, &fl);
	assert_string_equal(fl.erase_state, "running");
	assert_int_equal(fl.erase_files, 4);
	assert_int_equal(fl.erase_bytes, 40);
	assert_int_equal(set(f, er, "failed", 6, "EIO"), 1);
	flags(f, &fl);
	assert_string_equal(fl.erase_state, "failed");
	assert_int_equal(fl.erase_files, 6);
	er2 = queue(f, "erase");
	assert_int_equal(set(f, er2, "done", 9, NULL), 1);
	flags(f, &fl);
	assert_string_equal(fl.erase_state, "done");
	assert_int_equal(fl.erase_files, 9);
	assert_int_equal(fl.erase_bytes, 90);
	/* a later erase that fails does not undo a done one */
	er = queue(f, "erase");
	assert_int_equal(set(f, er, "refused", 0, "seq"), 1);
	flags(f, &fl);
	assert_string_equal(fl.erase_state, "done");
	/* another device's history is its own */
	assert_int_equal(commands_flags(f->idx, f->dev2, &fl), 0);
	assert_false(fl.on_hold);
	assert_string_equal(fl.erase_state, "none");
}

static void take_cmd(void *arg, const struct cmd_row *c)
{
	uint64_t *ids = arg;

	ids[++ids[0]] = c->st.id;
}

static void test_list_newest_last(void **state)
{
	struct fx *f = *state;
	uint64_t ids[8] = { 0 }, q[5];
	int i;

	for (i = 0; i < 5; i++)
		q[i] = queue(f, "freeze");
	queue_ttl(f, f->dev2, "thaw", SEC);
	assert_int_equal(commands_list(f->idx, f->dev, 3, take_cmd, ids), 3);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[1], q[2]);
	assert_int_equal(ids[2], q[3]);
	assert_int_equal(ids[3], q[4]);
}

/* ------------------------------------------------------- the trail is kept */

static void test_append_only(void **state)
{
	struct fx *f = *state;
	char path[128];
	sqlite3 *db;
	uint64_t id = queue(f, "erase");
	struct evlist l;

	snprintf(path, sizeof(path), "%s/index.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM events", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE events SET detail = 'x'", NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM commands", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE commands SET controller = 'evil'", NULL,
					  NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE commands SET body = x'00'", NULL, NULL, NULL),
			     SQLITE_OK);
	sqlite3_close(db);
	assert_string_equal(state_of(f, id), "pending");
	assert_string_equal(f->row.controller, "sec1");
	assert_int_equal(nevents(f, f->dev, &l), 1);
}

/* An index.db from schema 1 (the commands table without its figures) gets
 * the columns at open, keeps its rows, and says schema 2; a newer one is
 * refused. */
static void test_migrate(void **state)
{
	struct fx *f = *state;
	char path[128];
	sqlite3 *db;

	index_close(f->idx);
	f->idx = NULL;
	snprintf(path, sizeof(path), "%s/index.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"DROP TRIGGER commands_no_delete; DROP TRIGGER commands_request_fixed;"
		"DROP TABLE commands; UPDATE meta SET value = 1 WHERE key = 'schema';"
		"CREATE TABLE commands(id INTEGER PRIMARY KEY, dev INTEGER NOT NULL,"
		" controller TEXT NOT NULL, action TEXT NOT NULL, body BLOB NOT NULL,"
		" state TEXT NOT NULL, issued_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL,"
		" expires_ns INTEGER NOT NULL);"
		"INSERT INTO commands VALUES (7, 1, 'old', 'thaw', x'01', 'done', 5, 6, 7);",
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(index_open(f->dir, false, &f->idx), 0);
	assert_string_equal(state_of(f, 7), "done");
	assert_string_equal(f->row.controller, "old");
	assert_int_equal(f->row.st.files, 0);
	assert_int_equal(f->row.delivered_ns, 0);
	assert_true(queue(f, "freeze") > 7);
	index_close(f->idx);
	f->idx = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	{
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema'",
						    -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 5);   /* INDEX_SCHEMA_VERSION */
		sqlite3_finalize(st);
	}
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = 99 WHERE key = 'schema'",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(index_open(f->dir, false, &f->idx), -EPROTO);
	assert_null(f->idx);
}

/* ------------------------------------------------------------------- wait */

struct later { struct fx *f; uint64_t id; int ms; const char *state; };

static void *set_later(void *arg)
{
	struct later *l = arg;

	usleep((useconds_t)l->ms * 1000);
	assert_int_equal(set(l->f, l->id, l->state, 0, NULL), 1);
	return NULL;
}

static void test_wait(void **state)
{
	struct fx *f = *state;
	uint64_t id = queue_ttl(f, f->dev, "freeze", 0);   /* see below for expiry */
	struct later l = { f, 0, 150, "delivered" };
	int64_t now = real_ns(), t;
	uint8_t body[8] = { 1 }, sig[SIGN_SIG_LEN] = { 2 };
	struct cmd_new n = { .controller = "sec2", .action = "freeze", .seq = 1,
			     .issued_ns = now, .expires_ns = now + 3600 * SEC, .body = body,
			     .body_len = sizeof(body), .sig = sig };
	pthread_t th;

	/* queue_ttl's command expired long ago (T0 is in 2023): the wait
	 * marks it and returns at once */
	assert_int_equal(commands_wait(f->idx, id, NULL, 5000, &f->row), 0);
	assert_string_equal(f->row.st.state, "expired");

	assert_int_equal(commands_queue(f->idx, f->dev, &n, now, &l.id), 0);
	/* no change: times out after about the time asked */
	t = mono_ms();
	assert_int_equal(commands_wait(f->idx, l.id, "pending", 200, &f->row), -ETIMEDOUT);
	t = mono_ms() - t;
	assert_true(t >= 190 && t < 2000);
	assert_string_equal(f->row.st.state, "pending");
	/* a change wakes it well before its timeout */
	assert_int_equal(pthread_create(&th, NULL, set_later, &l), 0);
	t = mono_ms();
	assert_int_equal(commands_wait(f->idx, l.id, "pending", 10000, &f->row), 0);
	t = mono_ms() - t;
	pthread_join(th, NULL);
	assert_string_equal(f->row.st.state, "delivered");
	assert_true(t >= 100 && t < 2000);
	/* until final: running does not end the wait, done does */
	l.state = "running";
	l.ms = 50;
	assert_int_equal(pthread_create(&th, NULL, set_later, &l), 0);
	pthread_join(th, NULL);
	l.state = "done";
	l.ms = 100;
	assert_int_equal(pthread_create(&th, NULL, set_later, &l), 0);
	assert_int_equal(commands_wait(f->idx, l.id, NULL, 10000, &f->row), 0);
	pthread_join(th, NULL);
	assert_string_equal(f->row.st.state, "done");
	assert_int_equal(commands_wait(f->idx, 999, NULL, 10, &f->row), -ENOENT);
}

/* A command whose expiry passes during the wait ends it as expired. */
static void test_wait_expiry(void **state)
{
	struct fx *f = *state;
	int64_t now = real_ns(), t;
	uint8_t body[8] = { 1 }, sig[SIGN_SIG_LEN] = { 2 };
	struct cmd_new n = { .controller = "sec2", .action = "erase", .seq = 9,
			     .issued_ns = now, .expires_ns = now + 300 * 1000000, .body = body,
			     .body_len = sizeof(body), .sig = sig };
	struct evlist l;
	uint64_t id;

	assert_int_equal(commands_queue(f->idx, f->dev, &n, now, &id), 0);
	t = mono_ms();
	assert_int_equal(commands_wait(f->idx, id, NULL, 10000, &f->row), 0);
	t = mono_ms() - t;
	assert_string_equal(f->row.st.state, "expired");
	assert_true(t >= 250 && t < 3000);
	assert_int_equal(nevents(f, f->dev, &l), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_retry_and_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admitted_command_kept_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_device_and_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redelivered_result, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_newest_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_expiry, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
