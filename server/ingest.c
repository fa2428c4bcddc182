/* ingest.c — device requests: put a version, latest, report, the SIM
 * (signatures and chunk lists: devsig.c). */
#include "server/ingest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/chunktree.h"
#include "common/clock.h"
#include "common/log.h"
#include "server/quota.h"
#include "server/reply.h"
#include "server/simstate.h"
#include "server/store/content.h"
#include "server/store/shafill.h"
#include "server/retainer.h"
#include "server/upslots.h"

/* One PUT in progress. */
struct put_ctx {
	struct conn *c;
	struct mux_stream *s;
	struct vg_put put;              /* what the device asked */
	struct index_version v;         /* what will be committed */
	struct index_version base;      /* base version (DELTA, RANGES, META) */
	bool have_base;
	struct buf in;                  /* one received item */
	/* a WHOLE sent as it is read (a trailer): answered by PUT_STORED */
	bool streamed;
	struct vg_put_trailer tr;
	struct vbuild *stored;          /* its finished build, for the chunk list */
	bool bad_cuts;                  /* its MSG_PUT_CUTS were not the chunker's */
	char quota_msg[160];            /* why EDQUOT (quota_refused) */
	struct store_guard guard;       /* held while guarded (a sweep waits for it) */
	bool guarded;
};

static const uint8_t zero32[32];

static bool token_set(const uint8_t token[16])
{
	for (int i = 0; i < 16; i++)
		if (token[i])
			return true;
	return false;
}

/* The content a DELTA or RANGES applies to: the base version's, or empty. */
static void base_ref(const struct put_ctx *p, struct content_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	if (p->have_base && p->base.e.type == VG_FILE && !p->base.e.deleted) {
		memcpy(ref->root, p->base.content_root, 32);
		ref->size = p->base.e.size;
	} else {
		(void)ctree_empty_root(ref->root);
	}
}

/* One MSG_PUT_TRAILER in a body's place (tr: where it goes; NULL: none
 * is allowed): 0, or -EPROTO for any other message, a second trailer or
 * one that does not decode. */
static int recv_trailer(struct put_ctx *p, uint16_t type, struct vg_put_trailer *tr,
			bool *got)
{
	struct wire_reader r;

	if (!tr || *got || type != MSG_PUT_TRAILER)
		return -EPROTO;
	wire_reader_init(&r, p->in.data, p->in.len);
	proto_get_put_trailer(&r, tr);
	if (wire_done(&r) < 0)
		return -EPROTO;
	*got = true;
	return 0;
}

/* Feeds every DATA item until END to feed(arg, p, n).  Returns 0 at END,
 * -EPROTO for a message where data belongs (but for one trailer, into
 * *tr, when tr is set; DATA after it is -EPROTO too; and, when cuts is
 * set, MSG_PUT_CUTS before the trailer, to cuts(arg, msg, len)), -ECONNRESET/
 * -ETIMEDOUT when the peer went away, or feed's error.  After a feed error
 * (a full disk, a bad delta) the rest of the body is read and dropped, up
 * to `discard` bytes, so that the device, still sending, gets to read the
 * error reply instead of seeing its stream reset. */
static int recv_body(struct put_ctx *p, int (*feed)(void *arg, const void *d, size_t n),
		     int (*cuts)(void *arg, const void *msg, size_t len),
		     void *arg, uint64_t discard, struct vg_put_trailer *tr, bool *got_tr)
{
	uint64_t dropped = 0;
	uint16_t type;
	int r, err = 0;

	for (;;) {
		r = mux_recv(p->s, &type, &p->in, SRV_RECV_MS);
		if (r == MUX_END)
			return err;
		if (r == MUX_MSG && type == MSG_PUT_CUTS && cuts && !*got_tr) {
			if (!err && (r = cuts(arg, p->in.data, p->in.len)) < 0) {
				if (r == -EPROTO)
					return r;
				err = r;
			}
			continue;
		}
		if (r == MUX_MSG) {
			if ((r = recv_trailer(p, type, tr, got_tr)) < 0)
				return r;
			continue;
		}
		if (r < 0)
			return err ? err : r;
		if (got_tr && *got_tr)
			return -EPROTO;   /* the trailer ends the body */
		if (err) {
			dropped += p->in.len;
			if (dropped > discard)
				return err;
			continue;
		}
		if ((r = feed(arg, p->in.data, p->in.len)) < 0) {
			if (r == -EPROTO || r == -EFBIG)
				return r;
			err = r;
		}
	}
}

