/* shipcontent.c — a regular file whose content may have changed.  When
 * every write since the shipped version is known by range, PUT_RANGES
 * (shipranges.c).  Otherwise read it once (shipsink.c: hash, chunk list,
 * new signature and delta in the same pass), then send what the read
 * leaves (shipplan.h ship_plan_read): a DELTA against the shipped version
 * when a signature is cached and the delta is smaller, a WHOLE otherwise,
 * a META when only metadata moved, or nothing at all.  A WHOLE known
 * before the read (a new file, or one whose size moved, with no cached
 * signature) is sent in that same read, its digest after the body
 * (ship_streamed: no sha256 at all, the server's chunk list fills the
 * device's in after PUT_STORED); a file that moves under it takes the
 * path above. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/ship_int.h"
#include "daemon/xattrs.h"

/* Builds sh->put and its body for kind from the read. */
static void build_put(struct shipper *sh, const struct qitem *q, const struct capture *cap,
		      const struct shipped *base, enum ship_kind kind, struct ship_sink *s,
		      struct put_body *body)
{
	struct vg_put *p = sh->put;

	memset(p, 0, sizeof(*p));
	ship_entry_from_stat(&p->e, q->path, &cap->st);
	p->e.size = cap->size;
	memcpy(p->e.sha256, cap->sha256, 32);
	memcpy(p->e.tree_root, cap->root, 32);
	p->e.capture_ns = ship_next_capture(sh, cap->capture_ns);
	if (kind == SHIP_META || kind == SHIP_DELTA)
		p->base_version = base->version;
	if (kind == SHIP_META) {
		p->body = PUT_META;
	} else if (kind == SHIP_DELTA) {
		p->body = PUT_DELTA;
		*body = (struct put_body){ .fd = s->dfd, .size = s->dsize };
	} else {
		p->body = PUT_WHOLE;
		ship_token_for(&p->e, p->token);
		/* Re-read from the source: verify it did not move since the capture. */
		*body = (struct put_body){ .fd = cap->fd, .size = cap->size, .verify = !cap->tmp[0] };
	}
}

/* The end of a read and send (streamed or captured): after a version was
 * sent (version set, rc 0), it is recorded and what the read built is
 * kept; the read and its sink are released in any case. */
static int ship_end(struct shipper *sh, const struct qitem *q, const struct shipped *base,
		    struct capture *cap, struct ship_sink *s, const uint64_t *version, int rc)
{
	if (rc == 0 && version && (rc = ship_commit(sh, q, &cap->st, *version)) == 0)
		ship_sink_keep(sh, q->path, cap, base, s);
	capture_release(cap);
	ship_sink_close(s);
	return rc;
}

/* What the read leaves to send (shipplan.h). */
static enum ship_kind plan_read(const char *path, const struct capture *cap,
				const struct shipped *base, struct ship_sink *s)
{
	struct ship_read r = { .st = &cap->st, .size = cap->size, .root = cap->root };

	r.built = ship_sink_delta(s, &r.delta_size) >= 0 ? SHIP_DELTA : SHIP_WHOLE;
	/* a setxattr moves only ctime: look for xattrs only when it moved */
	r.xattrs = base && scan_ts(&cap->st.st_ctim) != base->ctime_ns && xattrs_present(path);
	return ship_plan_read(base, &r);
}

/* A WHOLE sent in the pass that reads and hashes it (one read, not two):
 * the PUT goes out once the file is open, its hashes follow the body. */
struct streamed {
	struct shipper *sh;
	const struct qitem *q;
	const struct shipped *base;
	struct put_body body;
	struct put_stream *ps;
	int send_rc;             /* a failure of the sending side */
};

