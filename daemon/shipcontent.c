/* shipcontent.c — a regular file whose content may have changed.  When
 * every write since the shipped version is known by range, PUT_RANGES
 * (shipranges.c).  Otherwise capture it once (hash, chunk list, new
 * signature and delta in the same pass), then send a DELTA against the
 * shipped version when a signature is cached, a WHOLE otherwise, a META
 * when only metadata moved, or nothing at all. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/capture.h"
#include "daemon/chunklist.h"
#include "daemon/ship_int.h"
#include "daemon/rootwalk.h"
#include "daemon/sigcache.h"
#include "daemon/trkpath.h"
#include "daemon/xattrs.h"

struct content_sink {
	struct sigwriter *sw;     /* new signature, for the next edit */
	struct deltawriter *dw;   /* delta against the shipped version */
	struct clwriter *cw;      /* chunk list, for PUT_RANGES next time */
	int dfd;                  /* the finished delta (owned by dw), or -1 */
	uint64_t dsize;
};

static int cs_reset(void *arg)
{
	struct content_sink *c = arg;
	int rc = 0;

	if (c->sw && (rc = sigwriter_reset(c->sw)) < 0)
		return rc;
	if (c->dw && (rc = deltawriter_reset(c->dw)) < 0)
		return rc;
	if (c->cw)
		rc = clwriter_reset(c->cw);
	return rc;
}

static int cs_chunk(void *arg, const uint8_t sha[32], uint32_t len)
{
	struct content_sink *c = arg;

	return c->cw ? clwriter_add(c->cw, sha, len) : 0;
}

static int cs_data(void *arg, const uint8_t *p, size_t n)
{
	struct content_sink *c = arg;
	int rc = 0;

	if (c->sw && (rc = sigwriter_feed(c->sw, p, n)) < 0)
		return rc;
	if (c->dw)
		rc = deltawriter_feed(c->dw, p, n);
	return rc;
}

/* A setxattr moves only ctime: when ctime moved and the file has xattrs,
 * they may be new and go out as a META.  (Without xattrs a moved ctime
 * alone ships nothing; a removal of the last one is still caught by
 * ship_item's META branch outside the racy window.) */
static bool same_meta(const char *path, const struct stat *st, const struct shipped *cur)
{
	return (st->st_mode & 07777) == (cur->mode & 07777) && st->st_uid == cur->uid &&
	       st->st_gid == cur->gid && scan_ts(&st->st_mtim) == cur->mtime_ns &&
	       (scan_ts(&st->st_ctim) == cur->ctime_ns || !xattrs_present(path));
}

/* Whether the capture is the shipped content.  A version shipped by
 * ranges may have no sha256 yet (the server computes it after PUT_DONE,
 * shipranges.c learns zeros): then the chunk-tree root decides. */
static bool same_content(const struct shipped *cur, const struct capture *cap)
{
	static const uint8_t zero[32];

	if (!memcmp(cur->sha256, zero, 32))
		return cur->size == cap->size && !memcmp(cur->root, cap->root, 32);
	return !memcmp(cur->sha256, cap->sha256, 32);
}

/* Builds sh->put and its body from the capture. */
static int plan(struct shipper *sh, const struct qitem *q, const struct capture *cap,
		const struct shipped *cur, struct content_sink *cs, struct put_body *body)
{
	struct vg_put *p = sh->put;
	uint64_t dsize = 0;
	int dfd = -1;

	memset(p, 0, sizeof(*p));
	ship_entry_from_stat(&p->e, q->path, &cap->st);
	p->e.size = cap->size;
	memcpy(p->e.sha256, cap->sha256, 32);
	memcpy(p->e.tree_root, cap->root, 32);
	p->e.capture_ns = ship_next_capture(sh, cap->capture_ns);
	if (cur && cur->version && same_content(cur, cap)) {
		p->body = PUT_META;
		p->base_version = cur->version;
		return same_meta(q->path, &cap->st, cur) ? 1 : 0;   /* 1: nothing to send */
	}
	if (cs->dw && deltawriter_finish(cs->dw, &dfd, &dsize) == 0) {
		cs->dfd = dfd;
		cs->dsize = dsize;
	}
	if (cs->dfd >= 0 && dsize < cap->size) {
		p->body = PUT_DELTA;
		p->base_version = cur->version;
		*body = (struct put_body){ .fd = dfd, .size = dsize };
		return 0;
	}
	p->body = PUT_WHOLE;
	ship_token_for(&p->e, p->token);
	/* Re-read from the source: verify it did not move since the capture. */
	*body = (struct put_body){ .fd = cap->fd, .size = cap->size, .verify = !cap->tmp[0] };
	return 0;
}

