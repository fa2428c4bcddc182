/* putio.c — the wire side of shipping: one PUT on one mux stream. */
#include "daemon/putio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/chunker.h"
#include "common/rpc.h"
#include "common/rsync_params.h"
#include "daemon/capture.h"

static int get_u64(const struct buf *rb, uint64_t *v)
{
	struct wire_reader r;

	wire_reader_init(&r, rb->data, rb->len);
	*v = wire_get_u64(&r);
	return wire_done(&r);
}

/* Streams body->fd to s, sending bytes from off on; re-hashes everything
 * when body->verify (the tree root, and the sha256 when the put has one). */
static int send_data(struct mux_stream *s, const struct vg_put *put, struct put_body *body,
		     uint64_t off)
{
	static const uint8_t zero[32];
	bool by_sha = memcmp(put->e.sha256, zero, 32) != 0;
	uint8_t *buf = malloc(CAPTURE_BUF), sha[32], root[32];
	struct chash *h = body->verify ? chash_new(by_sha ? CHASH_BOTH : CHASH_TREE) : NULL;
	uint64_t pos = body->verify ? 0 : off, size = 0;
	int rc = 0;

	if (!buf || (body->verify && !h)) {
		rc = -ENOMEM;
		goto out;
	}
	while (pos < body->size) {
		size_t want = body->size - pos < CAPTURE_BUF ? (size_t)(body->size - pos) : CAPTURE_BUF;
		ssize_t n = pread(body->fd, buf, want, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EAGAIN;   /* shrank: changed under us */
			goto out;
		}
		body->bytes_read += (uint64_t)n;
		if (h && (rc = chash_feed(h, buf, (size_t)n)) < 0)
			goto out;
		if (pos + (uint64_t)n > off) {
			size_t skip = pos >= off ? 0 : (size_t)(off - pos);

			if ((rc = mux_send_data(s, buf + skip, (size_t)n - skip)) < 0)
				goto out;
			body->bytes_sent += (uint64_t)n - skip;
		}
		pos += (uint64_t)n;
	}
	if (h) {
		if ((rc = chash_finish(h, sha, root, &size)) < 0)
			goto out;
		if ((by_sha && memcmp(sha, put->e.sha256, 32) != 0) ||
		    (!by_sha && memcmp(root, put->e.tree_root, 32) != 0))
			rc = -EAGAIN;
	}
out:
	chash_free(h);
	free(buf);
	return rc;
}

static bool zero_token(const uint8_t t[16])
{
	static const uint8_t zero[16];

	return memcmp(t, zero, 16) == 0;
}

/* A body the server cannot have any of (zero token: not resumable) and
 * that fits in one frame goes right behind the PUT, without waiting for
 * PUT_READY: its resume offset can only be 0 (docs/protocol.md). */
static bool send_early(const struct vg_put *put, const struct put_body *body)
{
	return zero_token(put->token) && body->size < PUTIO_EARLY_MAX;
}

/* The body (bodies with data), then END: after PUT_READY, or before it
 * when send_early, then PUT_READY must say 0. */
static int put_data(struct rpc *r, struct mux_stream *s, const struct vg_put *put,
		    struct put_body *body, struct buf *rb)
{
	bool early = send_early(put, body);
	uint64_t off = 0;
	int rc;

	if (early && ((rc = send_data(s, put, body, 0)) < 0 || (rc = mux_send_end(s)) < 0))
		return rc;   /* closing without END resets: the server drops it */
	if ((rc = rpc_expect(r, s, MSG_PUT_READY, rb)) < 0)
		return rc;
	if (get_u64(rb, &off) < 0 || off > body->size || (early && off != 0)) {
		snprintf(r->err, sizeof(r->err), "bad resume offset in a put's reply");
		return -EPROTO;
	}
	body->resume_off = off;
	if (early)
		return 0;
	if ((rc = send_data(s, put, body, off)) < 0)
		return rc;   /* closing without END resets: the server drops it */
	return mux_send_end(s);
}

