/* test_rangetab.c — the per-file range table vigild keeps between the
 * tracker and the shippers: merging, cuts (ranges to TRK_EOF), overflow,
 * put-back after a failed ship, files without an entry; the busy table
 * (runs of writes: when a file a writer is at may be captured). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "daemon/rangetab.h"

#define P "/data/f"

static struct rangeset take(struct rangetab *t, bool track)
{
	struct rangeset rs;

	rangetab_take(t, P, track, &rs);
	return rs;
}

/* Ranges given in any order come back sorted and merged. */
static void test_merge(void **state)
{
	static const struct {
		struct trk_range in[4];
		size_t nin;
		struct trk_range out[4];
		size_t nout;
	} cases[] = {
		{ { { 100, 10 }, { 0, 10 } }, 2, { { 0, 10 }, { 100, 10 } }, 2 },
		{ { { 0, 10 }, { 10, 5 } }, 2, { { 0, 15 } }, 1 },            /* touching */
		{ { { 0, 10 }, { 5, 20 }, { 2, 1 } }, 3, { { 0, 25 } }, 1 },  /* overlapping */
		{ { { 50, 0 }, { 7, 1 } }, 2, { { 7, 1 } }, 1 },              /* empty dropped */
		{ { { 30, 10 }, { 0, 5 }, { 10, 5 }, { 4, 7 } }, 4, { { 0, 15 }, { 30, 10 } }, 2 },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct rangetab *t = rangetab_new();
		struct rangeset rs;

		assert_non_null(t);
		(void)take(t, true);
		rangetab_add(t, P, cases[c].in, cases[c].nin, false, 1000);
		rs = take(t, true);
		assert_true(rs.complete);
		assert_false(rs.unknown);
		assert_false(rs.cut);
		assert_int_equal(rs.min_size, 1000);
		assert_int_equal(rs.n, cases[c].nout);
		for (size_t i = 0; i < rs.n; i++) {
			assert_int_equal(rs.r[i].off, cases[c].out[i].off);
			assert_int_equal(rs.r[i].len, cases[c].out[i].len);
		}
		rangetab_free(t);
	}
	(void)state;
}

/* A truncation to 10 that the file outgrew before the pick-up looked (size
 * now 60): the cut still lowers min_size to 10, so bytes 10..60 are re-read
 * when the file ships, and the file counts as dirty. */
static void test_cut_then_regrow(void **state)
{
	struct rangetab *t = rangetab_new();
	struct trk_range r[] = { { 10, TRK_EOF - 10 }, { 50, 10 } };
	struct rangeset rs;

	(void)take(t, true);
	assert_false(rangetab_dirty(t, P));
	rangetab_add(t, P, r, 1, false, 60);
	assert_true(rangetab_dirty(t, P));
	rangetab_add(t, P, r + 1, 1, false, 60);
	rs = take(t, true);
	assert_true(rs.cut);
	assert_int_equal(rs.min_size, 10);
	assert_int_equal(rs.n, 1);            /* the cut is not a range */
	assert_int_equal(rs.r[0].off, 50);
	assert_int_equal(rs.r[0].len, 10);
	/* the take started a fresh set */
	rs = take(t, true);
	assert_false(rs.cut);
	assert_int_equal(rs.n, 0);
	assert_int_equal(rs.min_size, UINT64_MAX);
	rangetab_free(t);
	(void)state;
}

/* A failed ship puts its set back: cut and min_size survive. */
static void test_putback(void **state)
{
	struct rangetab *t = rangetab_new();
	struct trk_range cut = { 0, TRK_EOF }, w = { 5, 5 };
	struct rangeset rs;

	(void)take(t, true);
	rangetab_add(t, P, &cut, 1, false, 100);
	rs = take(t, true);
	rangetab_add(t, P, &w, 1, false, 100);
	rangetab_putback(t, P, &rs);
	rs = take(t, true);
	assert_true(rs.cut);
	assert_int_equal(rs.min_size, 0);
	assert_int_equal(rs.n, 1);
	rangetab_free(t);
	(void)state;
}

/* More ranges than a set holds: unknown, and it stays unknown. */
static void test_overflow(void **state)
{
	struct rangetab *t = rangetab_new();
	struct rangeset rs;

	(void)take(t, true);
	for (uint64_t i = 0; i <= RANGETAB_RANGES; i++) {
		struct trk_range r = { i * 100, 1 };

		rangetab_add(t, P, &r, 1, false, 1u << 20);
	}
	rs = take(t, true);
	assert_true(rs.unknown);
	assert_int_equal(rs.n, 0);
	rangetab_free(t);
	(void)state;
}

/* A set holds its ranges in an array grown as they come (rangetab.c):
 * exactly RANGETAB_RANGES of them, added last to first one at a time (each
 * lands at the front) and then put back after a failed ship onto a set
 * grown since, come back whole and sorted; the set restarts empty. */
