/* shipitem.c — one queued path: gather the facts, ask ship_plan (shipplan.h)
 * and carry out its answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/chunktree.h"
#include "common/clock.h"
#include "common/log.h"
#include "daemon/capture.h"
#include "daemon/ship_int.h"

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && strcmp(s + n - m, suf) == 0;
}

/* A -wal/-journal/-shm companion: the database itself needs a new look. */
static int companion(struct shipper *sh, const struct qitem *q)
{
	static const char *const sufs[] = { "-wal", "-journal", "-shm" };
	char base[PATH_MAX];

	for (size_t i = 0; i < 3; i++) {
		if (!has_suffix(q->path, sufs[i]))
			continue;
		snprintf(base, sizeof(base), "%.*s", (int)(strlen(q->path) - strlen(sufs[i])),
			 q->path);
		if (access(base, F_OK) == 0)
			statedb_enqueue(sh->o.db, base, q->first_seen_ns, 0, "companion");
	}
	return statedb_queue_done(sh->o.db, q->path, q->gen);
}

static int ship_delete(struct shipper *sh, const struct qitem *q, const struct shipped *cur)
{
	struct vg_put *p = sh->put;
	uint64_t version = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	snprintf(p->e.path, sizeof(p->e.path), "%s", cur->path);
	p->e.type = cur->type;
	p->e.deleted = 1;
	p->e.mode = cur->mode & 07777;
	p->e.capture_ns = ship_next_capture(sh, real_ns());
	p->body = PUT_DELETE;
	p->base_version = cur->version;
	if ((rc = ship_send_put(sh, NULL, &version)) < 0)
		return ship_finish_put(sh, rc, cur->path);
	pathstate_forget(&sh->ps, cur->path);
	return statedb_queue_done(sh->o.db, q->path, q->gen);
}

static int enqueue_child(void *arg, const struct shipped *s)
{
	struct shipper *sh = arg;

	return statedb_enqueue(sh->o.db, s->path, real_ns(), 0, "parent gone");
}

/* old (shipped, now vanished) is at newpath: rename without content. */
static int ship_rename(struct shipper *sh, const struct shipped *old, const char *newpath,
		       const struct stat *st, uint64_t newgen)
{
	struct vg_put *p = sh->put;
	char from[PATH_MAX];
	uint64_t version = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	ship_entry_from_stat(&p->e, newpath, st);
	memcpy(p->e.sha256, old->sha256, 32);
	memcpy(p->e.tree_root, old->root, 32);
	p->e.capture_ns = ship_next_capture(sh, real_ns());
	p->body = PUT_RENAME;
	p->base_version = old->version;
	snprintf(p->from, sizeof(p->from), "%s", old->path);
	snprintf(from, sizeof(from), "%s", old->path);
	if ((rc = ship_send_put(sh, NULL, &version)) < 0)
		return ship_finish_put(sh, rc, newpath);
	log_debug("%s: renamed from %s", newpath, from);
	ship_row_from(sh->old, &p->e, st, version);
	sh->old->capture_ns = old->capture_ns;
	return pathstate_move(&sh->ps, from, sh->old, newgen);
}

static bool claim(struct shipper *sh, const char *path)
{
	return !sh->o.claim || sh->o.claim(sh->o.claim_arg, path);
}

static void release(struct shipper *sh, const char *path)
{
	if (sh->o.release)
		sh->o.release(sh->o.claim_arg, path);
}

