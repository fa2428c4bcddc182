/* shipsink.c — one read of a file to ship or adopt (beneath its watched
 * root, daemon/rootwalk.h), and what that read
 * builds on the way besides the content hash: a delta against the shipped
 * version (chunkdelta.h: librsync only where its chunk list does not
 * prove the bytes unchanged, against signatures of those regions asked
 * of the server), and the new chunk list.  Used by the capture path
 * (shipcontent.c) and adoption (shipadopt.c) alike; after the version is
 * recorded, ship_sink_keep puts the new list in place or drops the stale
 * one (pathstate.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/byteorder.h"
#include "common/clock.h"
#include "common/log.h"
#include "daemon/chunkdelta.h"
#include "daemon/rootwalk.h"
#include "daemon/ship_int.h"
#include "daemon/trkpath.h"

/* A delta that cannot be built (the server would not give a region's
 * signature) is dropped; the read goes on, and the content goes WHOLE. */
static void cd_failed(struct ship_sink *c, int rc)
{
	c->stale |= rc == -ESTALE;
	if (rc == -ESTALE)
		log_debug("%s: the delta's base is not the server's latest", c->path);
	else
		log_errno(rc, "%s: no delta (sending it whole)", c->path);
	chunkdelta_free(c->cd);
	c->cd = NULL;
}

static int sink_reset(void *arg)
{
	struct ship_sink *c = arg;
	int rc;

	if (c->cd && (rc = chunkdelta_reset(c->cd)) < 0)
		cd_failed(c, rc);
	return c->cw ? clwriter_reset(c->cw) : 0;
}

static int sink_chunk(void *arg, const uint8_t sha[32], uint32_t len, const uint8_t *fp)
{
	struct ship_sink *c = arg;
	int rc;

	if (c->cw && fp && (rc = clwriter_add(c->cw, sha, len, fp)) < 0)
		return rc;
	if (c->cut && (rc = c->cut(c->out_arg, len)) < 0)
		return rc;
	if (c->cd && sha && (rc = chunkdelta_chunk(c->cd, sha, len, fp)) < 0)
		cd_failed(c, rc);
	return 0;
}

/* A chunk the base's list proves unchanged: its sha256 from the list. */
static int sink_known(void *arg, const uint8_t fp[CHASH_FP_LEN], uint32_t len, uint8_t sha[32])
{
	struct ship_sink *c = arg;

	return c->cd ? chunkdelta_known(c->cd, fp, len, sha) : 0;
}

static int sink_data(void *arg, const uint8_t *p, size_t n)
{
	struct ship_sink *c = arg;
	int rc = 0;

	if (c->cd && (rc = chunkdelta_data(c->cd, p, n)) < 0)
		cd_failed(c, rc);
	if (c->out)
		return c->out(c->out_arg, p, n);
	return 0;
}

/* The read's own buffers are mux frames (capture.h buf_new), sent as they
 * are: one copy of every byte less on a streamed WHOLE. */
_Static_assert(CAPTURE_BUF <= MUX_FRAME_MAX, "a read's piece must fit one mux frame");

static void *sink_buf_new(void *arg)
{
	return mux_buf_new();
}

static void sink_buf_free(void *arg, void *p)
{
	mux_buf_free(p);
}

static int sink_data_buf(void *arg, void *p, size_t n)
{
	struct ship_sink *c = arg;
	int rc = 0;

	if (c->cd && (rc = chunkdelta_data(c->cd, p, n)) < 0)
		cd_failed(c, rc);
	return c->out_buf(c->out_arg, p, n);
}

static int sink_begin(void *arg, const struct capture *cap)
{
	struct ship_sink *c = arg;

	return c->begin ? c->begin(c->out_arg, cap) : 0;
}

/* chunkdelta's cd_sig_fn: the region's signature from the server
 * (MSG_DEV_RSIG on the base version), counted in bytes_received and
 * sig_bytes_received. */
