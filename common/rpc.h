/* rpc.h — the side that asks, on a mux stream: open it with the request
 * message, read the reply in one of three shapes, one timeout per reply
 * item, optional cancellation, and the one place MSG_ERROR becomes an errno.
 * Either end of a connection may ask: a device or controller of the server,
 * or the server of a device on a stream it opens (MSG_SRV_COMMAND).
 *
 *   rpc_call    one reply message of an expected type    (STAT, STATUS, LATEST, REPORT)
 *   rpc_list    MSG_<item>{u32 n, item * n}..., END       (DEVICES, LS, LOG, SEARCH)
 *   rpc_stream  MSG_OK, DATA..., END into a sink         (READ, SIG)
 *   rpc_open + rpc_recv/rpc_expect: any other shape (PUT: READY, the
 *               client's DATA and END, then DONE; a stream the client fills
 *               with items before one final reply)
 *
 * Request bodies are encoded with proto_put_*_req (common/proto.h); a reply
 * is decoded by the caller (rpc_call) or by its item callback (rpc_list).
 *
 * Nothing here logs.  A failed call leaves why in r->err: the server's
 * MSG_ERROR text when r->remote, else a short phrase ("no reply",
 * "connection lost", "unexpected reply", ...); the caller, which knows the
 * target, logs it once.  The controller (controller/ctl.c), the mount
 * (controller/mount/conn.c) and the daemon (daemon/putio.c) wrap these with
 * their own timeouts, cancellation and wording.
 *
 * Return values: 0 (rpc_list: the number of items), or -errno:
 *   -code      the server's MSG_ERROR (r->remote; codes outside 1..4095 read as EIO)
 *   -ETIMEDOUT no reply item within r->timeout_ms
 *   -EINTR     *r->cancel was set while waiting
 *   -ECONNRESET the connection died or the server reset the stream
 *   -EPROTO    a reply of the wrong type or shape
 *   -EBADMSG   a reply that does not decode
 *   -E2BIG     rpc_list: more than r->max_items items
 *   -EMSGSIZE, -EAGAIN  the request could not be sent (too large; too many
 *              streams open on this connection)
 *   or the error an item callback or sink returned (r->err left empty). */
#ifndef VIGIL_RPC_H
#define VIGIL_RPC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/mux.h"
#include "common/proto.h"
#include "common/wire.h"

#define RPC_POLL_MS  500   /* how often a cancellable wait looks at *cancel */
#define RPC_END_MS   1000  /* rpc_call: wait this long for the END after the reply */

/* One call's settings and, after it, its outcome.  Cheap: one per call, on
 * the stack (calls on one mux may run in parallel, each with its own). */
struct rpc {
	struct mux *m;
	int timeout_ms;                         /* per reply item; < 0: forever */
	const volatile sig_atomic_t *cancel;    /* non-NULL: stop waiting once set */
	long max_items;                         /* rpc_list; 0: no limit */
	bool remote;                            /* out: the failure is a MSG_ERROR */
	char err[VG_ERRMSG_MAX];                /* out: why the call failed, or "" */
};

/* Zeroes r and sets m and timeout_ms (no cancel, no item limit). */
void rpc_init(struct rpc *r, struct mux *m, int timeout_ms);

/* Opens a stream whose OPEN carries (type, req); with end, sends END too
 * (the request is complete).  0 and *sp, or -errno. */
int rpc_open(struct rpc *r, uint16_t type, const struct buf *req, bool end,
	     struct mux_stream **sp);
/* The next reply item (enum mux_item) into *type/out, or -errno; a
 * MSG_ERROR is returned as -code with its text in r->err. */
int rpc_recv(struct rpc *r, struct mux_stream *s, uint16_t *type, struct buf *out);

/* The next item must be a MSG of want_type: 0 with its payload in out. */
int rpc_expect(struct rpc *r, struct mux_stream *s, uint16_t want_type, struct buf *out);

/* One reply of want_type; its payload in out (max >= MUX_FRAME_MAX). */
int rpc_call(struct rpc *r, uint16_t type, const struct buf *req, uint16_t want_type,
	     struct buf *out);

/* Each MSG_<item_type> reply is {u32 n, item * n}; one(arg, reader) decodes
 * one item from the reader and returns 0, or -errno to stop (-EBADMSG: it
 * did not decode).  Returns the number of items. */
typedef int (*rpc_item_fn)(void *arg, struct wire_reader *rd);
long rpc_list(struct rpc *r, uint16_t type, const struct buf *req, uint16_t item_type,
	      rpc_item_fn one, void *arg);

/* MSG_OK, then every DATA item to sink(arg, bytes, n) (0 to go on, -errno
 * to stop), then END.  A stream reset after MSG_OK (the server failed
 * midway) is -ECONNRESET, so a short transfer never passes for a whole one;
 * the sink, which counts what it got, tells whether anything arrived. */
typedef int (*rpc_sink_fn)(void *arg, const void *p, size_t n);
int rpc_stream(struct rpc *r, uint16_t type, const struct buf *req, rpc_sink_fn sink,
	       void *arg);

#endif
