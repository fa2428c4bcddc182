/* retain_db.c — retention policies and holds in index.db (retain.h):
 * schema, set/get, hold and release.  Applying is retain_apply.c. */
#include "server/retain.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "server/index_int.h"

/* versions_by_capture: a device's instants newest first, stopping once
 * the rules are satisfied (retain_apply) */
int idx_retain_schema(struct index *idx)
{
	return idx_exec(idx,
		"CREATE TABLE IF NOT EXISTS retain_policy(dev INTEGER PRIMARY KEY,"
		" within_ns INTEGER NOT NULL, hourly INTEGER NOT NULL, daily INTEGER NOT NULL,"
		" weekly INTEGER NOT NULL, monthly INTEGER NOT NULL, set_ns INTEGER NOT NULL);"
		"CREATE TABLE IF NOT EXISTS retain_dev(dev INTEGER PRIMARY KEY,"
		" cmd_after INTEGER NOT NULL DEFAULT 0, event_after INTEGER NOT NULL DEFAULT 0,"
		" released_ns INTEGER NOT NULL DEFAULT 0, pass_ns INTEGER NOT NULL DEFAULT 0,"
		" dropped INTEGER NOT NULL DEFAULT 0);"
		"CREATE INDEX IF NOT EXISTS versions_by_capture ON versions(dev, capture_ns);",
		"retention schema");
}

static int bump_gen_locked(struct index *idx)
{
	return idx_exec(idx, "INSERT INTO meta(key, value) VALUES ('retain_gen', 1)"
			" ON CONFLICT(key) DO UPDATE SET value = value + 1", "retention generation");
}

