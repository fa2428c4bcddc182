/* cache.h — the mount's content cache: fixed-size blocks of file
 * content in a fixed pool of slots, evicted least-recently-used.
 *
 * A block is named by (content id, block index).  The content id is the
 * version's chunk-tree root, so a block never goes stale and two paths with
 * the same content share their blocks.  The pool is allocated once
 * (nslots * block_size bytes, touched only as blocks load), so the memory the
 * cache can ever hold is fixed at creation, whatever the file sizes.
 *
 * A block is LOADING (one thread fills it, others that want it wait), READY,
 * or gone.  Blocks a caller holds (refs > 0) are never evicted; when every
 * slot is held, mcache_get waits for one to be released.  Thread-safe. */
#ifndef VIGIL_MOUNT_CACHE_H
#define VIGIL_MOUNT_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mcache_key {
	uint8_t id[32];     /* content id (chunk-tree root of the version) */
	uint64_t block;     /* block index: offset / block_size */
};

struct mcache;
struct mblock;          /* a held block; release with mcache_put */

/* Loads block k into dst (cap = block_size bytes).  Returns the number of
 * bytes (short only for the last block of a file) or -errno. */
typedef ssize_t (*mcache_fill_fn)(void *arg, const struct mcache_key *k, uint8_t *dst, size_t cap);

struct mcache_stats {
	uint64_t hits, misses, evictions, fills_failed, waits;
	size_t nslots, ready, loading, held;
};

/* nslots = max_bytes / block_size (at least 2).  NULL with errno on failure. */
struct mcache *mcache_new(size_t block_size, size_t max_bytes);
/* No block may be held; mcache_free(NULL) is a no-op. */
void mcache_free(struct mcache *c);
size_t mcache_block_size(const struct mcache *c);

/* The block k, loaded through fill(arg, ...) if absent (in the calling
 * thread; concurrent callers for the same block wait for that one load).
 * On 0, *out is held until mcache_put.  Returns -errno from fill (the block
 * is then forgotten, so a later call tries again). */
int mcache_get(struct mcache *c, const struct mcache_key *k, mcache_fill_fn fill, void *arg,
	       struct mblock **out);

/* For readahead: without waiting, claims a slot for k and returns 1 with
 * *out LOADING and held (the caller fills mblock_buf and calls
 * mcache_complete, then mcache_put); 0 when k is present or loading
 * already; -EBUSY when no slot is free without waiting. */
int mcache_reserve(struct mcache *c, const struct mcache_key *k, struct mblock **out);
uint8_t *mblock_buf(struct mblock *b);   /* block_size bytes, for the filler */
/* result >= 0: the block holds result bytes and is READY; < 0: the load failed. */
void mcache_complete(struct mcache *c, struct mblock *b, ssize_t result);

/* Content of a READY block. */
const uint8_t *mblock_data(const struct mblock *b, size_t *len);
void mcache_put(struct mcache *c, struct mblock *b);

void mcache_get_stats(struct mcache *c, struct mcache_stats *st);

#endif