/* The builders' cancel hook: the device's connection is gone, so nobody
 * waits for the version any more. */
static bool peer_gone(void *arg)
{
	const struct put_ctx *p = arg;

	return !mux_alive(p->c->mux);
}

/* How much of a failed body is read and dropped: about what the body can be. */
static uint64_t body_slack(const struct put_ctx *p)
{
	return p->v.e.size + p->v.e.size / 8 + (16u << 20);
}

/* ------------------------------------------------------------------- WHOLE */

/* a build's pipeline (a thread and its queue) only for heavy uploads,
 * whose number per device upslots bounds */
_Static_assert(CONTENT_PIPE_START >= SRV_HEAVY_BYTES, "pipelined builds must be heavy");

struct whole {
	struct put_ctx *p;
	struct vbuild *vb;
	uint64_t written, since_checkpoint;
	int64_t checkpoint_ns;    /* mono_ns of the last one */
	bool resumable;
	bool cuts;                /* the device announces the chunks (MSG_PUT_CUTS) */
};

/* Time for a checkpoint after `since` bytes (INGEST_CHECKPOINT_*)? */
static bool checkpoint_due(uint64_t since, int64_t *last_ns)
{
	int64_t now;

	if (since >= INGEST_CHECKPOINT_BYTES)
		return true;
	if (since < INGEST_CHECKPOINT_MIN)
		return false;
	now = mono_ns();
	if (!*last_ns)
		*last_ns = now;
	return now - *last_ns >= INGEST_CHECKPOINT_NS;
}

static int whole_feed(void *arg, const void *d, size_t n)
{
	struct whole *w = arg;
	int r;

	if (n > w->p->v.e.size - w->written)
		return -EFBIG;   /* more than the size announced */
	if ((r = vbuild_write(w->vb, d, n)) < 0) {
		w->p->bad_cuts = r == -EBADMSG && w->cuts;   /* the chunker's check */
		return r;
	}
	w->written += n;
	w->since_checkpoint += n;
	if (w->resumable && checkpoint_due(w->since_checkpoint, &w->checkpoint_ns)) {
		/* made while the next bytes are chunked (content.h) */
		if ((r = vbuild_checkpoint_bg(w->vb, w->p->put.token)) < 0)
			return r;
		w->since_checkpoint = 0;
		w->checkpoint_ns = mono_ns();
	}
	return 0;
}

/* MSG_PUT_CUTS: the device's chunk boundaries for the bytes to come,
 * which the build takes instead of finding them, checking each
 * (vbuild_cuts, common/chunker.h). */
static int whole_cuts(void *arg, const void *msg, size_t len)
{
	struct whole *w = arg;
	struct vg_put_cuts cu;
	struct wire_reader r;

	wire_reader_init(&r, msg, len);
	proto_get_put_cuts(&r, &cu);
	if (wire_done(&r) < 0)
		return -EPROTO;
	w->cuts = true;
	return vbuild_cuts(w->vb, cu.len, cu.n);
}

/* Verifies what was built against what the device announced. */
static int verify(struct put_ctx *p, const struct content_ref *ref, const uint8_t sha[32])
{
	struct vg_entry *e = &p->v.e;

	if (ref->size != e->size || memcmp(ref->root, e->tree_root, 32))
		return -EBADMSG;
	if (memcmp(e->sha256, zero32, 32) && memcmp(sha, e->sha256, 32))
		return -EBADMSG;
	memcpy(e->sha256, sha, 32);
	memcpy(p->v.content_root, ref->root, 32);
	return 0;
}

/* A WHOLE body announced with zero sha256 and tree_root is followed by a
 * trailer (the device read and sent it in one pass): the XXH3-128 of the
 * bytes it read.  0; -EAGAIN when the device abandoned it (the file
 * changed under its read); -EBADMSG when the trailer is missing. */
static int whole_trailer(const struct put_ctx *p, bool got)
{
	if (!got)
		return -EBADMSG;
	return p->tr.abandon ? -EAGAIN : 0;
}

/* A streamed WHOLE is checked end to end by its digest: what the server
 * built is, byte for byte, what the device read (docs/protocol.md).  The
 * tree root and sha256 are the server's own, of those same bytes. */
