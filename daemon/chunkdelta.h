/* chunkdelta.h — a librsync delta of a file being captured that runs
 * librsync only where the shipped version's chunk list does not already
 * prove the bytes unchanged.
 *
 * The capture pass fingerprints every FastCDC chunk (common/chash.h).  A
 * new chunk whose length and keyed fingerprint are those of the next one
 * of the old list (or one within CD_LOOKAHEAD entries after it: an
 * insertion or deletion shifted the rest) is old bytes at a known old
 * offset: it becomes a COPY without librsync seeing it, and its sha256 is
 * the old entry's (chunkdelta_known), not computed again.  The other chunks, in maximal runs, each go through
 * their own librsync delta job against the old version's whole signature
 * (loaded only when the first such run starts), so moved data is still
 * found.  The output is one delta in librsync's format (magic, commands,
 * END), adjacent COPYs merged, so the server's patcher and sigderive.c
 * read it as any other.  A chunk match is a (length, fingerprint) match
 * (sha256 when the capture has no fingerprints); the fingerprint is keyed
 * with the device's secret, so a collision cannot be crafted, and the
 * server checks the rebuilt content's tree root. */
#ifndef VIGIL_DAEMON_CHUNKDELTA_H
#define VIGIL_DAEMON_CHUNKDELTA_H

#include <stddef.h>
#include <stdint.h>

#define CD_LOOKAHEAD 256     /* old entries searched past the cursor (~2 MiB) */
#define CD_HOLD (256 * 1024) /* bytes given before their chunk is told */

struct chunkdelta;
/* A delta of path's new content against its shipped version (chunk-tree
 * root key, size old_size): its chunk list and cached signature are
 * STATE's (opened now / loaded when needed).  The delta goes to an
 * anonymous temp file in tmpdir.  0, -ENOENT (no list of that version)
 * or -errno. */
int chunkdelta_new(const char *statedir, const char *tmpdir, const char *path,
		   const uint8_t key[32], uint64_t old_size, struct chunkdelta **out);
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
void chunkdelta_free(struct chunkdelta *d);       /* NULL-safe */

#endif
