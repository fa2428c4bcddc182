/* shipitem.c — what to send for one queued path (see ship.h for the rules). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

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

void ship_token_for(const struct vg_entry *e, uint8_t token[16])
{
	uint8_t d[32];
	unsigned n = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	memset(token, 0, 16);
	if (!md)
		return;
	/* Same path and content => same token, so a retry after a lost
	 * connection or a restart resumes the server's partial upload. */
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, e->path, strlen(e->path) + 1);
	EVP_DigestUpdate(md, e->sha256, 32);
	EVP_DigestUpdate(md, &e->size, sizeof(e->size));
	if (EVP_DigestFinal_ex(md, d, &n) == 1)
		memcpy(token, d, 16);
	EVP_MD_CTX_free(md);
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

int ship_item(struct shipper *sh, const struct qitem *q)
{
	struct shipped *cur = sh->cur;
	struct stat st;
	/* racy: same stat may hide a change; closed: a writer just closed it */
	bool have, racy = strcmp(q->reason, "racy") == 0 || strcmp(q->reason, "closed") == 0;
	int rc, type;

	if (scan_excluded(sh->o.scan, q->path))
		return companion(sh, q);
	rc = statedb_get(sh->o.db, q->path, cur);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	have = rc == 0;
	if (ship_lstat(sh, q->path, &st) < 0 || !(type = scan_type(st.st_mode))) {
		if (errno != ENOENT && errno != ENOTDIR && errno != 0 && scan_type(st.st_mode))
			return -errno;
		if (!have)
			return statedb_queue_done(sh->o.db, q->path, q->gen);
		return ship_gone(sh, q, cur);
	}
	if (type != VG_FILE) {
		if (have && cur->type == type && !scan_differs(&st, cur))
			return statedb_queue_done(sh->o.db, q->path, q->gen);
		if (!have && (rc = ship_adopt_empty(sh, q, &st)) != -ENOTSUP)
			return rc;
		return ship_empty(sh, q, &st);
	}
	if (!have && statedb_find_ino(sh->o.db, st.st_dev, st.st_ino, q->path, sh->old) == 0) {
		struct stat ost;
		struct shipped old = *sh->old;   /* sh->old is reused below */

		if ((lstat(old.path, &ost) < 0 || ost.st_ino != old.ino) &&
		    old.size == (uint64_t)st.st_size && old.mtime_ns == scan_ts(&st.st_mtim)) {
			/* If another shipper holds the old path, it backs off (see
			 * try_rename_from) or is deleting it, which the server and
			 * the ENOENT fallback both survive: go ahead either way. */
			bool held = claim(sh, old.path);

			rc = ship_rename(sh, &old, q->path, &st, q->gen);
			if (held)
				release(sh, old.path);
			return rc;
		}
	}
	if (sh->o.rt && rangetab_dirty(sh->o.rt, q->path))
		racy = true;   /* written in the same time tick as the capture */
	if (have && cur->type == VG_FILE && !scan_differs(&st, cur) && !racy)
		return statedb_queue_done(sh->o.db, q->path, q->gen);
	if (have && cur->type == VG_FILE && cur->version && !racy &&
	    cur->size == (uint64_t)st.st_size && cur->mtime_ns == scan_ts(&st.st_mtim) &&
	    cur->ino == st.st_ino && !scan_racy(cur))
		return ship_meta(sh, q, &st, cur, real_ns());
	if (!have && (rc = ship_adopt_file(sh, q, &st)) != -ENOTSUP)
		return rc;   /* the server may hold it already (lost state) */
	return ship_content(sh, q, &st, have && cur->type == VG_FILE ? cur : NULL);
}