static int verify_digest(struct put_ctx *p, struct vbuild *vb, const struct content_ref *ref,
			 const uint8_t sha[32])
{
	uint8_t d[VG_DIGEST_LEN];
	int r;

	if ((r = vbuild_digest(vb, d)) < 0)
		return r;
	if (ref->size != p->v.e.size || memcmp(d, p->tr.digest, VG_DIGEST_LEN))
		return -EBADMSG;
	memcpy(p->v.e.tree_root, ref->root, 32);
	return verify(p, ref, sha);
}

/* An attempt cut a moment ago may still hold the upload's state (its
 * handler makes what arrived durable before it lets go: a WHOLE's
 * checkpoint, a staged body's sync): wait for it, while the device is
 * there, rather than fail the retry with EBUSY.  true: try again. */
#define RESUME_WAIT_MS    50
#define RESUME_WAIT_TRIES 100

static bool resume_busy(struct put_ctx *p, int r, int *tries)
{
	if (r != -EBUSY || ++*tries > RESUME_WAIT_TRIES || peer_gone(p))
		return false;
	usleep(RESUME_WAIT_MS * 1000);
	return true;
}

static int whole_resume(struct put_ctx *p, struct vbuild **vb, uint64_t *off)
{
	int r, tries = 0;

	do
		r = vbuild_resume(p->c->srv->store, &p->c->key, p->put.token, vb, off);
	while (resume_busy(p, r, &tries));
	return r;
}

/* The build a WHOLE goes into: the resumed one of its token, or a new
 * one.  A WHOLE of WHOLE_SHA_LATER bytes or more sent as it is read
 * (trailer) is checked by its digest; its sha256 (a second pass over every
 * byte on the handler's thread, the critical one of a big first upload)
 * is left pending for the worker, as for RANGES (docs/index.md, "Pending
 * sha256").  A smaller one keeps it: hashing now costs less than a read
 * later.  A resumed build read its earlier chunks back into both hashes
 * already: it keeps its sha256. */
#define WHOLE_SHA_LATER CONTENT_PIPE_START   /* 8 MiB: the store's pipelined builds */

static int whole_open(struct put_ctx *p, struct whole *w, bool trailer, uint64_t *off)
{
	int r = -ENOENT;

	*off = 0;
	if (w->resumable) {
		r = whole_resume(p, &w->vb, off);
		if (r == 0 && *off > p->v.e.size) {   /* not this content: start over */
			vbuild_free(w->vb);
			w->vb = NULL;
			vbuild_forget(p->c->srv->store, &p->c->key, p->put.token);
			r = -ENOENT;
		}
	}
	if (r == -ENOENT) {
		*off = 0;
		r = vbuild_new(p->c->srv->store, &p->c->key, &w->vb);
	}
	if (r == 0 && trailer && *off == 0 && p->v.e.size >= WHOLE_SHA_LATER)
		r = vbuild_digest_only(w->vb);
	return r;
}

static int put_whole(struct put_ctx *p)
{
	struct whole w = { .p = p, .resumable = token_set(p->put.token) };
	bool trailer = !memcmp(p->v.e.tree_root, zero32, 32) && !memcmp(p->v.e.sha256, zero32, 32);
	bool got = false, pending;
	struct content_ref ref;
	uint8_t sha[32] = { 0 };
	uint64_t off = 0;
	int r;

	if ((r = whole_open(p, &w, trailer, &off)) < 0)
		goto out;
	w.written = off;
	if ((r = reply_u64(p->s, MSG_PUT_READY, off)) < 0)
		goto out;
	r = recv_body(p, whole_feed, trailer ? whole_cuts : NULL, &w, body_slack(p),
		      trailer ? &p->tr : NULL, &got);
	if (r < 0) {
		if (w.resumable && (r == -ECONNRESET || r == -ETIMEDOUT))
			(void)vbuild_checkpoint(w.vb, p->put.token);   /* keep what arrived */
		goto out;
	}
	if (trailer && (r = whole_trailer(p, got)) < 0)
		goto out;
	if (w.written != p->v.e.size) {
		r = -EBADMSG;
		goto out;
	}
	if ((r = vbuild_finish(w.vb, &ref)) < 0)
		goto out;
	/* digest only: zeros, pending (only ever with a trailer) */
	pending = trailer && vbuild_sha256(w.vb, sha) == -EINVAL;
	if (!trailer && (r = vbuild_sha256(w.vb, sha)) < 0)
		goto out;
	p->streamed = trailer;
	r = trailer ? verify_digest(p, w.vb, &ref, sha) : verify(p, &ref, sha);
	if (r == 0 && pending) {   /* get checks the digest until the sha256 is in */
		p->v.sha_pending = true;
		memcpy(p->v.e.digest, p->tr.digest, sizeof(p->v.e.digest));
	}
	if (r == 0 && trailer && (p->tr.flags & VG_TRAILER_LIST)) {
		p->stored = w.vb;   /* its chunk list goes after PUT_STORED */
		return 0;
	}
out:
	/* a verified, rejected or abandoned upload is done with; a broken
	 * one may resume */
	if (w.resumable && (r == 0 || r == -EBADMSG || r == -EFBIG || r == -EAGAIN))
		vbuild_forget(p->c->srv->store, &p->c->key, p->put.token);
	vbuild_free(w.vb);
	return r == -EFBIG ? -EBADMSG : r;
}

