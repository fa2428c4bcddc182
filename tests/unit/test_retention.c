/* test_retention.c — server/retention.c: restic's documented keep rules
 * (doc/060_forget.rst of restic) over synthetic histories, table driven;
 * each row's expectation says which documented rule gives it.  Then which
 * versions of one path those kept instants keep. */
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

#include "server/retention.h"

#define NS 1000000000LL
#define H (3600 * NS)
#define D (24 * H)
#define MAXT 16

/* "YYYY-MM-DD HH:MM" in UTC -> ns */
static int64_t utc(const char *s)
{
	struct tm tm = { 0 };

	assert_non_null(strptime(s, "%Y-%m-%d %H:%M", &tm));
	return (int64_t)timegm(&tm) * NS;
}

struct row {
	const char *what;
	const char *tz;
	struct retain_policy p;
	const char *now;              /* NULL: far future */
	const char *t[MAXT];          /* instants, newest first (UTC) */
	const char *want;             /* 'k' kept, '.' removed, per instant */
};

#define POL(within, h, d, w, m) { (within), { (h), (d), (w), (m) } }
#define SUNDAYS "2019-11-17 11:00", "2019-11-10 11:00", "2019-11-03 11:00", "2019-10-27 11:00", \
	"2019-10-20 11:00", "2019-10-13 11:00", "2019-10-06 11:00", "2019-09-29 11:00", \
	"2019-09-22 11:00", "2019-09-15 11:00", "2019-09-08 11:00", "2019-09-01 11:00"

