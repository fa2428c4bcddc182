/* fuzz_mux.c — libFuzzer harness for the mux frame reader (common/
 * mux_frame.c), the code mux_io.c's I/O thread runs on every byte a peer
 * sends.  Byte 0 picks the read sizes (fuzz_piece; bit 7 of byte 1 starts
 * as if the peer's HELLO was taken), the rest is what the peer sent.  It is
 * read twice, in those pieces and with reads as large as the reader asks
 * for, the way do_read does it; both must give the same frames and stop at
 * the same byte.  Every frame must satisfy the header and connection rules
 * (size, kind, HELLO first and once, PING, stream 0), re-encode to the
 * bytes read, and the reader must never ask for more than its buffer. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/byteorder.h"
#include "common/mux.h"
#include "common/mux_frame.h"
#include "tests/fuzz/fuzz_util.h"

#define MAXF 4096

struct run {
	struct mux_hdr f[MAXF];
	size_t off[MAXF];        /* where each frame starts in the input */
	size_t n, used;          /* frames; input bytes consumed */
	int err;                 /* 0, or -EPROTO at the end */
};

static uint8_t rbuf[MUX_HDR + MUX_FRAME_MAX];

static void check_frame(const struct mux_hdr *h, bool hello_rx, const uint8_t *raw)
{
	uint8_t enc[MUX_HDR] = {
		h->len >> 24, h->len >> 16, h->len >> 8, h->len, h->kind, raw[5],
		h->type >> 8, h->type & 0xff, h->id >> 24, h->id >> 16, h->id >> 8, h->id,
	};

	if (h->len > MUX_FRAME_MAX || h->kind == 0 || h->kind > FK_LAST)
		abort();
	if (memcmp(enc, raw, MUX_HDR))
		abort();
	if (!hello_rx && (h->kind != FK_HELLO || be32_get(raw + MUX_HDR) != MUX_VERSION))
		abort();
	if (hello_rx && h->kind == FK_HELLO)
		abort();
	if (h->kind == FK_PING && (h->id || h->len > MUX_PING_MAX))
		abort();
	if (h->kind >= FK_MSG && h->kind <= FK_RESET && h->id == 0)
		abort();
}

/* One frame is whole in rbuf: the connection rules, then record it. */
static int take_frame(struct run *r, const struct mux_hdr *h, bool *hello_rx, size_t start)
{
	char why[256];
	int e;

	why[0] = '\0';
	if ((e = mux_frame_check(*hello_rx, h, rbuf + MUX_HDR, why, sizeof(why))) < 0) {
		if (e != -EPROTO || !why[0] || !memchr(why, 0, sizeof(why)))
			abort();
		return e;
	}
	check_frame(h, *hello_rx, rbuf);
	*hello_rx = true;
	if (r->n < MAXF) {
		r->off[r->n] = start;
		r->f[r->n++] = *h;
	}
	return 0;
}

/* Reads p[0..n) as do_read does; step 0xff: as much as the reader asks. */
static void read_all(struct run *r, const uint8_t *p, size_t n, uint8_t step, bool hello_rx)
{
	size_t rlen = 0, pos = 0, i = 0, start = 0;
	struct mux_hdr h;
	char why[256];
	int e;

	r->n = r->used = 0;
	r->err = 0;
	while (pos < n) {
		size_t need = mux_frame_need(rbuf, rlen), k = fuzz_piece(step, i++, n - pos);

		if (need == 0 || rlen + need > sizeof(rbuf))
			abort();
		k = k < need ? k : need;
		memcpy(rbuf + rlen, p + pos, k);
		rlen += k;
		pos += k;
		why[0] = '\0';
		if ((e = mux_frame_take(rbuf, rlen, &h, why, sizeof(why))) < 0) {
			if (e != -EPROTO || !why[0] || rlen < MUX_HDR)
				abort();
			r->err = e;
			break;
		}
		if (e == 0)
			continue;
		if (rlen != MUX_HDR + h.len)
			abort();
		if ((r->err = take_frame(r, &h, &hello_rx, start)) < 0)
			break;
		rlen = 0;
		start = pos;
	}
	r->used = pos;
}

static struct run a, b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool hello;

	if (size < 2)
		return 0;
	hello = data[1] & 0x80;
	read_all(&a, data + 2, size - 2, data[0], hello);
	read_all(&b, data + 2, size - 2, 0xff, hello);
	if (a.n != b.n || a.err != b.err)
		abort();
	for (size_t i = 0; i < a.n; i++)
		if (a.f[i].len != b.f[i].len || a.f[i].kind != b.f[i].kind ||
		    a.f[i].type != b.f[i].type || a.f[i].id != b.f[i].id || a.off[i] != b.off[i])
			abort();
	/* reads never cross a frame's end: an error stops both at the same byte */
	if (a.used != b.used)
		abort();
	return 0;
}
