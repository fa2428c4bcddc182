/* test_simstate.c — the SIM state a device reports (server/simstate.c) on
 * a real index.db: a table of reports played in order, each checked for
 * the event it leaves, the state stored and what status would show; the
 * on-hold flag a swap sets; a reopen; and the migration of a devices table
 * without the sim_* columns. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/tls.h"
#include "server/commands.h"
#include "server/index.h"
#include "server/simstate.h"
#include "tests/unit/index_fixture.h"

#define NOW ((int64_t)1700000000 * 1000000000)   /* the server's clock */

struct fx {
	char dir[64];
	struct index *idx;
	int64_t dev, dev2;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	idxfx_open(f->dir, "test_simstate", &f->idx);
	f->dev = idxfx_device(f->idx, "phone1", 0);
	f->dev2 = idxfx_device(f->idx, "phone2", 0);
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

/* The newest event of a device (kind "" when none). */
struct last_ev { int n; char kind[32], detail[256]; int64_t t; };

static void take_ev(void *arg, int64_t t, const char *kind, const char *detail)
{
	struct last_ev *e = arg;

	e->n++;
	e->t = t;
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	snprintf(e->detail, sizeof(e->detail), "%s", detail);
}

static struct last_ev events_of(struct fx *f, int64_t dev)
{
	struct last_ev e = { 0 };

	assert_true(index_events(f->idx, dev, 1000, take_ev, &e) >= 0);
	return e;
}

struct step {
	int64_t t;
	uint8_t present, allowed;
	const char *iccid, *imsi;
	const char *event;            /* NULL: no new event */
	const char *detail;
	const char *s_iccid, *s_imsi; /* stored afterwards */
	uint8_t s_present;
	int64_t s_changed;
};

static const struct step steps[] = {
	/* first report: stored, no event, nothing "changed" */
	{ 100, 1, 0, "8986001", "46000111", NULL, NULL, "8986001", "46000111", 1, 0 },
	{ 100, 1, 0, "8986001", "46000111", NULL, NULL, "8986001", "46000111", 1, 0 },
	/* same SIM, new IMSI: stored quietly */
	{ 200, 1, 0, "8986001", "46000112", NULL, NULL, "8986001", "46000112", 1, 0 },
	{ 300, 1, 0, "8986002", "46000222", "sim-swap", "ICCID 8986001 -> 8986002, IMSI 46000222",
	  "8986002", "46000222", 1, 300 },
	/* older than the stored report: ignored */
	{ 250, 1, 0, "8986003", "46000333", NULL, NULL, "8986002", "46000222", 1, 300 },
	/* allowed: stored, changed_at moves, no event */
	{ 400, 1, 1, "8986003", "46000333", NULL, NULL, "8986003", "46000333", 1, 400 },
	{ 500, 0, 0, "", "", "sim-removed", "8986003", "8986003", "46000333", 0, 400 },
	{ 600, 0, 0, "", "", NULL, NULL, "8986003", "46000333", 0, 400 },
	{ 700, 1, 0, "8986003", "46000333", "sim-inserted", "8986003", "8986003", "46000333", 1, 400 },
	{ 800, 0, 0, "", "", "sim-removed", "8986003", "8986003", "46000333", 0, 400 },
	/* another SIM put in while none was there: a swap */
	{ 900, 1, 0, "8986004", "", "sim-swap", "ICCID 8986003 -> 8986004, IMSI -",
	  "8986004", "", 1, 900 },
	/* a present SIM whose ICCID could not be read is no swap */
	{ 1000, 1, 0, "", "46000444", NULL, NULL, "8986004", "46000444", 1, 900 },
};

static void check_stored(struct fx *f, const struct step *s, size_t i)
{
	struct sim_state st;

	assert_int_equal(index_sim_get(f->idx, f->dev, &st), 0);
	assert_true(st.known);
	if (strcmp(st.sim.iccid, s->s_iccid) || strcmp(st.sim.imsi, s->s_imsi) ||
	    st.sim.present != s->s_present || st.changed_ns != s->s_changed)
		fail_msg("step %zu: stored %s/%s present %u changed %lld", i, st.sim.iccid,
			 st.sim.imsi, st.sim.present, (long long)st.changed_ns);
}

static void test_transitions(void **state)
{
	struct fx *f = *state;
	struct sim_state st;
	struct cmd_flags fl;
	int n = 0;

	assert_int_equal(index_sim_get(f->idx, f->dev, &st), 0);
	assert_false(st.known);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct step *s = &steps[i];
		struct vg_sim r = { .time_ns = s->t, .present = s->present, .allowed = s->allowed };
		struct last_ev e;

		snprintf(r.iccid, sizeof(r.iccid), "%s", s->iccid);
		snprintf(r.imsi, sizeof(r.imsi), "%s", s->imsi);
		snprintf(r.operator_name, sizeof(r.operator_name), "中国移动");
		assert_int_equal(index_sim_report(f->idx, f->dev, &r, NOW), 0);
		e = events_of(f, f->dev);
		if (s->event) {
			n++;
			if (e.n != n || strcmp(e.kind, s->event) || strcmp(e.detail, s->detail) ||
			    e.t != s->t)
				fail_msg("step %zu: event %d %s '%s'", i, e.n, e.kind, e.detail);
		} else if (e.n != n) {
			fail_msg("step %zu: unexpected event %s '%s'", i, e.kind, e.detail);
		}
		check_stored(f, s, i);
		if (i == 2) {   /* no swap yet: not on hold */
			assert_int_equal(commands_flags(f->idx, f->dev, &fl), 0);
			assert_false(fl.on_hold);
		}
	}
	assert_int_equal(commands_flags(f->idx, f->dev, &fl), 0);
	assert_true(fl.on_hold);
	assert_int_equal(events_of(f, f->dev2).n, 0);   /* nothing leaked to another device */
	assert_int_equal(index_sim_get(f->idx, f->dev2, &st), 0);
	assert_false(st.known);
}

