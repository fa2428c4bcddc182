/* index_versions.c — versions in the index: commit (base check, monotonic
 * capture, implicit ancestors, subtree delete and rename), latest/--at
 * selection, paged listings and logs.  Schema: docs/index.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/index_int.h"

/* "/a/b" -> parent "/a", name "b"; "/a" -> "/", "a"; "/" -> "", "". */
static void split_path(const char *path, char *parent, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t plen = slash ? (size_t)(slash - path) : 0;

	if (!strcmp(path, "/")) {
		parent[0] = '\0';
		*name = "";
		return;
	}
	if (plen == 0)
		plen = 1;   /* the root is "/" */
	memcpy(parent, path, plen);
	parent[plen] = '\0';
	*name = slash ? slash + 1 : path;
}

void idx_col_str(sqlite3_stmt *st, int c, char *out, size_t cap)
{
	const void *p = sqlite3_column_blob(st, c);
	size_t n = (size_t)sqlite3_column_bytes(st, c);

	if (!p || n >= cap)
		n = 0;
	if (n)
		memcpy(out, p, n);
	out[n] = '\0';
}

static const uint8_t zero_digest[sizeof(((struct vg_entry *)0)->digest)];

void idx_col_fixed(sqlite3_stmt *st, int c, uint8_t *out, size_t n)
{
	const void *p = sqlite3_column_blob(st, c);

	if (p && (size_t)sqlite3_column_bytes(st, c) == n)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

int idx_page_by_id(struct index *idx, const char *sql, int64_t after, size_t max,
		   idx_row_fn *row, void *out, const char *what)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int r, rc = SQLITE_DONE;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, sql, &st)) == 0) {
		sqlite3_bind_int64(st, 1, after);
		sqlite3_bind_int64(st, 2, (int64_t)max);
		while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
			row(st, out, n++);
		if (n < max && rc != SQLITE_DONE)
			r = idx_sql_fail(idx, rc, what);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&idx->lock);
	return r < 0 ? r : (int)n;
}

static void read_version(sqlite3_stmt *st, struct index_version *v)
{
	struct vg_entry *e = &v->e;
	const void *x;
	int n;

	idx_col_str(st, 0, e->path, sizeof(e->path));
	e->type = (uint8_t)sqlite3_column_int(st, 1);
	e->deleted = (uint8_t)sqlite3_column_int(st, 2);
	e->mode = (uint32_t)sqlite3_column_int64(st, 3);
	e->uid = (uint32_t)sqlite3_column_int64(st, 4);
	e->gid = (uint32_t)sqlite3_column_int64(st, 5);
	e->size = (uint64_t)sqlite3_column_int64(st, 6);
	e->mtime_ns = sqlite3_column_int64(st, 7);
	e->version = (uint64_t)sqlite3_column_int64(st, 8);
	e->capture_ns = sqlite3_column_int64(st, 9);
	e->recv_ns = sqlite3_column_int64(st, 10);
	idx_col_fixed(st, 11, e->sha256, 32);
	idx_col_fixed(st, 12, e->tree_root, 32);
	idx_col_str(st, 13, e->link, sizeof(e->link));
	x = sqlite3_column_blob(st, 14);
	n = sqlite3_column_bytes(st, 14);
	e->xattr_len = x && n > 0 && n <= VG_XATTR_MAX ? (uint32_t)n : 0;
	if (e->xattr_len)
		memcpy(e->xattrs, x, e->xattr_len);
	idx_col_fixed(st, 15, v->content_root, 32);
	v->implicit = sqlite3_column_int(st, 16) != 0;
	v->sha_pending = sqlite3_column_int(st, 17) != 0;
	idx_col_fixed(st, 18, e->digest, sizeof(e->digest));
}

/* Light view of a path's latest row. */
struct prev { uint64_t version; int type; bool deleted, implicit; uint64_t size; bool found; };

static int prev_locked(struct index *idx, int64_t dev, const char *path, bool skip_implicit,
		       struct prev *p)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(p, 0, sizeof(*p));
	r = idx_prepc(idx, skip_implicit ?
		 "SELECT version, type, deleted, size, implicit FROM versions WHERE dev = ?1"
		 " AND path = ?2 AND implicit = 0 ORDER BY version DESC LIMIT 1" :
		 "SELECT version, type, deleted, size, implicit FROM versions WHERE dev = ?1"
		 " AND path = ?2 ORDER BY version DESC LIMIT 1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, dev);
	idx_bind_path(st, 2, path);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		p->found = true;
		p->version = (uint64_t)sqlite3_column_int64(st, 0);
		p->type = sqlite3_column_int(st, 1);
		p->deleted = sqlite3_column_int(st, 2) != 0;
		p->size = (uint64_t)sqlite3_column_int64(st, 3);
		p->implicit = sqlite3_column_int(st, 4) != 0;
	} else if (rc != SQLITE_DONE) {
		r = idx_sql_fail(idx, rc, "latest version");
	}
	idx_done(idx, st);
	return r;
}

