/* retain_apply.c — one retention pass over a device's versions (retain.h):
 * the kept instants from the newest back (retention.h's walk, stopping
 * once no rule can keep an older one), then every path's versions in
 * index order, dropping those no kept instant sees, RETAIN_DELETE_TXN
 * rows per transaction.  The index lock is held for one page or one
 * transaction at a time, never across the pass. */
#include "server/retain.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/log.h"
#include "common/vec.h"
#include "server/index_int.h"

#define PAGE 1024

/* One row of a path being gathered, and the rows waiting to be deleted. */
struct pass {
	struct index *idx;
	int64_t dev, gen, now;
	struct retain_plan plan;
	struct vec kept;                       /* int64_t instants, newest first */
	struct vec ids, caps, vers;            /* int64_t: the current path's rows */
	char *path;                            /* the current path */
	int64_t del_id[RETAIN_DELETE_TXN];
	uint64_t del_ver[RETAIN_DELETE_TXN];
	char *del_path[RETAIN_DELETE_TXN];
	size_t ndel;
	void (*on_drop)(void *arg, const char *path, uint64_t version);
	void *arg;
	const volatile int *cancel;
	struct retain_result *res;
};

/* The caller wants the pass to end (a stopping server): looked at before
 * each page and each delete transaction. */
static int cancelled(const struct pass *ps)
{
	return ps->cancel && *ps->cancel ? -ECANCELED : 0;
}

/* Min and max instant of dev not after now: 0, or -ENOENT when none. */
static int bounds_locked(struct pass *ps, int64_t *oldest, int64_t *latest)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = idx_prepc(ps->idx, "SELECT min(capture_ns), max(capture_ns) FROM versions"
			   " WHERE dev = ?1 AND capture_ns <= ?2", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, ps->dev);
	sqlite3_bind_int64(st, 2, ps->now);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		r = idx_sql_fail(ps->idx, rc, "retention bounds");
	else if (sqlite3_column_type(st, 1) == SQLITE_NULL)
		r = -ENOENT;
	else {
		*oldest = sqlite3_column_int64(st, 0);
		*latest = sqlite3_column_int64(st, 1);
	}
	idx_done(ps->idx, st);
	return r;
}

