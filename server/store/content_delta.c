/* content_delta.c — librsync deltas applied to stored versions, and
 * signatures of stored versions.
 *
 * The delta is parsed here rather than by rs_patch_begin: librsync's copy
 * callback only asks for bytes, while a COPY command seen whole can go to
 * vbuild_copy, which reuses the base's chunks instead of reading,
 * re-compressing and re-storing them.  The format (librsync's, "rs\x02\x36"):
 *   u32 magic RS_DELTA_MAGIC, then commands, integers big-endian:
 *   0x00             END
 *   0x01..0x40       LITERAL of that many bytes, which follow
 *   0x41..0x44       LITERAL, length in 1/2/4/8 bytes, then the bytes
 *   0x45..0x54       COPY: (op-0x45)/4 and %4 give the widths (1/2/4/8) of
 *                    the base position and the length that follow
 *   anything else    invalid
 * A signature is librsync's own job, driven with rs_job_iter over a vreader
 * with fixed buffers. */
#include "server/store/content_vb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <librsync.h>

#include "common/rsync_params.h"

#define SIG_BUF (64 * 1024)

enum { P_MAGIC, P_CMD, P_PARAM, P_LITERAL, P_END };

struct vpatch {
	struct vbuild *vb;
	struct content_ref base;
	int state;
	uint8_t op;
	uint8_t par[16];
	size_t npar, want;       /* parameter bytes collected / needed */
	uint64_t lit_left;
	int err;
};

int vpatch_new(struct store *st, const struct devkey *key, const struct content_ref *base,
	       uint64_t max_size, struct vpatch **out)
{
	struct vpatch *vp = calloc(1, sizeof(*vp));
	int r;

	*out = NULL;
	if (!vp)
		return -ENOMEM;
	if ((r = vbuild_new(st, key, &vp->vb)) < 0) {
		free(vp);
		return r;
	}
	vp->vb->log_overflow = true;   /* never checkpointed: keep no entry log */
	vbuild_set_limits(vp->vb, max_size, NULL, NULL);
	vp->base = *base;
	vp->state = P_MAGIC;
	vp->want = 4;
	*out = vp;
	return 0;
}

void vpatch_set_cancel(struct vpatch *vp, content_cancel_fn gone, void *arg)
{
	vbuild_set_limits(vp->vb, vp->vb->max_size, gone, arg);
}

void vpatch_free(struct vpatch *vp)
{
	if (!vp)
		return;
	vbuild_free(vp->vb);
	free(vp);
}

/* A command byte: how many parameter bytes follow, or -EBADMSG. */
static int op_params(uint8_t op)
{
	if (op >= 0x41 && op <= 0x44)
		return 1 << (op - 0x41);
	if (op >= 0x45 && op <= 0x54)
		return (1 << ((op - 0x45) / 4)) + (1 << ((op - 0x45) % 4));
	return -EBADMSG;
}

static int run_params(struct vpatch *vp)
{
	uint64_t pos, len;
	size_t w1;

	if (vp->op <= 0x44) {
		vp->lit_left = be_uint(vp->par, vp->want);
		vp->state = vp->lit_left ? P_LITERAL : P_CMD;
		return 0;
	}
	w1 = (size_t)1 << ((vp->op - 0x45) / 4);
	pos = be_uint(vp->par, w1);
	len = be_uint(vp->par + w1, vp->want - w1);
	vp->state = P_CMD;
	return vbuild_copy(vp->vb, &vp->base, pos, len);   /* -EBADMSG outside base */
}