static const struct row rows[] = {
	/* restic's own example: one backup every Sunday for 12 weeks;
	 * "forget --keep-daily 4 will keep the last four snapshots" */
	{ "doc: 12 Sundays, daily 4", "UTC", POL(0, 0, 4, 0, 0), NULL, { SUNDAYS }, "kkkk........" },
	/* each Sunday is its own ISO week: the newest two weeks */
	{ "12 Sundays, weekly 2", "UTC", POL(0, 0, 0, 2, 0), NULL, { SUNDAYS }, "kk.........." },
	/* newest per month: Nov 17, Oct 27, Sep 29 */
	{ "12 Sundays, monthly 3", "UTC", POL(0, 0, 0, 0, 3), NULL, { SUNDAYS }, "k..k...k...." },
	/* only 3 months for 5: the oldest snapshot is kept additionally
	 * ("oldest monthly snapshot", the note on duration options) */
	{ "12 Sundays, monthly 5: oldest", "UTC", POL(0, 0, 0, 0, 5), NULL, { SUNDAYS },
	  "k..k...k...k" },
	/* within 14d of Nov 17 11:00: strictly newer than Nov 3 11:00 */
	{ "12 Sundays, within 14d", "UTC", POL(14 * D, 0, 0, 0, 0), NULL, { SUNDAYS },
	  "kk.........." },
	/* hours :00 to :59: 11:30 (hour 11) then 10:59 (hour 10) */
	{ "hour boundary", "UTC", POL(0, 2, 0, 0, 0), NULL,
	  { "2026-03-02 11:30", "2026-03-02 11:00", "2026-03-02 10:59" }, "k.k" },
	/* weeks are Monday 00:00 to Sunday 23:59: Mon Jan 5 is week 2,
	 * Sun Jan 4, Sat, Fri are week 1 */
	{ "week boundary Sunday/Monday", "UTC", POL(0, 0, 0, 2, 0), NULL,
	  { "2026-01-05 01:00", "2026-01-04 23:00", "2026-01-03 10:00", "2026-01-02 09:00" },
	  "kk.." },
	/* ISO weeks cross years: Fri 2027-01-01 is in 2026-W53 with Thu
	 * 2026-12-31; Mon 2027-01-04 starts 2027-W01 */
	{ "ISO week across the year", "UTC", POL(0, 0, 0, 2, 0), NULL,
	  { "2027-01-04 12:00", "2027-01-01 12:00", "2026-12-31 12:00", "2026-12-28 12:00" },
	  "kk.." },
	/* months: Feb 1 and Jan 31 differ */
	{ "month boundary", "UTC", POL(0, 0, 0, 0, 1), NULL,
	  { "2026-02-01 00:10", "2026-01-31 23:50" }, "k." },
	/* two on one day with 2 dailies: the newest, then the oldest is
	 * kept additionally because a count is left (restic >= 0.17) */
	{ "oldest kept with a count left", "UTC", POL(0, 0, 2, 0, 0), NULL,
	  { "2026-03-02 10:00", "2026-03-02 09:00" }, "kk" },
	/* calendar rules use local time: in UTC the three are one day (the
	 * newest, plus the oldest for the count left); in Shanghai (+08)
	 * 16:30Z is 00:30 on Mar 2 and the other two are Mar 1 */
	{ "local day, UTC", "UTC", POL(0, 0, 2, 0, 0), NULL,
	  { "2026-03-01 16:30", "2026-03-01 15:30", "2026-03-01 14:30" }, "k.k" },
	{ "local day, Shanghai", "Asia/Shanghai", POL(0, 0, 2, 0, 0), NULL,
	  { "2026-03-01 16:30", "2026-03-01 15:30", "2026-03-01 14:30" }, "kk." },
	/* rules are ORed: within 1h keeps 12:00 and 11:30, daily 1 keeps
	 * 12:00 again; 10:30 and yesterday are neither */
	{ "within and daily ORed", "UTC", POL(H, 0, 1, 0, 0), NULL,
	  { "2026-03-02 12:00", "2026-03-02 11:30", "2026-03-02 10:30", "2026-03-01 12:00" },
	  "kk.." },
	/* a snapshot in the future is never removed and is not "latest" */
	{ "future instant", "UTC", POL(0, 0, 1, 0, 0), "2026-06-01 00:00",
	  { "2026-07-01 00:00", "2026-05-31 12:00", "2026-05-31 11:00", "2026-05-30 12:00" },
	  "kk.." },
	/* no rule at all: restic refuses an empty policy; here it keeps all */
	{ "empty policy keeps all", "UTC", POL(0, 0, 0, 0, 0), NULL,
	  { "2026-03-02 12:00", "2026-03-01 12:00" }, "kk" },
};

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static void test_instants(void **state)
{
	(void)state;
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		const struct row *w = &rows[r];
		int64_t t[MAXT];
		bool kept[MAXT];
		char got[MAXT + 1];
		size_t n = 0;

		set_tz(w->tz);
		while (n < MAXT && w->t[n]) {
			t[n] = utc(w->t[n]);
			n++;
		}
		retain_instants(&w->p, w->now ? utc(w->now) : INT64_MAX, t, n, kept);
		for (size_t i = 0; i < n; i++)
			got[i] = kept[i] ? 'k' : '.';
		got[n] = '\0';
		if (strcmp(got, w->want))
			fail_msg("%s: got %s want %s", w->what, got, w->want);
	}
	set_tz("UTC");
}

/* Per path: the device has an instant at 12:00 on each of days 1..10 of
 * March 2026 (its other paths changed then); keep rules choose among
 * them, a path keeps what it was at each kept instant. */
struct prow {
	const char *what;
	struct retain_policy p;
	int days[MAXT];               /* the path's versions: day of March (12:00, + minute) */
	int ndays;
	const char *want;
};