int putio_send(struct mux *m, const struct vg_put *put, struct put_body *body,
	       int timeout_ms, uint64_t *version, char *err, size_t errlen)
{
	struct mux_stream *s;
	struct rpc r;
	struct buf b, rb;
	bool data = put->body == PUT_WHOLE || put->body == PUT_DELTA || put->body == PUT_RANGES;
	uint16_t t = 0;
	int rc;

	rpc_init(&r, m, timeout_ms);
	buf_init(&b, VG_MSG_MAX);
	buf_init(&rb, MUX_FRAME_MAX);
	proto_put_put(&b, put);
	if ((rc = rpc_open(&r, MSG_DEV_PUT, &b, !data, &s)) < 0)
		goto out;
	if (data && (rc = put_data(&r, s, put, body, &rb)) < 0)
		goto close;
	/* PUT_DONE, after any repeated PUT_READY */
	while ((rc = rpc_recv(&r, s, &t, &rb)) == MUX_MSG && t == MSG_PUT_READY)
		;
	if (rc >= 0 && (rc != MUX_MSG || t != MSG_PUT_DONE || get_u64(&rb, version) < 0)) {
		snprintf(r.err, sizeof(r.err), "unexpected reply to a put");
		rc = -EPROTO;
	}
close:
	mux_stream_close(s);
out:
	snprintf(err, errlen, "%s", rc < 0 ? r.err : "");
	buf_free(&b);
	buf_free(&rb);
	return rc < 0 ? rc : 0;
}

struct put_stream {
	struct rpc r;
	struct mux_stream *s;
	struct put_body *body;
	uint64_t pos;            /* body bytes given so far */
	bool ended;              /* the trailer and END went out */
	/* the chunks the read cut (putio_stream_cut), when the server takes
	 * them (MUX_FEAT_CUTS): sent before the bytes that end them */
	bool cuts_ok;
	uint64_t cut_end;        /* the body offset where the chunks so far end */
	struct vg_put_cuts cuts; /* not sent yet */
};

int putio_stream_open(struct mux *m, const struct vg_put *put, struct put_body *body,
		      int timeout_ms, struct put_stream **out, char *err, size_t errlen)
{
	struct put_stream *ps = calloc(1, sizeof(*ps));
	struct buf b, rb;
	uint64_t off = 0;
	int rc = -ENOMEM;

	*out = NULL;
	err[0] = '\0';
	if (!ps)
		return rc;
	rpc_init(&ps->r, m, timeout_ms);
	ps->body = body;
	ps->cuts_ok = put->body == PUT_WHOLE && (mux_peer_features(m) & MUX_FEAT_CUTS);
	buf_init(&b, VG_MSG_MAX);
	buf_init(&rb, MUX_FRAME_MAX);
	proto_put_put(&b, put);
	if ((rc = rpc_open(&ps->r, MSG_DEV_PUT, &b, false, &ps->s)) < 0)
		goto out;
	if ((rc = rpc_expect(&ps->r, ps->s, MSG_PUT_READY, &rb)) == 0 &&
	    (get_u64(&rb, &off) < 0 || off > put->e.size)) {
		snprintf(ps->r.err, sizeof(ps->r.err), "bad resume offset in a put's reply");
		rc = -EPROTO;
	}
	body->resume_off = off;
out:
	buf_free(&b);
	buf_free(&rb);
	if (rc < 0) {
		snprintf(err, errlen, "%s", ps->r.err);
		putio_stream_free(ps);
		return rc;
	}
	*out = ps;
	return 0;
}

/* The chunks cut since the last MSG_PUT_CUTS, before the bytes that end
 * them (the stream's last chunk, cut at the end of the read, is never sent). */
static int send_cuts(struct put_stream *ps)
{
	struct buf b;
	int rc;

	if (!ps->cuts.n)
		return 0;
	buf_init(&b, VG_MSG_MAX);
	proto_put_put_cuts(&b, &ps->cuts);
	rc = wire_buf_error(&b);
	if (rc == 0)
		rc = mux_send_msg(ps->s, MSG_PUT_CUTS, b.data, b.len);
	buf_free(&b);
	ps->cuts.n = 0;
	return rc;
}

int putio_stream_cut(struct put_stream *ps, uint32_t len)
{
	int rc;

	ps->cut_end += len;
	if (!ps->cuts_ok || ps->cut_end <= ps->body->resume_off)
		return 0;   /* the server holds that chunk already */
	/* full: send these first (never on the last chunk's account: it may
	 * be the stream's last, which is not sent) */
	if (ps->cuts.n == VG_CUTS_MAX && (rc = send_cuts(ps)) < 0)
		return rc;
	ps->cuts.len[ps->cuts.n++] = len;
	return 0;
}

