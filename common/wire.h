/* wire.h — bounds-checked encoding of protocol messages.
 * Big-endian integers; strings and blobs carry a u32 length.  A writer
 * appends to a capped struct buf; a reader never reads past its end and
 * latches the first error, so a message is decoded field by field and
 * checked once at the end with wire_ok(). */
#ifndef VIGIL_WIRE_H
#define VIGIL_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct wire_reader {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;     /* 0 or -EBADMSG once anything was out of bounds */
};

void wire_put_u8(struct buf *b, uint8_t v);
void wire_put_u16(struct buf *b, uint16_t v);
void wire_put_u32(struct buf *b, uint32_t v);
void wire_put_u64(struct buf *b, uint64_t v);
void wire_put_i64(struct buf *b, int64_t v);
void wire_put_bytes(struct buf *b, const void *p, size_t n);  /* raw, fixed size */
void wire_put_blob(struct buf *b, const void *p, size_t n);   /* u32 length + bytes */
void wire_put_str(struct buf *b, const char *s);              /* blob without NUL; NULL = "" */
/* The writer side keeps its own error: a buf that hit its cap. */
int wire_buf_error(const struct buf *b);

void wire_reader_init(struct wire_reader *r, const void *p, size_t len);
uint8_t wire_get_u8(struct wire_reader *r);
uint16_t wire_get_u16(struct wire_reader *r);
uint32_t wire_get_u32(struct wire_reader *r);
uint64_t wire_get_u64(struct wire_reader *r);
int64_t wire_get_i64(struct wire_reader *r);
void wire_get_bytes(struct wire_reader *r, void *out, size_t n);
/* A blob of at most max bytes; *out points into the message (not copied). */
const uint8_t *wire_get_blob(struct wire_reader *r, size_t max, size_t *n);
/* Copies a string of at most cap-1 bytes into out, NUL-terminated; a string
 * containing a NUL byte or longer than that is an error. */
void wire_get_str(struct wire_reader *r, char *out, size_t cap);
/* 0 when everything decoded and nothing is left over; -EBADMSG otherwise. */
int wire_done(const struct wire_reader *r);
int wire_ok(const struct wire_reader *r);  /* 0 when no error so far */

#endif
