/* index_check.c — the versions `vigil-server check` verifies: every live
 * file version of every device with its device's name and content key,
 * paged by row id so that no lock is held for long (index.h). */
#include "server/index_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void col_copy(sqlite3_stmt *q, int i, void *out, size_t cap, bool str)
{
	const void *p = sqlite3_column_blob(q, i);
	size_t n = (size_t)sqlite3_column_bytes(q, i);

	if (str) {
		n = n < cap ? n : cap - 1;
		if (p)
			memcpy(out, p, n);
		((char *)out)[n] = '\0';
	} else {
		memset(out, 0, cap);
		if (p && n == cap)
			memcpy(out, p, n);
	}
}

int index_content_versions(struct index *idx, int64_t after, struct index_content *out,
			   size_t max)
{
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	int r, rc = SQLITE_DONE;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, "SELECT v.id, v.dev, i.name, i.devkey, v.path, v.version,"
			  " v.capture_ns, v.size, v.sha256, v.content_root, v.sha_pending"
			  " FROM versions v JOIN identities i ON i.id = v.dev"
			  " WHERE v.id > ?1 AND v.type = 1 AND v.deleted = 0"
			  " ORDER BY v.id LIMIT ?2", &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, after);
	sqlite3_bind_int64(q, 2, (int64_t)max);
	while (n < max && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct index_content *c = &out[n++];

		c->id = sqlite3_column_int64(q, 0);
		c->dev = sqlite3_column_int64(q, 1);
		col_copy(q, 2, c->devname, sizeof(c->devname), true);
		col_copy(q, 3, c->devkey, sizeof(c->devkey), false);
		col_copy(q, 4, c->path, sizeof(c->path), true);
		c->version = (uint64_t)sqlite3_column_int64(q, 5);
		c->capture_ns = sqlite3_column_int64(q, 6);
		c->size = (uint64_t)sqlite3_column_int64(q, 7);
		col_copy(q, 8, c->sha256, sizeof(c->sha256), false);
		col_copy(q, 9, c->content_root, sizeof(c->content_root), false);
		c->sha_known = sqlite3_column_int(q, 10) == 0;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = idx_sql_fail(idx, rc, "check's versions");
out:
	sqlite3_finalize(q);
	pthread_mutex_unlock(&idx->lock);
	return r < 0 ? r : (int)n;
}

int index_event_seen(struct index *idx, int64_t dev, const char *kind, const char *detail)
{
	sqlite3_stmt *q = NULL;
	int r, rc;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, "SELECT 1 FROM events WHERE dev = ?1 AND kind = ?2 AND detail = ?3"
			  " LIMIT 1", &q)) == 0) {
		sqlite3_bind_int64(q, 1, dev);
		sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, detail, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
		r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : idx_sql_fail(idx, rc, "events");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&idx->lock);
	return r;
}