static int latest_locked(struct index *idx, int64_t dev, const char *path, int64_t at,
			 bool skip_implicit, struct index_version *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	/* "+capture_ns": without it SQLite (no statistics) chose
	 * versions_by_capture, a scan of every version of the device up to
	 * the time and a sort, for one path: 6 ms per call at 20,000 files
	 * (each LATEST, each rename source, each adoption), growing with the
	 * device; versions_by_path finds the row at once */
	r = idx_prepc(idx, skip_implicit ?
		 "SELECT " VCOLS " FROM versions WHERE dev = ?1 AND path = ?2 AND +capture_ns <= ?3"
		 " AND implicit = 0 ORDER BY version DESC LIMIT 1" :
		 "SELECT " VCOLS " FROM versions WHERE dev = ?1 AND path = ?2 AND +capture_ns <= ?3"
		 " ORDER BY version DESC LIMIT 1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, dev);
	idx_bind_path(st, 2, path);
	sqlite3_bind_int64(st, 3, at);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_version(st, out);
	else
		r = rc == SQLITE_DONE ? -ENOENT : idx_sql_fail(idx, rc, "select version");
	idx_done(idx, st);
	return r;
}

/* The device's capture maximum as stored. */
static int capture_read(struct index *idx, int64_t dev, int64_t *max)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*max = 0;
	if ((r = idx_prepc(idx, "SELECT max_capture_ns FROM devices WHERE dev = ?1", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, dev);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*max = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		r = idx_sql_fail(idx, rc, "device capture");
	idx_done(idx, st);
	return r;
}

/* The device's entry of the group in progress (lock held), NULL outside
 * a group or when the group holds IDX_GROUP_DEVS others.  A new entry
 * reads the device's capture maximum. */
static int group_dev(struct index *idx, int64_t dev, struct group_dev **out)
{
	struct group_dev *g;
	int r;

	*out = NULL;
	if (!idx->in_group)
		return 0;
	for (size_t i = 0; i < idx->ngdev; i++)
		if (idx->gdev[i].dev == dev) {
			*out = &idx->gdev[i];
			return 0;
		}
	if (idx->ngdev == IDX_GROUP_DEVS)
		return 0;
	g = &idx->gdev[idx->ngdev];
	*g = (struct group_dev){ .dev = dev };
	if ((r = capture_read(idx, dev, &g->max_capture)) < 0)
		return r;
	idx->ngdev++;
	*out = g;
	return 0;
}

static int counters_write(struct index *idx, int64_t dev, int64_t dfiles, int64_t dbytes)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!dfiles && !dbytes)
		return 0;
	if ((r = idx_prepc(idx, "UPDATE devices SET files = max(files + ?2, 0),"
		      " bytes = max(bytes + ?3, 0) WHERE dev = ?1", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_int64(st, 2, dfiles);
	sqlite3_bind_int64(st, 3, dbytes);
	r = idx_step_done(idx, st, "update counters");
	idx_done(idx, st);
	return r;
}

/* Adjusts the device's live file count and bytes (in a group: at its end). */
static int counters_locked(struct index *idx, int64_t dev, int64_t dfiles, int64_t dbytes)
{
	struct group_dev *g;
	int r;

	if ((r = group_dev(idx, dev, &g)) < 0)
		return r;
	if (g == NULL)
		return counters_write(idx, dev, dfiles, dbytes);
	g->dfiles += dfiles;
	g->dbytes += dbytes;
	return 0;
}

static bool live_file(int type, bool deleted) { return type == VG_FILE && !deleted; }

/* A pending row whose path's latest row holds the same content, already
 * hashed, takes that sha256: a META read its base before the worker
 * finished and commits after it (the worker's update missed it). */
static int pending_from_prev(struct index *idx, int64_t dev, struct index_version *v)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = idx_prepc(idx, "SELECT sha256 FROM versions WHERE dev = ?1 AND path = ?2"
		      " AND content_root = ?3 AND sha_pending = 0 AND deleted = 0 AND type = 1"
		      " ORDER BY version DESC LIMIT 1", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, dev);
	idx_bind_path(st, 2, v->e.path);
	sqlite3_bind_blob(st, 3, v->content_root, 32, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
		memcpy(v->e.sha256, sqlite3_column_blob(st, 0), 32);
		v->sha_pending = false;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = idx_sql_fail(idx, rc, "pending sha256");
	}
	idx_done(idx, st);
	return r;
}

/* Inserts v as the next version of its path; sets v->e.version.  known:
 * the path's latest row as the caller just read it, NULL to read it. */
static int insert_locked(struct index *idx, int64_t dev, struct index_version *v,
			 const struct prev *known)
{
	const struct vg_entry *e = &v->e;
	char parent[PATH_MAX];
	const char *name;
	sqlite3_stmt *st = NULL;
	struct prev p;
	int64_t df = 0, db = 0;
	int r;

	if (!live_file(e->type, e->deleted))
		v->sha_pending = false;
	if (v->sha_pending) {
		memset(v->e.sha256, 0, 32);
		if ((r = pending_from_prev(idx, dev, v)) < 0)
			return r;
	}
	if (known != NULL)
		p = *known;
	else if ((r = prev_locked(idx, dev, e->path, false, &p)) < 0)
		return r;
	v->e.version = p.version + 1;
	split_path(e->path, parent, &name);
	if ((r = idx_prepc(idx, "INSERT INTO versions(dev, path, parent, name, version, capture_ns,"
		      " recv_ns, type, deleted, implicit, size, mode, uid, gid, mtime_ns, sha256,"
		      " tree_root, content_root, link, xattrs, sha_pending, digest) VALUES (?1, ?2,"
		      " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,"
		      " ?20, ?21, ?22)", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, dev);
	idx_bind_path(st, 2, e->path);
	idx_bind_path(st, 3, parent);
	idx_bind_path(st, 4, name);
	sqlite3_bind_int64(st, 5, (int64_t)e->version);
	sqlite3_bind_int64(st, 6, e->capture_ns);
	sqlite3_bind_int64(st, 7, e->recv_ns);
	sqlite3_bind_int(st, 8, e->type);
	sqlite3_bind_int(st, 9, e->deleted ? 1 : 0);
	sqlite3_bind_int(st, 10, v->implicit ? 1 : 0);
	sqlite3_bind_int64(st, 11, (int64_t)e->size);
	sqlite3_bind_int64(st, 12, e->mode & 07777);
	sqlite3_bind_int64(st, 13, e->uid);
	sqlite3_bind_int64(st, 14, e->gid);
	sqlite3_bind_int64(st, 15, e->mtime_ns);
	sqlite3_bind_blob(st, 16, e->sha256, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 17, e->tree_root, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 18, v->content_root, 32, SQLITE_TRANSIENT);
	idx_bind_path(st, 19, e->link);
	sqlite3_bind_blob(st, 20, e->xattrs, (int)(e->xattr_len <= VG_XATTR_MAX ? e->xattr_len : 0),
			  SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 21, v->sha_pending ? 1 : 0);
	if (v->sha_pending && memcmp(e->digest, zero_digest, sizeof(e->digest)))
		sqlite3_bind_blob(st, 22, e->digest, (int)sizeof(e->digest), SQLITE_TRANSIENT);
	r = idx_step_done(idx, st, "insert version");
	idx_done(idx, st);
	if (r < 0)
		return r;
	if (p.found && live_file(p.type, p.deleted)) {
		df--;
		db -= (int64_t)p.size;
	}
	if (live_file(e->type, e->deleted)) {
		df++;
		db += (int64_t)e->size;
	}
	return counters_locked(idx, dev, df, db);
}

/* One page of a listing.  Newest version (as of at) of each path, in byte
 * order; deleted paths skipped.  Returns the number of entries taken. */
static int ls_locked(struct index *idx, int64_t dev, const char *dir, int64_t at, bool recursive,
		     const char *after, size_t max, index_entry_cb cb, void *arg)
{
	char lo[PATH_MAX + 2], hi[PATH_MAX + 2];
	struct index_version *v = NULL;
	sqlite3_stmt *st = NULL;
	size_t taken = 0;
	int r, rc = SQLITE_DONE;

	if (strlen(dir) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (recursive) {
		/* every path strictly below dir: dir + "/" < path < dir + "0" */
		const char *base = strcmp(dir, "/") ? dir : "";

		snprintf(lo, sizeof(lo), "%s/", base);
		snprintf(hi, sizeof(hi), "%s0", base);
		if (after && strcmp(after, lo) > 0)
			snprintf(lo, sizeof(lo), "%s", after);
		r = idx_prepc(idx, "SELECT " VCOLS ", max(version) FROM versions WHERE dev = ?1"
			 " AND path > ?2 AND path < ?3 AND capture_ns <= ?4 GROUP BY path"
			 " ORDER BY path", &st);
	} else {
		const char *slash = after && *after ? strrchr(after, '/') : NULL;

		snprintf(lo, sizeof(lo), "%s", slash ? slash + 1 : "");
		snprintf(hi, sizeof(hi), "%s", dir);
		r = idx_prepc(idx, "SELECT " VCOLS ", max(version) FROM versions WHERE dev = ?1"
			 " AND name > ?2 AND parent = ?3 AND capture_ns <= ?4 GROUP BY name"
			 " ORDER BY name", &st);
	}
	if (r < 0)
		return r;
	if (!(v = malloc(sizeof(*v)))) {
		r = -ENOMEM;
		goto out;
	}
	sqlite3_bind_int64(st, 1, dev);
	idx_bind_path(st, 2, lo);
	idx_bind_path(st, 3, hi);
	sqlite3_bind_int64(st, 4, at);
	while (taken < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* bare columns come from the row holding max(version) */
		if (sqlite3_column_int(st, 2))
			continue;   /* deleted as of at */
		read_version(st, v);
		if ((r = cb(arg, v)) != 0)
			break;
		taken++;
	}
	if (r == 0 && taken < max && rc != SQLITE_DONE)
		r = idx_sql_fail(idx, rc, "list");
out:
	free(v);
	idx_done(idx, st);
	return r < 0 ? r : (int)taken;
}

/* Collects the paths of one page of live descendants. */
struct path_page { char *p[INDEX_PAGE]; size_t n; };

static int collect_path(void *arg, const struct index_version *v)
{
	struct path_page *pg = arg;

	if (!(pg->p[pg->n] = strdup(v->e.path)))
		return -ENOMEM;
	pg->n++;
	return 0;
}

static void page_clear(struct path_page *pg)
{
	for (size_t i = 0; i < pg->n; i++)
		free(pg->p[i]);
	pg->n = 0;
}

/* One descendant of a deleted or renamed directory: when to is set, its
 * content is copied to to + (path - from); then it gets a deleted version. */
static int subtree_one(struct index *idx, int64_t dev, const char *path, const char *from,
		       const char *to, int64_t capture, int64_t now, struct index_version *v)
{
	int r;

	if ((r = latest_locked(idx, dev, path, INDEX_AT_LATEST, false, v)) < 0)
		return r;
	v->e.capture_ns = capture;
	v->e.recv_ns = now;
	if (to) {
		char src[PATH_MAX];
		int n;

		snprintf(src, sizeof(src), "%s", v->e.path);
		n = snprintf(v->e.path, sizeof(v->e.path), "%s%s", to, src + strlen(from));
		if (n < 0 || (size_t)n >= sizeof(v->e.path))
			return -ENAMETOOLONG;
		v->implicit = false;
		if ((r = insert_locked(idx, dev, v, NULL)) < 0)
			return r;
		snprintf(v->e.path, sizeof(v->e.path), "%s", src);
	}
	v->e.deleted = 1;
	v->e.size = 0;
	v->e.xattr_len = 0;
	v->e.link[0] = '\0';
	memset(v->e.sha256, 0, 32);
	memset(v->e.tree_root, 0, 32);
	memset(v->content_root, 0, 32);
	v->implicit = false;
	v->sha_pending = false;
	memset(v->e.digest, 0, sizeof(v->e.digest));
	return insert_locked(idx, dev, v, NULL);
}

/* Deletes (and with to, first copies) every live path below from. */
static int subtree_locked(struct index *idx, int64_t dev, const char *from, const char *to,
			  int64_t capture, int64_t now)
{
	struct index_version *v = malloc(sizeof(*v));
	char after[PATH_MAX] = "";
	struct path_page pg = { .n = 0 };
	int r = 0;

	if (!v)
		return -ENOMEM;
	for (;;) {
		r = ls_locked(idx, dev, from, INDEX_AT_LATEST, true, after, INDEX_PAGE,
			      collect_path, &pg);
		if (r <= 0)
			break;
		for (size_t i = 0; i < pg.n && r >= 0; i++)
			r = subtree_one(idx, dev, pg.p[i], from, to, capture, now, v);
		if (r < 0)
			break;
		snprintf(after, sizeof(after), "%s", pg.p[pg.n - 1]);
		page_clear(&pg);
	}
	page_clear(&pg);
	free(v);
	return r < 0 ? r : 0;
}

/* Gives missing or deleted ancestors of path an implicit directory version. */
static int ancestors_locked(struct index *idx, int64_t dev, const char *path, int64_t capture,
			    int64_t now)
{
	struct index_version *v = NULL;
	char dir[PATH_MAX], up[PATH_MAX];
	const char *name;
	struct prev p;
	int r = 0;

	split_path(path, dir, &name);
	while (strcmp(dir, "/") && dir[0]) {
		if ((r = prev_locked(idx, dev, dir, false, &p)) < 0)
			break;
		if (p.found && !p.deleted && p.type == VG_DIR)
			break;
		if (!v && !(v = calloc(1, sizeof(*v)))) {
			r = -ENOMEM;
			break;
		}
		memset(&v->e, 0, sizeof(v->e));
		snprintf(v->e.path, sizeof(v->e.path), "%s", dir);
		v->e.type = VG_DIR;
		v->e.mode = 0755;
		v->e.mtime_ns = capture;
		v->e.capture_ns = capture;
		v->e.recv_ns = now;
		v->implicit = true;
		if ((r = insert_locked(idx, dev, v, NULL)) < 0)
			break;
		snprintf(up, sizeof(up), "%s", dir);
		split_path(up, dir, &name);
	}
	free(v);
	return r;
}

/* Stores the device's capture maximum. */
static int capture_write(struct index *idx, int64_t dev, int64_t capture)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = idx_prepc(idx, "INSERT INTO devices(dev, max_capture_ns) VALUES (?1, ?2)"
		      " ON CONFLICT(dev) DO UPDATE SET max_capture_ns = ?2", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_int64(st, 2, capture);
	r = idx_step_done(idx, st, "device capture");
	idx_done(idx, st);
	return r;
}

/* Clamps the capture time above the device's maximum and records it: two
 * versions never share a time, or `--at` could not reach the older of two
 * of one path (whatever the device sent: a clock behind, a restart).  In a
 * group the maximum is kept in memory and written at the group's end. */
static int capture_locked(struct index *idx, int64_t dev, int64_t *capture)
{
	struct group_dev *g;
	int64_t max;
	int r;

	if ((r = group_dev(idx, dev, &g)) < 0)
		return r;
	if (g != NULL)
		max = g->max_capture;
	else if ((r = capture_read(idx, dev, &max)) < 0)
		return r;
	if (*capture <= max)
		*capture = max == INT64_MAX ? max : max + 1;
	if (g == NULL)
		return capture_write(idx, dev, *capture);
	g->max_capture = *capture;
	g->capture_set = true;
	return 0;
}

/* RENAME: v takes from's content (type, size, hashes, link); the caller's
 * metadata (mode, owner, mtime, xattrs) stays.  The source must be of the
 * type the device renames: a device that names a directory as the source of
 * a file's rename has lost track of it, and moving the directory's subtree
 * would hide its files from the latest tree (-ENOENT: the device ships the
 * new path instead). */
static int rename_src_locked(struct index *idx, int64_t dev, const char *from,
			     struct index_version *v, int *src_type)
{
	struct index_version *src = malloc(sizeof(*src));
	int r;

	if (!src)
		return -ENOMEM;
	r = latest_locked(idx, dev, from, INDEX_AT_LATEST, false, src);
	if (r == 0 && (src->e.deleted || src->e.type != v->e.type))
		r = -ENOENT;
	if (r == 0) {
		v->e.type = src->e.type;
		v->e.size = src->e.size;
		memcpy(v->e.sha256, src->e.sha256, 32);
		memcpy(v->e.tree_root, src->e.tree_root, 32);
		memcpy(v->content_root, src->content_root, 32);
		v->sha_pending = src->sha_pending;
		memcpy(v->e.digest, src->e.digest, sizeof(v->e.digest));
		memcpy(v->e.link, src->e.link, sizeof(v->e.link));
		*src_type = src->e.type;
	}
	free(src);
	return r;
}

/* Whether the live latest version cur holds v's content and metadata
 * (daemon/adopt.c's ADOPT_SAME, decided here for a batch's new paths):
 * size, tree root and sha256 (a pending sha256: the root decides), mode,
 * owner, mtime and xattrs. */
static bool same_version(const struct index_version *cur, const struct index_version *v)
{
	static const uint8_t zero[32];
	const struct vg_entry *a = &cur->e, *b = &v->e;

	return !a->deleted && a->type == b->type && a->size == b->size &&
	       !memcmp(a->tree_root, b->tree_root, 32) &&
	       (!memcmp(a->sha256, zero, 32) || !memcmp(a->sha256, b->sha256, 32)) &&
	       (a->mode & 07777) == (b->mode & 07777) && a->uid == b->uid && a->gid == b->gid &&
	       a->mtime_ns == b->mtime_ns && a->xattr_len == b->xattr_len &&
	       !memcmp(a->xattrs, b->xattrs, a->xattr_len);
}

/* A batch's new path whose live latest is v already: *adopted, and v
 * takes that version's number and times (nothing is stored). */
static int adopt_locked(struct index *idx, int64_t dev, struct index_version *v,
			const struct prev *real, bool *adopted)
{
	struct index_version *cur;
	int r;

	*adopted = false;
	if (!real->found || real->deleted || real->type != v->e.type)
		return 0;
	if (!(cur = malloc(sizeof(*cur))))
		return -ENOMEM;
	r = latest_locked(idx, dev, v->e.path, INDEX_AT_LATEST, true, cur);
	if (r == 0 && same_version(cur, v)) {
		*adopted = true;
		v->e.version = cur->e.version;
		v->e.capture_ns = cur->e.capture_ns;
		v->e.recv_ns = cur->e.recv_ns;
	}
	free(cur);
	return r == -ENOENT ? 0 : r;
}

static int commit_locked(struct index *idx, int64_t dev, struct commit_wait *w)
{
	struct index_version *tmp = NULL, *v = w->v;
	const char *from = w->from;
	struct prev real, any;
	int src_type = 0, r;
	size_t flen;

	/* the latest row, and the latest the device made: the same row
	 * unless the latest is implicit (a new path: neither) */
	if ((r = prev_locked(idx, dev, v->e.path, false, &any)) < 0)
		return r;
	real = any;
	if (any.found && any.implicit && (r = prev_locked(idx, dev, v->e.path, true, &real)) < 0)
		return r;
	if (w->check_base && real.version != w->base)
		return -ESTALE;
	if (w->adopt && ((r = adopt_locked(idx, dev, v, &real, &w->adopted)) < 0 || w->adopted))
		return r;
	if (v->e.deleted && (!any.found || any.deleted)) {
		/* deleting what is not there stores nothing */
		v->e.version = any.version;
		return 0;
	}
	if ((r = capture_locked(idx, dev, &v->e.capture_ns)) < 0)
		return r;
	v->e.recv_ns = real_ns();
	v->implicit = false;
	if (from) {
		flen = strlen(from);
		if (!strcmp(from, v->e.path) || !strcmp(from, "/") ||
		    (!strncmp(v->e.path, from, flen) && v->e.path[flen] == '/'))
			return -EINVAL;   /* into itself */
		if ((r = rename_src_locked(idx, dev, from, v, &src_type)) < 0)
			return r;
	}
	if ((r = insert_locked(idx, dev, v, &any)) < 0)
		return r;
	if (!v->e.deleted && (r = ancestors_locked(idx, dev, v->e.path, v->e.capture_ns,
						   v->e.recv_ns)) < 0)
		return r;
	/* a directory that went away (or became something else) takes its subtree with it */
	if (any.found && any.type == VG_DIR && !any.deleted &&
	    (v->e.deleted || v->e.type != VG_DIR) &&
	    (r = subtree_locked(idx, dev, v->e.path, NULL, v->e.capture_ns, v->e.recv_ns)) < 0)
		return r;
	if (!from)
		return 0;
	if (src_type == VG_DIR &&
	    (r = subtree_locked(idx, dev, from, v->e.path, v->e.capture_ns, v->e.recv_ns)) < 0)
		return r;
	if (!(tmp = malloc(sizeof(*tmp))))
		return -ENOMEM;
	r = subtree_one(idx, dev, from, NULL, NULL, v->e.capture_ns, v->e.recv_ns, tmp);
	free(tmp);
	return r;
}

/* The counters of group commits in meta, inside the group's transaction. */
static int group_count_locked(struct index *idx, int64_t versions)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = idx_prepc(idx, "INSERT INTO meta(key, value) VALUES ('commit_groups', 1),"
		      " ('commit_versions', ?1) ON CONFLICT(key) DO UPDATE SET"
		      " value = value + excluded.value", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, versions);
	r = idx_step_done(idx, st, "commit counters");
	idx_done(idx, st);
	return r;
}

/* The version a batch's items are filled into, one after the other:
 * kept for the index's life, so its pages stay warm. */
static struct index_version *batch_scratch(struct index *idx)
{
	if (idx->scratch == NULL)
		idx->scratch = malloc(sizeof(*idx->scratch));
	return idx->scratch;
}

/* Writes the group's device rows (group_dev) and leaves the group. */
static int group_devs_flush(struct index *idx)
{
	int r = 0;

	for (size_t i = 0; i < idx->ngdev && r == 0; i++) {
		struct group_dev *g = &idx->gdev[i];

		if (g->capture_set)
			r = capture_write(idx, g->dev, g->max_capture);
		if (r == 0)
			r = counters_write(idx, g->dev, g->dfiles, g->dbytes);
	}
	idx->in_group = false;
	idx->ngdev = 0;
	return r;
}

/* Commits every version of list in one transaction, each under a savepoint
 * of its own (one refused version leaves the others); if the transaction
 * fails, every version of it fails. */
static void group_run(struct index *idx, struct commit_wait *list)
{
	struct group_dev saved[IDX_GROUP_DEVS];
	struct commit_wait *w;
	size_t nsaved;
	int64_t n = 0;
	int r;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_exec(idx, "BEGIN IMMEDIATE", "begin")) < 0)
		goto out;
	idx->in_group = true;
	idx->ngdev = 0;
	for (w = list; w; w = w->next) {
		if (w->ops != NULL && (w->v = batch_scratch(idx)) == NULL) {
			w->r = -ENOMEM;
			continue;
		}
		if (w->ops != NULL)
			w->ops->fill(w->ops->arg, w->i, w->v);
		/* a version rolled back to its savepoint takes back its part of
		 * the device rows too */
		nsaved = idx->ngdev;
		memcpy(saved, idx->gdev, nsaved * sizeof(*saved));
		if ((w->r = idx_run(idx, "SAVEPOINT v", "savepoint")) == 0) {
			w->r = commit_locked(idx, w->dev, w);
			if (w->r < 0) {
				(void)idx_run(idx, "ROLLBACK TO v", "rollback to savepoint");
				idx->ngdev = nsaved;
				memcpy(idx->gdev, saved, nsaved * sizeof(*saved));
			}
			(void)idx_run(idx, "RELEASE v", "release savepoint");
		}
		n += w->r == 0 && !w->adopted;
		if (w->ops != NULL) {
			if (w->r == 0)
				w->ops->done(w->ops->arg, w->i, w->v);
			w->v = NULL;
		}
	}
	if ((r = group_devs_flush(idx)) == 0 && (r = group_count_locked(idx, n)) == 0)
		r = idx_exec(idx, "COMMIT", "commit");
	if (r < 0)
		sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&idx->lock);
	for (w = list; w && r < 0; w = w->next)
		if (w->r == 0)
			w->r = r;
}

/* Queues the linked waits first..last and returns once groups committed
 * them all: groups take the queue whole and in order, so last done means
 * every one before it is done (the caller may lead a group itself). */
static void commit_queue(struct index *idx, struct commit_wait *first, struct commit_wait *last)
{
	struct commit_wait *list, *w, *next;

	pthread_mutex_lock(&idx->gate);
	*idx->cq_tail = first;
	idx->cq_tail = &last->next;
	while (!last->done) {
		if (idx->cq_leading) {
			pthread_cond_wait(&idx->gate_turn, &idx->gate);
			continue;
		}
		idx->cq_leading = true;
		list = idx->cq_head;
		idx->cq_head = NULL;
		idx->cq_tail = &idx->cq_head;
		pthread_mutex_unlock(&idx->gate);
		group_run(idx, list);
		pthread_mutex_lock(&idx->gate);
		for (w = list; w; w = next) {
			next = w->next;
			w->done = true;
		}
		idx->cq_leading = false;
		pthread_cond_broadcast(&idx->gate_turn);
	}
	pthread_mutex_unlock(&idx->gate);
}

int index_commit(struct index *idx, int64_t dev, struct index_version *v,
		 bool check_base, uint64_t base, const char *from)
{
	struct commit_wait me = { .dev = dev, .v = v, .check_base = check_base,
				  .base = base, .from = from };

	commit_queue(idx, &me, &me);
	return me.r;
}

int index_commit_batch(struct index *idx, int64_t dev, const struct index_batch_ops *ops,
		       const bool *adopt, size_t n, int *rs, bool *adopted)
{
	struct commit_wait *ws;

	if (n == 0)
		return 0;
	if (!(ws = calloc(n, sizeof(*ws))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		ws[i] = (struct commit_wait){ .dev = dev, .ops = ops, .i = i, .adopt = adopt[i] };
		ws[i].next = i + 1 < n ? &ws[i + 1] : NULL;
	}
	commit_queue(idx, &ws[0], &ws[n - 1]);
	for (size_t i = 0; i < n; i++) {
		rs[i] = ws[i].r;
		adopted[i] = ws[i].adopted;
	}
	free(ws);
	return 0;
}

int index_latest(struct index *idx, int64_t dev, const char *path, int64_t at,
		 bool skip_implicit, struct index_version *out)
{
	int r;

	pthread_mutex_lock(&idx->lock);
	r = latest_locked(idx, dev, path, at, skip_implicit, out);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int index_version_get(struct index *idx, int64_t dev, const char *path, uint64_t version,
		      struct index_version *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prepc(idx, "SELECT " VCOLS " FROM versions WHERE dev = ?1 AND path = ?2"
		       " AND version = ?3", &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, dev);
	idx_bind_path(st, 2, path);
	sqlite3_bind_int64(st, 3, (int64_t)version);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_version(st, out);
	else
		r = rc == SQLITE_DONE ? -ENOENT : idx_sql_fail(idx, rc, "select version");
out:
	idx_done(idx, st);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int index_ls(struct index *idx, int64_t dev, const char *dir, int64_t at, bool recursive,
	     const char *after, size_t max, index_entry_cb cb, void *arg)
{
	int r;

	pthread_mutex_lock(&idx->lock);
	r = ls_locked(idx, dev, dir, at, recursive, after, max, cb, arg);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int index_has_children(struct index *idx, int64_t dev, const char *dir)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, "SELECT 1 FROM versions WHERE dev = ?1 AND parent = ?2 LIMIT 1",
		      &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, dev);
	idx_bind_path(st, 2, dir);
	rc = sqlite3_step(st);
	r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : idx_sql_fail(idx, rc, "children");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int index_log(struct index *idx, int64_t dev, const char *path, uint64_t after,
	      size_t max, index_entry_cb cb, void *arg)
{
	struct index_version *v = malloc(sizeof(*v));
	sqlite3_stmt *st = NULL;
	size_t taken = 0;
	int r, rc = SQLITE_DONE;

	if (!v)
		return -ENOMEM;
	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, "SELECT " VCOLS " FROM versions WHERE dev = ?1 AND path = ?2"
		      " AND version > ?3 ORDER BY version", &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, dev);
	idx_bind_path(st, 2, path);
	sqlite3_bind_int64(st, 3, (int64_t)after);
	while (taken < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_version(st, v);
		if ((r = cb(arg, v)) != 0)
			break;
		taken++;
	}
	if (r == 0 && taken < max && rc != SQLITE_DONE)
		r = idx_sql_fail(idx, rc, "log");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&idx->lock);
	free(v);
	return r < 0 ? r : (int)taken;
}


/* "current": every later row of the path is a live file with this content
 * (META copies of it): its content is the path's latest, and has been
 * since it was committed. */
static void pending_row(sqlite3_stmt *st, void *out, size_t i)
{
	struct index_pending *p = (struct index_pending *)out + i;

	p->id = sqlite3_column_int64(st, 0);
	p->dev = sqlite3_column_int64(st, 1);
	idx_col_fixed(st, 2, p->content_root, 32);
	p->size = (uint64_t)sqlite3_column_int64(st, 3);
	idx_col_fixed(st, 4, p->devkey, 32);
	p->recv_ns = sqlite3_column_int64(st, 5);
	p->current = sqlite3_column_int(st, 6) != 0;
	p->latest_has_sha = p->current && sqlite3_column_int(st, 7) == 0 &&
			    sqlite3_column_bytes(st, 8) == 32;
	if (p->latest_has_sha)
		idx_col_fixed(st, 8, p->latest_sha, 32);
}

int index_sha_pending(struct index *idx, int64_t after, struct index_pending *out, size_t max)
{
	return idx_page_by_id(idx, "SELECT v.id, v.dev, v.content_root, v.size, i.devkey, v.recv_ns,"
		      " NOT EXISTS (SELECT 1 FROM versions m WHERE m.dev = v.dev AND m.path = v.path"
		      "  AND m.version > v.version AND (m.content_root != v.content_root"
		      "  OR m.deleted != 0 OR m.type != 1)),"
		      " l.sha_pending, l.sha256"
		      " FROM versions v JOIN identities i ON i.id = v.dev"
		      " JOIN versions l ON l.dev = v.dev AND l.path = v.path AND l.version ="
		      " (SELECT max(m.version) FROM versions m WHERE m.dev = v.dev AND m.path = v.path)"
		      " WHERE v.sha_pending = 1 AND v.id > ?1 ORDER BY v.id LIMIT ?2",
		      after, max, pending_row, out, "pending sha256");
}

int index_sha_superseded(struct index *idx, int64_t id)
{
	sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, "UPDATE versions SET sha_pending = 2 WHERE id = ?1 AND sha_pending = 1",
			  &st)) == 0) {
		sqlite3_bind_int64(st, 1, id);
		r = idx_step_done(idx, st, "sha256 superseded");
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int index_sha_done(struct index *idx, int64_t dev, const uint8_t content_root[32],
		   const uint8_t sha[32])
{
	sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, "UPDATE versions SET sha256 = ?3, sha_pending = 0 WHERE"
		      " sha_pending != 0 AND dev = ?1 AND content_root = ?2", &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_blob(st, 2, content_root, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 3, sha, 32, SQLITE_TRANSIENT);
	if ((r = idx_step_done(idx, st, "sha256 done")) == 0)
		r = sqlite3_changes(idx->db);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

static void root_row(sqlite3_stmt *st, void *out, size_t i)
{
	struct index_root *o = (struct index_root *)out + i;

	o->id = sqlite3_column_int64(st, 0);
	o->dev = sqlite3_column_int64(st, 1);
	idx_col_fixed(st, 2, o->content_root, 32);
	o->size = (uint64_t)sqlite3_column_int64(st, 3);
}

int index_roots(struct index *idx, int64_t after, struct index_root *out, size_t max)
{
	return idx_page_by_id(idx, "SELECT id, dev, content_root, size FROM versions WHERE id > ?1"
			      " AND type = 1 AND deleted = 0 ORDER BY id LIMIT ?2",
			      after, max, root_row, out, "roots");
}

int index_version_span(struct index *idx, int64_t *rows, int64_t *max_id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, "SELECT count(*), coalesce(max(id), 0) FROM versions", &st)) == 0) {
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			*rows = sqlite3_column_int64(st, 0);
			*max_id = sqlite3_column_int64(st, 1);
		} else {
			r = idx_sql_fail(idx, rc, "version count");
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&idx->lock);
	return r;
}