static int sink_sig(void *arg, uint64_t off, uint64_t len, rs_signature_t **out)
{
	struct ship_sink *c = arg;
	struct shipper *sh = c->sh;
	struct sigload *l;
	uint64_t got = 0;
	int rc;

	if ((rc = sigload_new(&l)) < 0)
		return rc;
	if (!len)
		rc = sigload_empty(l);
	else if (!ship_connected(sh))
		rc = -ECONNRESET;
	else
		rc = putio_rsig(sh->mux, c->path, c->base_version, off, len, sigload_feed, l,
				SHIP_REPLY_MS, &got);
	ctr_add(sh->o.ctr, CTR_BYTES_RECV, got);
	ctr_add(sh->o.ctr, CTR_SIG_BYTES_RECV, got);
	if (rc == 0)
		rc = sigload_finish(l, out);
	sigload_free(l);
	if (rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -EPROTO)
		ship_disconnect(sh);
	return rc;
}

/* MSG_DEV_CHUNKS into a chunk list being written. */
struct list_rx {
	struct clwriter *w;
	uint8_t e[36];
	size_t n;
};

static int list_feed(void *arg, const void *p, size_t n)
{
	static const uint8_t nofp[CHASH_FP_LEN];
	struct list_rx *x = arg;
	const uint8_t *q = p;
	int rc;

	while (n) {
		size_t k = n < 36 - x->n ? n : 36 - x->n;

		memcpy(x->e + x->n, q, k);
		x->n += k;
		q += k;
		n -= k;
		if (x->n < 36)
			break;
		x->n = 0;
		/* no fingerprint (the server has none): matched by sha256 */
		if ((rc = clwriter_add(x->w, x->e, be32_get(x->e + 32), nofp)) < 0)
			return rc;
	}
	return 0;
}

/* base's chunk list from the server, kept as path's (a version adopted,
 * or shipped by a vigild that kept no list for it).  0 or -errno. */
static int fetch_list(struct shipper *sh, const char *path, const struct shipped *base)
{
	struct list_rx x = { 0 };
	uint64_t got = 0;
	int rc;

	if (!ship_connected(sh))
		return -ECONNRESET;
	if ((rc = clwriter_new(sh->o.statedir, CL_BUF, &x.w)) < 0)
		return rc;
	rc = putio_chunks(sh->mux, path, base->version, base->size, list_feed, &x, SHIP_REPLY_MS,
			  &got);
	ctr_add(sh->o.ctr, CTR_BYTES_RECV, got);
	if (rc == 0 && x.n)
		rc = -EBADMSG;
	if (rc == 0)
		rc = clwriter_commit(x.w, path, base->root);
	clwriter_free(x.w);
	if (rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -EPROTO)
		ship_disconnect(sh);
	else if (rc < 0)
		log_debug("%s: no chunk list of version %llu from the server: %s", path,
			  (unsigned long long)base->version, strerror(-rc));
	return rc;
}

void ship_sink_open(struct shipper *sh, const char *path, const struct stat *st,
		    const struct shipped *base, bool delta, struct ship_sink *s)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->dfd = -1;
	s->fp_secret = sh->fp_ok ? sh->fp_secret : NULL;
	s->sh = sh;
	s->path = path;
	/* a delta: librsync only where base's chunk list (kept, else asked
	 * of the server) does not prove the bytes unchanged (chunkdelta.h) */
	if (delta && base && base->version) {
		s->base_version = base->version;
		rc = chunkdelta_new(sh->o.statedir, sh->tmpdir, path, base->root, base->size,
				    sink_sig, s, &s->cd);
		if (rc == -ENOENT && fetch_list(sh, path, base) == 0)
			rc = chunkdelta_new(sh->o.statedir, sh->tmpdir, path, base->root,
					    base->size, sink_sig, s, &s->cd);
		if (rc < 0)
			s->cd = NULL;
	}
	/* the list of what is shipped, for RANGES (with a range tracker) and
	 * for the next delta (chunkdelta.h) */
	if (st->st_size < SIG_MIN_SIZE || !s->fp_secret ||
	    clwriter_new(sh->o.statedir, CL_BUF, &s->cw) < 0)
		s->cw = NULL;
}

void ship_sink_close(struct ship_sink *s)
{
	chunkdelta_free(s->cd);
	clwriter_free(s->cw);
	memset(s, 0, sizeof(*s));
	s->dfd = -1;
}

int ship_sink_delta(struct ship_sink *s, uint64_t *size)
{
	int fd = -1;

	if (s->dfd >= 0)
		;
	else if (s->cd && chunkdelta_finish(s->cd, &fd, &s->dsize) == 0)
		s->dfd = fd;
	*size = s->dsize;
	return s->dfd;
}

const char *ship_root_of(const struct shipper *sh, const char *path)
{
	int i = trkpath_root_of(sh->o.roots, sh->o.nroots, path);

	return i < 0 ? NULL : sh->o.roots[i];
}