int idx_retain_gen_locked(struct index *idx, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*out = 0;
	if ((r = idx_prepc(idx, "SELECT value FROM meta WHERE key = 'retain_gen'", &st)) < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		r = idx_sql_fail(idx, rc, "retention generation");
	idx_done(idx, st);
	return r;
}

int retain_gen(struct index *idx, int64_t *out)
{
	int r;

	pthread_mutex_lock(&idx->lock);
	r = idx_retain_gen_locked(idx, out);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

struct set_op { int64_t dev, now; const struct retain_policy *p; };

static int set_locked(struct index *idx, void *arg)
{
	struct set_op *o = arg;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = idx_prep(idx, "INSERT OR REPLACE INTO retain_policy(dev, within_ns, hourly, daily,"
			  " weekly, monthly, set_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, o->dev);
	sqlite3_bind_int64(st, 2, o->p->within_ns);
	for (int i = 0; i < RET_NBUCKETS; i++)
		sqlite3_bind_int64(st, 3 + i, o->p->count[i]);
	sqlite3_bind_int64(st, 7, o->now);
	r = idx_step_done(idx, st, "set retention");
	sqlite3_finalize(st);
	return r < 0 ? r : bump_gen_locked(idx);
}

int retain_set(struct index *idx, int64_t dev, const struct retain_policy *p, int64_t now_ns)
{
	struct set_op o = { .dev = dev, .now = now_ns, .p = p };
	int r;

	pthread_mutex_lock(&idx->lock);
	r = idx_txn(idx, set_locked, &o);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

/* The device's own row (1), else the default (0), else none (-ENOENT). */
int idx_retain_get_locked(struct index *idx, int64_t dev, struct retain_policy *p, bool *own)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(p, 0, sizeof(*p));
	*own = false;
	if ((r = idx_prepc(idx, "SELECT dev, within_ns, hourly, daily, weekly, monthly FROM"
			   " retain_policy WHERE dev IN (?1, 0) ORDER BY dev DESC LIMIT 1", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, dev);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*own = sqlite3_column_int64(st, 0) == dev;
		p->within_ns = sqlite3_column_int64(st, 1);
		for (int i = 0; i < RET_NBUCKETS; i++)
			p->count[i] = (uint32_t)sqlite3_column_int64(st, 2 + i);
	} else if (rc != SQLITE_DONE) {
		r = idx_sql_fail(idx, rc, "get retention");
	}
	idx_done(idx, st);
	return r;
}

int retain_get(struct index *idx, int64_t dev, struct retain_policy *p, bool *own)
{
	int r;

	pthread_mutex_lock(&idx->lock);
	r = idx_retain_get_locked(idx, dev, p, own);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

/* What holds dev now (reason "" when nothing). */
int idx_retain_hold_locked(struct index *idx, int64_t dev, struct retain_devinfo *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(out, 0, sizeof(*out));
	if ((r = idx_prepc(idx, "SELECT"
		" (SELECT action || ' #' || id || ' (' || state || ')' FROM commands WHERE dev = ?1"
		"  AND action IN ('freeze', 'erase') AND id > coalesce((SELECT cmd_after FROM"
		"  retain_dev WHERE dev = ?1), 0) ORDER BY id DESC LIMIT 1),"
		" (SELECT 'sim-swap: ' || detail FROM events WHERE dev = ?1 AND kind = 'sim-swap'"
		"  AND id > coalesce((SELECT event_after FROM retain_dev WHERE dev = ?1), 0)"
		"  ORDER BY id DESC LIMIT 1),"
		" r.released_ns, r.pass_ns, r.dropped FROM (SELECT 1) LEFT JOIN retain_dev r"
		" ON r.dev = ?1", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, dev);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = idx_sql_fail(idx, rc, "retention hold");
		goto out;
	}
	for (int c = 0; c < 2 && !out->on_hold; c++) {
		if (sqlite3_column_type(st, c) == SQLITE_NULL)
			continue;
		out->on_hold = true;
		snprintf(out->reason, sizeof(out->reason), "%s", sqlite3_column_text(st, c));
	}
	out->released_ns = sqlite3_column_int64(st, 2);
	out->pass_ns = sqlite3_column_int64(st, 3);
	out->dropped = (uint64_t)sqlite3_column_int64(st, 4);
out:
	idx_done(idx, st);
	return r;
}

int retain_info(struct index *idx, int64_t dev, struct retain_devinfo *out)
{
	int r;

	pthread_mutex_lock(&idx->lock);
	r = idx_retain_hold_locked(idx, dev, out);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

struct release_op { int64_t dev, now; const char *by; int released; };

static int release_locked(struct index *idx, void *arg)
{
	struct release_op *o = arg;
	struct retain_devinfo h;
	sqlite3_stmt *st = NULL;
	char detail[256];
	int r;

	if ((r = idx_retain_hold_locked(idx, o->dev, &h)) < 0 || !h.on_hold)
		return r;
	if ((r = idx_prep(idx, "INSERT INTO retain_dev(dev, cmd_after, event_after, released_ns)"
		" VALUES (?1, (SELECT coalesce(max(id), 0) FROM commands WHERE dev = ?1),"
		" (SELECT coalesce(max(id), 0) FROM events WHERE dev = ?1), ?2) ON CONFLICT(dev)"
		" DO UPDATE SET cmd_after = excluded.cmd_after, event_after = excluded.event_after,"
		" released_ns = excluded.released_ns", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, o->dev);
	sqlite3_bind_int64(st, 2, o->now);
	r = idx_step_done(idx, st, "release hold");
	sqlite3_finalize(st);
	snprintf(detail, sizeof(detail), "by %s; was held by %s", o->by, h.reason);
	if (r == 0 && (r = idx_event_add_locked(idx, o->dev, o->now, "hold-released", detail)) == 0)
		r = bump_gen_locked(idx);
	o->released = r == 0;
	return r;
}

int retain_release(struct index *idx, int64_t dev, const char *by, int64_t now_ns)
{
	struct release_op o = { .dev = dev, .now = now_ns, .by = by };
	int r;

	pthread_mutex_lock(&idx->lock);
	r = idx_txn(idx, release_locked, &o);
	pthread_mutex_unlock(&idx->lock);
	return r < 0 ? r : o.released;
}