/* Keeps the signature cache in step with the version just shipped. */
static void new_signature(struct shipper *sh, const struct qitem *q, const struct capture *cap,
			  const struct shipped *cur, struct content_sink *cs)
{
	uint64_t rd = 0;

	if (cs->sw && sigwriter_commit(cs->sw, q->path, cap->sha256) == 0)
		return;
	if (cur && !memcmp(cur->sha256, cap->sha256, 32) && !cs->sw)
		return;   /* same content: the cached signature still describes it */
	if (!cs->sw && cs->dfd >= 0 && cap->size >= SIG_MIN_SIZE &&
	    sigcache_derive(sh->o.statedir, q->path, cur->sha256, cur->size, cs->dfd, cs->dsize,
			    cap->fd, cap->size, cap->sha256, &rd) == 0) {
		ctr_add(sh->o.ctr, CTR_BYTES_READ, rd);
		return;
	}
	pathstate_drop(&sh->ps, q->path, PS_SIG);   /* none, or not of this version */
}

/* The capture path (see the top of the file). */
static int ship_captured(struct shipper *sh, const struct qitem *q, const struct stat *st,
			 const struct shipped *cur)
{
	struct content_sink cs = { .dfd = -1 };
	struct capture_sink sink = { .arg = &cs, .reset = cs_reset, .data = cs_data,
				     .chunk = cs_chunk };
	struct put_body body = { .fd = -1 };
	rs_signature_t *sig = NULL;
	struct capture cap = { .fd = -1 };
	uint64_t version = 0;
	int rc;

	if (cur && cur->version &&
	    sigcache_load(sh->o.statedir, q->path, cur->sha256, &sig) == 0 &&
	    deltawriter_new(sh->tmpdir, sig, sh->o.delta_outcap, &cs.dw) < 0)
		cs.dw = NULL;
	/* with a delta, the new signature is derived from it afterwards
	 * (sigderive.c) instead of hashing every block again */
	if (st->st_size < SIG_MIN_SIZE || cs.dw || sigwriter_new(sh->o.statedir, &cs.sw) < 0)
		cs.sw = NULL;
	if (!sh->o.rt || st->st_size < RANGES_MIN_SIZE ||
	    clwriter_new(sh->o.statedir, CL_BUF, &cs.cw) < 0)
		cs.cw = NULL;
	if ((rc = ship_capture(sh, q->path, &sink, &cap)) < 0)
		goto out;
	if ((rc = plan(sh, q, &cap, cur, &cs, &body)) == 1) {
		/* same content, same metadata: only remember the fresh capture */
		rc = ship_commit(sh, q, &cap.st, cur->version);
		goto out;
	}
	if ((rc = ship_send_put(sh, &body, &version)) < 0) {
		rc = ship_finish_put(sh, rc, q->path);
		goto out;
	}
	if ((rc = ship_commit(sh, q, &cap.st, version)) < 0)
		goto out;
	new_signature(sh, q, &cap, cur, &cs);
	/* a list only of the live file: a database backup or an unstable copy
	 * is not what later writes change */
	if (!cs.cw || cap.sqlite || cap.unstable || clwriter_commit(cs.cw, q->path, cap.root) < 0)
		pathstate_drop(&sh->ps, q->path, PS_CHUNKS);
out:
	capture_release(&cap);
	sigwriter_free(cs.sw);
	deltawriter_free(cs.dw);
	clwriter_free(cs.cw);
	if (sig)
		rs_free_sumset(sig);
	return rc;
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

int ship_capture(struct shipper *sh, const char *path, const struct capture_sink *sink,
		 struct capture *cap)
{
	const char *root = ship_root_of(sh, path);
	int rc;

	if (!root) {
		memset(cap, 0, sizeof(*cap));
		cap->fd = -1;
		rc = -EXDEV;
	} else {
		rc = capture_file(root, path, sh->tmpdir, sink, cap);
	}

	if (rc < 0) {
		if (rc == -ENOENT || rc == -ELOOP || rc == -EINVAL || rc == -ENOTDIR)
			return -EAGAIN;   /* it changed kind or vanished: look again */
		log_errno(rc, "%s: reading", path);
		return rc;
	}
	ctr_add(sh->o.ctr, CTR_BYTES_READ, cap->size);
	if (cap->unstable)
		ctr_add(sh->o.ctr, CTR_UNSTABLE, 1);
	return 0;
}

int ship_content(struct shipper *sh, const struct qitem *q, const struct stat *st,
		 const struct shipped *cur)
{
	struct rangeset *rs = sh->rs;
	bool track = st->st_size >= RANGES_MIN_SIZE;
	int rc = -ENOTSUP;

	rs->complete = false;
	if (sh->o.rt)
		rangetab_take(sh->o.rt, q->path, track, rs);
	if (rs->complete && !rs->unknown && cur && cur->version && cur->ino == st->st_ino &&
	    cur->dev == st->st_dev && cur->size >= RANGES_MIN_SIZE)
		rc = ship_ranges(sh, q, st, cur, rs);
	if (rc == -ENOTSUP)
		rc = ship_captured(sh, q, st, cur);
	if (rc < 0 && sh->o.rt)
		rangetab_putback(sh->o.rt, q->path, rs);
	return rc;
}
