/* index_int.h — what index.c and index_versions.c share: the handle and
 * small SQLite helpers.  Not for use outside the index. */
#ifndef VIGIL_SERVER_INDEX_INT_H
#define VIGIL_SERVER_INDEX_INT_H

#include <pthread.h>

#include <sqlite3.h>

#include "common/stmtcache.h"
#include "server/index.h"

#define INDEX_PAGE 256       /* descendants handled per step of a subtree change */
#define IDX_GROUP_DEVS 8     /* devices of one commit group kept in memory */

/* One version waiting for a group commit (below). */
struct commit_wait {
	int64_t dev;
	struct index_version *v;
	bool check_base;
	uint64_t base;
	const char *from;
	bool adopt;              /* a batch's "new path": adopt an equal latest */
	bool adopted;            /* out: it was adopted, nothing stored */
	const struct index_batch_ops *ops;   /* a batch's item i: v is filled then */
	size_t i;
	int r;
	bool done;
	struct commit_wait *next;
};

struct index {
	sqlite3 *db;
	pthread_mutex_t lock;    /* every public call holds it */
	pthread_cond_t cmd_changed; /* broadcast under lock when a command
				  * changes state (commands_wait) */
	char path[4096];
	/* index_commit's group commit: commits wait in arrival order in
	 * cq_head; the first to find no leader commits every waiting one in
	 * one transaction (one fsync), newcomers gather for the next group.
	 * Commits are served in arrival order: with the mutex alone, a
	 * pushing device could lose the race for it again and again (41 s
	 * for one commit under 50 pushers, bench/load_bench.sh). */
	pthread_mutex_t gate;
	pthread_cond_t gate_turn;
	struct commit_wait *cq_head, **cq_tail;
	bool cq_leading;
	struct index_version *scratch;   /* a batch item's version (under lock) */
	/* Inside group_run (under lock), the devices rows' capture maximum and
	 * live-file counters are kept here and written once per device at the
	 * group's end: per version they were a SELECT and two writes of the
	 * same row (6 % of the server's CPU on 4 KiB files).  A device past
	 * IDX_GROUP_DEVS is written at once, as outside a group. */
	struct group_dev {
		int64_t dev, max_capture, dfiles, dbytes;
		bool capture_set;      /* max_capture was raised: write it */
	} gdev[IDX_GROUP_DEVS];
	size_t ngdev;
	bool in_group;
	/* idx_prepc's statements (under lock): the commit path's SQL is not
	 * parsed again for every version */
	struct stmtcache stc;
};

#define VCOLS "path, type, deleted, mode, uid, gid, size, mtime_ns, version, capture_ns," \
	      " recv_ns, sha256, tree_root, link, xattrs, content_root, implicit," \
	      " sha_pending, digest"

/* Maps a SQLite result to -errno (-ENOSPC, -EBUSY, -EIO), logging once. */
int idx_sql_fail(struct index *idx, int rc, const char *what);
int idx_prep(struct index *idx, const char *sql, sqlite3_stmt **st);
/* The same, kept prepared for the next call with this sql (lock held);
 * give it back with idx_done (never sqlite3_finalize). */
int idx_prepc(struct index *idx, const char *sql, sqlite3_stmt **st);
void idx_done(struct index *idx, sqlite3_stmt *st);
/* Binds a C string as a BLOB (paths are bytes, not text). */
void idx_bind_path(sqlite3_stmt *st, int i, const char *s);
int idx_step_done(struct index *idx, sqlite3_stmt *st, const char *what);
/* A column's bytes as a C string (empty when NULL or cap bytes or more), or
 * exactly n bytes (zeros when NULL or of another length). */
void idx_col_str(sqlite3_stmt *st, int c, char *out, size_t cap);
void idx_col_fixed(sqlite3_stmt *st, int c, uint8_t *out, size_t n);
/* The paged listings by row id (index_roots, index_sha_pending, check's
 * index_content_versions): runs sql with ?1 = after and ?2 = max under the
 * lock, row() filling item i of out from each row.  Returns how many rows,
 * or -errno (what names the query in the log). */
typedef void idx_row_fn(sqlite3_stmt *st, void *out, size_t i);
int idx_page_by_id(struct index *idx, const char *sql, int64_t after, size_t max,
		   idx_row_fn *row, void *out, const char *what);
int idx_exec(struct index *idx, const char *sql, const char *what);
int idx_run(struct index *idx, const char *sql, const char *what);   /* prepared once */
/* Runs fn inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK when it fails); the
 * caller holds the lock.  Returns fn's result (or the commit's error). */
int idx_txn(struct index *idx, int (*fn)(struct index *, void *), void *arg);
/* Appends an event; the caller holds the lock (and its transaction). */
int idx_event_add_locked(struct index *idx, int64_t dev, int64_t time_ns, const char *kind,
			 const char *detail);
/* A column added to a table after its first schema. */
struct idx_col { const char *name, *decl; };
/* ALTER TABLE table ADD COLUMN for each of cols the table lacks (an older
 * index.db); inside the open's migration transaction. */
int idx_add_columns(struct index *idx, const char *table, const struct idx_col *cols, size_t n);
/* commands.c: creates the commands table or adds the columns an older
 * index.db lacks; runs inside the open's migration transaction. */
int idx_commands_schema(struct index *idx);
/* simstate.c: the devices table's sim_* columns (same rules). */
int idx_sim_schema(struct index *idx);
/* index_quota.c: the quotas table (same rules). */
int idx_quota_schema(struct index *idx);
/* retain_db.c: the retain_policy and retain_dev tables and the index
 * versions_by_capture (same rules). */
int idx_retain_schema(struct index *idx);
struct retain_devinfo;
struct retain_policy;
/* retain_db.c, for the lock holder: what holds dev (retain.h's
 * retain_info), the policy in force, the policies' generation. */
int idx_retain_hold_locked(struct index *idx, int64_t dev, struct retain_devinfo *out);
int idx_retain_get_locked(struct index *idx, int64_t dev, struct retain_policy *p, bool *own);
int idx_retain_gen_locked(struct index *idx, int64_t *out);

#endif
