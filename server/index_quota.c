/* index_quota.c — device quotas in the index (`vigil-server quota`): the
 * table `quotas(dev, bytes, set_ns)` and what a device holds against it,
 * devices.bytes (its latest live regular files, kept by every commit).
 * docs/index.md, "quotas". */
#include "server/index_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int idx_quota_schema(struct index *idx)
{
	return idx_exec(idx, "CREATE TABLE IF NOT EXISTS quotas(dev INTEGER PRIMARY KEY,"
			" bytes INTEGER NOT NULL CHECK (bytes > 0), set_ns INTEGER NOT NULL)",
			"quotas table");
}

int index_quota_set(struct index *idx, int64_t dev, uint64_t bytes, int64_t now_ns)
{
	sqlite3_stmt *q = NULL;
	char detail[96];
	int r;

	if (bytes > INT64_MAX)
		return -ERANGE;
	pthread_mutex_lock(&idx->lock);
	if ((r = idx_exec(idx, "BEGIN IMMEDIATE", "quota")) < 0)
		goto out;
	r = idx_prep(idx, bytes ? "INSERT OR REPLACE INTO quotas(dev, bytes, set_ns) VALUES (?1, ?2, ?3)" :
		     "DELETE FROM quotas WHERE dev = ?1", &q);
	if (r == 0) {
		sqlite3_bind_int64(q, 1, dev);
		if (bytes) {
			sqlite3_bind_int64(q, 2, (int64_t)bytes);
			sqlite3_bind_int64(q, 3, now_ns);
		}
		r = idx_step_done(idx, q, "set quota");
		sqlite3_finalize(q);
	}
	if (bytes)
		snprintf(detail, sizeof(detail), "quota set to %llu bytes", (unsigned long long)bytes);
	else
		snprintf(detail, sizeof(detail), "quota removed");
	if (r == 0)
		r = idx_event_add_locked(idx, dev, now_ns, "quota", detail);
	if (r == 0)
		r = idx_exec(idx, "COMMIT", "quota");
	if (r < 0)
		sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int index_quota_get(struct index *idx, int64_t dev, uint64_t *limit, uint64_t *used)
{
	sqlite3_stmt *q = NULL;
	int r, rc;

	*limit = *used = 0;
	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prepc(idx, "SELECT q.bytes, coalesce(d.bytes, 0) FROM quotas q"
			   " LEFT JOIN devices d ON d.dev = q.dev WHERE q.dev = ?1", &q)) == 0) {
		sqlite3_bind_int64(q, 1, dev);
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			*limit = (uint64_t)sqlite3_column_int64(q, 0);
			*used = (uint64_t)sqlite3_column_int64(q, 1);
			r = 1;
		} else if (rc != SQLITE_DONE) {
			r = idx_sql_fail(idx, rc, "quota");
		}
		idx_done(idx, q);
	}
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int index_quota_list(struct index *idx,
		     int (*cb)(void *arg, const char *name, uint64_t limit, uint64_t used),
		     void *arg)
{
	sqlite3_stmt *q = NULL;
	int r, rc = SQLITE_DONE;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, "SELECT i.name, q.bytes, coalesce(d.bytes, 0) FROM quotas q"
			  " JOIN identities i ON i.id = q.dev LEFT JOIN devices d ON d.dev = q.dev"
			  " ORDER BY i.name", &q)) == 0) {
		while ((rc = sqlite3_step(q)) == SQLITE_ROW &&
		       (r = cb(arg, (const char *)sqlite3_column_text(q, 0),
			       (uint64_t)sqlite3_column_int64(q, 1),
			       (uint64_t)sqlite3_column_int64(q, 2))) == 0)
			;
		if (r == 0 && rc != SQLITE_DONE)
			r = idx_sql_fail(idx, rc, "quotas");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&idx->lock);
	return r;
}