/* A shipped regular file vanished: is it one of the queued new paths? */
static int try_rename_from(struct shipper *sh, const struct shipped *old)
{
	enum { N = 64 };
	struct qitem *qs = malloc(N * sizeof(*qs));
	struct shipped *tmp = malloc(sizeof(*tmp));
	size_t n = 0;
	int rc = -ENOENT;

	if (!qs || !tmp || old->type != VG_FILE)
		goto out;
	if (statedb_queue_list(sh->o.db, old->path, qs, N, &n) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (lstat(qs[i].path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_ino != old->ino || st.st_dev != old->dev ||
		    (uint64_t)st.st_size != old->size || scan_ts(&st.st_mtim) != old->mtime_ns)
			continue;
		if (statedb_get(sh->o.db, qs[i].path, tmp) == 0)
			continue;   /* that path has its own history: not a plain rename */
		if (!claim(sh, qs[i].path)) {
			/* another shipper holds the new path: it does the rename
			 * (see ship_item); this side must not delete meanwhile */
			rc = -EAGAIN;
			break;
		}
		rc = ship_rename(sh, old, qs[i].path, &st, qs[i].gen);
		release(sh, qs[i].path);
		break;
	}
out:
	free(qs);
	free(tmp);
	return rc;
}

static int ship_gone(struct shipper *sh, const struct qitem *q, struct shipped *cur)
{
	int rc;

	if (cur->type == VG_DIR)
		statedb_each_under(sh->o.db, cur->path, enqueue_child, sh);
	if ((rc = try_rename_from(sh, cur)) != -ENOENT)
		return rc;   /* the rename also removed the old path's entry */
	return ship_delete(sh, q, cur);
}

/* Directory or symlink: a whole PUT with empty content. */
static int ship_empty(struct shipper *sh, const struct qitem *q, const struct stat *st)
{
	struct vg_put *p = sh->put;
	uint64_t version = 0;
	ssize_t n;
	int rc;

	memset(p, 0, sizeof(*p));
	ship_entry_from_stat(&p->e, q->path, st);
	if (S_ISLNK(st->st_mode)) {
		n = readlink(q->path, p->e.link, sizeof(p->e.link) - 1);
		if (n < 0)
			return errno == ENOENT ? -EAGAIN : -errno;
		p->e.link[n] = '\0';
		p->e.size = 0;
	}
	ctree_sha256("", 0, p->e.sha256);
	ctree_empty_root(p->e.tree_root);
	p->e.capture_ns = ship_next_capture(sh, real_ns());
	p->body = PUT_WHOLE;
	ship_token_for(&p->e, p->token);
	if ((rc = ship_send_put(sh, NULL, &version)) < 0)
		return ship_finish_put(sh, rc, q->path);
	return ship_commit(sh, q, st, version);
}

/* Content unchanged, metadata changed: PUT_META against cur's version. */
static int ship_meta(struct shipper *sh, const struct qitem *q, const struct stat *st,
		     const struct shipped *cur, int64_t capture_ns)
{
	struct vg_put *p = sh->put;
	uint64_t version = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	ship_entry_from_stat(&p->e, q->path, st);
	p->e.size = cur->size;
	memcpy(p->e.sha256, cur->sha256, 32);
	memcpy(p->e.tree_root, cur->root, 32);
	p->e.capture_ns = ship_next_capture(sh, capture_ns);
	p->body = PUT_META;
	p->base_version = cur->version;
	if ((rc = ship_send_put(sh, NULL, &version)) < 0)
		return ship_finish_put(sh, rc, q->path);
	return ship_commit(sh, q, st, version);
}

/* The vanished shipped file *old is at q's path: rename without content. */
static int ship_moved(struct shipper *sh, const struct qitem *q, const struct stat *st,
		      const struct shipped *old)
{
	/* If another shipper holds the old path, it backs off (see
	 * try_rename_from) or is deleting it, which the server and the ENOENT
	 * fallback both survive: go ahead either way. */
	bool held = claim(sh, old->path);
	int rc = ship_rename(sh, old, q->path, st, q->gen);

	if (held)
		release(sh, old->path);
	return rc;
}

/* No shipped row: the server may hold it already (lost state). */
static int ship_new(struct shipper *sh, const struct qitem *q, const struct stat *st)
{
	struct shipped *base;
	int rc;

	if (!S_ISREG(st->st_mode)) {
		if ((rc = ship_adopt_empty(sh, q, st)) != -ENOTSUP)
			return rc;
		return ship_empty(sh, q, st);
	}
	if (!(base = malloc(sizeof(*base))))
		return -ENOMEM;
	rc = ship_adopt_file(sh, q, st, base);
	if (rc == -ENOTSUP)
		rc = ship_content(sh, q, st, NULL, false);
	else if (rc == SHIP_ADOPT_CONTENT)
		rc = ship_content(sh, q, st, base,
				  base->size >= SIG_MIN_SIZE);
	free(base);
	return rc;
}

/* The facts ship_plan decides on (shipplan.h).  st, moved: storage. */
int ship_look(struct shipper *sh, const struct qitem *q, struct stat *st,
		struct shipped *moved, struct ship_facts *f)
{
	struct shipped *cur = sh->cur;
	struct stat ost;
	bool here, reg;
	int rc;

	memset(f, 0, sizeof(*f));
	if ((f->excluded = scan_excluded(sh->o.scan, q->path)))
		return 0;
	if (!(here = ship_lstat(sh, q->path, st) == 0) && errno != ENOENT && errno != ENOTDIR)
		return -errno;
	/* the row, and for a regular file without one a row of the same
	 * dev+ino elsewhere (a rename), in one look at the state db */
	reg = here && S_ISREG(st->st_mode);
	if ((rc = statedb_look(sh->o.db, q->path, reg, reg ? st->st_dev : 0,
			       reg ? st->st_ino : 0, cur, moved)) < 0)
		return rc;
	f->row = (rc & STATEDB_LOOK_ROW) ? cur : NULL;
	if (!here)
		return 0;   /* gone */
	f->st = st;
	if (!reg)
		return 0;
	if (!f->row && (rc & STATEDB_LOOK_MOVED)) {
		f->moved = moved;
		f->moved_gone = lstat(moved->path, &ost) < 0 || ost.st_ino != moved->ino;
	}
	/* racy: same stat may hide a change; closed: a writer just closed it */
	f->queued_racy = strcmp(q->reason, "racy") == 0 || strcmp(q->reason, "closed") == 0;
	if (sh->o.rt) {
		rangetab_peek(sh->o.rt, q->path, sh->rs);
		f->rs = sh->rs;
	}
	f->delta_base = f->row && f->row->type == VG_FILE && f->row->version &&
			f->row->size >= SIG_MIN_SIZE;
	return 0;
}

int ship_item(struct shipper *sh, const struct qitem *q)
{
	struct ship_facts f;
	struct shipped *moved = sh->old;   /* reused once the rename starts */
	struct stat st;
	enum ship_kind kind;
	int rc;

	if ((rc = ship_look(sh, q, &st, moved, &f)) < 0)
		return rc;
	kind = ship_plan(&f);
	log_debug("%s: plan %s", q->path, ship_kind_names[kind]);
	switch (kind) {
	case SHIP_COMPANION:
		return companion(sh, q);
	case SHIP_NONE:
		return statedb_queue_done(sh->o.db, q->path, q->gen);
	case SHIP_GONE:
		return ship_gone(sh, q, sh->cur);
	case SHIP_RENAME: {
		struct shipped old = *moved;   /* sh->old is reused by the rename */

		return ship_moved(sh, q, &st, &old);
	}
	case SHIP_ADOPT:
		return ship_new(sh, q, &st);
	case SHIP_EMPTY:
		return ship_empty(sh, q, &st);
	case SHIP_META:
		return ship_meta(sh, q, &st, sh->cur, real_ns());
	default:
		return ship_content(sh, q, &st, f.row && f.row->type == VG_FILE ? f.row : NULL,
				    f.delta_base);
	}
}