/* The end of a streamed WHOLE whose version is committed: PUT_STORED
 * {version, root, sha256, n}, then the n chunk entries the device asked
 * for (VG_TRAILER_LIST; what its next edit needs, docs/protocol.md), read
 * from the upload's state, not from the tree.  0, or -ECONNABORTED when
 * the list broke off after PUT_STORED promised it (the stream is reset:
 * the device keeps the version and drops the list). */
static int stream_out(void *arg, const void *d, size_t n)
{
	return mux_send_data(arg, d, n);
}

static int put_stored(struct put_ctx *p)
{
	struct vg_put_stored st = { .version = p->v.e.version };
	struct buf b;
	int r;

	memcpy(st.tree_root, p->v.e.tree_root, 32);
	memcpy(st.sha256, p->v.e.sha256, 32);
	if (p->stored && vbuild_chunk_count(p->stored, &st.n_chunks) < 0)
		st.n_chunks = 0;
	buf_init(&b, VG_MSG_MAX);
	proto_put_put_stored(&b, &st);
	r = reply(p->s, MSG_PUT_STORED, &b);
	buf_free(&b);
	if (r == 0 && st.n_chunks && (r = vbuild_chunk_list(p->stored, stream_out, p->s)) < 0) {
		if (r != -ECONNRESET)
			log_errno(r, "device %s: %s: chunk list", p->c->id.name, p->v.e.path);
		r = -ECONNABORTED;
	}
	return r;
}

/* Drops the streamed WHOLE's build kept for its list. */
static void stored_free(struct put_ctx *p)
{
	if (!p->stored)
		return;
	if (token_set(p->put.token))
		vbuild_forget(p->c->srv->store, &p->c->key, p->put.token);
	vbuild_free(p->stored);
	p->stored = NULL;
}

/* ------------------------------------------------- staged DELTA and RANGES */

/* A DELTA or RANGES body with a token is staged as it arrives (content.h,
 * bstage) so that a cut connection resumes: the next attempt replays the
 * staged bytes into its new builder and the device sends only the rest.
 * The builder works on the bytes as they come, as without a stage, so
 * PUT_DONE does not wait for a second pass.  Without a token (a body too
 * small to be worth it, docs/protocol.md) nothing is staged. */
struct staged {
	struct put_ctx *p;
	struct bstage *sg;        /* NULL: not resumable */
	int (*feed)(void *arg, const void *d, size_t n);
	void *arg;
	uint64_t since_sync;
	int64_t sync_ns;          /* mono_ns of the last bstage_sync */
	bool cut;                 /* the builder stopped: the connection ended */
};

#define REPLAY_BUF (64 * 1024)

static int staged_feed(void *arg, const void *d, size_t n)
{
	struct staged *s = arg;
	int r;

	if (s->sg) {
		/* staged before it is built: a cut never loses what the builder saw */
		if ((r = bstage_append(s->sg, d, n)) < 0)
			return r;
		s->since_sync += n;
		if (checkpoint_due(s->since_sync, &s->sync_ns)) {
			if ((r = bstage_sync(s->sg)) < 0)
				return r;
			s->since_sync = 0;
			s->sync_ns = mono_ns();
		}
	}
	if (s->cut)
		return 0;
	r = s->feed(s->arg, d, n);
	if (r == -ECANCELED && s->sg) {
		/* the connection ended (peer_gone): what it delivered before
		 * (up to a window) is still staged, for the next attempt */
		s->cut = true;
		return 0;
	}
	return r;
}

