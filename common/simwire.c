/* simwire.c — encode/decode of the datagrams vigil-simfs sends vigild
 * (simwire.h).  The decoder is strict: a datagram is one whole, valid
 * message or it is refused. */
#include "common/simwire.h"

#include <errno.h>
#include <string.h>

#include "common/names.h"

void simw_encode(struct buf *b, const struct simw_msg *m)
{
	uint32_t n = m->nranges > SIMW_RANGES_MAX ? SIMW_RANGES_MAX : m->nranges;

	wire_put_u8(b, SIMW_VERSION);
	wire_put_u8(b, m->kind);
	wire_put_i64(b, m->time_ns);
	wire_put_str(b, m->kind == SIMW_SIM ? "" : m->path);
	if (m->kind == SIMW_RANGES) {
		wire_put_u32(b, n);
		for (uint32_t i = 0; i < n; i++) {
			wire_put_u64(b, m->ranges[i].off);
			wire_put_u64(b, m->ranges[i].len);
		}
	}
	if (m->kind == SIMW_SIM)
		proto_put_sim(b, &m->sim);
}

/* 1..SIMW_RANGES_MAX ranges, none whose end overflows. */
static void get_ranges(struct wire_reader *r, struct simw_msg *m)
{
	m->nranges = wire_get_u32(r);
	if (r->err || m->nranges == 0 || m->nranges > SIMW_RANGES_MAX) {
		m->nranges = 0;
		r->err = -EBADMSG;
		return;
	}
	for (uint32_t i = 0; i < m->nranges && !r->err; i++) {
		m->ranges[i].off = wire_get_u64(r);
		m->ranges[i].len = wire_get_u64(r);
		if (m->ranges[i].off > UINT64_MAX - m->ranges[i].len)
			r->err = -EBADMSG;
	}
}

int simw_decode(const void *p, size_t n, struct simw_msg *m)
{
	struct wire_reader r;
	uint8_t version;

	memset(m, 0, sizeof(*m));
	wire_reader_init(&r, p, n);
	version = wire_get_u8(&r);
	m->kind = wire_get_u8(&r);
	m->time_ns = wire_get_i64(&r);
	wire_get_str(&r, m->path, sizeof(m->path));
	if (r.err || version != SIMW_VERSION || m->kind < SIMW_CHANGED || m->kind > SIMW_SIM)
		return -EPROTO;
	if (m->kind == SIMW_SIM ? m->path[0] != '\0' : !path_valid(m->path))
		return -EPROTO;
	if (m->kind == SIMW_RANGES)
		get_ranges(&r, m);
	if (m->kind == SIMW_SIM)
		proto_get_sim(&r, &m->sim);
	return wire_done(&r) < 0 ? -EPROTO : 0;
}