static int streamed_begin(void *arg, const struct capture *cap)
{
	struct streamed *c = arg;
	struct shipper *sh = c->sh;
	struct vg_put *p = sh->put;
	int rc;

	/* same size as the base (a database's backup may be): the content may
	 * be the same, which only a read before sending tells */
	if (c->base && c->base->version && c->base->size == cap->size)
		return -ENOTSUP;
	memset(p, 0, sizeof(*p));
	ship_entry_from_stat(&p->e, c->q->path, &cap->st);
	p->e.size = cap->size;   /* sha256 and tree_root: zero, in the trailer */
	p->e.capture_ns = ship_next_capture(sh, cap->capture_ns);
	p->body = PUT_WHOLE;
	ship_stream_token(sh, &p->e, &cap->st, p->token);
	c->body = (struct put_body){ .fd = -1, .size = cap->size };
	if ((rc = ship_stream_open(sh, &c->body, &c->ps)) < 0)
		c->send_rc = rc;
	return rc;
}

static int streamed_out(void *arg, const uint8_t *p, size_t n)
{
	struct streamed *c = arg;
	int rc = putio_stream_data(c->ps, p, n);

	if (rc < 0)
		c->send_rc = rc;
	return rc;
}

/* streamed_out for a mux buffer, which putio sends as it is */
static int streamed_out_buf(void *arg, void *p, size_t n)
{
	struct streamed *c = arg;
	int rc = putio_stream_data_buf(c->ps, p, n);

	if (rc < 0)
		c->send_rc = rc;
	return rc;
}

/* the read's chunk boundaries, which the server takes (putio_stream_cut) */
static int streamed_cut(void *arg, uint32_t len)
{
	struct streamed *c = arg;
	int rc = c->ps ? putio_stream_cut(c->ps, len) : 0;

	if (rc < 0)
		c->send_rc = rc;
	return rc;
}

/* The server's chunk list of the version just stored into the chunk list
 * the read wrote without sha256s (putio.h list()). */
static int streamed_list(void *arg, const void *p, size_t n)
{
	struct ship_sink *s = arg;

	return clwriter_fill(s->cw, p, n);
}

/* After PUT_STORED: the version's root is the server's (the device
 * computed none); the chunk list is kept only when the server's entries
 * filled every sha256 in and their tree is that root (then the next
 * edit's capture and RANGES take unchanged chunks' sha256s from it). */
static void streamed_stored(struct shipper *sh, struct capture *cap, struct ship_sink *s,
			    const struct vg_put_stored *st, int list_rc)
{
	uint8_t root[32];

	memcpy(sh->put->e.tree_root, st->tree_root, 32);
	memcpy(cap->root, st->tree_root, 32);
	if (!s->cw)
		return;
	if (list_rc == 0 && clwriter_fill_end(s->cw, root) == 0 && !memcmp(root, st->tree_root, 32)) {
		ctr_add(sh->o.ctr, CTR_CHUNK_SHA_RECEIVED, st->n_chunks);
		return;
	}
	log_debug("%s: no chunk list from the server (%s): the next edit asks for it",
		  sh->put->e.path, list_rc < 0 ? strerror(-list_rc) : "it does not match");
	clwriter_free(s->cw);   /* ship_sink_keep drops the old one */
	s->cw = NULL;
}

/* 0 or -errno as ship_item; -ENOTSUP (not sure the content changed, or
 * the file moved under the read): take the capture path. */
