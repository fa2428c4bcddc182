/* shipsink.c — one read of a file to ship or adopt (beneath its watched
 * root, daemon/rootwalk.h), and what that read
 * builds on the way besides the content hash: a delta against the shipped
 * version's signature, the new signature, the chunk list.  Used by the
 * capture path (shipcontent.c) and adoption (shipadopt.c) alike; after the
 * version is recorded, ship_sink_keep puts the new signature and list in
 * place or drops the stale ones (pathstate.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/chunkdelta.h"
#include "daemon/rootwalk.h"
#include "daemon/ship_int.h"
#include "daemon/trkpath.h"

static int sink_reset(void *arg)
{
	struct ship_sink *c = arg;
	int rc = 0;

	if (c->sw && (rc = sigwriter_reset(c->sw)) < 0)
		return rc;
	if (c->dw && (rc = deltawriter_reset(c->dw)) < 0)
		return rc;
	if (c->cd && (rc = chunkdelta_reset(c->cd)) < 0)
		return rc;
	if (c->cw)
		rc = clwriter_reset(c->cw);
	return rc;
}

static int sink_chunk(void *arg, const uint8_t sha[32], uint32_t len, const uint8_t *fp)
{
	struct ship_sink *c = arg;
	int rc;

	if (c->cw && fp && (rc = clwriter_add(c->cw, sha, len, fp)) < 0)
		return rc;
	return c->cd ? chunkdelta_chunk(c->cd, sha, len, fp) : 0;
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

	if (c->sw && (rc = sigwriter_feed(c->sw, p, n)) < 0)
		return rc;
	if (c->dw && (rc = deltawriter_feed(c->dw, p, n)) < 0)
		return rc;
	if (c->cd && (rc = chunkdelta_data(c->cd, p, n)) < 0)
		return rc;
	if (c->out)
		rc = c->out(c->out_arg, p, n);
	return rc;
}

static int sink_begin(void *arg, const struct capture *cap)
{
	struct ship_sink *c = arg;

	return c->begin ? c->begin(c->out_arg, cap) : 0;
}

void ship_sink_open(struct shipper *sh, const char *path, const struct stat *st,
		    const struct shipped *base, bool delta, struct ship_sink *s)
{
	memset(s, 0, sizeof(*s));
	s->dfd = -1;
	s->fp_secret = sh->fp_ok ? sh->fp_secret : NULL;
	/* a delta: librsync only where base's chunk list does not prove the
	 * bytes unchanged (chunkdelta.h); without a list, over everything */
	if (delta && base && base->size >= RANGES_MIN_SIZE &&
	    chunkdelta_new(sh->o.statedir, sh->tmpdir, path, base->root, base->size, &s->cd) < 0)
		s->cd = NULL;
	if (delta && base && !s->cd &&
	    sigcache_load(sh->o.statedir, path, base->root, &s->sig) == 0 &&
	    deltawriter_new(sh->tmpdir, s->sig, sh->o.delta_outcap, &s->dw) < 0)
		s->dw = NULL;
	/* with a delta, the new signature is derived from it afterwards
	 * (sigderive.c) instead of hashing every block again */
	if (st->st_size < SIG_MIN_SIZE || s->dw || s->cd ||
	    sigwriter_new(sh->o.statedir, &s->sw) < 0)
		s->sw = NULL;
	/* the list of what is shipped, for RANGES (with a range tracker) and
	 * for the next delta (chunkdelta.h) */
	if (st->st_size < RANGES_MIN_SIZE || !s->fp_secret ||
	    clwriter_new(sh->o.statedir, CL_BUF, &s->cw) < 0)
		s->cw = NULL;
}

void ship_sink_close(struct ship_sink *s)
{
	sigwriter_free(s->sw);
	deltawriter_free(s->dw);
	chunkdelta_free(s->cd);
	clwriter_free(s->cw);
	if (s->sig)
		rs_free_sumset(s->sig);
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
	else if (s->dw && deltawriter_finish(s->dw, &fd, &s->dsize) == 0)
		s->dfd = fd;
	*size = s->dsize;
	return s->dfd;
}

const char *ship_root_of(const struct shipper *sh, const char *path)
{
	int i = trkpath_root_of(sh->o.roots, sh->o.nroots, path);

	return i < 0 ? NULL : sh->o.roots[i];
}

int ship_lstat(const struct shipper *sh, const char *path, struct stat *st)
{
	const char *root = ship_root_of(sh, path), *leaf;
	int dfd, rc;

	if (!root) {
		errno = ENOENT;   /* outside every watched root: nothing to ship */
		return -1;
	}
	if (!strcmp(root, path))
		return lstat(root, st);   /* canonical, from the config */
	if ((dfd = rootwalk_parent(root, path, 0, &leaf)) < 0) {
		/* a parent swapped for a symlink: the path is not there any more */
		errno = dfd == -ELOOP ? ENOENT : -dfd;
		return -1;
	}
	rc = fstatat(dfd, leaf, st, AT_SYMLINK_NOFOLLOW);
	if (rc < 0) {
		int e = errno;

		close(dfd);
		errno = e;
		return -1;
	}
	close(dfd);
	return 0;
}

/* capture_file (or, stream: capture_stream) of path beneath its root into s. */
static int capture_into(struct shipper *sh, const char *path, struct ship_sink *s,
			struct capture *cap, bool stream)
{
	struct capture_sink sink = { .arg = s, .reset = sink_reset, .data = sink_data,
				     .chunk = sink_chunk, .begin = sink_begin,
				     .fp_secret = s->fp_secret, .known = sink_known,
				     .no_sha256 = s->no_sha256,
				     .moving = sh->o.rt && rangetab_busy(sh->o.rt, path, mono_ns()) };
	const char *root = ship_root_of(sh, path);
	int rc;

	if (!root) {
		memset(cap, 0, sizeof(*cap));
		cap->fd = -1;
		rc = -EXDEV;
	} else if (stream) {
		rc = capture_stream(root, path, sh->tmpdir, &sink, cap);
	} else {
		rc = capture_file(root, path, sh->tmpdir, &sink, cap);
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

/* The signature cache in step with the version just recorded. */
static void keep_signature(struct shipper *sh, const char *path, const struct capture *cap,
			   const struct shipped *base, struct ship_sink *s)
{
	uint64_t rd = 0;

	if (s->sw && sigwriter_commit(s->sw, path, cap->root) == 0)
		return;
	if (base && !memcmp(base->root, cap->root, 32) && !s->sw)
		return;   /* same content: the cached signature still describes it */
	if (!s->sw && s->dfd >= 0 && cap->size >= SIG_MIN_SIZE &&
	    sigcache_derive(sh->o.statedir, path, base->root, base->size, s->dfd, s->dsize,
			    cap->fd, cap->size, cap->root, &rd) == 0) {
		ctr_add(sh->o.ctr, CTR_BYTES_READ, rd);
		return;
	}
	pathstate_drop(&sh->ps, path, PS_SIG);   /* none, or not of this version */
}

void ship_sink_keep(struct shipper *sh, const char *path, const struct capture *cap,
		    const struct shipped *base, struct ship_sink *s)
{
	keep_signature(sh, path, cap, base, s);
	/* a list only of the live file: a database backup or an unstable copy
	 * is not what later writes change */
	if (!s->cw || cap->sqlite || cap->unstable || clwriter_commit(s->cw, path, cap->root) < 0)
		pathstate_drop(&sh->ps, path, PS_CHUNKS);
}
