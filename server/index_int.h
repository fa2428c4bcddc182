/* index_int.h — what index.c and index_versions.c share: the handle and
 * small SQLite helpers.  Not for use outside the index. */
#ifndef VIGIL_SERVER_INDEX_INT_H
#define VIGIL_SERVER_INDEX_INT_H

#include <pthread.h>

#include <sqlite3.h>

#include "server/index.h"

#define INDEX_PAGE 256       /* descendants handled per step of a subtree change */

struct index {
	sqlite3 *db;
	pthread_mutex_t lock;    /* every public call holds it */
	pthread_cond_t cmd_changed; /* broadcast under lock when a command
				  * changes state (commands_wait) */
	char path[4096];
};

#define VCOLS "path, type, deleted, mode, uid, gid, size, mtime_ns, version, capture_ns," \
	      " recv_ns, sha256, tree_root, link, xattrs, content_root, implicit," \
	      " sha_pending"

/* Maps a SQLite result to -errno (-ENOSPC, -EBUSY, -EIO), logging once. */
int idx_sql_fail(struct index *idx, int rc, const char *what);
int idx_prep(struct index *idx, const char *sql, sqlite3_stmt **st);
/* Binds a C string as a BLOB (paths are bytes, not text). */
void idx_bind_path(sqlite3_stmt *st, int i, const char *s);
int idx_step_done(struct index *idx, sqlite3_stmt *st, const char *what);
int idx_exec(struct index *idx, const char *sql, const char *what);
/* Appends an event; the caller holds the lock (and its transaction). */
int idx_event_add_locked(struct index *idx, int64_t dev, int64_t time_ns, const char *kind,
			 const char *detail);
/* commands.c: creates the commands table or adds the columns an older
 * index.db lacks; runs inside the open's migration transaction. */
int idx_commands_schema(struct index *idx);

#endif