/* Removal and insertion alone do not put a device on hold; the state
 * survives a reopen. */
static void test_hold_and_reopen(void **state)
{
	struct fx *f = *state;
	struct vg_sim r = { .time_ns = 10, .present = 1, .iccid = "111", .imsi = "222" };
	struct sim_state st;
	struct cmd_flags fl;

	assert_int_equal(index_sim_report(f->idx, f->dev2, &r, NOW), 0);
	r.time_ns = 20;
	r.present = 0;
	assert_int_equal(index_sim_report(f->idx, f->dev2, &r, NOW), 0);
	r.time_ns = 30;
	r.present = 1;
	assert_int_equal(index_sim_report(f->idx, f->dev2, &r, NOW), 0);
	assert_int_equal(events_of(f, f->dev2).n, 2);
	assert_int_equal(commands_flags(f->idx, f->dev2, &fl), 0);
	assert_false(fl.on_hold);
	index_close(f->idx);
	assert_int_equal(index_open(f->dir, false, &f->idx), 0);
	assert_int_equal(index_sim_get(f->idx, f->dev2, &st), 0);
	assert_true(st.known);
	assert_string_equal(st.sim.iccid, "111");
	assert_int_equal(st.sim.time_ns, 30);
}

/* A phone whose clock was a year ahead: its report counts as made at the
 * server's now, so reports after the clock is set right are not "older". */
static void test_clock_ahead(void **state)
{
	struct fx *f = *state;
	struct vg_sim r = { .time_ns = NOW + 365 * 86400 * 1000000000LL, .present = 1,
			    .iccid = "111", .imsi = "222" };
	struct sim_state st;
	struct last_ev e;

	assert_int_equal(index_sim_report(f->idx, f->dev, &r, NOW), 0);
	assert_int_equal(index_sim_get(f->idx, f->dev, &st), 0);
	assert_true(st.sim.time_ns == NOW);
	r.time_ns = NOW + 5;
	snprintf(r.iccid, sizeof(r.iccid), "333");
	assert_int_equal(index_sim_report(f->idx, f->dev, &r, NOW + 10), 0);
	e = events_of(f, f->dev);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.kind, "sim-swap");
	assert_true(e.t == NOW + 5);
	assert_int_equal(index_sim_get(f->idx, f->dev, &st), 0);
	assert_true(st.changed_ns == NOW + 5);
}

/* A devices table from before the sim_* columns gets them on open. */
static void test_migrate(void **state)
{
	struct fx *f = *state;
	struct vg_sim r = { .time_ns = 10, .present = 1, .iccid = "111", .imsi = "222" };
	struct sim_state st;
	char path[128];
	sqlite3 *db;

	index_close(f->idx);
	f->idx = NULL;
	snprintf(path, sizeof(path), "%s/index.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "ALTER TABLE devices DROP COLUMN sim_iccid;"
		"ALTER TABLE devices DROP COLUMN sim_imsi; ALTER TABLE devices DROP COLUMN sim_operator;"
		"ALTER TABLE devices DROP COLUMN sim_present;"
		"ALTER TABLE devices DROP COLUMN sim_changed_ns;"
		"ALTER TABLE devices DROP COLUMN sim_time_ns;"
		"UPDATE meta SET value = 2 WHERE key = 'schema';", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(index_open(f->dir, false, &f->idx), 0);
	assert_int_equal(index_sim_get(f->idx, f->dev, &st), 0);
	assert_false(st.known);
	assert_int_equal(index_sim_report(f->idx, f->dev, &r, NOW), 0);
	assert_int_equal(index_sim_get(f->idx, f->dev, &st), 0);
	assert_string_equal(st.sim.imsi, "222");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
