/* conn.c — the mount's shared, self-healing connection and its
 * requests (see conn.h).
 *
 * A link is one mux plus a reference count: the mconn holds one reference
 * while the link is current, every request in flight holds one.  A link that
 * failed is shut down at once (so every request on it returns) and freed by
 * whoever drops the last reference, outside the lock. */
#include "controller/mount/conn.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/client.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"

struct mlink {
	struct mux *m;
	unsigned refs;
	bool borrowed;   /* the caller's mux: never freed here */
};

struct mconn {
	pthread_mutex_t lock;
	const struct bundle *b;
	const char *server;
	struct mlink *cur;
	int64_t last_try_ms;
	bool down;       /* the last connect failed (logged once per outage) */
};

/* The server never opens streams towards a controller. */
static void on_stream(struct mux *m, struct mux_stream *s, uint16_t type,
		      const uint8_t *msg, size_t len, void *arg)
{
	mux_stream_close(s);
}

static const struct mux_ops mconn_ops = { .on_stream = on_stream, .on_close = NULL };

static struct mlink *link_new(struct mux *m, bool borrowed)
{
	struct mlink *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->m = m;
	l->refs = 1;
	l->borrowed = borrowed;
	return l;
}

/* Drops a reference taken under mc->lock; frees the link (and its mux)
 * outside the lock when it was the last. */
static void link_unref(struct mconn *mc, struct mlink *l)
{
	bool last;

	pthread_mutex_lock(&mc->lock);
	last = --l->refs == 0;
	pthread_mutex_unlock(&mc->lock);
	if (!last)
		return;
	if (!l->borrowed)
		mux_free(l->m);
	free(l);
}

/* l is broken: stop using it and wake every request on it. */
static void link_fail(struct mconn *mc, struct mlink *l)
{
	bool drop = false;

	pthread_mutex_lock(&mc->lock);
	if (mc->cur == l) {
		mc->cur = NULL;
		drop = true;
	}
	pthread_mutex_unlock(&mc->lock);
	mux_shutdown(l->m);
	if (drop)
		link_unref(mc, l);
}

struct mconn *mconn_new(const struct bundle *b, const char *server, struct mux *borrowed)
{
	struct mconn *mc = calloc(1, sizeof(*mc));

	if (!mc)
		return NULL;
	pthread_mutex_init(&mc->lock, NULL);
	mc->b = b;
	mc->server = server;
	if (borrowed && !(mc->cur = link_new(borrowed, true))) {
		free(mc);
		return NULL;
	}
	return mc;
}

void mconn_free(struct mconn *mc)
{
	if (!mc)
		return;
	if (mc->cur)
		link_unref(mc, mc->cur);
	pthread_mutex_destroy(&mc->lock);
	free(mc);
}

/* Connects (lock held).  Logs when the server goes away and comes back. */
static struct mlink *link_connect(struct mconn *mc)
{
	struct mux *m = NULL;
	struct mlink *l;
	char err[256] = "";
	int r;

	if (!mc->b || (mc->down && mono_ms() - mc->last_try_ms < MCONN_RETRY_MS))
		return NULL;
	mc->last_try_ms = mono_ms();
	r = client_connect(mc->b, mc->server, MCONN_CONNECT_MS, &mconn_ops, mc, &m,
			   err, sizeof(err));
	if (r < 0) {
		if (!mc->down)
			log_warnx("mount: server unreachable: %s", err[0] ? err : strerror(-r));
		mc->down = true;
		return NULL;
	}
	mux_set_label(m, "server");
	if (!(l = link_new(m, false))) {
		mux_free(m);
		return NULL;
	}
	if (mc->down)
		log_info("mount: server reachable again");
	mc->down = false;
	return l;
}

/* A referenced live link, connecting when needed; NULL: unreachable. */
static struct mlink *link_get(struct mconn *mc)
{
	struct mlink *l, *dead = NULL;

	pthread_mutex_lock(&mc->lock);
	if (mc->cur && !mux_alive(mc->cur->m)) {
		dead = mc->cur;   /* the reference the mconn held */
		mc->cur = NULL;
	}
	if (!mc->cur)
		mc->cur = link_connect(mc);
	if ((l = mc->cur))
		l->refs++;
	pthread_mutex_unlock(&mc->lock);
	if (dead)
		link_unref(mc, dead);
	return l;
}

