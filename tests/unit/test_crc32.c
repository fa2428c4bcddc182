/* test_crc32.c — crc32_fast (server/store/crc32.c) gives zlib's crc32()
 * for every length, alignment and starting value, in one call or chained,
 * on the carry-less multiply path where the CPU has one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "server/store/crc32.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint32_t zcrc(uint32_t crc, const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(crc, p, (uInt)n);
}

/* Every length 0..1100 at every alignment 0..15, and random starts. */
static void test_small_lengths(void **state)
{
	uint8_t *buf = malloc(1200);
	size_t n, a, i;

	for (i = 0; i < 1200; i++)
		buf[i] = (uint8_t)next();
	for (n = 0; n <= 1100; n++)
		for (a = 0; a < 16; a++) {
			uint32_t start = a & 1 ? (uint32_t)next() : 0;

			assert_int_equal(crc32_fast(start, buf + a, n), zcrc(start, buf + a, n));
		}
	free(buf);
}

/* Large random buffers, and one stream hashed in random pieces. */
static void test_large_and_chained(void **state)
{
	size_t n = 3u << 20, off = 0, i;
	uint8_t *buf = malloc(n);
	uint32_t want, got = 0;

	for (i = 0; i < n; i++)
		buf[i] = (uint8_t)next();
	memset(buf + 1000, 0, 70000);   /* long zero runs too */
	memset(buf + 200000, 0xff, 5000);
	want = zcrc(0, buf, n);
	assert_int_equal(crc32_fast(0, buf, n), want);
	while (off < n) {
		size_t k = (size_t)(next() % 20000);

		if (k > n - off)
			k = n - off;
		got = crc32_fast(got, buf + off, k);
		off += k;
	}
	assert_int_equal(got, want);
	assert_int_equal(crc32_fast(0, "123456789", 9), 0xcbf43926u);   /* the check value */
	print_message("carry-less multiply path: %s\n", crc32_fast_simd() ? "yes" : "no");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_lengths),
		cmocka_unit_test(test_large_and_chained),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
