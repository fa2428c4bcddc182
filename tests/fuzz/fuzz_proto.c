/* fuzz_proto.c — libFuzzer harness for common/wire.c + common/proto.c
 * (and common/simwire.c, vigil-simfs's datagrams to vigild).
 * The first byte picks a decoder (replies, then the request bodies the
 * server decodes), the rest is the message.  A message that
 * decodes cleanly must re-encode, and decoding that encoding must give the
 * same bytes again (encode(decode(x)) is a fixed point). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/proto.h"
#include "common/simwire.h"
#include "tests/fuzz/fuzz_util.h"

/* New kinds go at the end: a seed's first byte keeps its meaning. */
enum { K_ENTRY, K_PUT, K_DEVICE, K_REPORT, K_STATUS, K_HIT, K_ERROR, K_ENTRIES,
       K_LS, K_LOG, K_STAT, K_READ, K_STATUS_REQ, K_SEARCH, K_LATEST, K_SIG, K_SIM, K_SIMW,
       K_PUT_TRAILER, K_BATCH_ITEM, K_BATCH_DONE, K_RSIG, K_PUT_STORED, K_PUT_CUTS, K_COUNT };

/* The decoded value of any kind fits here. */
union any {
	struct vg_entry e; struct vg_put p; struct vg_device d; struct vg_report rep;
	struct vg_status st; struct vg_hit h; struct vg_ls_req ls; struct vg_log_req lg;
	struct vg_stat_req sr; struct vg_read_req rd; struct vg_status_req ss;
	struct vg_search_req se; struct vg_latest_req la; struct vg_sig_req sg;
	struct vg_sim sim; struct simw_msg sw; struct vg_put_trailer tr; struct vg_put_stored ps;
	struct vg_put_cuts cu;
	struct vg_batch_item bi;
	struct { struct vg_batch_result r[PUTBATCH_ITEMS_MAX]; uint32_t n; } bd;
};

/* Decodes one value of kind k from r into v and appends its encoding to b. */
static void decode_encode(int k, struct wire_reader *r, void *v, struct buf *b)
{
	switch (k) {
	case K_ENTRY:  proto_get_entry(r, v);  if (!r->err) proto_put_entry(b, v);  break;
	case K_PUT:    proto_get_put(r, v);    if (!r->err) proto_put_put(b, v);    break;
	case K_DEVICE: proto_get_device(r, v); if (!r->err) proto_put_device(b, v); break;
	case K_REPORT: proto_get_report(r, v); if (!r->err) proto_put_report(b, v); break;
	case K_STATUS: proto_get_status(r, v); if (!r->err) proto_put_status(b, v); break;
	case K_HIT:    proto_get_hit(r, v);    if (!r->err) proto_put_hit(b, v);    break;
	case K_LS:     proto_get_ls_req(r, v); if (!r->err) proto_put_ls_req(b, v); break;
	case K_LOG:    proto_get_log_req(r, v); if (!r->err) proto_put_log_req(b, v); break;
	case K_STAT:   proto_get_stat_req(r, v); if (!r->err) proto_put_stat_req(b, v); break;
	case K_READ:   proto_get_read_req(r, v); if (!r->err) proto_put_read_req(b, v); break;
	case K_STATUS_REQ:
		proto_get_status_req(r, v); if (!r->err) proto_put_status_req(b, v); break;
	case K_SEARCH: proto_get_search_req(r, v); if (!r->err) proto_put_search_req(b, v); break;
	case K_LATEST: proto_get_latest_req(r, v); if (!r->err) proto_put_latest_req(b, v); break;
	case K_SIG:    proto_get_sig_req(r, v); if (!r->err) proto_put_sig_req(b, v); break;
	case K_SIM:    proto_get_sim(r, v);    if (!r->err) proto_put_sim(b, v);    break;
	case K_PUT_TRAILER:
		proto_get_put_trailer(r, v); if (!r->err) proto_put_put_trailer(b, v); break;
	case K_BATCH_ITEM:
		proto_get_batch_item(r, v);
		if (!r->err)
			proto_put_batch_item(b, &((union any *)v)->bi.put, ((union any *)v)->bi.flags);
		break;
	case K_BATCH_DONE: {
		union any *a = v;

		proto_get_batch_done(r, a->bd.r, PUTBATCH_ITEMS_MAX, &a->bd.n);
		if (!r->err)
			proto_put_batch_done(b, a->bd.r, a->bd.n);
		break;
	}
	case K_RSIG:   proto_get_rsig_req(r, v); if (!r->err) proto_put_rsig_req(b, v); break;
	case K_PUT_STORED:
		proto_get_put_stored(r, v); if (!r->err) proto_put_put_stored(b, v); break;
	case K_PUT_CUTS:
		proto_get_put_cuts(r, v); if (!r->err) proto_put_put_cuts(b, v); break;
	}
}

static int run(int k, const uint8_t *p, size_t n, void *v, struct buf *out)
{
	struct wire_reader r;
	uint32_t i, cnt;

	if (k == K_SIMW) {      /* a whole datagram, not a wire_reader field */
		if (simw_decode(p, n, v) < 0)
			return -EBADMSG;
		simw_encode(out, v);
		return 0;
	}
	wire_reader_init(&r, p, n);
	if (k == K_ENTRIES) {   /* a MSG_ENTRIES batch: u32 n, entry * n */
		cnt = wire_get_u32(&r);
		if (cnt > 64)
			return -EBADMSG;
		wire_put_u32(out, cnt);
		for (i = 0; i < cnt && !r.err; i++)
			decode_encode(K_ENTRY, &r, v, out);
	} else {
		decode_encode(k, &r, v, out);
	}
	return wire_done(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union any *v;   /* reused */
	struct buf a, b;
	int k;

	if (size < 1)
		return 0;
	if (!v && !(v = malloc(sizeof(*v))))
		abort();
	k = data[0] % K_COUNT;
	data++;
	size--;
	if (k == K_ERROR) {
		char text[VG_ERRMSG_MAX];
		int code = proto_get_error(data, size, text, sizeof(text));

		if (code <= 0 || strnlen(text, sizeof(text)) == sizeof(text))
			abort();
		return 0;
	}
	buf_init(&a, 1u << 20);
	buf_init(&b, 1u << 20);
	if (run(k, data, size, v, &a) == 0) {
		if (wire_buf_error(&a) != 0 || run(k, a.data, a.len, v, &b) != 0 ||
		    a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			abort();
	}
	buf_free(&a);
	buf_free(&b);
	return 0;
}
