/* crc32.h — zlib's CRC-32 (the gzip polynomial, as zlib's crc32()
 * computes it), with a carry-less multiply (PCLMULQDQ) path on x86-64
 * CPUs that have one, several times faster than zlib 1.2's tables: every
 * pack record's CRC-32 is computed when it is written and checked when
 * `vigil get` reads it (docs/store-format.md). */
#ifndef VIGIL_STORE_CRC32_H
#define VIGIL_STORE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* crc32(crc, p, n) exactly as zlib's, for any n (0 gives crc back). */
uint32_t crc32_fast(uint32_t crc, const void *p, size_t n);
/* Whether crc32_fast takes the carry-less multiply path on this CPU. */
int crc32_fast_simd(void);

#endif
