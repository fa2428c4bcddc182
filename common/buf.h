/* buf.h — a growable byte buffer with a hard maximum (curl's dynbuf idea).
 * Every buffer that holds data from outside is created with a cap; growing
 * past it fails with -EMSGSIZE instead of allocating what a peer asked for. */
#ifndef VIGIL_BUF_H
#define VIGIL_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;   /* allocated */
	size_t max;   /* hard limit on len */
};

void buf_init(struct buf *b, size_t max);   /* no allocation yet */
void buf_free(struct buf *b);               /* frees data; b may be reused after buf_init */
void buf_reset(struct buf *b);              /* len = 0, keeps memory */
int buf_reserve(struct buf *b, size_t extra);           /* 0 or -ENOMEM/-EMSGSIZE */
int buf_append(struct buf *b, const void *p, size_t n); /* 0 or -ENOMEM/-EMSGSIZE */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminates without counting the NUL in len; returns the string or NULL. */
char *buf_cstr(struct buf *b);

#endif