/* The held bytes of an earlier attempt, into this attempt's builder. */
static int staged_replay(struct staged *s, uint64_t held)
{
	uint8_t *b = malloc(REPLAY_BUF);
	uint64_t off = 0;
	ssize_t n;
	int r = b ? 0 : -ENOMEM;

	while (r == 0 && off < held) {
		if ((n = bstage_pread(s->sg, b, REPLAY_BUF, off)) <= 0) {
			r = n < 0 ? (int)n : -EIO;
			break;
		}
		r = s->feed(s->arg, b, (size_t)n);
		off += (uint64_t)n;
	}
	free(b);
	return r;
}

/* PUT_READY {the bytes held}, then the body. */
static int staged_recv(struct staged *s)
{
	struct put_ctx *p = s->p;
	struct bstage_id id = { .kind = p->put.body, .base_version = p->put.base_version,
				.size = p->v.e.size };
	uint64_t held = 0;
	int r;

	memcpy(id.root, p->v.e.tree_root, 32);
	if (token_set(p->put.token)) {
		int tries = 0;

		do
			r = bstage_open(p->c->srv->store, &p->c->key, p->put.token, &id,
					body_slack(p), &s->sg, &held);
		while (resume_busy(p, r, &tries));
		if (r < 0)
			return r;
		if (held && (r = staged_replay(s, held)) < 0)
			return r;
	}
	if ((r = reply_u64(p->s, MSG_PUT_READY, held)) < 0)
		return r;
	return recv_body(p, staged_feed, NULL, s, body_slack(p), NULL, NULL);
}

/* A stored or refused body is done with; a cut one is made durable for
 * the device's next attempt; after any other failure (a full disk) what
 * was made durable before stays. */
static void staged_end(struct staged *s, int r)
{
	if (!s->sg)
		return;
	if (r == -ECONNRESET || r == -ETIMEDOUT || r == -ECANCELED)
		(void)bstage_sync(s->sg);
	bstage_close(s->sg, r == 0 || r == -EBADMSG || r == -EFBIG);
	s->sg = NULL;
}

/* ------------------------------------------------------------------- DELTA */

static int delta_feed(void *arg, const void *d, size_t n)
{
	return vpatch_feed(arg, d, n);
}

static int put_delta(struct put_ctx *p)
{
	struct staged s = { .p = p, .feed = delta_feed };
	struct content_ref base, ref;
	struct vpatch *vp = NULL;
	uint8_t sha[32];
	int r;

	bool dev_sha = memcmp(p->v.e.sha256, zero32, 32) != 0;

	base_ref(p, &base);
	if ((r = vpatch_new(p->c->srv->store, &p->c->key, &base, p->v.e.size, &vp)) < 0)
		goto out;
	vpatch_set_cancel(vp, peer_gone, p);
	/* The tree root verifies the content end to end, so the base's reused
	 * chunks are not read back for a sha256 (docs/index.md, "Requests"):
	 * it is the device's, from the read that gave the root, or, when the
	 * device computed none (zeros), pending as for RANGES: the worker
	 * computes it once the content rests (shafill.h) */
	vpatch_skip_sha(vp);
	s.arg = vp;
	if ((r = staged_recv(&s)) < 0)
		goto out;
	if ((r = vpatch_finish(vp, &ref)) < 0)
		goto out;
	memset(sha, 0, 32);
	if ((r = verify(p, &ref, dev_sha ? p->v.e.sha256 : sha)) == 0 && !dev_sha)
		p->v.sha_pending = true;
out:
	staged_end(&s, r);
	vpatch_free(vp);
	return r;
}

/* ------------------------------------------------------------------ RANGES */

static int ranges_feed(void *arg, const void *d, size_t n)
{
	return vranges_feed(arg, d, n);
}

