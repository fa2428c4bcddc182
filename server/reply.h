/* reply.h — what a request handler sends back on its stream: one message,
 * an error (MSG_ERROR {code, text}), or a listing as counted batches
 * ({u32 n, item * n} per message, each message at most a set size).
 *
 * A leaf module: it knows the mux and the wire encoding, nothing of the
 * server's state, so every handler (ingest, query, search, and whatever
 * comes next) replies the same way. */
#ifndef VIGIL_SERVER_REPLY_H
#define VIGIL_SERVER_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/mux.h"

#define REPLY_BATCH_BYTES (60 * 1024)   /* items per batch message, bytes */

/* Sends one message whose body is in b (NULL: empty); 0 or -errno. */
int reply(struct mux_stream *s, uint16_t type, const struct buf *b);
/* Sends one message whose body is a u64. */
int reply_u64(struct mux_stream *s, uint16_t type, uint64_t v);
/* Sends MSG_ERROR{code, text} (errors ignored: the peer may be gone). */
void reply_error(struct mux_stream *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Encoded items gathered into messages of one type: {u32 n, items}. */
struct reply_batch {
	struct mux_stream *s;
	uint16_t type;
	uint32_t n;          /* items in body */
	struct buf body;     /* encoded items, at most REPLY_BATCH_BYTES */
	struct buf msg;      /* the message being sent */
};

void reply_batch_init(struct reply_batch *rb, struct mux_stream *s, uint16_t type);
void reply_batch_free(struct reply_batch *rb);
/* Whether an item of len bytes still fits in the pending message. */
bool reply_batch_fits(const struct reply_batch *rb, size_t len);
/* Appends one encoded item; -EMSGSIZE when it does not fit (see
 * reply_batch_fits; a caller that may send now uses reply_batch_put). */
int reply_batch_add(struct reply_batch *rb, const struct buf *item);
/* Sends the pending items as one message (nothing when there are none). */
int reply_batch_flush(struct reply_batch *rb);
/* reply_batch_add, sending the pending message first when item does not fit. */
int reply_batch_put(struct reply_batch *rb, const struct buf *item);

#endif
