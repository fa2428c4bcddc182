/* test_clock.c — the clocks read what the kernel's do, in the stated
 * units; monotonic time never goes back; deadlines are normalised and
 * land ms after now. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "common/clock.h"

#define MS 1000000LL

static int64_t kernel_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void test_units(void **state)
{
	static const struct { const char *name; int64_t (*read)(void); clockid_t id; } cases[] = {
		{ "mono_ns", mono_ns, CLOCK_MONOTONIC },
		{ "real_ns", real_ns, CLOCK_REALTIME },
		{ "boot_ns", boot_ns, CLOCK_BOOTTIME },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t a = kernel_ns(cases[i].id), v = cases[i].read(), b = kernel_ns(cases[i].id);

		if (v < a || v > b)
			fail_msg("%s: %lld not within [%lld, %lld]", cases[i].name,
				 (long long)v, (long long)a, (long long)b);
	}
	{
		int64_t a = kernel_ns(CLOCK_MONOTONIC) / MS, v = mono_ms(),
			b = kernel_ns(CLOCK_MONOTONIC) / MS;

		assert_true(v >= a && v <= b);
	}
	assert_true(real_ns() / NS_PER_S - time(NULL) <= 1);
}

static void test_monotonic(void **state)
{
	int64_t last = mono_ns(), last_ms = mono_ms();

	for (int i = 0; i < 100000; i++) {
		int64_t n = mono_ns(), m = mono_ms();

		assert_true(n >= last);
		assert_true(m >= last_ms);
		last = n;
		last_ms = m;
	}
}

static void test_deadline(void **state)
{
	static const long cases[] = { 0, 1, 999, 1000, 1001, 1500, 60000, 3600000 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t before = real_ns();
		struct timespec d = deadline_in_ms(cases[i]);
		int64_t after = real_ns(), at = (int64_t)d.tv_sec * NS_PER_S + d.tv_nsec;

		assert_true(d.tv_nsec >= 0 && d.tv_nsec < NS_PER_S);
		if (at < before + cases[i] * MS || at > after + cases[i] * MS)
			fail_msg("deadline_in_ms(%ld) off by %lld ns", cases[i],
				 (long long)(at - before - cases[i] * MS));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
