/* chunkdelta.h — a librsync delta of a file being captured that runs
 * librsync only where the shipped version's chunk list does not already
 * prove the bytes unchanged, against signatures of the old bytes around
 * those places only (never the whole file's).
 *
 * The capture pass fingerprints every FastCDC chunk (common/chash.h).  A
 * new chunk whose length and keyed fingerprint are those of the next one of
 * the old list (or one within CD_LOOKAHEAD entries after it: an insertion
 * or deletion shifted the rest) is old bytes at a known old offset: it
 * becomes a COPY without librsync seeing it, and its sha256 is the old
 * entry's (chunkdelta_known), not computed again.  Past a deletion longer
 * than that window, 4 chunks missed in a row (then 8, 16, ...: a file
 * rewritten entirely costs O(log n) probes) stream the list beyond the
 * window for the missing chunk (a second reader, memory bounded); found,
 * the cursor jumps to it (the entries skipped were deleted).  The other
 * chunks, in maximal runs, cut into segments of at most CD_SEGMENT bytes,
 * each go through their own librsync delta job against the signature of the
 * old region the segment replaces: from the old offset after the last
 * matched chunk, as long as the segment, widened by CHUNK_MAX each side so
 * data moved nearby is still found, and at least CD_REGION_MIN long, so
 * that runs close together share one region (one round trip to the
 * server).  The caller's get_sig supplies that signature (vigild asks the
 * server: MSG_DEV_RSIG, docs/protocol.md), so memory is bounded by a
 * region, not the file, and nothing about a file is kept for its next delta
 * but its chunk list.  The job's COPY offsets, relative to its region, are
 * moved to old offsets.  The output is one delta in librsync's format
 * (magic, commands, END), adjacent COPYs merged, so the server's patcher
 * reads it as any other.  A chunk match is a (length, fingerprint) match
 * (sha256 when the capture has no fingerprints, or the old entry has none:
 * a list fetched from the server); the fingerprint is keyed with the
 * device's secret, so a collision cannot be crafted, and the server checks
 * the rebuilt content's tree root. */
#ifndef VIGIL_DAEMON_CHUNKDELTA_H
#define VIGIL_DAEMON_CHUNKDELTA_H

#include <stddef.h>
#include <stdint.h>

#include <librsync.h>

#define CD_LOOKAHEAD 256     /* old entries searched past the cursor (~2 MiB) */
#define CD_HOLD (256 * 1024) /* bytes given before their chunk is told */
#define CD_SEGMENT (16u << 20) /* most bytes of a changed run per librsync job */
#define CD_REGION_MIN (1u << 20) /* least old bytes of one region asked for */


/* The librsync signature (common/rsync_params.h) of the old bytes [off,
 * off+len) (len may be 0: an empty signature), hash table built, owned by
 * the caller.  0 or -errno. */
typedef int (*cd_sig_fn)(void *arg, uint64_t off, uint64_t len, rs_signature_t **out);

struct chunkdelta;
/* A delta of path's new content against its shipped version (chunk-tree
 * root key, size old_size): its chunk list is STATE's (opened now), the
 * signatures of the regions come from get_sig(sig_arg, ...) when needed.
 * The delta goes to an anonymous temp file in tmpdir.  0, -ENOENT (no
 * list of that version) or -errno. */
int chunkdelta_new(const char *statedir, const char *tmpdir, const char *path,
		   const uint8_t key[32], uint64_t old_size, cd_sig_fn get_sig, void *sig_arg,
		   struct chunkdelta **out);
int chunkdelta_reset(struct chunkdelta *d);       /* start over (torn read) */
/* The content's next chunk (its sha256 and length), in order; it may be
 * told before or after its bytes are given to chunkdelta_data, as long as
 * at most CD_HOLD bytes are given before the chunk that holds them is
 * told (the capture tells a read's chunks first: at most one chunk
 * waits). */
int chunkdelta_chunk(struct chunkdelta *d, const uint8_t sha[32], uint32_t len,
		     const uint8_t *fp);
/* Whether the next chunk, of length len and fingerprint fp, will match an
 * old one (by the rule above, without moving the cursor): 1 and that
 * chunk's sha256 in sha, or 0. */
int chunkdelta_known(struct chunkdelta *d, const uint8_t fp[16], uint32_t len, uint8_t sha[32]);
/* The content's next bytes, in order. */
int chunkdelta_data(struct chunkdelta *d, const uint8_t *p, size_t n);
/* Finishes: *fd is the delta (rewound, owned by d), *size its length. */
int chunkdelta_finish(struct chunkdelta *d, int *fd, uint64_t *size);
/* Bytes that went through librsync (the rest were chunk matches). */
uint64_t chunkdelta_rsync_bytes(const struct chunkdelta *d);
/* Regions whose signature was asked for, and *bytes: their old bytes. */
uint64_t chunkdelta_sig_regions(const struct chunkdelta *d, uint64_t *bytes);
/* Probes of the old list past the window, and *entries: entries they read. */
uint64_t chunkdelta_probes(const struct chunkdelta *d, uint64_t *entries);
void chunkdelta_free(struct chunkdelta *d);       /* NULL-safe */

#endif
