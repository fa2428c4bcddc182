/* shipadopt.c — a path without a shipped record (new or lost state
 * directory, or forgotten after ESTALE) may already be on the server.
 * Before sending anything, ask MSG_DEV_LATEST and compare (adopt.h):
 *   same content and metadata -> record the server's version, send nothing
 *                                (a file's chunk list is built from the
 *                                local read, as a ship would)
 *   same content only         -> PUT_META on the server's version
 *   a file, other content     -> hand the server's version back: the
 *                                caller's capture path sends a PUT_DELTA
 *                                against it (its chunk list and the
 *                                signatures of the changed regions asked
 *                                of the server, shipsink.c)
 *   nothing live, other type  -> -ENOTSUP: the caller ships it as new. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/chunktree.h"
#include "common/clock.h"
#include "common/log.h"
#include "daemon/adopt.h"
#include "daemon/ship_int.h"
#include "daemon/xattrs.h"

#define LATEST_MS        30000

/* The server's latest of path into srv: 0, -ENOTSUP (nothing there, or
 * the server would not say), or a connection error. */
static int ask_latest(struct shipper *sh, const char *path, struct vg_entry *srv)
{
	int rc;

	if (!ship_connected(sh))
		return -ECONNRESET;
	rc = putio_latest(sh->mux, path, srv, LATEST_MS);
	if (rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -EPROTO) {
		ship_disconnect(sh);
		return rc == -EPROTO ? -ECONNRESET : rc;
	}
	if (rc < 0 && rc != -ENOENT)
		log_errno(rc, "%s: asking the server for its latest version", path);
	return rc < 0 ? -ENOTSUP : 0;
}

/* The local entry's xattrs; -EAGAIN when the path went away. */
static int local_xattrs(struct shipper *sh, struct vg_entry *loc)
{
	unsigned skipped = 0;
	int rc = xattrs_fill(loc, loc->path, &skipped);

	if (skipped)
		ctr_add(sh->o.ctr, CTR_XATTR_SKIPPED, skipped);
	if (rc == -ENOENT || rc == -ENOTDIR)
		return -EAGAIN;
	return 0;   /* other errors: compared without them (a META follows) */
}

/* Records srv's version for loc, with st as the local stat. */
static int record(struct shipper *sh, const struct qitem *q, const struct vg_entry *loc,
		  const struct stat *st, uint64_t version)
{
	int rc;

	ship_row_from(sh->old, loc, st, version);
	if ((rc = pathstate_commit(&sh->ps, sh->old, q)) < 0)
		return rc;
	ctr_add(sh->o.ctr, CTR_ADOPTED, 1);
	log_debug("%s: adopted the server's version %llu", loc->path, (unsigned long long)version);
	return 0;
}

/* PUT_META of loc on the server's version. */
static int send_meta(struct shipper *sh, const struct qitem *q, const struct vg_entry *loc,
		     const struct stat *st, uint64_t base)
{
	uint64_t version = 0;
	int rc;

	memset(sh->put, 0, sizeof(*sh->put));
	sh->put->e = *loc;
	sh->put->e.capture_ns = ship_next_capture(sh, loc->capture_ns);
	sh->put->body = PUT_META;
	sh->put->base_version = base;
	if ((rc = ship_send_put(sh, NULL, &version)) < 0)
		return ship_finish_put(sh, rc, q->path);
	return ship_commit(sh, q, st, version);
}

/* The start of an adoption: *srv (the server's latest version of q->path)
 * and *loc (for the local entry) allocated, the caller frees both (set or
 * NULL whatever the return).  0 or -errno. */
static int adopt_begin(struct shipper *sh, const struct qitem *q, struct vg_entry **srv,
		       struct vg_entry **loc)
{
	*srv = malloc(sizeof(**srv));
	*loc = malloc(sizeof(**loc));
	if (!*srv || !*loc)
		return -ENOMEM;
	return ask_latest(sh, q->path, *srv);
}