/* One request stream: first message then END.  *lp holds a reference. */
static int open_req(struct mconn *mc, uint16_t type, const struct buf *req,
		    struct mlink **lp, struct mux_stream **sp)
{
	struct mlink *l;
	struct mux_stream *s;
	int r;

	if (wire_buf_error(req))
		return -ENAMETOOLONG;
	if (!(l = link_get(mc)))
		return -EIO;
	if (!(s = mux_open(l->m, type, req->data, req->len))) {
		r = errno == EAGAIN ? -EAGAIN : -ECONNRESET;
		if (r == -ECONNRESET)
			link_fail(mc, l);
		link_unref(mc, l);
		return r;
	}
	if (mux_send_end(s) < 0) {
		mux_stream_close(s);
		link_fail(mc, l);
		link_unref(mc, l);
		return -ECONNRESET;
	}
	*lp = l;
	*sp = s;
	return 0;
}

/* The next reply item: a positive enum mux_item, -code for MSG_ERROR,
 * -ECONNRESET when the connection broke or went silent. */
static int recv_item(struct mconn *mc, struct mlink *l, struct mux_stream *s,
		     uint16_t *type, struct buf *out)
{
	char text[VG_ERRMSG_MAX];
	int r = mux_recv(s, type, out, MCONN_TIMEOUT_MS);

	if (r == -ETIMEDOUT) {
		log_warnx("mount: server silent for %d s; reconnecting", MCONN_TIMEOUT_MS / 1000);
		link_fail(mc, l);
		return -ECONNRESET;
	}
	if (r < 0) {
		if (!mux_alive(l->m))
			link_fail(mc, l);
		return -ECONNRESET;
	}
	if (r == MUX_MSG && *type == MSG_ERROR) {
		int code = proto_get_error(out->data, out->len, text, sizeof(text));

		log_debug("mount: server: %s", text);
		return code > 0 && code < 4096 ? -code : -EIO;
	}
	return r;
}

struct list_ctx {
	mconn_entry_fn fn;
	void *arg;
	struct vg_entry *e;
};

static int list_batch(struct list_ctx *lc, const struct buf *msg)
{
	struct wire_reader wr;
	uint32_t n, i;
	int r;

	wire_reader_init(&wr, msg->data, msg->len);
	n = wire_get_u32(&wr);
	for (i = 0; i < n && wire_ok(&wr) == 0; i++) {
		proto_get_entry(&wr, lc->e);
		if (wire_ok(&wr) < 0)
			break;
		if ((r = lc->fn(lc->arg, lc->e)) < 0)
			return r;
	}
	return wire_done(&wr) < 0 ? -EBADMSG : 0;
}

/* One attempt at a listing request; -ECONNRESET means "try again". */
static int list_once(struct mconn *mc, uint16_t type, const struct buf *req, struct list_ctx *lc)
{
	struct mux_stream *s;
	struct mlink *l;
	struct buf msg;
	uint16_t t;
	int r;

	if ((r = open_req(mc, type, req, &l, &s)) < 0)
		return r;
	buf_init(&msg, MUX_FRAME_MAX);
	for (;;) {
		r = recv_item(mc, l, s, &t, &msg);
		if (r < 0)
			break;
		if (r == MUX_END) {
			r = 0;
			break;
		}
		if (r != MUX_MSG || t != MSG_ENTRIES) {
			r = -EBADMSG;
			break;
		}
		if ((r = list_batch(lc, &msg)) < 0)
			break;
	}
	buf_free(&msg);
	mux_stream_close(s);
	link_unref(mc, l);
	return r;
}

/* A listing is not retried here: entries may have reached fn already.
 * link_get() has replaced a connection known to be dead before it starts. */
static int list_req(struct mconn *mc, uint16_t type, const struct buf *req,
		    mconn_entry_fn fn, void *arg)
{
	struct list_ctx lc = { .fn = fn, .arg = arg };
	int r;

	if (!(lc.e = malloc(sizeof(*lc.e))))
		return -ENOMEM;
	r = list_once(mc, type, req, &lc);
	free(lc.e);
	return r == -ECONNRESET || r == -EAGAIN ? -EIO : r;
}