static int ship_streamed(struct shipper *sh, const struct qitem *q, const struct stat *st,
			 const struct shipped *base)
{
	struct streamed c = { .sh = sh, .q = q, .base = base };
	struct ship_sink s = { .dfd = -1 };
	struct capture cap = { .fd = -1 };
	struct putio_trailer t = { .arg = &s };
	struct vg_put_stored stored = { 0 };
	int rc, list_rc = -ENOENT;
	bool torn;

	if (base && base->version && base->size == (uint64_t)st->st_size)
		return -ENOTSUP;
	ship_sink_open(sh, q->path, st, base, false, &s);
	s.digest = true;   /* no sha256: the server hashes the stream it checks */
	s.begin = streamed_begin;
	s.out = streamed_out;
	s.out_buf = streamed_out_buf;
	s.cut = streamed_cut;
	s.out_arg = &c;
	rc = ship_capture_stream(sh, q->path, &s, &cap);
	torn = rc == -EBUSY && !c.send_rc;
	if (rc < 0 && !c.ps && !c.send_rc && !torn && rc != -EAGAIN && rc != -ENOTSUP)
		log_errno(rc, "%s: reading", q->path);
	if (c.ps) {
		memcpy(t.digest, cap.digest, sizeof(t.digest));
		t.list = s.cw && !cap.sqlite ? streamed_list : NULL;
		rc = ship_stream_end(sh, &c.body, c.ps, torn ? -EBUSY : rc, &t, &stored, &list_rc);
		if (rc == 0)
			streamed_stored(sh, &cap, &s, &stored, list_rc);
	}
	if (torn)
		rc = -ENOTSUP;   /* it moved: the capture path reads it until it holds still */
	if (rc < 0 && (c.send_rc || c.ps))
		rc = ship_finish_put(sh, rc, q->path);
	return ship_end(sh, q, base, &cap, &s, &stored.version, rc);
}

/* The capture path (see the top of the file). */
static int ship_captured(struct shipper *sh, const struct qitem *q, const struct stat *st,
			 const struct shipped *base, bool delta)
{
	struct ship_sink s = { .dfd = -1 };
	struct put_body body = { .fd = -1 };
	struct capture cap = { .fd = -1 };
	enum ship_kind kind;
	uint64_t version = 0;
	int rc;

	ship_sink_open(sh, q->path, st, base, delta, &s);
	/* a DELTA's sha256 is left to the server (pending until its content
	 * rests, docs/index.md): the tree root checks it end to end */
	s.no_sha256 = delta;
	if ((rc = ship_capture(sh, q->path, &s, &cap)) < 0)
		return ship_end(sh, q, base, &cap, &s, NULL, rc);
	if (s.stale) {
		/* the base is not the server's latest: as a PUT_DELTA refused */
		sh->put->body = PUT_DELTA;
		return ship_end(sh, q, base, &cap, &s, NULL, ship_finish_put(sh, -ESTALE, q->path));
	}
	if ((kind = plan_read(q->path, &cap, base, &s)) == SHIP_NONE) {
		/* same content, same metadata: only remember the fresh capture */
		rc = ship_keep(sh, q, &cap.st, base, cap.capture_ns);
		return ship_end(sh, q, base, &cap, &s, NULL, rc);
	}
	build_put(sh, q, &cap, base, kind, &s, &body);
	if ((rc = ship_send_put(sh, &body, &version)) < 0)
		rc = ship_finish_put(sh, rc, q->path);
	return ship_end(sh, q, base, &cap, &s, &version, rc);
}

int ship_content(struct shipper *sh, const struct qitem *q, const struct stat *st,
		 const struct shipped *base, bool delta_base)
{
	struct rangeset *rs = sh->rs;
	enum ship_kind kind;
	int rc = -ENOTSUP;

	/* the set taken now (it may have grown since ship_plan looked) is
	 * what ranges can ship; writes from now on form the next one */
	rs->complete = false;
	if (!strcmp(sh->no_delta, q->path)) {
		delta_base = false;
		sh->no_delta[0] = '\0';
	}
	if (sh->o.rt)
		rangetab_take(sh->o.rt, q->path, st->st_size >= RANGES_MIN_SIZE, rs);
	kind = ship_plan_content(base, st, sh->o.rt ? rs : NULL, delta_base);
	if (kind == SHIP_RANGES && (rc = ship_ranges(sh, q, st, base, rs)) == -ENOTSUP)
		kind = ship_plan_content(base, st, NULL, delta_base);
	if (kind == SHIP_WHOLE)
		rc = ship_streamed(sh, q, st, base);
	if (kind != SHIP_RANGES && (kind != SHIP_WHOLE || rc == -ENOTSUP))
		rc = ship_captured(sh, q, st, base, kind == SHIP_DELTA);
	if (rc < 0 && sh->o.rt)
		rangetab_putback(sh->o.rt, q->path, rs);
	return rc;
}
