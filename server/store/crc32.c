/* crc32.c — zlib-compatible CRC-32 by folding with carry-less multiplies
 * (see crc32.h).
 *
 * The folding follows "Fast CRC Computation for Generic Polynomials Using
 * PCLMULQDQ Instruction" (Gopal, Ozturk et al., Intel, 2009), with the
 * bit-reflected constants for the gzip polynomial given there (the same
 * ones Linux's crc32-pclmul and Chromium's zlib use): four 128-bit lanes
 * fold 64 bytes at a time, then into one lane, then a Barrett reduction to
 * 32 bits.  It takes a multiple of 16 bytes, at least 64; the rest, and
 * every CPU without PCLMULQDQ and SSE4.1, goes through zlib. */
#include "server/store/crc32.h"

#include <zlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define SIMD_MIN 64

__attribute__((target("pclmul,sse4.1")))
static uint32_t fold(const uint8_t *buf, size_t len, uint32_t crc)
{
	static const uint64_t k1k2[2] __attribute__((aligned(16))) = { 0x0154442bd4ULL, 0x01c6e41596ULL };
	static const uint64_t k3k4[2] __attribute__((aligned(16))) = { 0x01751997d0ULL, 0x00ccaa009eULL };
	static const uint64_t k5k0[2] __attribute__((aligned(16))) = { 0x0163cd6124ULL, 0 };
	static const uint64_t poly[2] __attribute__((aligned(16))) = { 0x01db710641ULL, 0x01f7011641ULL };
	__m128i x0, x1, x2, x3, x4, x5, x6, x7, x8;

	x1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)buf), _mm_cvtsi32_si128((int)crc));
	x2 = _mm_loadu_si128((const __m128i *)(buf + 16));
	x3 = _mm_loadu_si128((const __m128i *)(buf + 32));
	x4 = _mm_loadu_si128((const __m128i *)(buf + 48));
	x0 = _mm_load_si128((const __m128i *)k1k2);
	buf += 64;
	len -= 64;
	while (len >= 64) {   /* four lanes, 64 bytes a round */
		x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
		x6 = _mm_clmulepi64_si128(x2, x0, 0x00);
		x7 = _mm_clmulepi64_si128(x3, x0, 0x00);
		x8 = _mm_clmulepi64_si128(x4, x0, 0x00);
		x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
		x2 = _mm_clmulepi64_si128(x2, x0, 0x11);
		x3 = _mm_clmulepi64_si128(x3, x0, 0x11);
		x4 = _mm_clmulepi64_si128(x4, x0, 0x11);
		x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), _mm_loadu_si128((const __m128i *)buf));
		x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), _mm_loadu_si128((const __m128i *)(buf + 16)));
		x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), _mm_loadu_si128((const __m128i *)(buf + 32)));
		x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), _mm_loadu_si128((const __m128i *)(buf + 48)));
		buf += 64;
		len -= 64;
	}
	x0 = _mm_load_si128((const __m128i *)k3k4);   /* the four lanes into one */
	x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
	x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, x0, 0x11), x2), x5);
	x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
	x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, x0, 0x11), x3), x5);
	x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
	x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, x0, 0x11), x4), x5);
	while (len >= 16) {   /* the remaining 16-byte blocks */
		x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
		x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
		x1 = _mm_xor_si128(_mm_xor_si128(x1, _mm_loadu_si128((const __m128i *)buf)), x5);
		buf += 16;
		len -= 16;
	}
	/* 128 bits to 64 */
	x2 = _mm_clmulepi64_si128(x1, x0, 0x10);
	x3 = _mm_setr_epi32(~0, 0, ~0, 0);
	x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
	x0 = _mm_loadl_epi64((const __m128i *)k5k0);
	x2 = _mm_srli_si128(x1, 4);
	x1 = _mm_and_si128(x1, x3);
	x1 = _mm_xor_si128(_mm_clmulepi64_si128(x1, x0, 0x00), x2);
	/* Barrett reduction to 32 bits */
	x0 = _mm_load_si128((const __m128i *)poly);
	x2 = _mm_and_si128(x1, x3);
	x2 = _mm_clmulepi64_si128(x2, x0, 0x10);
	x2 = _mm_and_si128(x2, x3);
	x2 = _mm_clmulepi64_si128(x2, x0, 0x00);
	x1 = _mm_xor_si128(x1, x2);
	return (uint32_t)_mm_extract_epi32(x1, 1);
}

int crc32_fast_simd(void)
{
	static int have = -1;

	if (have < 0) {
		__builtin_cpu_init();
		have = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
	}
	return have;
}
#else
int crc32_fast_simd(void) { return 0; }
#endif

/* zlib takes a uInt length */
static uint32_t by_zlib(uint32_t crc, const uint8_t *b, size_t n)
{
	while (n > 0) {
		uInt k = n > (1u << 30) ? 1u << 30 : (uInt)n;

		crc = (uint32_t)crc32(crc, b, k);
		b += k;
		n -= k;
	}
	return crc;
}

uint32_t crc32_fast(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;

#if defined(__x86_64__)
	if (n >= SIMD_MIN && crc32_fast_simd()) {
		size_t k = n & ~(size_t)15;

		/* the folding works on the register zlib keeps inverted */
		crc = ~fold(b, k, ~crc);
		b += k;
		n -= k;
	}
#endif
	return by_zlib(crc, b, n);
}
