/* test_sweeper.c — the server's sweep thread (server/sweep.c, sweep.h):
 * when it sweeps on its own (a kick after the interval; never before it),
 * that `vigil-server sweep`'s request runs one now whatever the interval,
 * that a kick arriving while a sweep runs is kept for the next one, and
 * that each sweep's figures are recorded in index.db (sweep_db.c).  The
 * decision itself is checked from a table.  States are waited for, never
 * timed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/index.h"
#include "server/sweep.h"
#include "tests/unit/store_fixture.h"

struct fx {
	char dir[STOREFX_DIR];
	struct store *st;
	struct index *idx;
	struct sweeper *sw;
	int afters;
	bool kick_in_after;
};

/* Opens a store and an index in one directory; the thread starts with
 * the interval (seconds) given. */
static void fx_start(struct fx *f, const char *interval_s)
{
	setenv("VIGIL_TEST_HOOKS", "1", 1);
	setenv("VIGIL_SWEEP_INTERVAL_S", interval_s, 1);
	setenv("VIGIL_SWEEP_CHECK_S", "86400", 1);
	assert_int_equal(storefx_open(f->dir, "sweeper", &f->st), 0);
	assert_int_equal(index_open(f->dir, true, &f->idx), 0);
	assert_non_null(f->sw = sweeper_start(f->st, f->idx, f->idx));
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	sweeper_stop(f->sw);
	index_close(f->idx);
	assert_int_equal(storefx_remove(f->dir, f->st), 0);
	free(f);
	return 0;
}

static uint64_t recorded(struct fx *f)
{
	struct sweep_result r;
	int e = sweep_last(f->idx, &r);

	assert_true(e == 0 || e == -ENOENT);
	return e == 0 ? r.seq : 0;
}

/* Waits (up to a minute: a state, not a time) for n sweeps recorded. */
static void wait_sweeps(struct fx *f, uint64_t n)
{
	for (int i = 0; i < 6000 && recorded(f) < n; i++)
		usleep(10000);
	assert_true(recorded(f) >= n);
}

static void after(void *arg, struct sweep_result *r, const volatile int *cancel)
{
	struct fx *f = arg;

	(void)cancel;
	r->search_rows = 7;
	if (f->afters++ == 0 && f->kick_in_after)
		sweeper_kick(f->sw);   /* while this sweep runs */
}

static void test_due_table(void **state)
{
	static const struct { struct sweep_due_in in; bool due; } t[] = {
		{ { .requested = true }, true },
		{ { .continuous = true }, true },
		{ { .kicked = true }, false },                         /* interval not over */
		{ { .kicked = true, .interval_over = true }, true },
		{ { .gap = true }, false },
		{ { .gap = true, .interval_over = true }, true },
		{ { .interval_over = true }, false },                  /* nothing dropped */
		{ { .requested = true, .kicked = true }, true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(sweep_due(&t[i].in), t[i].due);
}

/* With an hour's interval a kick waits; a request sweeps now, once. */
static void test_request_not_kick(void **state)
{
	struct fx *f = *state;
	struct sweep_result r;

	fx_start(f, "3600");
	sweeper_set_after(f->sw, after, f);
	sweeper_kick(f->sw);
	assert_int_equal(recorded(f), 0);
	assert_int_equal(sweeper_request(f->sw, NULL, -1, &r), 0);
	assert_int_equal(r.seq, 1);
	assert_int_equal(r.search_rows, 7);
	assert_int_equal(r.err, 0);
	assert_int_equal(recorded(f), 1);
	assert_int_equal(sweeper_request(f->sw, NULL, -1, &r), 0);
	assert_int_equal(r.seq, 2);
}

/* Interval 0: a kick sweeps; one that comes during that sweep is kept
 * and gets a sweep of its own. */
static void test_kick_remembered(void **state)
{
	struct fx *f = *state;

	fx_start(f, "0");
	f->kick_in_after = true;
	sweeper_set_after(f->sw, after, f);
	assert_int_equal(recorded(f), 0);
	sweeper_kick(f->sw);
	wait_sweeps(f, 2);
	assert_true(f->afters >= 2);
}

/* A request whose caller gives up (a stopping server) returns at once. */
static void test_request_cancel(void **state)
{
	struct fx *f = *state;
	struct sweep_result r;
	volatile int quit = 1;

	fx_start(f, "3600");
	assert_int_equal(sweeper_request(f->sw, &quit, -1, &r), -ECANCELED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_due_table),
		cmocka_unit_test_setup_teardown(test_request_not_kick, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_kick_remembered, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_request_cancel, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
