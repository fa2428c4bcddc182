/* putio.c — the wire side of shipping: one PUT on one mux stream. */
#include "daemon/putio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/capture.h"

/* Waits for the next message; returns its type or -errno. */
static int recv_msg(struct mux_stream *s, struct buf *rb, int timeout_ms,
		    char *err, size_t errlen)
{
	uint16_t type = 0;
	int k = mux_recv(s, &type, rb, timeout_ms);

	if (k < 0)
		return k;
	if (k != MUX_MSG) {
		snprintf(err, errlen, "server ended the stream without an answer");
		return -EPROTO;
	}
	if (type == MSG_ERROR) {
		int code = proto_get_error(rb->data, rb->len, err, errlen);

		return code > 0 ? -code : -EPROTO;
	}
	return type;
}

static int get_u64(const struct buf *rb, uint64_t *v)
{
	struct wire_reader r;

	wire_reader_init(&r, rb->data, rb->len);
	*v = wire_get_u64(&r);
	return wire_done(&r);
}

/* Streams body->fd to s, sending bytes from off on; re-hashes everything
 * when body->verify. */
static int send_data(struct mux_stream *s, const struct vg_put *put, struct put_body *body,
		     uint64_t off)
{
	uint8_t *buf = malloc(CAPTURE_BUF), sha[32], root[32];
	struct chash *h = body->verify ? chash_new() : NULL;
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
		if (memcmp(sha, put->e.sha256, 32) != 0)
			rc = -EAGAIN;
	}
out:
	chash_free(h);
	free(buf);
	return rc;
}

int putio_send(struct mux *m, const struct vg_put *put, struct put_body *body,
	       int timeout_ms, uint64_t *version, char *err, size_t errlen)
{
	struct mux_stream *s;
	struct buf b, rb;
	uint64_t off = 0;
	bool data = put->body == PUT_WHOLE || put->body == PUT_DELTA || put->body == PUT_RANGES;
	int rc, t;

	err[0] = '\0';
	buf_init(&b, VG_MSG_MAX);
	buf_init(&rb, MUX_FRAME_MAX);
	proto_put_put(&b, put);
	if ((rc = wire_buf_error(&b)) < 0)
		goto out;
	if (!(s = mux_open(m, MSG_DEV_PUT, b.data, b.len))) {
		rc = errno ? -errno : -ECONNRESET;
		goto out;
	}
	if (!data) {
		if ((rc = mux_send_end(s)) < 0)
			goto close;
	} else {
		if ((t = recv_msg(s, &rb, timeout_ms, err, errlen)) < 0) {
			rc = t;
			goto close;
		}
		if (t != MSG_PUT_READY || get_u64(&rb, &off) < 0 || off > body->size) {
			snprintf(err, errlen, "unexpected reply %#x to a put", t);
			rc = -EPROTO;
			goto close;
		}
		if ((rc = send_data(s, put, body, off)) < 0)
			goto close;   /* closing without END resets: the server drops it */
		if ((rc = mux_send_end(s)) < 0)
			goto close;
	}
	for (;;) {
		if ((t = recv_msg(s, &rb, timeout_ms, err, errlen)) < 0) {
			rc = t;
			break;
		}
		if (t == MSG_PUT_READY)
			continue;
		if (t != MSG_PUT_DONE || get_u64(&rb, version) < 0) {
			snprintf(err, errlen, "unexpected reply %#x to a put", t);
			rc = -EPROTO;
		}
		break;
	}
close:
	mux_stream_close(s);
out:
	buf_free(&b);
	buf_free(&rb);
	return rc;
}

int putio_latest(struct mux *m, const char *path, struct vg_entry *out, int timeout_ms)
{
	struct wire_reader r;
	struct buf b, rb;
	uint16_t rt = 0;
	int rc;

	buf_init(&b, VG_MSG_MAX);
	buf_init(&rb, MUX_FRAME_MAX);
	wire_put_str(&b, path);
	if ((rc = mux_call(m, MSG_DEV_LATEST, &b, &rt, &rb, timeout_ms)) < 0)
		goto out;
	if (rt == MSG_ERROR) {
		char text[VG_ERRMSG_MAX];
		int code = proto_get_error(rb.data, rb.len, text, sizeof(text));

		rc = code > 0 ? -code : -EPROTO;
		goto out;
	}
	if (rt != MSG_ENTRY) {
		rc = -EPROTO;
		goto out;
	}
	wire_reader_init(&r, rb.data, rb.len);
	proto_get_entry(&r, out);
	rc = wire_done(&r);
out:
	buf_free(&b);
	buf_free(&rb);
	return rc;
}

int putio_report(struct mux *m, const struct vg_report *rep, int timeout_ms)
{
	struct buf b, rb;
	char text[VG_ERRMSG_MAX];
	uint16_t rt = 0;
	int rc;

	buf_init(&b, VG_MSG_MAX);
	buf_init(&rb, MUX_FRAME_MAX);
	proto_put_report(&b, rep);
	rc = mux_call(m, MSG_DEV_REPORT, &b, &rt, &rb, timeout_ms);
	if (rc == 0 && rt != MSG_OK)
		rc = rt == MSG_ERROR ? -proto_get_error(rb.data, rb.len, text, sizeof(text)) : -EPROTO;
	buf_free(&b);
	buf_free(&rb);
	return rc;
}

int putio_sig(struct mux *m, const char *path, uint64_t version, uint64_t cap,
	      int (*out)(void *arg, const void *p, size_t n), void *arg, int timeout_ms,
	      uint64_t *got)
{
	struct mux_stream *s;
	struct buf b, rb;
	char err[VG_ERRMSG_MAX];
	uint16_t type = 0;
	int rc, k;

	*got = 0;
	buf_init(&b, VG_MSG_MAX);
	buf_init(&rb, MUX_FRAME_MAX);
	wire_put_str(&b, path);
	wire_put_u64(&b, version);
	if ((rc = wire_buf_error(&b)) < 0)
		goto out;
	if (!(s = mux_open(m, MSG_DEV_SIG, b.data, b.len))) {
		rc = errno ? -errno : -ECONNRESET;
		goto out;
	}
	if ((rc = mux_send_end(s)) < 0 && rc != -ECONNRESET)
		goto close;
	if ((rc = recv_msg(s, &rb, timeout_ms, err, sizeof(err))) < 0)
		goto close;
	if (rc != MSG_OK) {
		rc = -EPROTO;
		goto close;
	}
	for (rc = 0;;) {
		if ((k = mux_recv(s, &type, &rb, timeout_ms)) < 0) {
			rc = k;
			break;
		}
		if (k == MUX_END)
			break;
		if (k != MUX_DATA) {
			rc = -EPROTO;
			break;
		}
		if (rb.len > cap - *got) {
			rc = -EFBIG;
			break;
		}
		*got += rb.len;
		if ((rc = out(arg, rb.data, rb.len)) != 0)
			break;
	}
close:
	mux_stream_close(s);
out:
	buf_free(&b);
	buf_free(&rb);
	return rc;
}
