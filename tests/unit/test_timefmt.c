/* test_timefmt.c — TIME/DURATION parsing and RFC 3339 printing round trips. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "common/timefmt.h"

#define S 1000000000LL
#define NOW (1764356700LL * S + 123)   /* 2025-11-28T19:05:00.000000123Z */

struct ok_case { const char *in; int64_t want; };

static void test_parse_ok(void **state)
{
	static const struct ok_case cases[] = {
		{ "2026-11-28T19:05:00Z", 1795892700LL * S },
		{ "2026-11-28T19:05:00.123Z", 1795892700LL * S + 123000000 },
		{ "2026-11-28T19:05:00.000000001Z", 1795892700LL * S + 1 },
		{ "2026-11-28t19:05:00z", 1795892700LL * S },
		{ "2026-11-28 19:05:00Z", 1795892700LL * S },
		{ "2026-11-28T19:05Z", 1795892700LL * S },
		{ "2026-11-29T03:05:00+08:00", 1795892700LL * S },
		{ "2026-11-29T03:05:00+0800", 1795892700LL * S },
		{ "2026-11-29T03:05:00+08", 1795892700LL * S },
		{ "2026-11-28T14:35:00-04:30", 1795892700LL * S },
		{ "2026-11-28T19:05:00,5Z", 1795892700LL * S + 500000000 },
		{ "1970-01-01T00:00:00Z", 0 },
		{ "1969-12-31T23:59:59.5Z", -S / 2 },
		{ "2024-02-29T00:00:00Z", 1709164800LL * S },
		{ "2000-03-01T00:00:00Z", 951868800LL * S },
		{ "2262-04-11T23:47:16.854775807Z", INT64_MAX },
		{ "1677-09-21T00:12:43.145224192Z", INT64_MIN },
		{ "@0", 0 },
		{ "@1700000000", 1700000000LL * S },
		{ "@1700000000.25", 1700000000LL * S + 250000000 },
		{ "@-5", -5 * S },
		{ "@-5.5", -5 * S - S / 2 },
		{ "now", NOW },
		{ "-30s", NOW - 30 * S },
		{ "-10m", NOW - 600 * S },
		{ "-2h", NOW - 7200 * S },
		{ "-3d", NOW - 3 * 86400 * S },
		{ "-1w", NOW - 7 * 86400 * S },
		{ "-1d12h", NOW - 36 * 3600 * S },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = 0;
		int r = timefmt_parse(cases[i].in, NOW, &got);

		if (r != 0 || got != cases[i].want)
			fail_msg("%s: r=%d got=%lld want=%lld", cases[i].in, r,
				 (long long)got, (long long)cases[i].want);
	}
}

static void test_parse_bad(void **state)
{
	static const char *bad[] = {
		"", "x", "2026", "2026-11", "2026-11-28T", "2026-11-28T19",
		"2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-31T00:00:00Z",
		"2026-00-10T00:00:00Z", "2026-11-00T00:00:00Z",
		"2026-11-28T24:00:00Z", "2026-11-28T19:60:00Z", "2026-11-28T19:05:61Z",
		"2026-11-28T19:05:00.Z", "2026-11-28T19:05:00.1234567890Z",
		"2026-11-28T19:05:00Zjunk", "2026-11-28T19:05:00+8", "2026-11-28T19:05:00+24:00",
		"2026-11-28T19:05:00+08:60", "26-11-28", "2026/11/28", " 2026-11-28",
		"@", "@x", "@1.", "@1.2.3", "@--1", "@99999999999999999999", "@1e5",
		"-", "-10", "-10y", "-m", "-0s", "-10m5", "--10m", "-99999999999999999w",
		"-1000000d", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
		"2026-11-28T19:05:00\n", "nowx",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t got = 42;
		int r = timefmt_parse(bad[i], NOW, &got);

		if (r == 0)
			fail_msg("accepted bad TIME \"%s\" as %lld", bad[i], (long long)got);
		assert_true(r == -EINVAL || r == -ERANGE);
	}
	/* -1000000d is fine arithmetic but far before 1677: either ERANGE or a value. */
}

static void test_local_time(void **state)
{
	int64_t a, b;

	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
	assert_int_equal(timefmt_parse("2026-11-29T03:05:00", 0, &a), 0);
	assert_int_equal(a, 1795892700LL * S);
	assert_int_equal(timefmt_parse("2026-11-29T03:05:00.25", 0, &b), 0);
	assert_int_equal(b, 1795892700LL * S + 250000000);
	assert_int_equal(timefmt_parse("2026-11-29", 0, &a), 0);
	assert_int_equal(a, (1795892700LL - 3 * 3600 - 5 * 60) * S);
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(timefmt_parse("2026-11-28T19:05:00", 0, &a), 0);
	assert_int_equal(a, 1795892700LL * S);
}

struct fmt_case { int64_t ns; const char *want; };

static void test_format(void **state)
{
	static const struct fmt_case cases[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ 1, "1970-01-01T00:00:00.000000001Z" },
		{ 1795892700LL * S + 123000000, "2026-11-28T19:05:00.123Z" },
		{ 1795892700LL * S + 100000000, "2026-11-28T19:05:00.1Z" },
		{ 1795892700LL * S + 120, "2026-11-28T19:05:00.00000012Z" },
		{ -1, "1969-12-31T23:59:59.999999999Z" },
		{ -S / 2, "1969-12-31T23:59:59.5Z" },
		{ INT64_MAX, "2262-04-11T23:47:16.854775807Z" },
		{ INT64_MIN, "1677-09-21T00:12:43.145224192Z" },
	};
	char buf[TIMEFMT_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(timefmt_format(cases[i].ns, buf, sizeof(buf)), cases[i].want);
}

/* Every printed time parses back to the same nanosecond. */
static void test_round_trip(void **state)
{
	char buf[TIMEFMT_MAX];
	uint64_t x = 88172645463325252ULL;
	int i;

	for (i = 0; i < 200000; i++) {
		int64_t ns, back = 0;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;   /* xorshift64 */
		ns = (int64_t)x;
		if (i % 4 == 1)
			ns -= ns % S;            /* whole seconds */
		else if (i % 4 == 2)
			ns -= ns % 1000000;      /* milliseconds */
		timefmt_format(ns, buf, sizeof(buf));
		if (timefmt_parse(buf, 0, &back) != 0 || back != ns)
			fail_msg("%lld -> %s -> %lld", (long long)ns, buf, (long long)back);
	}
}

static void test_duration(void **state)
{
	static const struct ok_case ok[] = {
		{ "30s", 30 * S }, { "30m", 1800 * S }, { "12h", 12 * 3600 * S },
		{ "14d", 14 * 86400 * S }, { "2w", 14 * 86400 * S }, { "1d12h", 36 * 3600 * S },
		{ "1h30m", 5400 * S },
	};
	static const char *bad[] = { "", "0s", "0d", "30", "m", "30x", "-30m", "3 0m",
				     "30m ", "99999999999999999999d", "1000000000000w", NULL };
	int64_t got;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(timefmt_duration(ok[i].in, &got), 0);
		assert_int_equal(got, ok[i].want);
	}
	for (i = 0; bad[i]; i++)
		if (timefmt_duration(bad[i], &got) == 0)
			fail_msg("accepted bad DURATION \"%s\"", bad[i]);
	assert_int_not_equal(timefmt_duration(NULL, &got), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_local_time),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_duration),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