int putio_stream_data(struct put_stream *ps, const uint8_t *p, size_t n)
{
	uint64_t off = ps->body->resume_off;
	size_t skip = ps->pos >= off ? 0 : off - ps->pos < n ? (size_t)(off - ps->pos) : n;
	int rc = 0;

	ps->body->bytes_read += n;
	ps->pos += n;
	if (skip < n && (rc = send_cuts(ps)) == 0 &&
	    (rc = mux_send_data(ps->s, p + skip, n - skip)) == 0)
		ps->body->bytes_sent += n - skip;
	return rc;
}

int putio_stream_data_buf(struct put_stream *ps, void *p, size_t n)
{
	uint64_t off = ps->body->resume_off;
	int rc;

	if (ps->pos < off) {   /* resumed: only the tail past the offset goes (copied) */
		rc = putio_stream_data(ps, p, n);
		mux_buf_free(p);
		return rc;
	}
	ps->body->bytes_read += n;
	ps->pos += n;
	if ((rc = send_cuts(ps)) < 0) {
		mux_buf_free(p);
		return rc;
	}
	if ((rc = mux_send_buf(ps->s, p, n)) == 0)
		ps->body->bytes_sent += n;
	return rc;
}

/* The trailer, then END. */
static int send_trailer(struct put_stream *ps, const struct vg_put_trailer *t)
{
	struct buf b;
	int rc;

	ps->ended = true;
	buf_init(&b, VG_MSG_MAX);
	proto_put_put_trailer(&b, t);
	rc = wire_buf_error(&b);
	if (rc == 0)
		rc = mux_send_msg(ps->s, MSG_PUT_TRAILER, b.data, b.len);
	if (rc == 0)
		rc = mux_send_end(ps->s);
	buf_free(&b);
	return rc;
}

/* After PUT_STORED: its n_chunks entries as DATA, then END, to list().
 * 0 once exactly that many came; -EBADMSG for more or fewer. */
