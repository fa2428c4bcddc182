/* content_ranges.c — a new version as its base overlaid with written byte
 * ranges (PUT_RANGES), cut or zero-extended to the new size.
 *
 * Records {u64 off, u32 len, bytes} arrive in pieces of any size; they must
 * be sorted and not overlap, so the result streams out in order: the base
 * between records goes through vbuild_copy (whose chunks are reused once
 * the chunker is back at a base chunk boundary), the record bytes through
 * vbuild_write.  Memory stays bounded: record bytes are never buffered. */
#include "server/store/content_vb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define REC_HDR_LEN 12

struct vranges {
	struct vbuild *vb;
	struct content_ref base;
	uint64_t new_size;
	uint64_t pos;            /* bytes of the result produced */
	uint8_t hdr[REC_HDR_LEN];
	size_t nhdr;
	uint64_t left;           /* bytes of the current record still to come */
	int err;
};

int vranges_new(struct store *st, const struct devkey *key, const struct content_ref *base,
		uint64_t new_size, struct vranges **out)
{
	struct vranges *vg;
	int r;

	*out = NULL;
	if (new_size > CONTENT_SIZE_MAX)
		return -EFBIG;
	if (!(vg = calloc(1, sizeof(*vg))))
		return -ENOMEM;
	if ((r = vbuild_new(st, key, &vg->vb)) < 0) {
		free(vg);
		return r;
	}
	vg->vb->no_sha = true;        /* RANGES are verified by tree root alone */
	vg->vb->log_overflow = true;  /* never checkpointed: keep no entry log */
	vbuild_set_limits(vg->vb, new_size, NULL, NULL);
	vg->base = *base;
	vg->new_size = new_size;
	*out = vg;
	return 0;
}

void vranges_set_cancel(struct vranges *vg, content_cancel_fn gone, void *arg)
{
	vbuild_set_limits(vg->vb, vg->new_size, gone, arg);
}

void vranges_free(struct vranges *vg)
{
	if (!vg)
		return;
	vbuild_free(vg->vb);
	free(vg);
}

/* Produces the result up to 'to': base bytes while there are any, then zeros. */
static int gap(struct vranges *vg, uint64_t to)
{
	uint64_t end = to < vg->base.size ? to : vg->base.size;
	int r;

	if (vg->pos < end) {
		if ((r = vbuild_copy(vg->vb, &vg->base, vg->pos, end - vg->pos)) < 0)
			return r;
		vg->pos = end;
	}
	if (vg->pos < to) {
		if ((r = vbuild_zero(vg->vb, to - vg->pos)) < 0)
			return r;
		vg->pos = to;
	}
	return 0;
}

static int record_start(struct vranges *vg)
{
	uint64_t off = be_uint(vg->hdr, 8), len = be_uint(vg->hdr + 8, 4);

	vg->nhdr = 0;
	if (len > VRANGES_LEN_MAX || off < vg->pos || off > vg->new_size ||
	    len > vg->new_size - off)
		return -EBADMSG;
	vg->left = len;
	return gap(vg, off);
}

int vranges_feed(struct vranges *vg, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t k;
	int r = 0;

	if (vg->err)
		return vg->err;
	while (n > 0 && r == 0) {
		if (vg->left == 0) {
			k = REC_HDR_LEN - vg->nhdr < n ? REC_HDR_LEN - vg->nhdr : n;
			memcpy(vg->hdr + vg->nhdr, b, k);
			vg->nhdr += k;
			if (vg->nhdr == REC_HDR_LEN)
				r = record_start(vg);
		} else {
			k = vg->left < n ? (size_t)vg->left : n;
			r = vbuild_write(vg->vb, b, k);
			vg->left -= k;
			vg->pos += k;
		}
		b += k;
		n -= k;
	}
	return vg->err = r;
}

int vranges_finish(struct vranges *vg, struct content_ref *out)
{
	int r;

	if (vg->err)
		return vg->err;
	if (vg->nhdr || vg->left)
		return vg->err = -EBADMSG;   /* a record was cut short */
	if ((r = gap(vg, vg->new_size)) == 0)
		r = vbuild_finish(vg->vb, out);
	return vg->err = r;
}