static void test_grow(void **state)
{
	struct rangetab *t = rangetab_new();
	struct rangeset rs, again;

	(void)take(t, true);
	for (uint64_t i = RANGETAB_RANGES; i-- > 0;) {
		struct trk_range r = { i * 100, 10 };

		rangetab_add(t, P, &r, 1, false, 1u << 20);
	}
	rs = take(t, true);
	assert_false(rs.unknown);
	assert_int_equal(rs.n, RANGETAB_RANGES);
	for (size_t i = 0; i < rs.n; i++) {
		assert_int_equal(rs.r[i].off, i * 100);
		assert_int_equal(rs.r[i].len, 10);
	}
	again = take(t, true);
	assert_int_equal(again.n, 0);
	assert_true(again.complete);
	for (uint64_t i = 0; i < 3; i++) {   /* inside the first three, merged */
		struct trk_range r = { i * 100 + 5, 1 };

		rangetab_add(t, P, &r, 1, false, 1u << 20);
	}
	rangetab_putback(t, P, &rs);
	again = take(t, true);
	assert_false(again.unknown);
	assert_int_equal(again.n, RANGETAB_RANGES);
	assert_memory_equal(again.r, rs.r, rs.n * sizeof(rs.r[0]));
	rangetab_free(t);
	(void)state;
}

/* No take with track yet: nothing is recorded, and the set is incomplete. */
static void test_untracked(void **state)
{
	struct rangetab *t = rangetab_new();
	struct trk_range r = { 0, 10 };
	struct rangeset rs;

	rangetab_add(t, P, &r, 1, false, 10);
	assert_false(rangetab_dirty(t, P));
	rs = take(t, false);
	assert_false(rs.complete);
	assert_int_equal(rs.n, 0);
	rangetab_free(t);
	(void)state;
}

#define MS 1000000LL

/* Runs of writes: a lone write waits the probe, a run waits from its
 * start, a pause of RANGETAB_RUN_GAP_NS ends it; every time is given. */
static void test_busy_runs(void **state)
{
	static const struct {
		int64_t writes[6];     /* ms, 0-terminated after the first */
		int64_t now;           /* ms */
		bool busy;
		int64_t hold;          /* ms; 0: may be captured now */
	} cases[] = {
		{ { 1000 }, 1000, false, 1000 + RANGETAB_PROBE_NS / MS },       /* lone write, young */
		{ { 1000 }, 1000 + RANGETAB_PROBE_NS / MS, false, 0 },          /* probe over */
		{ { 1000 }, 1000 + RANGETAB_RUN_GAP_NS / MS, false, 0 },       /* long quiet */
		{ { 1000, 1050 }, 1060, true, 1000 + RANGETAB_BUSY_WAIT_NS / MS },
		{ { 1000, 1050, 1100, 1150 }, 1200, true, 1000 + RANGETAB_BUSY_WAIT_NS / MS },
		{ { 1000, 1050 }, 1050 + RANGETAB_RUN_GAP_NS / MS, false, 0 },  /* it stopped */
		{ { 1000, 1150, 1300, 1450, 1600 }, 1700, true, 1000 + RANGETAB_BUSY_WAIT_NS / MS },
		{ { 1000, 1050, 1060 + RANGETAB_RUN_GAP_NS / MS }, 1070 + RANGETAB_RUN_GAP_NS / MS,
		  false, 1060 + (RANGETAB_RUN_GAP_NS + RANGETAB_PROBE_NS) / MS },   /* a new run */
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct rangetab *t = rangetab_new();
		int64_t base = 1000000 * MS;   /* any monotonic origin */

		rangetab_note_write(t, "/other", base);
		for (size_t i = 0; i < 6 && (i == 0 || cases[c].writes[i]); i++)
			rangetab_note_write(t, P, base + cases[c].writes[i] * MS);
		assert_int_equal(rangetab_busy(t, P, base + cases[c].now * MS), cases[c].busy);
		assert_int_equal(rangetab_hold(t, P, base + cases[c].now * MS),
				 cases[c].hold ? base + cases[c].hold * MS : 0);
		assert_false(rangetab_busy(t, "/never", base + cases[c].now * MS));
		rangetab_free(t);
	}
	/* a run older than the wait: busy, but no longer held (the gap
	 * between captures rules it from then on) */
	struct rangetab *t = rangetab_new();
	int64_t ms = 0;

	for (; ms <= RANGETAB_BUSY_WAIT_NS / MS + 500; ms += 100)
		rangetab_note_write(t, P, ms * MS);
	assert_true(rangetab_busy(t, P, ms * MS));
	assert_int_equal(rangetab_hold(t, P, ms * MS), 0);
	rangetab_free(t);
	(void)state;
}

/* The table keeps the RANGETAB_BUSY files written last: an older one
 * makes room, a busy one is still known. */
static void test_busy_bounded(void **state)
{
	struct rangetab *t = rangetab_new();
	char p[32];

	rangetab_note_write(t, P, 0);
	rangetab_note_write(t, P, 10 * MS);
	for (int i = 0; i < RANGETAB_BUSY - 1; i++) {
		snprintf(p, sizeof(p), "/f%d", i);
		rangetab_note_write(t, p, 5 * MS + i);
	}
	rangetab_note_write(t, "/last", 20 * MS);   /* evicts /f0, the quiet one */
	assert_true(rangetab_busy(t, P, 30 * MS));
	rangetab_note_write(t, "/f0", 40 * MS);
	rangetab_note_write(t, "/f0", 50 * MS);
	assert_true(rangetab_busy(t, "/f0", 60 * MS));
	rangetab_free(t);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_cut_then_regrow),
		cmocka_unit_test(test_putback),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_untracked),
		cmocka_unit_test(test_busy_runs),
		cmocka_unit_test(test_busy_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
