/* reply.c — replies on a stream: one message, an error, counted batches. */
#include "server/reply.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/proto.h"
#include "common/wire.h"

int reply(struct mux_stream *s, uint16_t type, const struct buf *b)
{
	return mux_send_msg(s, type, b ? b->data : NULL, b ? b->len : 0);
}

int reply_u64(struct mux_stream *s, uint16_t type, uint64_t v)
{
	struct buf b;
	int r;

	buf_init(&b, 16);
	wire_put_u64(&b, v);
	r = wire_buf_error(&b);
	if (r == 0)
		r = reply(s, type, &b);
	buf_free(&b);
	return r;
}

void reply_error(struct mux_stream *s, int code, const char *fmt, ...)
{
	char text[VG_ERRMSG_MAX];
	struct buf b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	buf_init(&b, VG_MSG_MAX);
	proto_put_error(&b, code, text);
	if (!wire_buf_error(&b))
		(void)mux_send_msg(s, MSG_ERROR, b.data, b.len);
	buf_free(&b);
}

void reply_batch_init(struct reply_batch *rb, struct mux_stream *s, uint16_t type)
{
	rb->s = s;
	rb->type = type;
	rb->n = 0;
	buf_init(&rb->body, REPLY_BATCH_BYTES);
	buf_init(&rb->msg, VG_MSG_MAX);
}

void reply_batch_free(struct reply_batch *rb)
{
	buf_free(&rb->body);
	buf_free(&rb->msg);
}

bool reply_batch_fits(const struct reply_batch *rb, size_t len)
{
	return rb->body.len + len <= REPLY_BATCH_BYTES;
}

int reply_batch_add(struct reply_batch *rb, const struct buf *item)
{
	int r;

	if (!reply_batch_fits(rb, item->len))
		return -EMSGSIZE;
	if ((r = buf_append(&rb->body, item->data, item->len)) < 0)
		return r;
	rb->n++;
	return 0;
}

int reply_batch_flush(struct reply_batch *rb)
{
	int r;

	if (rb->n == 0)
		return 0;
	buf_reset(&rb->msg);
	wire_put_u32(&rb->msg, rb->n);
	wire_put_bytes(&rb->msg, rb->body.data, rb->body.len);
	if ((r = wire_buf_error(&rb->msg)) < 0)
		return r;
	r = reply(rb->s, rb->type, &rb->msg);
	buf_reset(&rb->body);
	rb->n = 0;
	return r;
}

int reply_batch_put(struct reply_batch *rb, const struct buf *item)
{
	int r;

	if (!reply_batch_fits(rb, item->len) && (r = reply_batch_flush(rb)) < 0)
		return r;
	return reply_batch_add(rb, item);
}
