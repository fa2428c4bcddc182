/* chunker.h — content-defined chunking (FastCDC with normalized chunking).
 *
 * Used by the device and the server alike, so both cut the same bytes into
 * the same chunks forever: the sizes, masks and the gear table below are part
 * of the store format (docs/store-format.md, "Chunker") and must never change.
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

/* Called once per complete chunk.  data is valid only during the call; it
 * points into the caller's input or into the chunker's own buffer. */
typedef int (*chunk_emit_fn)(void *arg, const uint8_t *data, size_t len);

struct chunker;

struct chunker *chunker_new(void);          /* NULL with errno on failure */
void chunker_free(struct chunker *c);       /* NULL-safe */
/* Start a new stream (drops any buffered partial chunk).  Also right for
 * resuming at a known chunk boundary. */
void chunker_reset(struct chunker *c);
/* Feeds n bytes; emits every chunk completed by them.  Returns 0, or the
 * first non-zero value emit returned (the chunker is then reset). */
int chunker_feed(struct chunker *c, const void *p, size_t n, chunk_emit_fn emit, void *arg);
/* Emits the last partial chunk (if any) and resets for a new stream. */
int chunker_flush(struct chunker *c, chunk_emit_fn emit, void *arg);

/* Entry i of the fixed gear table (for tests and documentation). */
uint64_t chunker_gear(unsigned i);

#endif