static int put_ranges(struct put_ctx *p)
{
	struct staged s = { .p = p, .feed = ranges_feed };
	struct content_ref base, ref;
	struct vranges *vg = NULL;
	int r;

	base_ref(p, &base);
	if ((r = vranges_new(p->c->srv->store, &p->c->key, &base, p->v.e.size, &vg)) < 0)
		goto out;
	vranges_set_cancel(vg, peer_gone, p);
	s.arg = vg;
	if ((r = staged_recv(&s)) < 0)
		goto out;
	if ((r = vranges_finish(vg, &ref)) < 0)
		goto out;
	/* The tree root verifies the content end to end; its sha256 (a read
	 * of the whole version) is left to the server's worker (shafill.h),
	 * so PUT_DONE does not wait for it. */
	if (ref.size != p->v.e.size || memcmp(ref.root, p->v.e.tree_root, 32)) {
		r = -EBADMSG;
		goto out;
	}
	memset(p->v.e.sha256, 0, 32);
	memcpy(p->v.content_root, ref.root, 32);
	p->v.sha_pending = true;
out:
	staged_end(&s, r);
	vranges_free(vg);
	return r;
}

/* ------------------------------------------------------- bodies without data */

static int no_data(void *arg, const void *d, size_t n)
{
	return -EPROTO;
}

/* A directory or symlink sent as WHOLE: PUT_READY, then only END. */
static int put_empty(struct put_ctx *p)
{
	int r = reply_u64(p->s, MSG_PUT_READY, 0);

	return r < 0 ? r : recv_body(p, no_data, NULL, NULL, 0, NULL, NULL);
}

/* META: the base version's content with new metadata. */
static int put_meta(struct put_ctx *p)
{
	struct vg_entry *e = &p->v.e;

	if (e->type != VG_FILE)
		return 0;
	if (!p->have_base || p->base.e.type != VG_FILE || p->base.e.deleted) {
		if (e->size != 0)
			return -EINVAL;   /* no content to keep */
		return 0;
	}
	e->size = p->base.e.size;
	memcpy(e->sha256, p->base.e.sha256, 32);
	p->v.sha_pending = p->base.sha_pending;   /* the index completes it with the base's */
	memcpy(e->digest, p->base.e.digest, sizeof(e->digest));
	memcpy(e->tree_root, p->base.e.tree_root, 32);
	memcpy(p->v.content_root, p->base.content_root, 32);
	return 0;
}

/* ------------------------------------------------------------------- PUT */

/* Normalises the new version and loads its base; early ESTALE saves the
 * device an upload the commit would refuse anyway. */
static int put_prepare(struct put_ctx *p)
{
	struct vg_put *q = &p->put;
	struct vg_entry *e = &p->v.e;
	bool needs_base = q->body == PUT_DELTA || q->body == PUT_RANGES || q->body == PUT_META;
	int r;

	*e = q->e;
	e->version = 0;
	e->recv_ns = 0;
	e->deleted = q->body == PUT_DELETE;
	if (!strcmp(e->path, "/") && (e->type != VG_DIR || q->body == PUT_DELETE ||
				      q->body == PUT_RENAME))
		return -EINVAL;
	if ((q->body == PUT_DELTA || q->body == PUT_RANGES) && e->type != VG_FILE)
		return -EINVAL;
	if (e->type == VG_FILE && e->size > CONTENT_SIZE_MAX)
		return -EINVAL;
	if (e->type != VG_FILE || e->deleted) {
		e->size = 0;
		memset(e->sha256, 0, 32);
		memset(e->tree_root, 0, 32);
	}
	if (e->type != VG_SYMLINK)
		e->link[0] = '\0';
	else if (!e->link[0] && !e->deleted)
		return -EINVAL;
	if (needs_base || q->body == PUT_DELETE) {
		r = index_latest(p->c->srv->idx, p->c->id.id, e->path, INDEX_AT_LATEST,
				 q->body != PUT_DELETE, &p->base);
		if (r < 0 && r != -ENOENT)
			return r;
		p->have_base = r == 0;
		if (needs_base && (p->have_base ? p->base.e.version : 0) != q->base_version)
			return -ESTALE;
		if (q->body == PUT_DELETE && p->have_base)
			e->type = p->base.e.type;
	}
	return 0;
}

/* A content PUT of a device with a quota: EDQUOT before any byte is
 * built when the device's files would grow past it (quota.h). */
