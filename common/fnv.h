/* fnv.h — FNV-1a, the one non-cryptographic hash vigil uses: in-memory
 * tables (rangetab buckets, the fanotify tracker's once-per-round set),
 * the mount-table signature, and textindex's line hash that picks piece
 * boundaries (so its 32-bit values must never change: they decide where
 * stored pieces are cut).  Nothing here is safe against an adversary;
 * use SHA-256 where input is hostile and collisions matter. */
#ifndef VIGIL_FNV_H
#define VIGIL_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV64_BASIS 14695981039346656037ULL
#define FNV64_PRIME 1099511628211ULL
#define FNV32_BASIS 2166136261u
#define FNV32_PRIME 16777619u

/* Continues hash h (start with FNV64_BASIS) over n bytes at p. */
static inline uint64_t fnv1a64(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * FNV64_PRIME;
	return h;
}

/* Continues hash h over the bytes of the string s (not its NUL). */
static inline uint64_t fnv1a64_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * FNV64_PRIME;
	return h;
}

/* One byte of 32-bit FNV-1a (start with FNV32_BASIS). */
static inline uint32_t fnv1a32_byte(uint32_t h, uint8_t b)
{
	return (h ^ b) * FNV32_PRIME;
}

#endif
