/* mux_frame.c — the mux frame format apart from the socket (mux_frame.h):
 * pure functions over bytes, shared by the I/O thread and the fuzzer. */
#include "common/mux_frame.h"

#include <errno.h>
#include <stdio.h>

#include "common/byteorder.h"
#include "common/mux.h"

size_t mux_frame_need(const uint8_t *buf, size_t rlen)
{
	if (rlen < MUX_HDR)
		return MUX_HDR - rlen;
	return MUX_HDR + (size_t)be32_get(buf) - rlen;
}

int mux_frame_take(const uint8_t *buf, size_t rlen, struct mux_hdr *h, char *why, size_t wl)
{
	if (rlen < MUX_HDR)
		return 0;
	h->len = be32_get(buf);
	h->kind = buf[4];
	h->type = (uint16_t)(buf[6] << 8 | buf[7]);
	h->id = be32_get(buf + 8);
	if (h->len > MUX_FRAME_MAX) {
		snprintf(why, wl, "frame of %u bytes (limit %d)", h->len, MUX_FRAME_MAX);
		return -EPROTO;
	}
	if (h->kind == 0 || h->kind > FK_LAST) {
		snprintf(why, wl, "unknown frame kind %u", h->kind);
		return -EPROTO;
	}
	return rlen >= MUX_HDR + (size_t)h->len ? 1 : 0;
}

static int bad(char *why, size_t wl, const char *what)
{
	snprintf(why, wl, "%s", what);
	return -EPROTO;
}

int mux_frame_check(bool hello_rx, const struct mux_hdr *h, const uint8_t *p,
		    char *why, size_t wl)
{
	if (!hello_rx) {
		if (h->kind != FK_HELLO || h->len < 4)
			return bad(why, wl, "expected HELLO first");
		if (be32_get(p) != MUX_VERSION) {
			snprintf(why, wl, "peer speaks mux version %u, this end speaks %d",
				 be32_get(p), MUX_VERSION);
			return -EPROTO;
		}
		if (h->len < 8 || be32_get(p + 4) < MUX_WINDOW || be32_get(p + 4) > MUX_WINDOW_MAX)
			return bad(why, wl, "HELLO without a valid window");
		return 0;
	}
	switch (h->kind) {
	case FK_HELLO:
		return bad(why, wl, "second HELLO");
	case FK_PING:
		return h->id || h->len > MUX_PING_MAX ? bad(why, wl, "bad PING") : 0;
	case FK_PONG:
	case FK_OPEN:
		return 0;
	}
	if (h->id == 0) {
		snprintf(why, wl, "frame kind %u on stream 0", h->kind);
		return -EPROTO;
	}
	return 0;
}