static int put_quota(struct put_ctx *p)
{
	struct srv *srv = p->c->srv;
	struct quota_guard q;
	int r;

	if (p->v.e.type != VG_FILE || p->v.e.deleted ||
	    (p->put.body != PUT_WHOLE && p->put.body != PUT_DELTA && p->put.body != PUT_RANGES))
		return 0;
	if ((r = quota_load(srv, p->c->id.id, &q)) < 0 || !q.set)
		return r;
	r = quota_admit(srv, p->c->id.id, &q, p->v.e.path, p->v.e.size,
			p->have_base ? &p->base : NULL);
	if (r == -EDQUOT)
		quota_refused(srv, p->c->id.id, &q, p->quota_msg, sizeof(p->quota_msg));
	return r;
}

static int put_content(struct put_ctx *p)
{
	switch (p->put.body) {
	case PUT_WHOLE:  return p->v.e.type == VG_FILE ? put_whole(p) : put_empty(p);
	case PUT_DELTA:  return put_delta(p);
	case PUT_RANGES: return put_ranges(p);
	case PUT_META:   return put_meta(p);
	default:         return 0;   /* DELETE, RENAME: nothing to build */
	}
}

/* Builds the body; a heavy one first takes one of its device's slots. */
static int put_body(struct put_ctx *p)
{
	struct upslots *u = p->c->srv->uploads;
	int64_t dev = p->c->id.id;
	bool heavy = p->v.e.type == VG_FILE && p->v.e.size >= SRV_HEAVY_BYTES &&
		     (p->put.body == PUT_WHOLE || p->put.body == PUT_DELTA ||
		      p->put.body == PUT_RANGES);
	int r;

	if (heavy && (r = upslots_take(u, dev, peer_gone, p)) < 0)
		return r;
	r = put_content(p);
	if (heavy)
		upslots_give(u, dev);
	return r;
}

static void put_error(struct put_ctx *p, int r)
{
	const char *path = p->put.e.path;
	struct mux_stream *s = p->s;

	switch (r) {
	case -ESTALE:
		reply_error(s, ESTALE, "%s: base version %llu is not the latest", path,
				    (unsigned long long)p->put.base_version);
		break;
	case -EBADMSG:
		if (p->bad_cuts) {
			reply_error(s, EBADMSG, "%s: chunk boundaries (MSG_PUT_CUTS) that are not"
				    " the chunker's", path);
			log_warnx("device %s: %s: chunk boundaries that are not the chunker's;"
				  " nothing stored", p->c->id.name, path);
			break;
		}
		reply_error(s, EBADMSG, "%s: content does not verify (size, tree root or"
				    " sha256 differ, or a malformed body)", path);
		log_warnx("device %s: %s: upload did not verify; nothing stored", p->c->id.name, path);
		(void)index_event_add(p->c->srv->idx, p->c->id.id, real_ns(), "verify-failed",
				      path);
		break;
	case -ENOSPC:
		reply_error(s, ENOSPC, "no space left on the server's store; retry later");
		log_warnx("device %s: %s: store full", p->c->id.name, path);
		break;
	case -EDQUOT:
		reply_error(s, EDQUOT, "%s: device %s is %s", path, p->c->id.name, p->quota_msg);
		break;
	case -EINVAL:
		reply_error(s, EINVAL, "%s: invalid put (body kind, type, size or link)", path);
		break;
	case -EFBIG:
		reply_error(s, EFBIG, "%s: the body builds more than the %llu bytes announced",
			    path, (unsigned long long)p->put.e.size);
		log_warnx("device %s: %s: upload larger than announced; nothing stored",
			  p->c->id.name, path);
		break;
	case -ENOENT:
		reply_error(s, ENOENT, "%s: rename source %s has no live version", path,
				    p->put.from);
		break;
	case -EAGAIN:   /* the device knows: it abandoned the upload */
		reply_error(s, EAGAIN, "%s: upload abandoned by the device", path);
		break;
	default:
		reply_error(s, -r, "%s: %s", path, strerror(-r));
		log_errno(r, "device %s: put %s", p->c->id.name, path);
	}
}