/* The root holding path and its fd for this walk (sh->roots): fd, or
 * -EXDEV outside every root, or the open's -errno. */
static int root_fd(struct shipper *sh, const char *path, const char **root)
{
	int i = trkpath_root_of(sh->o.roots, sh->o.nroots, path);

	*root = i < 0 ? NULL : sh->o.roots[i];
	return i < 0 ? -EXDEV : rootwalk_roots_fd(&sh->roots, (size_t)i);
}

void ship_walk_end(struct shipper *sh)
{
	rootwalk_roots_end(&sh->roots);
}

int ship_lstat(struct shipper *sh, const char *path, struct stat *st)
{
	const char *root, *rel;
	int rfd = root_fd(sh, path, &root), rc;

	if (!root) {
		errno = ENOENT;   /* outside every watched root: nothing to ship */
		return -1;
	}
	if (!strcmp(root, path))
		return lstat(root, st);   /* canonical, from the config */
	if (rfd < 0 || (rc = rootwalk_rel(root, path, &rel)) < 0 ||
	    (rc = rootwalk_lstatat(rfd, rel, 0, st)) < 0) {
		/* a parent swapped for a symlink: the path is not there any more */
		rc = rfd < 0 ? rfd : rc;
		errno = rc == -ELOOP ? ENOENT : -rc;
		return -1;
	}
	return 0;
}

/* capture_file (or, stream: capture_stream) of path beneath its root into s. */
static int capture_into(struct shipper *sh, const char *path, struct ship_sink *s,
			struct capture *cap, bool stream)
{
	struct capture_sink sink = { .arg = s, .reset = sink_reset, .data = sink_data,
				     .chunk = sink_chunk, .begin = sink_begin,
				     .fp_secret = s->fp_secret, .known = sink_known,
				     .no_sha256 = s->no_sha256, .digest = s->digest,
				     .moving = sh->o.rt && rangetab_busy(sh->o.rt, path, mono_ns()) };
	if (stream && s->out_buf) {
		sink.buf_new = sink_buf_new;
		sink.buf_free = sink_buf_free;
		sink.data_buf = sink_data_buf;
	}
	const char *root;
	int rfd = root_fd(sh, path, &root), rc;

	if (!root || rfd < 0) {
		memset(cap, 0, sizeof(*cap));
		cap->fd = -1;
		rc = root ? rfd : -EXDEV;
	} else if (stream) {
		rc = capture_stream_at(root, rfd, path, sh->tmpdir, &sink, cap);
	} else {
		rc = capture_file_at(root, rfd, path, sh->tmpdir, &sink, cap);
	}
	if (rc < 0) {
		if (rc == -ENOENT || rc == -ELOOP || rc == -EINVAL || rc == -ENOTDIR)
			return -EAGAIN;   /* it changed kind or vanished: look again */
		if (!stream)   /* a stream's caller knows whether it failed to send */
			log_errno(rc, "%s: reading", path);
		return rc;
	}
	if (cap->unstable)
		ctr_add(sh->o.ctr, CTR_UNSTABLE, 1);
	ctr_add(sh->o.ctr, CTR_CHUNK_SHA256, cap->chunks_sha);
	ctr_add(sh->o.ctr, CTR_CHUNKS_FINGERPRINTED, cap->chunks_fp);
	return 0;
}

int ship_capture(struct shipper *sh, const char *path, struct ship_sink *s, struct capture *cap)
{
	int rc = capture_into(sh, path, s, cap, false);

	if (rc == 0)
		ctr_add(sh->o.ctr, CTR_BYTES_READ, cap->size);
	return rc;
}

int ship_capture_stream(struct shipper *sh, const char *path, struct ship_sink *s,
			struct capture *cap)
{
	/* bytes_read: counted as they are sent (putio.h put_body) */
	return capture_into(sh, path, s, cap, true);
}

void ship_sink_keep(struct shipper *sh, const char *path, const struct capture *cap,
		    const struct shipped *base, struct ship_sink *s)
{
	/* a list only of the live file: a database backup or an unstable copy
	 * is not what later writes change */
	if (!s->cw || cap->sqlite || cap->unstable || clwriter_commit(s->cw, path, cap->root) < 0)
		pathstate_drop(&sh->ps, path, PS_CHUNKS);
}
