/* rpc.c — call, list and stream over a mux stream, and the one MSG_ERROR
 * to errno mapping (see rpc.h). */
#include "common/rpc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"

/* A peer's code becomes -errno only inside the range errno values use;
 * anything else (a hostile 0x7fffffff) reads as EIO. */
#define RPC_ERRNO_MAX 4095

static int fail(struct rpc *r, int e, const char *what)
{
	snprintf(r->err, sizeof(r->err), "%s", what);
	return e;
}

void rpc_init(struct rpc *r, struct mux *m, int timeout_ms)
{
	memset(r, 0, sizeof(*r));
	r->m = m;
	r->timeout_ms = timeout_ms;
}

int rpc_open(struct rpc *r, uint16_t type, const struct buf *req, bool end,
	     struct mux_stream **sp)
{
	struct mux_stream *s;
	int e;

	r->remote = false;
	r->err[0] = '\0';
	if (req && wire_buf_error(req))
		return fail(r, -EMSGSIZE, "request too large");
	if (!(s = mux_open(r->m, type, req ? req->data : NULL, req ? req->len : 0))) {
		e = errno ? errno : ECONNRESET;
		return fail(r, -e, e == ECONNRESET ? "connection lost" : strerror(e));
	}
	/* a quick handler may have answered and reset already: its reply is
	 * still readable, so only the reads below decide */
	if (end && (e = mux_send_end(s)) < 0 && e != -ECONNRESET) {
		mux_stream_close(s);
		return fail(r, e, strerror(-e));
	}
	*sp = s;
	return 0;
}

/* mux_recv for up to r->timeout_ms (0: what is there already), in slices
 * when it can be cancelled. */
static int wait_item(struct rpc *r, struct mux_stream *s, uint16_t *type, struct buf *out)
{
	int64_t end = r->timeout_ms < 0 ? -1 : mono_ms() + r->timeout_ms;
	int64_t left;
	int k, slice;

	for (;;) {
		if (r->cancel && *r->cancel)
			return -EINTR;
		left = end < 0 ? RPC_POLL_MS : end - mono_ms();
		if (left < 0)
			left = 0;
		slice = !r->cancel ? (end < 0 ? -1 : (int)left)
			: (int)(left < RPC_POLL_MS ? left : RPC_POLL_MS);
		k = mux_recv(s, type, out, slice);
		if (k != -ETIMEDOUT || (end >= 0 && mono_ms() >= end))
			return k;
	}
}

int rpc_recv(struct rpc *r, struct mux_stream *s, uint16_t *type, struct buf *out)
{
	int k = wait_item(r, s, type, out), code;

	if (k == -EINTR)
		return fail(r, k, "interrupted");
	if (k == -ETIMEDOUT)
		return fail(r, k, "no reply");
	if (k < 0)
		return fail(r, -ECONNRESET, "connection lost");
	if (k == MUX_MSG && *type == MSG_ERROR) {
		code = proto_get_error(out->data, out->len, r->err, sizeof(r->err));
		r->remote = true;
		return code > 0 && code <= RPC_ERRNO_MAX ? -code : -EIO;
	}
	return k;
}

int rpc_expect(struct rpc *r, struct mux_stream *s, uint16_t want_type, struct buf *out)
{
	uint16_t t = 0;
	int k = rpc_recv(r, s, &t, out);

	if (k >= 0 && (k != MUX_MSG || t != want_type))
		k = fail(r, -EPROTO, "unexpected reply");
	return k < 0 ? k : 0;
}

int rpc_call(struct rpc *r, uint16_t type, const struct buf *req, uint16_t want_type,
	     struct buf *out)
{
	struct mux_stream *s;
	struct buf scratch;
	int k;

	if ((k = rpc_open(r, type, req, true, &s)) < 0)
		return k;
	if ((k = rpc_expect(r, s, want_type, out)) == 0) {
		/* the END follows at once: take it, so the stream ends cleanly
		 * instead of with a reset */
		buf_init(&scratch, MUX_FRAME_MAX);
		(void)mux_recv(s, NULL, &scratch, r->timeout_ms >= 0 && r->timeout_ms < RPC_END_MS ?
			       r->timeout_ms : RPC_END_MS);
		buf_free(&scratch);
	}
	mux_stream_close(s);
	return k;
}

/* One {u32 n, item * n} batch. */
static int list_batch(struct rpc *r, const struct buf *msg, rpc_item_fn one, void *arg,
		      long *count)
{
	struct wire_reader rd;
	uint32_t n, i;
	int e;

	wire_reader_init(&rd, msg->data, msg->len);
	n = wire_get_u32(&rd);
	for (i = 0; i < n && wire_ok(&rd) == 0; i++) {
		if (r->max_items > 0 && *count >= r->max_items) {
			snprintf(r->err, sizeof(r->err), "more than %ld items", r->max_items);
			return -E2BIG;
		}
		if ((e = one(arg, &rd)) < 0)
			return e == -EBADMSG ? fail(r, e, "malformed reply") : e;
		(*count)++;
	}
	return wire_done(&rd) < 0 ? fail(r, -EBADMSG, "malformed reply") : 0;
}

long rpc_list(struct rpc *r, uint16_t type, const struct buf *req, uint16_t item_type,
	      rpc_item_fn one, void *arg)
{
	struct mux_stream *s;
	struct buf msg;
	uint16_t t = 0;
	long count = 0;
	int k;

	if ((k = rpc_open(r, type, req, true, &s)) < 0)
		return k;
	buf_init(&msg, MUX_FRAME_MAX);
	for (;;) {
		if ((k = rpc_recv(r, s, &t, &msg)) < 0)
			break;
		if (k == MUX_END) {
			k = 0;
			break;
		}
		if (k != MUX_MSG || t != item_type) {
			k = fail(r, -EPROTO, "unexpected reply");
			break;
		}
		if ((k = list_batch(r, &msg, one, arg, &count)) < 0)
			break;
	}
	buf_free(&msg);
	mux_stream_close(s);
	return k < 0 ? k : count;
}

int rpc_stream(struct rpc *r, uint16_t type, const struct buf *req, rpc_sink_fn sink,
	       void *arg)
{
	struct mux_stream *s;
	struct buf msg;
	uint16_t t = 0;
	int k;

	if ((k = rpc_open(r, type, req, true, &s)) < 0)
		return k;
	buf_init(&msg, MUX_FRAME_MAX);
	k = rpc_expect(r, s, MSG_OK, &msg);
	while (k >= 0) {
		if ((k = rpc_recv(r, s, &t, &msg)) == MUX_END) {
			k = 0;
			break;
		}
		if (k == MUX_DATA)
			k = sink(arg, msg.data, msg.len);
		else if (k >= 0)
			k = fail(r, -EPROTO, "unexpected reply");
		if (k > 0)   /* a sink must return 0 or -errno */
			k = -EINVAL;
	}
	buf_free(&msg);
	mux_stream_close(s);
	return k;
}
