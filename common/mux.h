/* mux.h — a multiplexed, flow-controlled connection over one TLS session.
 *
 * Both ends (device, controller, server) use this.  One I/O thread per
 * connection owns the SSL object (OpenSSL must not be read and written from
 * two threads at once); other threads hand it frames through per-stream
 * bounded queues.  The I/O thread sends round-robin across streams, one frame
 * (<= MUX_FRAME_MAX bytes) at a time, so a control message waits behind at
 * most one frame of each busy stream, never behind a whole upload.
 *
 * A stream carries, in each direction, a sequence of items: MSG (a typed
 * message), DATA (bulk bytes) and finally END.  DATA and MSG frames consume
 * per-stream credit (MUX_WINDOW bytes); the receiver returns credit as the
 * application consumes items with mux_recv(), so a slow consumer stalls only
 * its own stream and the I/O thread never blocks on it.
 *
 * The wire format (frame header, kinds, limits, versioning) is in
 * docs/protocol.md. */
#ifndef VIGIL_MUX_H
#define VIGIL_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "common/buf.h"

/* 2: MSG_PUT_TRAILER (a WHOLE body sent in the pass that hashes it)
 * 3: HELLO carries the receive window this end grants each stream
 * 5: a device report carries its instant, MSG_STATUS it and the report's arrival
 * 6: an entry carries the content's XXH3-128 digest (common/proto.h) */
#define MUX_VERSION       6
#define MUX_FRAME_MAX     65536          /* payload bytes per frame */
#define MUX_WINDOW        (512 * 1024)   /* per-stream receive window, bytes (default, least) */
#define MUX_WINDOW_MAX    (16 << 20)     /* the most a HELLO may grant */
/* What a bulk reader (vigil get, vigil mount) grants: deep enough that the
 * four threads of a transfer (reader, sender, receiver, consumer) keep two
 * CPUs busy through scheduling delays of a few ms. */
#define MUX_WINDOW_BULK   (4 << 20)
/* What the server grants a device's streams (server/srv.c): credit comes
 * back every quarter of it, so an upload's reader thread waits and is
 * woken once per 256 KiB instead of per 128 KiB (the server's memory
 * bound per identity: server/limits.h). */
#define MUX_WINDOW_DEVICE (1 << 20)
/* DATA a stream queues for the I/O thread at most, whatever credit the
 * peer gave: a window larger than this (MUX_WINDOW_DEVICE) costs the
 * sender no memory, it only returns credit, and so wakes the sender,
 * less often.  A sender held back by it is woken once the queue is down
 * to MUX_OQ_LOW, not at every frame. */
#define MUX_OQ_MAX        (512 * 1024)
#define MUX_OQ_LOW        (MUX_OQ_MAX / 2)
#define MUX_MAX_STREAMS   64             /* streams open at once per connection */
#define MUX_PING_MS       10000          /* keepalive interval when idle */
#define MUX_DEAD_MS       30000          /* no frame at all for this long: dead */
/* A device's connections (vigild's, and the server's end of them) idle
 * for hours, and every frame wakes the phone (its radio, its CPU, a vigild
 * thread): the server pings a device connection after MUX_DEVICE_PING_MS
 * without a frame and drops it when no answer came within a minute; the
 * device pings only when the server has been silent a minute past that,
 * and gives the connection up a minute later still.  So an idle device
 * costs one wake-up per connection every 5 minutes (it holds two: the
 * command link and one shipping connection), and a dead peer is noticed
 * within 6-7 minutes; a request on a dead connection fails sooner, by its
 * own timeout.  5 minutes stays under the idle timeouts of most NATs and
 * carrier firewalls for established TCP; an older peer's 10 s pings are
 * still answered (docs/protocol.md, "Keepalive"; docs/daemon.md, "Idle and
 * battery"). */
#define MUX_DEVICE_PING_MS      (5 * 60 * 1000)
#define MUX_DEVICE_DEAD_MS      (MUX_DEVICE_PING_MS + 60 * 1000)
#define MUX_DEVICE_SELF_PING_MS (MUX_DEVICE_PING_MS + 60 * 1000)
#define MUX_DEVICE_SELF_DEAD_MS (MUX_DEVICE_PING_MS + 120 * 1000)