static const struct prow prows[] = {
	/* daily 3 keeps the instants of days 10, 9, 8; at day 8 the path
	 * still was its day-1 version: kept (the tree as of day 8 is whole) */
	{ "carried over", POL(0, 0, 3, 0, 0), { 1, 9 }, 2, "kk" },
	/* days 1 and 2 were superseded before any kept instant */
	{ "superseded", POL(0, 0, 3, 0, 0), { 1, 2, 3, 9 }, 4, "..kk" },
	/* deleted on day 2 (the last row): the live day-1 version is seen by
	 * no kept instant; the tombstone, the path's newest row, stays */
	{ "deleted path", POL(0, 0, 3, 0, 0), { 1, 2 }, 2, ".k" },
	/* within 2d of day 10 12:00: instants after day 8 12:00, the oldest
	 * of them day 9 12:00; the day-7 version is what the path was then */
	{ "within carries over", POL(2 * D, 0, 0, 0, 0), { 5, 7, 10 }, 3, ".kk" },
	/* a path changed several times within a kept day keeps only what it
	 * was at that day's newest instant */
	{ "newest in the bucket", POL(0, 0, 10, 0, 0), { 4, 4, 4, 6 }, 4, "..kk" },
	/* version 11 is in the future of the device's latest (day 10) */
	{ "after latest", POL(0, 0, 1, 0, 0), { 3, 4, 11 }, 3, ".kk" },
};

static void test_paths(void **state)
{
	(void)state;
	set_tz("UTC");
	for (size_t r = 0; r < sizeof(prows) / sizeof(prows[0]); r++) {
		const struct prow *w = &prows[r];
		int64_t dev[10], kept_t[10], cap[MAXT];
		bool kept[10], keep[MAXT];
		struct retain_walk walk;
		struct retain_plan plan = { .kept = kept_t };
		char got[MAXT + 1];
		size_t nk;

		for (int i = 0; i < 10; i++)
			dev[i] = utc("2026-03-10 12:00") - i * D;   /* newest first */
		retain_walk_init(&walk, &w->p, dev[0]);
		for (int i = 0; i < 10; i++) {
			kept[i] = retain_walk_next(&walk, dev[i], i == 9);
			if (kept[i])
				kept_t[plan.nkept++] = dev[i];
		}
		plan.latest = dev[0];
		plan.window = w->p.within_ns > 0;
		plan.cutoff = walk.cutoff;
		plan.first_in_window = walk.first_in_window;
		/* the same day twice: one minute apart, the last at 12:00 */
		for (int i = 0; i < w->ndays; i++) {
			int same = 0;

			for (int j = i + 1; j < w->ndays; j++)
				same += w->days[j] == w->days[i];
			cap[i] = utc("2026-03-01 12:00") + (w->days[i] - 1) * D - same * 60 * NS;
		}
		nk = 0;
		for (const char *c = w->want; *c; c++)
			nk += *c == 'k';
		assert_int_equal(retain_path(&plan, cap, (size_t)w->ndays, keep), nk);
		for (int i = 0; i < w->ndays; i++)
			got[i] = keep[i] ? 'k' : '.';
		got[w->ndays] = '\0';
		if (strcmp(got, w->want))
			fail_msg("%s: got %s want %s", w->what, got, w->want);
	}
}

static void test_buckets(void **state)
{
	(void)state;
	set_tz("UTC");
	assert_int_equal(retain_bucket(RET_HOURLY, utc("2026-03-02 11:59")), 2026030211);
	assert_int_equal(retain_bucket(RET_DAILY, utc("2026-03-02 23:59")), 20260302);
	assert_int_equal(retain_bucket(RET_WEEKLY, utc("2027-01-01 00:00")), 202653);
	assert_int_equal(retain_bucket(RET_WEEKLY, utc("2027-01-04 00:00")), 202701);
	assert_int_equal(retain_bucket(RET_WEEKLY, utc("2024-12-30 00:00")), 202501);  /* Monday */
	assert_int_equal(retain_bucket(RET_MONTHLY, utc("2026-12-31 23:59")), 202612);
	assert_true(retain_policy_empty(&(struct retain_policy){ 0 }));
	assert_false(retain_policy_empty(&(struct retain_policy){ .count = { 0, 0, 0, 1 } }));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_instants),
		cmocka_unit_test(test_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
