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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/client.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/rpc.h"
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

static const struct mux_ops mconn_ops = { .on_stream = on_stream, .on_close = NULL,
					 .rx_window = MUX_WINDOW_BULK };

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

/* A call on a referenced live link: *lp holds the reference, r is set up
 * for it.  -EIO when the server is unreachable. */
static int call_begin(struct mconn *mc, struct rpc *r, struct mlink **lp)
{
	if (!(*lp = link_get(mc)))
		return -EIO;
	rpc_init(r, (*lp)->m, MCONN_TIMEOUT_MS);
	return 0;
}

/* After a call on l: the server's own error codes pass through; a
 * connection that went silent or died is dropped, so the next request
 * reconnects, and the call fails with -ECONNRESET ("try again"). */
static int call_end(struct mconn *mc, struct mlink *l, const struct rpc *r, int rc)
{
	if (rc < 0 && r->remote) {
		log_debug("mount: server: %s", r->err);
	} else if (rc == -ETIMEDOUT) {
		log_warnx("mount: server silent for %d s; reconnecting", MCONN_TIMEOUT_MS / 1000);
		link_fail(mc, l);
		rc = -ECONNRESET;
	} else if (rc == -ECONNRESET && !mux_alive(l->m)) {
		link_fail(mc, l);
	} else if (rc == -EPROTO) {
		rc = -EBADMSG;   /* a reply of the wrong type: as malformed */
	}
	link_unref(mc, l);
	return rc;
}

struct list_ctx {
	mconn_entry_fn fn;
	void *arg;
	struct vg_entry *e;
};

/* rpc_item_fn: one entry of a listing to the caller's callback. */
static int list_one(void *arg, struct wire_reader *rd)
{
	struct list_ctx *lc = arg;

	proto_get_entry(rd, lc->e);
	if (wire_ok(rd) < 0)
		return -EBADMSG;
	return lc->fn(lc->arg, lc->e);
}

/* A listing is not retried here: entries may have reached fn already.
 * link_get() has replaced a connection known to be dead before it starts. */
static int list_req(struct mconn *mc, uint16_t type, const struct buf *req,
		    mconn_entry_fn fn, void *arg)
{
	struct list_ctx lc = { .fn = fn, .arg = arg };
	struct mlink *l;
	struct rpc r;
	long n;
	int rc;

	if (!(lc.e = malloc(sizeof(*lc.e))))
		return -ENOMEM;
	if ((rc = call_begin(mc, &r, &l)) == 0) {
		n = rpc_list(&r, type, req, MSG_ENTRIES, list_one, &lc);
		rc = call_end(mc, l, &r, n < 0 ? (int)n : 0);
	}
	free(lc.e);
	return rc == -ECONNRESET || rc == -EAGAIN ? -EIO : rc;
}

/* LS (one level, as at `at`) or LOG of dev:path through list_req. */
static int list_path(struct mconn *mc, uint16_t type, const char *dev, const char *path,
		     int64_t at, mconn_entry_fn fn, void *arg)
{
	struct vg_ls_req ls = { .at = at, .recursive = 0 };
	struct vg_log_req lg;
	bool is_ls = type == MSG_CTL_LS;
	struct buf req;
	int r;

	snprintf(is_ls ? ls.dev : lg.dev, VG_NAME_MAX, "%s", dev);
	snprintf(is_ls ? ls.path : lg.path, PATH_MAX, "%s", path);
	buf_init(&req, VG_MSG_MAX);
	if (is_ls)
		proto_put_ls_req(&req, &ls);
	else
		proto_put_log_req(&req, &lg);
	r = list_req(mc, type, &req, fn, arg);
	buf_free(&req);
	return r;
}

int mconn_ls(struct mconn *mc, const char *dev, const char *path, int64_t at,
	     mconn_entry_fn fn, void *arg)
{
	return list_path(mc, MSG_CTL_LS, dev, path, at, fn, arg);
}

int mconn_log(struct mconn *mc, const char *dev, const char *path, mconn_entry_fn fn, void *arg)
{
	return list_path(mc, MSG_CTL_LOG, dev, path, 0, fn, arg);
}