/* Directory or symlink without a shipped record. */
int ship_adopt_empty(struct shipper *sh, const struct qitem *q, const struct stat *st)
{
	struct vg_entry *srv = NULL, *loc = NULL;
	ssize_t n;
	int rc;

	if ((rc = adopt_begin(sh, q, &srv, &loc)) < 0)
		goto out;
	ship_entry_from_stat(loc, q->path, st);
	if (S_ISLNK(st->st_mode)) {
		if ((n = readlink(q->path, loc->link, sizeof(loc->link) - 1)) < 0) {
			rc = errno == ENOENT ? -EAGAIN : -errno;
			goto out;
		}
		loc->link[n] = '\0';
		loc->size = 0;
	}
	ctree_sha256("", 0, loc->sha256);
	ctree_empty_root(loc->tree_root);
	loc->capture_ns = real_ns();
	if ((rc = local_xattrs(sh, loc)) < 0)
		goto out;
	switch (adopt_compare(srv, loc)) {
	case ADOPT_SAME:
		loc->capture_ns = srv->capture_ns;
		rc = record(sh, q, loc, st, srv->version);
		break;
	case ADOPT_META:
		rc = send_meta(sh, q, loc, st, srv->version);
		break;
	default:
		rc = -ENOTSUP;
	}
out:
	free(srv);
	free(loc);
	return rc;
}

/* Other content: base becomes the server's version, as a shipped row made
 * of what the server told (no inode: never ranges).  SHIP_ADOPT_CONTENT. */
static int adopt_base(const struct qitem *q, const struct vg_entry *srv, struct shipped *base)
{
	memset(base, 0, sizeof(*base));
	snprintf(base->path, sizeof(base->path), "%s", q->path);
	base->type = VG_FILE;
	base->size = srv->size;
	base->mtime_ns = srv->mtime_ns;
	base->mode = S_IFREG | (srv->mode & 07777);
	base->uid = srv->uid;
	base->gid = srv->gid;
	base->version = srv->version;
	memcpy(base->sha256, srv->sha256, 32);
	memcpy(base->root, srv->tree_root, 32);
	return SHIP_ADOPT_CONTENT;
}

/* Regular file without a shipped record (see ship_int.h). */
int ship_adopt_file(struct shipper *sh, const struct qitem *q, const struct stat *st,
		    struct shipped *base)
{
	struct vg_entry *srv = NULL, *loc = NULL;
	struct ship_sink s = { .dfd = -1 };
	struct capture cap = { .fd = -1 };
	bool taken = false;
	int rc;

	if ((rc = adopt_begin(sh, q, &srv, &loc)) < 0)
		goto out;
	if (srv->deleted || srv->type != VG_FILE || !srv->version) {
		rc = -ENOTSUP;
		goto out;
	}
	/* as ship_content: writes from now on form the next range set, so
	 * an adopted file's next small edit can go by ranges */
	if (sh->o.rt) {
		rangetab_take(sh->o.rt, q->path, st->st_size >= RANGES_MIN_SIZE, sh->rs);
		taken = true;
	}
	ship_sink_open(sh, q->path, st, NULL, false, &s);
	if ((rc = ship_capture(sh, q->path, &s, &cap)) < 0)
		goto out;
	ship_entry_from_stat(loc, q->path, &cap.st);
	loc->size = cap.size;
	memcpy(loc->sha256, cap.sha256, 32);
	memcpy(loc->tree_root, cap.root, 32);
	loc->capture_ns = cap.capture_ns;
	if ((rc = local_xattrs(sh, loc)) < 0)
		goto out;
	switch (adopt_compare(srv, loc)) {
	case ADOPT_SAME:
		if ((rc = record(sh, q, loc, &cap.st, srv->version)) == 0)
			ship_sink_keep(sh, q->path, &cap, NULL, &s);
		break;
	case ADOPT_META:
		if ((rc = send_meta(sh, q, loc, &cap.st, srv->version)) == 0)
			ship_sink_keep(sh, q->path, &cap, NULL, &s);
		break;
	default:
		capture_release(&cap);
		if (taken)
			rangetab_putback(sh->o.rt, q->path, sh->rs);   /* ship_content takes it */
		taken = false;
		rc = adopt_base(q, srv, base);
	}
out:
	if (taken && rc < 0)
		rangetab_putback(sh->o.rt, q->path, sh->rs);
	capture_release(&cap);
	ship_sink_close(&s);
	free(srv);
	free(loc);
	return rc;
}