static int recv_list(struct put_stream *ps, const struct vg_put_stored *st, struct buf *rb,
		     int (*list)(void *arg, const void *p, size_t n), void *arg)
{
	uint64_t want = st->n_chunks * PUTIO_LIST_ENTRY, got = 0;
	uint16_t type = 0;
	int rc = 0;

	if (st->n_chunks > PUTIO_LIST_MAX(ps->body->size))
		return -EBADMSG;
	while ((rc = rpc_recv(&ps->r, ps->s, &type, rb)) == MUX_DATA) {
		if (rb->len > want - got)
			return -EBADMSG;
		got += rb->len;
		ps->body->bytes_received += rb->len;
		if ((rc = list(arg, rb->data, rb->len)) < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	return rc == MUX_END && got == want ? 0 : -EBADMSG;
}

int putio_stream_finish(struct put_stream *ps, const struct putio_trailer *t,
			struct vg_put_stored *st, int *list_rc, char *err, size_t errlen)
{
	struct vg_put_trailer tr = { .abandon = 0, .flags = t->list ? VG_TRAILER_LIST : 0 };
	struct wire_reader rd;
	struct buf rb;
	uint16_t type = 0;
	int rc;

	memcpy(tr.digest, t->digest, VG_DIGEST_LEN);
	memset(st, 0, sizeof(*st));
	*list_rc = -ENOENT;
	buf_init(&rb, MUX_FRAME_MAX);
	if ((rc = send_trailer(ps, &tr)) == 0)
		rc = rpc_recv(&ps->r, ps->s, &type, &rb);
	if (rc >= 0) {
		wire_reader_init(&rd, rb.data, rb.len);
		if (rc == MUX_MSG && type == MSG_PUT_STORED)
			proto_get_put_stored(&rd, st);
		if (rc != MUX_MSG || type != MSG_PUT_STORED || wire_done(&rd) < 0) {
			snprintf(ps->r.err, sizeof(ps->r.err), "unexpected reply to a put");
			rc = -EPROTO;
		}
	}
	/* the version is stored: a list that breaks off only goes missing */
	if (rc >= 0 && t->list && st->n_chunks)
		*list_rc = recv_list(ps, st, &rb, t->list, t->arg);
	snprintf(err, errlen, "%s", rc < 0 ? ps->r.err : "");
	buf_free(&rb);
	return rc < 0 ? rc : 0;
}

void putio_stream_free(struct put_stream *ps)
{
	struct vg_put_trailer t = { .abandon = 1 };

	if (!ps)
		return;
	/* the server drops what it holds of it: nothing waits for a resume */
	if (ps->s && !ps->ended)
		(void)send_trailer(ps, &t);
	if (ps->s)
		mux_stream_close(ps->s);
	free(ps);
}

struct put_batch {
	struct rpc r;
	struct mux_stream *s;
	struct buf b;            /* one item's message */
	uint32_t n;              /* items sent */
	int err;                 /* a send failed: finish reads why */
};

int putio_batch_open(struct mux *m, int timeout_ms, struct put_batch **out)
{
	struct put_batch *pb = calloc(1, sizeof(*pb));
	struct buf req;
	int rc;

	*out = NULL;
	if (!pb)
		return -ENOMEM;
	rpc_init(&pb->r, m, timeout_ms);
	buf_init(&pb->b, VG_MSG_MAX);
	buf_init(&req, 16);
	rc = rpc_open(&pb->r, MSG_DEV_PUTBATCH, &req, false, &pb->s);
	buf_free(&req);
	if (rc < 0) {
		putio_batch_free(pb);
		return rc;
	}
	*out = pb;
	return 0;
}

int putio_batch_add(struct put_batch *pb, const struct vg_put *put, uint8_t flags,
		    const uint8_t *body)
{
	uint64_t off = 0, size = put->e.size;
	int rc;

	if (pb->err)
		return pb->err;
	if (pb->n >= PUTBATCH_ITEMS_MAX || size > PUTBATCH_BODY_MAX)
		return -E2BIG;
	buf_reset(&pb->b);
	proto_put_batch_item(&pb->b, put, flags);
	if ((rc = wire_buf_error(&pb->b)) == 0)
		rc = mux_send_msg(pb->s, MSG_PUTBATCH_ITEM, pb->b.data, pb->b.len);
	while (rc == 0 && off < size) {
		size_t k = size - off < MUX_FRAME_MAX / 2 ? (size_t)(size - off) : MUX_FRAME_MAX / 2;

		rc = mux_send_data(pb->s, body + off, k);
		off += k;
	}
	if (rc < 0)
		return pb->err = rc;
	pb->n++;
	return 0;
}

int putio_batch_finish(struct put_batch *pb, struct vg_batch_result *res, uint32_t n,
		       char *err, size_t errlen)
{
	struct wire_reader rd;
	struct buf rb;
	uint32_t got = 0;
	uint16_t t = 0;
	int rc = pb->err ? 0 : mux_send_end(pb->s);

	buf_init(&rb, MUX_FRAME_MAX);
	/* after a failed send the server may still have answered: read it */
	if (rc == 0 && (rc = rpc_recv(&pb->r, pb->s, &t, &rb)) >= 0) {
		if (rc != MUX_MSG || t != MSG_PUTBATCH_DONE) {
			snprintf(pb->r.err, sizeof(pb->r.err), "unexpected reply to a batch");
			rc = -EPROTO;
		} else {
			wire_reader_init(&rd, rb.data, rb.len);
			proto_get_batch_done(&rd, res, n, &got);
			rc = wire_done(&rd) < 0 || got != n || n != pb->n ? -EPROTO : 0;
			if (rc < 0)
				snprintf(pb->r.err, sizeof(pb->r.err), "bad reply to a batch");
		}
	}
	if (rc < 0 && pb->err)
		rc = pb->err;
	snprintf(err, errlen, "%s", rc < 0 ? pb->r.err : "");
	buf_free(&rb);
	return rc < 0 ? rc : 0;
}

void putio_batch_free(struct put_batch *pb)
{
	if (!pb)
		return;
	if (pb->s)
		mux_stream_close(pb->s);
	buf_free(&pb->b);
	free(pb);
}

int putio_latest(struct mux *m, const char *path, struct vg_entry *out, int timeout_ms)
{
	struct vg_latest_req q;
	struct wire_reader rd;
	struct rpc r;
	struct buf b, rb;
	int rc;

	snprintf(q.path, sizeof(q.path), "%s", path);
	rpc_init(&r, m, timeout_ms);
	buf_init(&b, VG_MSG_MAX);
	buf_init(&rb, MUX_FRAME_MAX);
	proto_put_latest_req(&b, &q);
	if ((rc = rpc_call(&r, MSG_DEV_LATEST, &b, MSG_ENTRY, &rb)) == 0) {
		wire_reader_init(&rd, rb.data, rb.len);
		proto_get_entry(&rd, out);
		rc = wire_done(&rd);
	}
	buf_free(&b);
	buf_free(&rb);
	return rc;
}

/* Sends one request body b (freed here) that the server answers with OK. */
static int call_ok(struct mux *m, uint16_t type, struct buf *b, int timeout_ms)
{
	struct rpc r;
	struct buf rb;
	int rc;

	rpc_init(&r, m, timeout_ms);
	buf_init(&rb, MUX_FRAME_MAX);
	rc = rpc_call(&r, type, b, MSG_OK, &rb);
	buf_free(b);
	buf_free(&rb);
	return rc;
}

int putio_report(struct mux *m, const struct vg_report *rep, int timeout_ms)
{
	struct buf b;

	buf_init(&b, VG_MSG_MAX);
	proto_put_report(&b, rep);
	return call_ok(m, MSG_DEV_REPORT, &b, timeout_ms);
}

int putio_sim(struct mux *m, const struct vg_sim *sim, int timeout_ms)
{
	struct buf b;

	buf_init(&b, VG_MSG_MAX);
	proto_put_sim(&b, sim);
	return call_ok(m, MSG_DEV_SIM, &b, timeout_ms);
}

/* rpc_sink_fn of a signature: at most cap bytes to the caller's out(). */
struct sig_sink {
	uint64_t cap, *got;
	int (*out)(void *arg, const void *p, size_t n);
	void *arg;
};

static int sig_sink(void *arg, const void *p, size_t n)
{
	struct sig_sink *ss = arg;
	int rc;

	if (n > ss->cap - *ss->got)
		return -EFBIG;
	*ss->got += n;
	rc = ss->out(ss->arg, p, n);
	return rc > 0 ? -EIO : rc;
}

/* A streamed request q of type (MSG_DEV_RSIG or MSG_DEV_CHUNKS). */
static int stream_req(struct mux *m, uint16_t type, const struct vg_sig_req *q, uint64_t cap,
		      int (*out)(void *arg, const void *p, size_t n), void *arg, int timeout_ms,
		      uint64_t *got)
{
	struct sig_sink ss = { .cap = cap, .got = got, .out = out, .arg = arg };
	struct rpc r;
	struct buf b;
	int rc;

	*got = 0;
	rpc_init(&r, m, timeout_ms);
	buf_init(&b, VG_MSG_MAX);
	if (type == MSG_DEV_RSIG)
		proto_put_rsig_req(&b, q);
	else
		proto_put_sig_req(&b, q);
	rc = rpc_stream(&r, type, &b, sig_sink, &ss);
	buf_free(&b);
	return rc;
}

int putio_rsig(struct mux *m, const char *path, uint64_t version, uint64_t off, uint64_t len,
	       int (*out)(void *arg, const void *p, size_t n), void *arg, int timeout_ms,
	       uint64_t *got)
{
	struct vg_sig_req q = { .version = version, .off = off, .len = len };
	/* header, then per 2 KiB block a 4-byte weak and the strong sum */
	uint64_t cap = 12 + (len / VG_RS_BLOCK_LEN + 1) * (4 + VG_RS_STRONG_LEN);

	snprintf(q.path, sizeof(q.path), "%s", path);
	return stream_req(m, MSG_DEV_RSIG, &q, cap, out, arg, timeout_ms, got);
}

int putio_chunks(struct mux *m, const char *path, uint64_t version, uint64_t size,
		 int (*out)(void *arg, const void *p, size_t n), void *arg, int timeout_ms,
		 uint64_t *got)
{
	struct vg_sig_req q = { .version = version };
	/* every chunk is at least CHUNK_MIN bytes, the last one aside */
	uint64_t cap = (size / CHUNK_MIN + 1) * 36;

	snprintf(q.path, sizeof(q.path), "%s", path);
	return stream_req(m, MSG_DEV_CHUNKS, &q, cap, out, arg, timeout_ms, got);
}
