/* wire.c — bounds-checked big-endian message encoding. */
#include "common/wire.h"

#include <errno.h>
#include <string.h>

#include "common/byteorder.h"

/* A writer whose buffer hit its cap marks it by setting len past max;
 * wire_buf_error() reports it and the message is never sent. */
static void put(struct buf *b, const void *p, size_t n)
{
	if (b->len > b->max)
		return;
	if (buf_append(b, p, n) < 0)
		b->len = b->max + 1;
}

int wire_buf_error(const struct buf *b) { return b->len > b->max ? -EMSGSIZE : 0; }

void wire_put_u8(struct buf *b, uint8_t v) { put(b, &v, 1); }
void wire_put_u16(struct buf *b, uint16_t v) { uint8_t x[2] = { v >> 8, v }; put(b, x, 2); }
void wire_put_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };
	put(b, x, 4);
}
void wire_put_u64(struct buf *b, uint64_t v)
{
	wire_put_u32(b, (uint32_t)(v >> 32));
	wire_put_u32(b, (uint32_t)v);
}
void wire_put_i64(struct buf *b, int64_t v) { wire_put_u64(b, (uint64_t)v); }
void wire_put_bytes(struct buf *b, const void *p, size_t n) { put(b, p, n); }
void wire_put_blob(struct buf *b, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		b->len = b->max + 1;
		return;
	}
	wire_put_u32(b, (uint32_t)n);
	put(b, p, n);
}
void wire_put_str(struct buf *b, const char *s) { wire_put_blob(b, s ? s : "", s ? strlen(s) : 0); }

void wire_reader_init(struct wire_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = 0;
}

static const uint8_t *take(struct wire_reader *r, size_t n)
{
	const uint8_t *p;

	if (r->err || n > r->len - r->off) {
		r->err = -EBADMSG;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t wire_get_u8(struct wire_reader *r) { const uint8_t *p = take(r, 1); return p ? p[0] : 0; }
uint16_t wire_get_u16(struct wire_reader *r)
{
	const uint8_t *p = take(r, 2);
	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}
uint32_t wire_get_u32(struct wire_reader *r)
{
	const uint8_t *p = take(r, 4);
	return p ? be32_get(p) : 0;
}
uint64_t wire_get_u64(struct wire_reader *r)
{
	uint64_t hi = wire_get_u32(r);
	return hi << 32 | wire_get_u32(r);
}
int64_t wire_get_i64(struct wire_reader *r) { return (int64_t)wire_get_u64(r); }
void wire_get_bytes(struct wire_reader *r, void *out, size_t n)
{
	const uint8_t *p = take(r, n);
	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}
const uint8_t *wire_get_blob(struct wire_reader *r, size_t max, size_t *n)
{
	uint32_t len = wire_get_u32(r);
	const uint8_t *p;

	*n = 0;
	if (r->err)
		return NULL;
	if (len > max) {
		r->err = -EBADMSG;
		return NULL;
	}
	p = take(r, len);
	if (p)
		*n = len;
	return p;
}
void wire_get_str(struct wire_reader *r, char *out, size_t cap)
{
	size_t n;
	const uint8_t *p = wire_get_blob(r, cap ? cap - 1 : 0, &n);

	if (cap)
		out[0] = '\0';
	if (!p)
		return;
	if (memchr(p, '\0', n)) {
		r->err = -EBADMSG;
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}
int wire_ok(const struct wire_reader *r) { return r->err; }
int wire_done(const struct wire_reader *r)
{
	if (r->err)
		return r->err;
	return r->off == r->len ? 0 : -EBADMSG;
}
