/* devsig.c — what a device asks of a version it computes a delta
 * against (daemon/chunkdelta.h): the librsync signature of a region of
 * its old bytes (MSG_DEV_RSIG, at most VG_RSIG_MAX bytes: only the chunks
 * covering it are read, and the signature streams out as it is summed)
 * and its chunk list (MSG_DEV_CHUNKS, from the tree's pages).  A device
 * reads only its own latest version of a path. */
#include "server/devsig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "server/reply.h"
#include "server/store/content.h"

enum what { W_RSIG, W_CHUNKS };

static int data_out(void *arg, const void *p, size_t n)
{
	return mux_send_data(arg, p, n);
}

/* The reader of version q->version of q->path if it is c's latest live
 * file: 0, -ENOENT, -ESTALE or -errno. */
static int open_latest(struct conn *c, const struct vg_sig_req *q, struct vreader **vr)
{
	struct index_version *v = malloc(sizeof(*v));
	struct content_ref ref;
	int r;

	if (!v)
		return -ENOMEM;
	r = index_latest(c->srv->idx, c->id.id, q->path, INDEX_AT_LATEST, true, v);
	if (r == 0 && (v->e.deleted || v->e.type != VG_FILE))
		r = -ENOENT;
	if (r == 0 && v->e.version != q->version)
		r = -ESTALE;
	if (r == 0 && q->len != UINT64_MAX && q->off > v->e.size)
		r = -EINVAL;
	if (r == 0) {
		memcpy(ref.root, v->content_root, 32);
		ref.size = v->e.size;
		r = vreader_open(c->srv->store, &c->key, &ref, vr);
	}
	free(v);
	return r;
}

static void reply_failure(struct mux_stream *s, const struct vg_sig_req *q, int r)
{
	if (r == -ENOENT)
		reply_error(s, ENOENT, "%s: no live file version on the server", q->path);
	else if (r == -ESTALE)
		reply_error(s, ESTALE, "%s: version %llu is not the latest", q->path,
			    (unsigned long long)q->version);
	else if (r == -EINVAL)
		reply_error(s, EINVAL, "%s: region past the end or over %llu bytes", q->path,
			    (unsigned long long)VG_RSIG_MAX);
	else
		reply_error(s, -r, "%s: %s", q->path, strerror(-r));
}

static int serve(struct conn *c, struct mux_stream *s, struct wire_reader *wr, enum what w)
{
	struct vreader *vr = NULL;
	struct vg_sig_req q;
	int r;

	memset(&q, 0, sizeof(q));
	if (w == W_RSIG)
		proto_get_rsig_req(wr, &q);
	else
		proto_get_sig_req(wr, &q);
	if (wire_done(wr) < 0)
		return -EPROTO;
	if (w == W_CHUNKS)
		q.len = UINT64_MAX;
	r = w == W_RSIG && (!q.len || q.len > VG_RSIG_MAX) ? -EINVAL : open_latest(c, &q, &vr);
	if (r == 0 && (r = reply(s, MSG_OK, NULL)) == 0) {
		if (w == W_CHUNKS)
			r = content_chunk_list(vr, data_out, s);
		else
			r = content_signature_range(vr, q.off, q.len, data_out, s);
		if (r < 0 && r != -ECONNRESET)
			log_errno(r, "device %s: %s of %s", c->id.name,
				  w == W_CHUNKS ? "chunk list" : "signature", q.path);
		if (r < 0)
			r = -ECONNABORTED;   /* after OK, a failure shows as a reset stream */
	}
	if (r < 0 && r != -ECONNRESET && r != -ECONNABORTED)
		reply_failure(s, &q, r);
	vreader_free(vr);
	return r == -ECONNABORTED ? r : 0;
}

static int do_rsig(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	return serve(c, s, wr, W_RSIG);
}

static int do_chunks(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	return serve(c, s, wr, W_CHUNKS);
}

const struct srv_handler devsig_handlers[] = {
	{ MSG_DEV_RSIG, do_rsig },
	{ MSG_DEV_CHUNKS, do_chunks },
	{ 0, NULL },
};