int mconn_ls(struct mconn *mc, const char *dev, const char *path, int64_t at,
	     mconn_entry_fn fn, void *arg)
{
	struct buf req;
	int r;

	buf_init(&req, VG_MSG_MAX);
	wire_put_str(&req, dev);
	wire_put_str(&req, path);
	wire_put_i64(&req, at);
	wire_put_u8(&req, 0);
	r = list_req(mc, MSG_CTL_LS, &req, fn, arg);
	buf_free(&req);
	return r;
}

int mconn_log(struct mconn *mc, const char *dev, const char *path, mconn_entry_fn fn, void *arg)
{
	struct buf req;
	int r;

	buf_init(&req, VG_MSG_MAX);
	wire_put_str(&req, dev);
	wire_put_str(&req, path);
	r = list_req(mc, MSG_CTL_LOG, &req, fn, arg);
	buf_free(&req);
	return r;
}

int mconn_has_xattrs(struct mconn *mc, const char *dev)
{
	struct vg_status *st = NULL;
	struct wire_reader wr;
	struct mux_stream *s;
	struct mlink *l;
	struct buf req, msg;
	uint16_t t;
	int r;

	buf_init(&req, VG_MSG_MAX);
	buf_init(&msg, MUX_FRAME_MAX);
	wire_put_str(&req, dev);
	if ((r = open_req(mc, MSG_CTL_STATUS, &req, &l, &s)) == 0) {
		r = recv_item(mc, l, s, &t, &msg);
		if (r >= 0 && (r != MUX_MSG || t != MSG_STATUS)) {
			r = -EBADMSG;
		} else if (r >= 0 && !(st = calloc(1, sizeof(*st)))) {
			r = -ENOMEM;
		} else if (r >= 0) {
			wire_reader_init(&wr, msg.data, msg.len);
			proto_get_status(&wr, st);
			r = wire_done(&wr) < 0 ? -EBADMSG : st->has_xattrs != 0;
		}
		mux_stream_close(s);
		link_unref(mc, l);
	}
	free(st);
	buf_free(&req);
	buf_free(&msg);
	return r == -ECONNRESET || r == -EAGAIN ? -EIO : r;
}

/* One attempt at a read; -ECONNRESET means "try again". */
static ssize_t read_once(struct mconn *mc, const struct buf *req, size_t len, uint8_t *dst,
			 struct buf *msg)
{
	struct mux_stream *s;
	struct mlink *l;
	size_t got = 0;
	uint16_t t;
	int r;

	if ((r = open_req(mc, MSG_CTL_READ, req, &l, &s)) < 0)
		return r;
	r = recv_item(mc, l, s, &t, msg);
	if (r >= 0 && (r != MUX_MSG || t != MSG_OK))
		r = -EBADMSG;
	while (r >= 0) {
		r = recv_item(mc, l, s, &t, msg);
		if (r == MUX_END || r < 0)
			break;
		if (r != MUX_DATA || msg->len > len - got) {
			r = -EBADMSG;
			break;
		}
		if (msg->len > 0)
			memcpy(dst + got, msg->data, msg->len);
		got += msg->len;
	}
	mux_stream_close(s);
	link_unref(mc, l);
	if (r == -ECONNRESET && got > 0)
		r = -EIO;   /* a stream reset after OK: the store failed, don't retry blindly */
	return r < 0 ? r : (ssize_t)got;
}

ssize_t mconn_read(struct mconn *mc, const char *dev, const char *path, uint64_t version,
		   uint64_t off, size_t len, uint8_t *dst)
{
	struct buf req, msg;
	ssize_t r;
	int attempt;

	if (len == 0)
		return 0;
	buf_init(&req, VG_MSG_MAX);
	buf_init(&msg, MUX_FRAME_MAX);
	wire_put_str(&req, dev);
	wire_put_str(&req, path);
	wire_put_u64(&req, version);
	wire_put_u64(&req, off);
	wire_put_u64(&req, len);
	/* a connection that died before anything arrived: once more on a new one */
	for (attempt = 0; attempt < 2; attempt++) {
		r = read_once(mc, &req, len, dst, &msg);
		if (r != -ECONNRESET && r != -EAGAIN)
			break;
	}
	buf_free(&req);
	buf_free(&msg);
	return r == -ECONNRESET || r == -EAGAIN ? -EIO : r;
}