/* Consumes a prefix of p[0..n); returns bytes used or -errno. */
static ssize_t step(struct vpatch *vp, const uint8_t *p, size_t n)
{
	size_t k;
	int r;

	switch (vp->state) {
	case P_MAGIC:
	case P_PARAM:
		k = vp->want - vp->npar < n ? vp->want - vp->npar : n;
		memcpy(vp->par + vp->npar, p, k);
		vp->npar += k;
		if (vp->npar < vp->want)
			return (ssize_t)k;
		if (vp->state == P_MAGIC) {
			if (be_uint(vp->par, 4) != RS_DELTA_MAGIC)
				return -EBADMSG;
			vp->state = P_CMD;
		} else if ((r = run_params(vp)) < 0) {
			return r;
		}
		return (ssize_t)k;
	case P_CMD:
		vp->op = p[0];
		if (vp->op == 0) {
			vp->state = P_END;
		} else if (vp->op <= 0x40) {
			vp->lit_left = vp->op;
			vp->state = P_LITERAL;
		} else {
			if ((r = op_params(vp->op)) < 0)
				return r;
			vp->want = (size_t)r;
			vp->npar = 0;
			vp->state = P_PARAM;
		}
		return 1;
	case P_LITERAL:
		k = vp->lit_left < n ? (size_t)vp->lit_left : n;
		if ((r = vbuild_write(vp->vb, p, k)) < 0)
			return r;
		vp->lit_left -= k;
		if (vp->lit_left == 0)
			vp->state = P_CMD;
		return (ssize_t)k;
	default:
		return -EBADMSG;   /* bytes after END */
	}
}

int vpatch_feed(struct vpatch *vp, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t k;

	if (vp->err)
		return vp->err;
	while (n > 0) {
		k = step(vp, b, n);
		if (k < 0) {
			vp->err = (int)k;
			return vp->err;
		}
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

int vpatch_finish(struct vpatch *vp, struct content_ref *out)
{
	if (vp->err)
		return vp->err;
	if (vp->state != P_END)
		return vp->err = -EBADMSG;
	return vp->err = vbuild_finish(vp->vb, out);
}

void vpatch_skip_sha(struct vpatch *vp)
{
	vp->vb->no_sha = true;
}

int vpatch_sha256(const struct vpatch *vp, uint8_t out[32])
{
	return vbuild_sha256(vp->vb, out);
}

/* Runs the signature job over vr's bytes [off, end) into out. */
static int sig_run(rs_job_t *job, struct vreader *vr, uint64_t off, uint64_t end, uint8_t *in,
		   uint8_t *ob, content_out_fn out, void *arg)
{
	rs_buffers_t b;
	rs_result res;
	ssize_t k;
	int r;

	memset(&b, 0, sizeof(b));
	for (;;) {
		if (b.avail_in == 0 && !b.eof_in) {
			size_t want = end - off < SIG_BUF ? (size_t)(end - off) : SIG_BUF;

			k = want ? vreader_pread(vr, in, want, off) : 0;
			if (k < 0)
				return (int)k;
			b.next_in = (char *)in;
			b.avail_in = (size_t)k;
			b.eof_in = k == 0;
			off += (uint64_t)k;
		}
		b.next_out = (char *)ob;
		b.avail_out = SIG_BUF;
		res = rs_job_iter(job, &b);
		if (res != RS_DONE && res != RS_BLOCKED)
			return -EIO;
		if (b.avail_out < SIG_BUF && (r = out(arg, ob, SIG_BUF - b.avail_out)) != 0)
			return r;
		if (res == RS_DONE)
			return 0;
	}
}

int content_signature_range(struct vreader *vr, uint64_t off, uint64_t len,
			    content_out_fn out, void *arg)
{
	uint8_t *in = malloc(SIG_BUF), *ob = malloc(SIG_BUF);
	uint64_t size = vreader_size(vr), end;
	rs_job_t *job = NULL;
	int r = -ENOMEM;

	off = off < size ? off : size;
	end = len < size - off ? off + len : size;
	if (!in || !ob)
		goto out;
	job = rs_sig_begin(VG_RS_BLOCK_LEN, VG_RS_STRONG_LEN, VG_RS_SIG_MAGIC);
	if (!job)
		goto out;
	r = sig_run(job, vr, off, end, in, ob, out, arg);
out:
	if (job)
		rs_job_free(job);
	free(in);
	free(ob);
	return r;
}

int content_signature(struct vreader *vr, content_out_fn out, void *arg)
{
	return content_signature_range(vr, 0, UINT64_MAX, out, arg);
}
