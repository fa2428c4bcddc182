/* idset.h — a set of chunk ids in memory, for the sweeper's mark set and
 * touched set (docs/store-format.md, "Sweeping unreferenced chunks").
 *
 * It keeps the first IDSET_KEY bytes of each id: ids are HMAC-SHA256
 * output, so two distinct ids share a 16-byte prefix with probability
 * 2^-128 per pair; a collision can only make the sweeper keep garbage (or
 * treat a page as walked), never lose a chunk it was told to keep.  Open
 * addressing at load <= 1/2: 32 bytes per id. */
#ifndef VIGIL_IDSET_H
#define VIGIL_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDSET_KEY 16

struct idset {
	uint8_t (*k)[IDSET_KEY];   /* cap slots; all-zero: empty */
	size_t n, cap;             /* cap: 0 or a power of two */
	bool zero;                 /* the all-zero prefix is in the set */
};

/* 1 added, 0 already there, -ENOMEM (the set is unchanged). */
int  idset_add(struct idset *s, const uint8_t *id);
bool idset_has(const struct idset *s, const uint8_t *id);
size_t idset_count(const struct idset *s);
void idset_clear(struct idset *s);   /* frees; the set is empty and reusable */

#endif
