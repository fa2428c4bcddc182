/* index_check.c — the versions `vigil-server check` verifies: every live
 * file version of every device with its device's name and content key,
 * paged by row id so that no lock is held for long (index.h). */
#include "server/index_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void content_row(sqlite3_stmt *q, void *out, size_t i)
{
	struct index_content *c = (struct index_content *)out + i;

	c->id = sqlite3_column_int64(q, 0);
	c->dev = sqlite3_column_int64(q, 1);
	idx_col_str(q, 2, c->devname, sizeof(c->devname));
	idx_col_fixed(q, 3, c->devkey, sizeof(c->devkey));
	idx_col_str(q, 4, c->path, sizeof(c->path));
	c->version = (uint64_t)sqlite3_column_int64(q, 5);
	c->capture_ns = sqlite3_column_int64(q, 6);
	c->size = (uint64_t)sqlite3_column_int64(q, 7);
	idx_col_fixed(q, 8, c->sha256, sizeof(c->sha256));
	idx_col_fixed(q, 9, c->content_root, sizeof(c->content_root));
	c->sha_known = sqlite3_column_int(q, 10) == 0;
}

int index_content_versions(struct index *idx, int64_t after, struct index_content *out,
			   size_t max)
{
	return idx_page_by_id(idx, "SELECT v.id, v.dev, i.name, i.devkey, v.path, v.version,"
			      " v.capture_ns, v.size, v.sha256, v.content_root, v.sha_pending"
			      " FROM versions v JOIN identities i ON i.id = v.dev"
			      " WHERE v.id > ?1 AND v.type = 1 AND v.deleted = 0"
			      " ORDER BY v.id LIMIT ?2", after, max, content_row, out,
			      "check's versions");
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
