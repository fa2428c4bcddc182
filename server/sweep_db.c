/* sweep_db.c — the last sweep's figures in index.db's meta table (keys
 * sweep_*, docs/index.md), written by whoever swept (the server's thread,
 * or `vigil-server sweep` on a stopped server) and read by `retain --show`
 * and `vigil status`.  No schema change: meta is a key-value table. */
#include "server/sweep.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "server/index_int.h"

/* The recorded figures: meta key and the field they are kept in. */
#define U64(k, f) { "sweep_" k, offsetof(struct sweep_result, f) }
static const struct { const char *key; size_t off; } fields[] = {
	U64("deleted", s.deleted), U64("deleted_bytes", s.deleted_bytes),
	U64("marked", s.marked), U64("kept_touched", s.kept_touched),
	U64("live_bytes", s.live_bytes), U64("roots", roots), U64("states", states),
	U64("pins", pins), U64("search_rows", search_rows),
};
#undef U64
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static uint64_t *field(struct sweep_result *r, size_t i)
{
	return (uint64_t *)((char *)r + fields[i].off);
}

static int put(struct index *idx, const char *key, sqlite3_int64 v, double d, bool real)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = idx_prepc(idx, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", &st)) < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (real)
		sqlite3_bind_double(st, 2, d);
	else
		sqlite3_bind_int64(st, 2, v);
	r = idx_step_done(idx, st, "sweep record");
	idx_done(idx, st);
	return r;
}

/* Every sweep_* row into r (fields absent stay 0). */
static int read_locked(struct index *idx, struct sweep_result *r, bool *any)
{
	sqlite3_stmt *st = NULL;
	int rc, res;

	*any = false;
	if ((res = idx_prepc(idx, "SELECT key, value FROM meta WHERE key >= 'sweep_'"
			     " AND key < 'sweep`'", &st)) < 0)
		return res;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);

		*any = true;
		if (!k)
			continue;
		if (!strcmp(k, "sweep_seq"))
			r->seq = (uint64_t)sqlite3_column_int64(st, 1);
		else if (!strcmp(k, "sweep_at_ns"))
			r->at_ns = sqlite3_column_int64(st, 1);
		else if (!strcmp(k, "sweep_err"))
			r->err = sqlite3_column_int(st, 1);
		else if (!strcmp(k, "sweep_seconds"))
			r->seconds = sqlite3_column_double(st, 1);
		for (size_t i = 0; i < NFIELDS; i++)
			if (!strcmp(k, fields[i].key))
				*field(r, i) = (uint64_t)sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE)
		res = idx_sql_fail(idx, rc, "sweep record");
	idx_done(idx, st);
	return res;
}

static int record_txn(struct index *idx, void *arg)
{
	struct sweep_result *r = arg, prev;
	bool any;
	int res;

	memset(&prev, 0, sizeof(prev));
	if ((res = read_locked(idx, &prev, &any)) < 0)
		return res;
	r->seq = prev.seq + 1;
	r->at_ns = real_ns();
	if ((res = put(idx, "sweep_seq", (sqlite3_int64)r->seq, 0, false)) < 0 ||
	    (res = put(idx, "sweep_at_ns", r->at_ns, 0, false)) < 0 ||
	    (res = put(idx, "sweep_err", r->err, 0, false)) < 0 ||
	    (res = put(idx, "sweep_seconds", 0, r->seconds, true)) < 0)
		return res;
	for (size_t i = 0; i < NFIELDS && res == 0; i++)
		res = put(idx, fields[i].key, (sqlite3_int64)*field(r, i), 0, false);
	return res;
}

int sweep_record(struct index *idx, struct sweep_result *r)
{
	int res;

	pthread_mutex_lock(&idx->lock);
	res = idx_txn(idx, record_txn, r);
	pthread_mutex_unlock(&idx->lock);
	return res;
}

int sweep_last(struct index *idx, struct sweep_result *out)
{
	bool any;
	int r;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&idx->lock);
	r = read_locked(idx, out, &any);
	pthread_mutex_unlock(&idx->lock);
	return r == 0 && !any ? -ENOENT : r;
}