/* Up to PAGE instants of dev below `before`, newest first, into out. */
static int instants_page(struct pass *ps, int64_t before, struct vec *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	out->n = 0;
	if ((r = cancelled(ps)) < 0)
		return r;
	pthread_mutex_lock(&ps->idx->lock);
	if ((r = idx_prepc(ps->idx, "SELECT DISTINCT capture_ns FROM versions WHERE dev = ?1"
			   " AND capture_ns < ?2 ORDER BY capture_ns DESC LIMIT ?3", &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, ps->dev);
	sqlite3_bind_int64(st, 2, before);
	sqlite3_bind_int(st, 3, PAGE);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = vec_push(out, &(int64_t){ sqlite3_column_int64(st, 0) })) < 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = idx_sql_fail(ps->idx, rc, "retention instants");
	idx_done(ps->idx, st);
out:
	pthread_mutex_unlock(&ps->idx->lock);
	return r;
}

/* The kept instants (ps->kept, newest first) and the within window. */
static int plan_instants(struct pass *ps, const struct retain_policy *p, int64_t oldest,
			 int64_t latest)
{
	struct retain_walk w;
	struct vec page = VEC_INIT(int64_t);
	int64_t before = latest + 1, t = latest;
	int r = 0;

	retain_walk_init(&w, p, latest);
	do {
		if ((r = instants_page(ps, before, &page)) < 0)
			break;
		for (size_t i = 0; i < page.n && r == 0; i++) {
			t = ((const int64_t *)page.p)[i];
			ps->res->instants++;
			if (retain_walk_next(&w, t, t == oldest))
				r = vec_push(&ps->kept, &t);
			if (retain_walk_done(&w, t))
				break;
		}
		before = t;
	} while (r == 0 && page.n == PAGE && !retain_walk_done(&w, t));
	vec_free(&page);
	ps->plan = (struct retain_plan){ .kept = ps->kept.p, .nkept = ps->kept.n, .latest = latest,
					 .window = p->within_ns > 0, .cutoff = w.cutoff,
					 .first_in_window = w.first_in_window };
	return r;
}

struct del_op { struct pass *ps; bool stop; };

/* Deletes the queued rows unless dev went on hold or the policies changed
 * since the pass began (then stop). */
static int delete_locked(struct index *idx, void *arg)
{
	struct del_op *o = arg;
	struct pass *ps = o->ps;
	struct retain_devinfo h;
	sqlite3_stmt *st = NULL;
	int64_t gen;
	int r;

	if ((r = idx_retain_hold_locked(idx, ps->dev, &h)) < 0 ||
	    (r = idx_retain_gen_locked(idx, &gen)) < 0)
		return r;
	if (h.on_hold || gen != ps->gen) {
		o->stop = true;
		return 0;
	}
	if ((r = idx_prepc(idx, "DELETE FROM versions WHERE id = ?1 AND dev = ?2", &st)) < 0)
		return r;
	for (size_t i = 0; i < ps->ndel && r == 0; i++) {
		sqlite3_bind_int64(st, 1, ps->del_id[i]);
		sqlite3_bind_int64(st, 2, ps->dev);
		r = idx_step_done(idx, st, "drop version");
		sqlite3_reset(st);
	}
	idx_done(idx, st);
	if (r < 0 || (r = idx_prepc(idx, "INSERT INTO retain_dev(dev, dropped) VALUES (?1, ?2)"
			" ON CONFLICT(dev) DO UPDATE SET dropped = dropped + ?2", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, ps->dev);
	sqlite3_bind_int64(st, 2, (int64_t)ps->ndel);
	r = idx_step_done(idx, st, "count dropped");
	idx_done(idx, st);
	return r;
}

static void clear_del(struct pass *ps)
{
	for (size_t i = 0; i < ps->ndel; i++)
		free(ps->del_path[i]);
	ps->ndel = 0;
}

static int flush(struct pass *ps)
{
	struct del_op o = { .ps = ps };
	int r;

	if (!ps->ndel)
		return 0;
	if ((r = cancelled(ps)) < 0)
		return r;
	pthread_mutex_lock(&ps->idx->lock);
	r = idx_txn(ps->idx, delete_locked, &o);
	pthread_mutex_unlock(&ps->idx->lock);
	if (r == 0 && o.stop)
		ps->res->stopped = true;
	if (r == 0 && !o.stop) {
		ps->res->dropped += ps->ndel;
		for (size_t i = 0; i < ps->ndel && ps->on_drop; i++)
			ps->on_drop(ps->arg, ps->del_path[i], ps->del_ver[i]);
	}
	clear_del(ps);
	return r;
}

/* Decides the gathered path's rows; queues the dropped ones. */
static int decide_path(struct pass *ps)
{
	const int64_t *ids = ps->ids.p, *vers = ps->vers.p;
	bool *keep;
	int r = 0;

	if (!ps->ids.n)
		return 0;
	if (!(keep = malloc(ps->ids.n * sizeof(*keep))))
		return -ENOMEM;
	ps->res->paths++;
	ps->res->versions += ps->ids.n;
	retain_path(&ps->plan, ps->caps.p, ps->caps.n, keep);
	for (size_t i = 0; i < ps->ids.n && r == 0 && !ps->res->stopped; i++) {
		if (keep[i])
			continue;
		if (!(ps->del_path[ps->ndel] = strdup(ps->path))) {
			r = -ENOMEM;
			break;
		}
		ps->del_id[ps->ndel] = ids[i];
		ps->del_ver[ps->ndel++] = (uint64_t)vers[i];
		if (ps->ndel == RETAIN_DELETE_TXN)
			r = flush(ps);
	}
	free(keep);
	ps->ids.n = ps->caps.n = ps->vers.n = 0;
	return r;
}

struct row { int64_t id, ver, cap; char *path; };

/* Up to PAGE rows of dev after (path, ver) in index order. */
static int rows_page(struct pass *ps, const char *path, int64_t ver, struct row *out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*n = 0;
	if ((r = cancelled(ps)) < 0)
		return r;
	pthread_mutex_lock(&ps->idx->lock);
	if ((r = idx_prepc(ps->idx, "SELECT id, path, version, capture_ns FROM versions"
			   " WHERE dev = ?1 AND (path, version) > (?2, ?3)"
			   " ORDER BY path, version LIMIT ?4", &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, ps->dev);
	sqlite3_bind_blob(st, 2, path, (int)strlen(path), SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, ver);
	sqlite3_bind_int(st, 4, PAGE);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct row *w = &out[*n];

		w->id = sqlite3_column_int64(st, 0);
		w->path = strndup(sqlite3_column_blob(st, 1) ? sqlite3_column_blob(st, 1) : "",
				  (size_t)sqlite3_column_bytes(st, 1));
		w->ver = sqlite3_column_int64(st, 2);
		w->cap = sqlite3_column_int64(st, 3);
		if (!w->path) {
			r = -ENOMEM;
			break;
		}
		(*n)++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = idx_sql_fail(ps->idx, rc, "retention rows");
	idx_done(ps->idx, st);
out:
	pthread_mutex_unlock(&ps->idx->lock);
	return r;
}

/* Adds one row to the path being gathered (deciding the previous path
 * when this one differs). */
static int take_row(struct pass *ps, struct row *w)
{
	int r;

	if (!ps->path || strcmp(ps->path, w->path)) {
		if ((r = decide_path(ps)) < 0)
			return r;
		free(ps->path);
		ps->path = w->path;
		w->path = NULL;
	}
	if ((r = vec_push(&ps->ids, &w->id)) < 0 || (r = vec_push(&ps->caps, &w->cap)) < 0)
		return r;
	return vec_push(&ps->vers, &w->ver);
}

static int walk_rows(struct pass *ps)
{
	struct row *page = calloc(PAGE, sizeof(*page));
	char *cur = strdup("");
	int64_t ver = 0;
	size_t n = 0;
	int r = 0;

	if (!page || !cur) {
		r = -ENOMEM;
		goto out;
	}
	do {
		if ((r = rows_page(ps, cur, ver, page, &n)) < 0)
			break;
		for (size_t i = 0; i < n; i++) {
			if (i + 1 == n) {   /* the next page starts after it */
				free(cur);
				cur = strdup(page[i].path);
				ver = page[i].ver;
			}
			if (r == 0 && !ps->res->stopped && cur)
				r = take_row(ps, &page[i]);
			free(page[i].path);
		}
		if (!cur)
			r = -ENOMEM;
	} while (r == 0 && n == PAGE && !ps->res->stopped);
	if (r == 0 && !ps->res->stopped)
		r = decide_path(ps);
	if (r == 0 && !ps->res->stopped)
		r = flush(ps);
out:
	clear_del(ps);
	free(page);
	free(cur);
	return r;
}

/* What the pass starts from, under one lock: hold, policy, generation. */
static int pass_begin(struct pass *ps, struct retain_policy *p)
{
	struct retain_devinfo h;
	bool own;
	int r;

	pthread_mutex_lock(&ps->idx->lock);
	if ((r = idx_retain_hold_locked(ps->idx, ps->dev, &h)) == 0 &&
	    (r = idx_retain_get_locked(ps->idx, ps->dev, p, &own)) == 0)
		r = idx_retain_gen_locked(ps->idx, &ps->gen);
	pthread_mutex_unlock(&ps->idx->lock);
	ps->res->held = h.on_hold;
	ps->res->empty = retain_policy_empty(p);
	return r;
}

static int pass_end(struct pass *ps)
{
	sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&ps->idx->lock);
	if ((r = idx_prepc(ps->idx, "INSERT INTO retain_dev(dev, pass_ns) VALUES (?1, ?2)"
			   " ON CONFLICT(dev) DO UPDATE SET pass_ns = ?2", &st)) == 0) {
		sqlite3_bind_int64(st, 1, ps->dev);
		sqlite3_bind_int64(st, 2, ps->now);
		r = idx_step_done(ps->idx, st, "retention pass");
		idx_done(ps->idx, st);
	}
	pthread_mutex_unlock(&ps->idx->lock);
	return r;
}

int retain_apply(struct index *idx, int64_t dev, int64_t now_ns,
		 void (*on_drop)(void *arg, const char *path, uint64_t version), void *arg,
		 const volatile int *cancel, struct retain_result *out)
{
	struct pass ps = { .idx = idx, .dev = dev, .now = now_ns, .on_drop = on_drop, .arg = arg,
			   .cancel = cancel, .res = out, .kept = VEC_INIT(int64_t),
			   .ids = VEC_INIT(int64_t), .caps = VEC_INIT(int64_t),
			   .vers = VEC_INIT(int64_t) };
	struct retain_policy p;
	int64_t oldest = 0, latest = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = pass_begin(&ps, &p)) < 0 || out->held || out->empty)
		return r;
	pthread_mutex_lock(&idx->lock);
	r = bounds_locked(&ps, &oldest, &latest);
	pthread_mutex_unlock(&idx->lock);
	if (r == -ENOENT)
		return pass_end(&ps);   /* no version yet */
	if (r == 0)
		r = plan_instants(&ps, &p, oldest, latest);
	if (r == 0)
		r = walk_rows(&ps);
	if (r == 0 && !out->stopped)
		r = pass_end(&ps);
	vec_free(&ps.kept);
	vec_free(&ps.ids);
	vec_free(&ps.caps);
	vec_free(&ps.vers);
	free(ps.path);
	return r;
}
