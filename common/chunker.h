/* chunker.h — content-defined chunking (FastCDC with normalized chunking),
 * with fixed page-sized chunks for SQLite databases.
 *
 * Used by the device and the server alike, so both cut the same bytes into
 * the same chunks forever: the sizes, masks, the gear table and the mode
 * rule below are part of the store format (docs/store-format.md, "Chunker")
 * and must never change.
 *
 * Mode: the first CHUNK_DETECT_LEN bytes of a stream decide how the whole
 * stream is cut (chunker_detect).  A stream starting with a SQLite database
 * header of a valid page size is cut into fixed chunks of
 * max(page size, CHUNK_SQLITE_MIN) bytes (the last one may be shorter), so
 * a changed page costs one small chunk; any other stream is cut by FastCDC.
 *
 * Streaming: bytes may be fed in pieces of any size; the chunk boundaries
 * depend only on the bytes, never on how they were split into feed calls. */
#ifndef VIGIL_CHUNKER_H
#define VIGIL_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#define CHUNK_MIN   2048u     /* no cut before this many bytes (except at the end) */
#define CHUNK_AVG   8192u     /* "normal size": the strict mask applies below it */
#define CHUNK_MAX   65536u    /* a chunk never exceeds this */

#define CHUNK_DETECT_LEN 18u   /* bytes that decide a stream's mode */
#define CHUNK_SQLITE_MIN 4096u /* smallest fixed chunk of a SQLite stream */

/* A stream's mode, as returned by chunker_detect/chunker_mode:
 *   CHUNK_MODE_UNSET  the chunker has not yet seen CHUNK_DETECT_LEN bytes
 *                     of its stream (only chunker_mode returns this)
 *   CHUNK_MODE_CDC    FastCDC
 *   any other value   fixed chunks of that many bytes (a power of two,
 *                     CHUNK_SQLITE_MIN..CHUNK_MAX): a SQLite database */
#define CHUNK_MODE_UNSET 0u
#define CHUNK_MODE_CDC   1u

/* Called once per complete chunk.  data is valid only during the call; it
 * points into the caller's input or into the chunker's own buffer. */
typedef int (*chunk_emit_fn)(void *arg, const uint8_t *data, size_t len);

struct chunker;

struct chunker *chunker_new(void);          /* NULL with errno on failure */
void chunker_free(struct chunker *c);       /* NULL-safe */
/* Start a new stream (drops any buffered partial chunk; mode UNSET). */
void chunker_reset(struct chunker *c);
/* Feeds n bytes; emits every chunk completed by them.  Returns 0, or the
 * first non-zero value emit returned (the chunker is then reset). */
int chunker_feed(struct chunker *c, const void *p, size_t n, chunk_emit_fn emit, void *arg);
/* Emits the last partial chunk (if any) and resets for a new stream. */
int chunker_flush(struct chunker *c, chunk_emit_fn emit, void *arg);

/* The mode of a stream that begins with head[0..n).  n must be at least
 * CHUNK_DETECT_LEN, or the whole stream (a shorter stream is a single chunk
 * in every mode; CHUNK_MODE_CDC is returned for it). */
uint32_t chunker_detect(const void *head, size_t n);

/* The current stream's mode (CHUNK_MODE_UNSET until CHUNK_DETECT_LEN bytes
 * were fed since the last reset/flush). */
uint32_t chunker_mode(const struct chunker *c);

/* Resuming a stream in the middle, at one of its chunk boundaries (the
 * bytes before it were chunked earlier, by this or another chunker):
 *
 *     chunker_reset(c);
 *     chunker_set_mode(c, chunker_detect(first bytes of the stream, n));
 *     chunker_feed(c, bytes from the boundary on, ...);
 *
 * The mode must be the one of the WHOLE stream, detected from its first
 * bytes, not from the bytes at the boundary: a SQLite file resumed at
 * page 100 is still cut into pages.  A boundary is an offset where an
 * earlier chunk of this same stream ended (in a fixed mode: a multiple of
 * the mode).  Returns 0, or -EINVAL if mode is not a valid mode or the
 * chunker holds bytes of an unfinished chunk (not at a boundary).
 * chunker_set_mode(c, CHUNK_MODE_UNSET) is chunker_reset(c). */
int chunker_set_mode(struct chunker *c, uint32_t mode);

/* Given cuts: the caller says where each chunk ends (a device that chunked
 * the same bytes already; the server then need not find the ends itself),
 * and the chunker checks that each is the chunk it would have cut: in a
 * fixed mode by its length; in FastCDC by testing the gear hash at the
 * chunk's last byte, which needs only the 64 bytes before it, and, for
 * one chunk in `sample` on average picked with a xorshift64 seeded by
 * `seed` (a secret of the caller's: the sender must not know which), by
 * scanning the whole chunk for an earlier cut point (sample 1: every
 * chunk, as exact as chunking and as dear).  A chunk that fails, bytes
 * past CHUNK_MAX with no cut announced, or a cut announced past the
 * stream's end (flush) is -EBADMSG from chunker_feed/chunker_flush.  The
 * stream's last chunk is never announced: flush emits what is left.
 * Stays in force until chunker_free; chunker_reset drops the announced
 * cuts not yet reached. */
#define CHUNK_CUTS_MAX 256u   /* announced and not yet reached */
void chunker_take_cuts(struct chunker *c, uint32_t sample, uint64_t seed);
/* Announces the next n chunks' lengths.  0; -EINVAL without
 * chunker_take_cuts; -ENOSPC past CHUNK_CUTS_MAX pending; -EBADMSG for a
 * length of 0 or over CHUNK_MAX. */
int chunker_push_cuts(struct chunker *c, const uint32_t *len, size_t n);

/* Entry i of the fixed gear table (for tests and documentation). */
uint64_t chunker_gear(unsigned i);

#endif