int mconn_has_xattrs(struct mconn *mc, const char *dev)
{
	struct vg_status *st = NULL;
	struct vg_status_req q;
	struct wire_reader wr;
	struct mlink *l;
	struct rpc rp;
	struct buf req, msg;
	int r;

	snprintf(q.dev, sizeof(q.dev), "%s", dev);
	buf_init(&req, VG_MSG_MAX);
	buf_init(&msg, MUX_FRAME_MAX);
	proto_put_status_req(&req, &q);
	if ((r = call_begin(mc, &rp, &l)) == 0) {
		r = call_end(mc, l, &rp, rpc_call(&rp, MSG_CTL_STATUS, &req, MSG_STATUS, &msg));
		if (r == 0 && !(st = calloc(1, sizeof(*st)))) {
			r = -ENOMEM;
		} else if (r == 0) {
			wire_reader_init(&wr, msg.data, msg.len);
			proto_get_status(&wr, st);
			r = wire_done(&wr) < 0 ? -EBADMSG : st->has_xattrs != 0;
		}
	}
	free(st);
	buf_free(&req);
	buf_free(&msg);
	return r == -ECONNRESET || r == -EAGAIN ? -EIO : r;
}

/* rpc_sink_fn of a read: into the iov's buffers in turn, never past len
 * (their total). */
struct read_sink {
	const struct iovec *iov;
	size_t i, ioff;              /* where the next byte goes */
	size_t len, got;
	void (*full)(void *arg, int i);
	void *arg;
};

static int read_sink(void *arg, const void *p, size_t n)
{
	struct read_sink *rs = arg;
	const uint8_t *c = p;

	if (n > rs->len - rs->got)
		return -EBADMSG;
	rs->got += n;
	while (n > 0) {
		const struct iovec *v = &rs->iov[rs->i];
		size_t k = v->iov_len - rs->ioff < n ? v->iov_len - rs->ioff : n;

		memcpy((uint8_t *)v->iov_base + rs->ioff, c, k);
		c += k;
		n -= k;
		if ((rs->ioff += k) == v->iov_len) {
			if (rs->full)
				rs->full(rs->arg, (int)rs->i);
			rs->i++;
			rs->ioff = 0;
		}
	}
	return 0;
}

/* One attempt at a read; -ECONNRESET means "try again". */
static ssize_t read_once(struct mconn *mc, const struct buf *req, size_t len,
			 const struct iovec *iov, void (*full)(void *arg, int i), void *arg)
{
	struct read_sink rs = { .iov = iov, .len = len, .full = full, .arg = arg };
	struct mlink *l;
	struct rpc r;
	int rc;

	if ((rc = call_begin(mc, &r, &l)) < 0)
		return rc;
	rc = call_end(mc, l, &r, rpc_stream(&r, MSG_CTL_READ, req, read_sink, &rs));
	if (rc == -ECONNRESET && rs.got > 0)
		rc = -EIO;   /* a stream reset after OK: the store failed, don't retry blindly */
	return rc < 0 ? rc : (ssize_t)rs.got;
}

ssize_t mconn_read(struct mconn *mc, const char *dev, const char *path, uint64_t version,
		   uint64_t off, size_t len, uint8_t *dst)
{
	struct iovec v = { .iov_base = dst, .iov_len = len };

	return mconn_readv(mc, dev, path, version, off, &v, 1, NULL, NULL);
}

ssize_t mconn_readv(struct mconn *mc, const char *dev, const char *path, uint64_t version,
		    uint64_t off, const struct iovec *iov, int iovcnt,
		    void (*full)(void *arg, int i), void *arg)
{
	struct vg_read_req q = { .version = version, .off = off };
	struct buf req;
	size_t len = 0;
	ssize_t r;
	int attempt;

	for (attempt = 0; attempt < iovcnt; attempt++)
		len += iov[attempt].iov_len;
	if (len == 0)
		return 0;
	q.len = len;
	snprintf(q.dev, sizeof(q.dev), "%s", dev);
	snprintf(q.path, sizeof(q.path), "%s", path);
	buf_init(&req, VG_MSG_MAX);
	proto_put_read_req(&req, &q);
	/* a connection that died before anything arrived: once more on a new one */
	for (attempt = 0; attempt < 2; attempt++) {
		r = read_once(mc, &req, len, iov, full, arg);
		if (r != -ECONNRESET && r != -EAGAIN)
			break;
	}
	buf_free(&req);
	return r == -ECONNRESET || r == -EAGAIN ? -EIO : r;
}
