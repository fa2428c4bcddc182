/* extract_int.h — internals shared by extract.c and extract_sqlite.c:
 * the buffered input, the sanitising output and the per-file context. */
#ifndef VIGIL_EXTRACT_INT_H
#define VIGIL_EXTRACT_INT_H

#include "server/search/extract.h"

#define EX_IN_BLOCK 65536

struct ex_ctx {
	const struct ex_source *src;
	struct ex_limits lim;
	struct ex_result *res;
	/* input */
	uint8_t in[EX_IN_BLOCK];
	size_t in_len, in_pos;
	uint64_t in_off;        /* source offset of in[0] */
	int err;                /* read error or emit's value: stop */
	/* output */
	char out[EX_PIECE_MAX];
	size_t out_len;
	uint8_t pend[4];        /* an incomplete UTF-8 sequence */
	size_t npend, need;
	ex_emit_fn emit;
	void *arg;
};

int  ex_getc(struct ex_ctx *x);      /* next byte, or -1 at the end or on error */
int  ex_peek(struct ex_ctx *x);
void ex_byte(struct ex_ctx *x, uint8_t c);            /* sanitising output */
void ex_bytes(struct ex_ctx *x, const void *p, size_t n);
void ex_cp(struct ex_ctx *x, int32_t cp);             /* one code point */
void ex_flush(struct ex_ctx *x);
bool ex_stop(const struct ex_ctx *x);                 /* error or output cap reached */
void ex_malformed(struct ex_ctx *x, const char *why); /* first reason wins */
void ex_truncated(struct ex_ctx *x, const char *why);

int ex_sqlite(struct ex_ctx *x);      /* extract_sqlite.c */

#endif