static int do_put(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct put_ctx *p = calloc(1, sizeof(*p));
	bool check_base;
	int r;

	if (!p) {
		reply_error(s, ENOMEM, "out of memory");
		return 0;
	}
	p->c = c;
	p->s = s;
	buf_init(&p->in, MUX_FRAME_MAX);
	proto_get_put(wr, &p->put);
	if (wire_done(wr) < 0) {
		r = -EPROTO;
		goto out;
	}
	check_base = p->put.body == PUT_DELTA || p->put.body == PUT_RANGES ||
		     p->put.body == PUT_META;
	/* from before it builds until its version is in the index: a sweep
	 * waits for older puts (docs/store-format.md, "Guards") */
	store_guard_enter(c->srv->store, &p->guard);
	p->guarded = true;
	if ((r = put_prepare(p)) < 0 || (r = put_quota(p)) < 0 || (r = put_body(p)) < 0)
		goto out;
	r = index_commit(c->srv->idx, c->id.id, &p->v, check_base, p->put.base_version,
			 p->put.body == PUT_RENAME ? p->put.from : NULL);
	if (r == 0) {
		log_debug("device %s: %s version %llu", c->id.name, p->v.e.path,
			  (unsigned long long)p->v.e.version);
		if (c->srv->on_commit && p->v.e.version)
			c->srv->on_commit(c->srv->on_commit_arg, c->id.id, &p->v, NULL);
		if (p->streamed)
			r = put_stored(p);
		else
			(void)reply_u64(s, MSG_PUT_DONE, p->v.e.version);
		if (p->v.sha_pending)
			shafill_kick(c->srv->sf);
		retainer_kick(c->srv->rt, c->id.id);
	}
out:
	if (r < 0 && r != -EPROTO && r != -ECONNRESET && r != -ETIMEDOUT && r != -ECANCELED &&
	    r != -ECONNABORTED)
		put_error(p, r);
	stored_free(p);
	if (p->guarded)
		store_guard_exit(c->srv->store, &p->guard);
	buf_free(&p->in);
	free(p);
	return r == -EPROTO || r == -ECONNABORTED ? r : 0;
}

/* ------------------------------------------------------- LATEST, SIG, REPORT */

static int do_latest(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct index_version *v = malloc(sizeof(*v));
	struct vg_latest_req q;
	const char *path = q.path;
	struct buf b;
	int r;

	proto_get_latest_req(wr, &q);
	if (!v || wire_done(wr) < 0) {
		free(v);
		return v ? -EPROTO : -ENOMEM;
	}
	buf_init(&b, VG_MSG_MAX);
	r = index_latest(c->srv->idx, c->id.id, path, INDEX_AT_LATEST, true, v);
	if (r == 0) {
		proto_put_entry(&b, &v->e);
		if ((r = wire_buf_error(&b)) == 0)
			r = reply(s, MSG_ENTRY, &b);
	}
	if (r == -ENOENT)
		reply_error(s, ENOENT, "%s: no version on the server", path);
	else if (r < 0 && r != -ECONNRESET)
		reply_error(s, -r, "%s: %s", path, strerror(-r));
	buf_free(&b);
	free(v);
	return 0;
}

static int do_report(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct vg_report rep;
	int r;

	memset(&rep, 0, sizeof(rep));
	proto_get_report(wr, &rep);
	if (wire_done(wr) < 0)
		return -EPROTO;
	r = index_dev_report(c->srv->idx, c->id.id, &rep, real_ns());
	if (r < 0)
		reply_error(s, -r, "report not stored: %s", strerror(-r));
	else
		(void)reply(s, MSG_OK, NULL);
	return 0;
}

/* The SIM as vigil-simfs read it; the events it makes: simstate.h. */
static int do_sim(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct vg_sim sim;
	int r;

	memset(&sim, 0, sizeof(sim));
	proto_get_sim(wr, &sim);
	if (wire_done(wr) < 0)
		return -EPROTO;
	r = index_sim_report(c->srv->idx, c->id.id, &sim, real_ns());
	if (r < 0)
		reply_error(s, -r, "sim report not stored: %s", strerror(-r));
	else
		(void)reply(s, MSG_OK, NULL);
	return 0;
}

const struct srv_handler ingest_handlers[] = {
	{ MSG_DEV_PUT, do_put },
	{ MSG_DEV_PUTBATCH, ingest_putbatch },
	{ MSG_DEV_LATEST, do_latest },
	{ MSG_DEV_REPORT, do_report },
	{ MSG_DEV_SIM, do_sim },
	{ 0, NULL },
};
