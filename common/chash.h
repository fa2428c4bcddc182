/* chash.h — the content hash of a byte stream fed in pieces: the sha256 of
 * the whole and the chunk-tree root (FastCDC chunks, common/chunker.h, into
 * common/chunktree.h).  The device hashes what it captures and ships with
 * both (daemon/capture.c, daemon/putio.c); the controller checks fetched
 * content against the one its version carries (controller/cverify.c). */
#ifndef VIGIL_COMMON_CHASH_H
#define VIGIL_COMMON_CHASH_H

#include <stddef.h>
#include <stdint.h>

/* What a chash computes. */
#define CHASH_SHA256 0x1u   /* sha256 of the whole stream */
#define CHASH_TREE   0x2u   /* chunk-tree root */
#define CHASH_BOTH   (CHASH_SHA256 | CHASH_TREE)

struct chash;
/* what: CHASH_SHA256, CHASH_TREE or both.  NULL on ENOMEM. */
struct chash *chash_new(unsigned what);
/* Starts over, as if just made (the chunk function stays). */
void chash_reset(struct chash *h);
int  chash_feed(struct chash *h, const void *p, size_t n);   /* 0 or -errno */
/* sha256 and root (all zeros for what was not computed), *size = the bytes
 * fed.  0 or -errno.  Feed no more afterwards; reset or free. */
int  chash_finish(struct chash *h, uint8_t sha256[32], uint8_t root[32], uint64_t *size);
void chash_free(struct chash *h);   /* NULL-safe */
/* With CHASH_TREE: every chunk's (sha256, len) also goes to fn (NULL:
 * nowhere); its error aborts the feed. */
void chash_set_chunk_fn(struct chash *h, int (*fn)(void *arg, const uint8_t sha[32], uint32_t len),
			void *arg);

#endif
