/* fill.h — pseudo-random test bytes: n bytes of xorshift64 from seed, the
 * same bytes for the same seed.  The store's tests (store_fixture.h), the
 * S3 client's test and its bench (tests/scale/test_s3.c, bench/s3bench.c)
 * fill content with it. */
#ifndef VIGIL_TEST_FILL_H
#define VIGIL_TEST_FILL_H

#include <stddef.h>
#include <stdint.h>

static inline void fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

#endif