enum mux_item {
	MUX_MSG  = 1,   /* *type set, payload in out */
	MUX_DATA = 2,   /* bytes in out (<= MUX_FRAME_MAX) */
	MUX_END  = 3,   /* peer finished sending on this stream */
};

struct mux;
struct mux_stream;
struct mux_limit;

/* A bound on the streams the peers of several connections hold open
 * together (the server keeps one per identity: each open stream may pin
 * MUX_WINDOW of received frames, and many connections would otherwise
 * multiply the per-connection bound).  An OPEN beyond it is refused with
 * a reset, as one beyond max_streams is.  Set max, zero the rest; it is
 * shared lock-free by the I/O threads of the connections naming it. */
struct mux_budget {
	unsigned max;
	unsigned held;        /* streams open now (atomic) */
	uint64_t refused;     /* OPENs refused for it (atomic) */
};

/* Takes one stream from b (NULL: no budget): true, or false (counted). */
static inline bool mux_budget_take(struct mux_budget *b)
{
	unsigned h;

	if (!b)
		return true;
	h = __atomic_load_n(&b->held, __ATOMIC_RELAXED);
	do {
		if (h >= b->max) {
			__atomic_fetch_add(&b->refused, 1, __ATOMIC_RELAXED);
			return false;
		}
	} while (!__atomic_compare_exchange_n(&b->held, &h, h + 1, false,
					      __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	return true;
}

/* Gives back a stream mux_budget_take took. */
static inline void mux_budget_put(struct mux_budget *b)
{
	if (b)
		__atomic_fetch_sub(&b->held, 1, __ATOMIC_ACQ_REL);
}

struct mux_ops {
	/* A stream the peer opened.  Called in a thread of its own that the
	 * mux starts (at most MUX_MAX_STREAMS at once; beyond that the peer's
	 * OPEN is refused with a reset; with a limit, the stream may first
	 * wait for a slot).  The handler owns s and must call
	 * mux_stream_close(s) before returning.  msg is valid during the call. */
	void (*on_stream)(struct mux *m, struct mux_stream *s, uint16_t type,
			  const uint8_t *msg, size_t len, void *arg);
	/* The connection ended (peer closed, error, keepalive timeout).
	 * Called once from the I/O thread; may be NULL. */
	void (*on_close)(struct mux *m, void *arg);
	/* Handler threads shared with other connections (NULL: only the
	 * per-connection bound).  Must outlive the mux. */
	struct mux_limit *limit;
	/* Streams the peer may hold open at once on this connection, at most
	 * MUX_MAX_STREAMS (0: MUX_MAX_STREAMS); an OPEN beyond is refused. */
	unsigned max_streams;
	/* Streams shared with other connections (NULL: none); an OPEN beyond
	 * it is refused.  Must outlive the mux. */
	struct mux_budget *budget;
	/* The receive window this end grants each stream, announced in its
	 * HELLO: MUX_WINDOW (0) .. MUX_WINDOW_MAX.  What the peer may have
	 * queued unread here, per stream. */
	size_t rx_window;
	/* What this end accepts beyond its version (MUX_FEAT_*), announced
	 * in its HELLO after the window; a peer of version 6 without this
	 * field ignores it, and its own HELLO then says 0. */
	uint32_t features;
};

/* The server takes a streamed WHOLE's chunk boundaries from the device
 * (MSG_PUT_CUTS, docs/protocol.md) */
#define MUX_FEAT_CUTS 1u

/* A bound on stream handlers running at once, shared by every connection
 * whose mux_ops name it.  A stream the peer opens beyond it is accepted
 * (its data flows up to the window) and waits, oldest first, until a
 * handler anywhere returns; its thread starts only then.  `share` bounds
 * what one connection holds, so a connection that opens many streams
 * cannot take every slot.  Returns NULL with errno on failure. */
struct mux_limit *mux_limit_new(unsigned max, unsigned share);
/* Every mux using l must have been freed.  NULL is a no-op. */
void mux_limit_free(struct mux_limit *l);

struct mux_limit_stats {
	unsigned running;    /* slots held now (handlers running or starting) */
	unsigned waiting;    /* streams waiting for a slot now */
	unsigned peak;       /* most slots ever held at once */
	uint64_t waited;     /* streams that ever had to wait */
};
void mux_limit_stats(struct mux_limit *l, struct mux_limit_stats *out);

/* Takes ownership of ssl and fd (TLS handshake already complete, fd may be
 * blocking or not; the mux makes it non-blocking).  Starts the I/O thread.
 * Returns NULL with errno set on failure (ssl and fd are then freed). */
struct mux *mux_new(SSL *ssl, int fd, const struct mux_ops *ops, void *arg);
/* Closes the connection: every blocked call returns -ECONNRESET. */
void mux_shutdown(struct mux *m);
/* mux_shutdown, waits for the I/O thread and all stream threads, frees.
 * Must not be called from a stream handler.  mux_free(NULL) is a no-op. */
void mux_free(struct mux *m);
bool mux_alive(const struct mux *m);
/* Names the peer in log lines ("device phone1"); default: its address. */
void mux_set_label(struct mux *m, const char *label);
/* Waits until the peer's HELLO arrived (the peer accepted the TLS session
 * and speaks our version): 0, -ETIMEDOUT, or -ECONNRESET (see
 * mux_last_error for why). */
int mux_wait_ready(struct mux *m, int timeout_ms);
/* The features the peer's HELLO announced (0 before it came, or from a
 * peer that names none). */
uint32_t mux_peer_features(struct mux *m);
/* Why the connection ended ("" while it is alive). */
void mux_last_error(struct mux *m, char *out, size_t cap);
/* Keepalive timing (default MUX_PING_MS / MUX_DEAD_MS; a device's
 * connections: MUX_DEVICE_*, both ends; tests: shorter). */
void mux_set_timeouts(struct mux *m, int ping_ms, int dead_ms);

/* Opens a stream with a first message (<= MUX_FRAME_MAX bytes).
 * Returns NULL with errno (ECONNRESET, EMSGSIZE, EAGAIN: too many streams). */
struct mux_stream *mux_open(struct mux *m, uint16_t type, const void *msg, size_t len);
/* Queue a message / bulk bytes / END.  Block while the stream has no credit
 * or its out-queue is full.  Return 0 or -ECONNRESET (connection or stream
 * gone), -EMSGSIZE (message too big), -EPIPE (END already sent). */
int mux_send_msg(struct mux_stream *s, uint16_t type, const void *msg, size_t len);
int mux_send_data(struct mux_stream *s, const void *p, size_t n);   /* any n; split into frames */
int mux_send_end(struct mux_stream *s);
/* Sending without a copy: mux_buf_new gives a buffer of MUX_FRAME_MAX
 * bytes (NULL with errno), mux_send_buf queues n bytes of it as one DATA
 * frame, as mux_send_data would, and takes the buffer in every case (the
 * I/O thread frees it once written).  mux_buf_free drops an unsent one. */
void *mux_buf_new(void);
int mux_send_buf(struct mux_stream *s, void *p, size_t n);
void mux_buf_free(void *p);
/* 64 KiB frame blocks kept for reuse now: at most 16, and none once no
 * stream that sent such frames is open (tests). */
size_t mux_pool_held(void);
/* The next item from the peer.  out is reset and filled (it must allow at
 * least MUX_FRAME_MAX bytes); a large item's block is handed over into out
 * (out->data is then a new block: pointers into the previous item's bytes
 * do not survive the call).  timeout_ms < 0 waits forever.  Returns a
 * positive enum mux_item, -ETIMEDOUT, or -ECONNRESET (connection died or the
 * peer reset the stream).  After MUX_END, further calls return MUX_END. */
int mux_recv(struct mux_stream *s, uint16_t *type, struct buf *out, int timeout_ms);
/* Ends the stream: sends a reset if either side has not finished, frees s. */
void mux_stream_close(struct mux_stream *s);

/* Raw one-shot exchange: open with (type, req), send END, wait for one MSG
 * of any type (a MSG_ERROR is returned as such, not mapped).  Programs use
 * common/rpc.h, which checks the reply type and maps MSG_ERROR; tests use
 * this to see raw replies.  Returns 0 and fills *rtype/reply, or
 * -errno.  The stream is closed. */
int mux_call(struct mux *m, uint16_t type, const struct buf *req,
	     uint16_t *rtype, struct buf *reply, int timeout_ms);

#endif
