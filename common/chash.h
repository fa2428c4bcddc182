/* chash.h — the content hash of a byte stream fed in pieces: the sha256 of
 * the whole and the chunk-tree root (FastCDC chunks, common/chunker.h, into
 * common/chunktree.h), or, for a first upload streamed as it is read, only
 * an XXH3-128 digest of the whole and the chunks' fingerprints.  The device hashes what it captures and ships with
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
/* XXH3-128 of the whole stream (CHASH_DIGEST_LEN bytes, canonical form):
 * the end-to-end check of a WHOLE sent as it is read (docs/protocol.md),
 * ~20x cheaper than sha256 here */
#define CHASH_DIGEST 0x4u
/* FastCDC chunks, each fingerprinted (chash_set_fp) and given to the chunk
 * function without a sha256 (NULL): no chunk sha256, no tree root */
#define CHASH_CHUNKS 0x8u
#define CHASH_DIGEST_LEN 16

struct chash;
/* what: CHASH_SHA256, CHASH_TREE or both.  NULL on ENOMEM. */
struct chash *chash_new(unsigned what);
/* Starts over, as if just made (the chunk function stays). */
void chash_reset(struct chash *h);
int  chash_feed(struct chash *h, const void *p, size_t n);   /* 0 or -errno */
/* sha256 and root (all zeros for what was not computed), *size = the bytes
 * fed.  0 or -errno.  Feed no more afterwards; reset or free. */
int  chash_finish(struct chash *h, uint8_t sha256[32], uint8_t root[32], uint64_t *size);
/* With CHASH_DIGEST, after chash_finish returned 0: the digest. */
void chash_digest(const struct chash *h, uint8_t d[CHASH_DIGEST_LEN]);
/* The same digest of p[0..n) in one call. */
void chash_digest_of(const void *p, size_t n, uint8_t d[CHASH_DIGEST_LEN]);
void chash_free(struct chash *h);   /* NULL-safe */
/* With CHASH_TREE or CHASH_CHUNKS: every chunk's (sha256, len,
 * fingerprint) also goes to fn (NULL: nowhere); fp is NULL without a
 * fingerprint secret, sha NULL with CHASH_CHUNKS alone.  Its error aborts
 * the feed. */
typedef int (*chash_chunk_fn)(void *arg, const uint8_t sha[32], uint32_t len, const uint8_t *fp);
void chash_set_chunk_fn(struct chash *h, chash_chunk_fn fn, void *arg);

/* Chunk fingerprints: XXH3-128 keyed with a secret of CHASH_FP_SECRET
 * bytes (made by chash_fp_secret from random bytes and kept by the
 * caller, so that nobody without it can craft two chunks with the same
 * fingerprint).  Much cheaper than sha256: a chunk whose (length,
 * fingerprint) is a chunk the caller already knows (a shipped version's
 * chunk list) takes that chunk's sha256 instead of hashing it again. */
#define CHASH_FP_LEN    16
#define CHASH_FP_SECRET 192
/* The secret from seed[0..n) (n >= 16 random bytes).  0 or -EINVAL. */
int  chash_fp_secret(uint8_t secret[CHASH_FP_SECRET], const void *seed, size_t n);
void chash_fingerprint(const uint8_t secret[CHASH_FP_SECRET], const void *p, size_t n,
		       uint8_t fp[CHASH_FP_LEN]);
/* With CHASH_TREE: fingerprint every chunk with secret (kept by the caller
 * while h lives); known (may be NULL) is asked first with each chunk's
 * (fingerprint, len) and returns 1 with the chunk's sha256 in sha when it
 * knows it (then it is not computed), else 0. */
typedef int (*chash_known_fn)(void *arg, const uint8_t fp[CHASH_FP_LEN], uint32_t len,
			      uint8_t sha[32]);
void chash_set_fp(struct chash *h, const uint8_t *secret, chash_known_fn known, void *arg);
/* Chunks whose sha256 was computed, and chunks fingerprinted, since
 * chash_new (resets do not clear them). */
void chash_counts(const struct chash *h, uint64_t *sha_chunks, uint64_t *fp_chunks);

#endif
