/* stage.h — a block buffer in front of a sink: bytes put in small pieces
 * reach the sink in blocks of the buffer's size (the last one shorter, at
 * stage_flush).  The PUT_RANGES body writer (daemon/shipranges.c) and the
 * delta (daemon/chunkdelta.c) write through one. */
#ifndef VIGIL_COMMON_STAGE_H
#define VIGIL_COMMON_STAGE_H

#include <stddef.h>
#include <stdint.h>

struct stage {
	uint8_t *buf;    /* cap bytes, the caller's */
	size_t cap, len;
	int (*sink)(void *arg, const void *p, size_t n);   /* 0 or -errno */
	void *arg;
};

/* Appends p[0..n), handing each full block to the sink.  0 or the sink's
 * error (the block stays gathered). */
int stage_put(struct stage *st, const void *p, size_t n);
/* Hands what is gathered (if anything) to the sink.  0 or its error. */
int stage_flush(struct stage *st);

#endif
