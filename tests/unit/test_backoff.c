/* test_backoff.c — common/backoff.c: the bases double from min to max and
 * stay there, every wait lies within [0.75, 1.25] x its base and they are
 * not all the same (jitter), a reset starts over from min; vigild's
 * reconnect figures (500 ms to 5 min) take 10 failed attempts to reach
 * their cap, and at the cap no wait is shorter than 3.75 minutes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/backoff.h"

static void test_doubling(void **state)
{
	static const struct { int min, max; } cases[] = {
		{ 500, 300000 }, { 500, 15000 }, { 4, 4 }, { 100, 150 }, { 1000, 1000000 },
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct backoff b;
		int base = cases[c].min, lo = 1 << 30, hi = 0;

		backoff_init(&b, cases[c].min, cases[c].max);
		for (int i = 0; i < 40; i++) {
			int w = backoff_next(&b);

			assert_true(w >= base - base / 4);
			assert_true(w <= base + base / 4 + 1);
			if (base == cases[c].max) {
				lo = w < lo ? w : lo;
				hi = w > hi ? w : hi;
			}
			base = base > cases[c].max / 2 ? cases[c].max : base * 2;
		}
		if (cases[c].max >= 1000)
			assert_true(lo < hi);   /* jittered */
		backoff_reset(&b);
		{
			int w = backoff_next(&b);

			assert_true(w >= cases[c].min - cases[c].min / 4 &&
				    w <= cases[c].min + cases[c].min / 4 + 1);
		}
	}
}

static void test_vigild_figures(void **state)
{
	struct backoff b;
	int64_t total = 0;
	int i, w;

	(void)state;
	backoff_init(&b, 500, 300000);
	/* the first nine waits: 500 ms x 2^0 .. 2^8, each within +-25 % */
	for (i = 0; i < 9; i++)
		total += backoff_next(&b);
	assert_true(total <= (int64_t)(500 * 511) * 5 / 4 + 9);
	/* the tenth: 500 ms x 2^9 = 256 s (+-25 %); from then on the 5 min cap */
	w = backoff_next(&b);
	assert_true(w >= 192000 && w <= 320000);
	for (i = 0; i < 100; i++) {
		w = backoff_next(&b);
		assert_true(w >= 225000 && w <= 375000);   /* 5 min +-25 % */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubling),
		cmocka_unit_test(test_vigild_figures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
