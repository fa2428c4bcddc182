/* mux_frame.h — the mux frame format apart from the socket: where a frame
 * ends in the receive buffer, the header checks, and the connection rules
 * that need no stream state.  mux_io.c's reader runs every byte it reads
 * through these; tests/fuzz/fuzz_mux.c runs hostile bytes through the same.
 * The format is documented in docs/protocol.md. */
#ifndef VIGIL_MUX_FRAME_H
#define VIGIL_MUX_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum frame_kind {
	FK_HELLO = 1, FK_OPEN, FK_MSG, FK_DATA, FK_END, FK_CREDIT, FK_RESET, FK_PING, FK_PONG,
};
#define FK_LAST FK_PONG
#define MUX_HDR 12
#define MUX_PING_MAX 8           /* PING payload echoed in the PONG */

struct mux_hdr {
	uint32_t len;            /* payload bytes, <= MUX_FRAME_MAX once checked */
	uint8_t kind;            /* enum frame_kind */
	uint16_t type;
	uint32_t id;             /* stream, 0: the connection */
};

/* Bytes still missing from the frame starting at buf, of which rlen are
 * held (a header first, then its payload).  0 only for a whole frame. */
size_t mux_frame_need(const uint8_t *buf, size_t rlen);
/* After bytes arrived: 1 with *h when buf holds a whole frame (payload at
 * buf + MUX_HDR), 0 when more is needed, -EPROTO with a reason in why when
 * the header is bad (checked as soon as the header is whole). */
int mux_frame_take(const uint8_t *buf, size_t rlen, struct mux_hdr *h, char *why, size_t wl);
/* The rules for a whole frame that need no stream state: HELLO first with
 * our version and a window of MUX_WINDOW .. MUX_WINDOW_MAX, and only once; PING on stream 0 with <= MUX_PING_MAX bytes;
 * stream frames not on stream 0.  hello_rx: the peer's HELLO was taken.
 * 0 or -EPROTO with why. */
int mux_frame_check(bool hello_rx, const struct mux_hdr *h, const uint8_t *p,
		    char *why, size_t wl);

#endif
