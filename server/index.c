/* index.c — SQLite index: open/schema, identities, device state, events.
 * Versions are in index_versions.c.  Schema: docs/index.md. */
#include "server/index.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/index_int.h"
#include "server/store/dbcrypt.h"

/* 2: the commands table's seq, sig, reason, figures and times
 * (server/commands.c); 3: the devices table's sim_* columns
 * (server/simstate.c); 4: retention (server/retain_db.c); 5: versions.digest
 * (an older server would write pending versions without it) */
#define INDEX_SCHEMA_VERSION 5
#define VG_STR_(x) #x
#define VG_STR(x) VG_STR_(x)
#define INDEX_BUSY_MS 10000
/* rows whose sha256 is still being computed (PUT_RANGES): few at a time */
#define VERSIONS_PENDING_INDEX \
	"CREATE INDEX IF NOT EXISTS versions_sha_pending ON versions(id) WHERE sha_pending = 1;"


static const char *schema_sql =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);"
	"CREATE TABLE IF NOT EXISTS identities("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" role INTEGER NOT NULL CHECK (role IN (1, 2)),"
	" cert_sha256 BLOB NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,"
	" revoked_ns INTEGER NOT NULL DEFAULT 0, devkey BLOB, sign_pub BLOB,"
	" enrolled_ns INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS versions("
	" id INTEGER PRIMARY KEY, dev INTEGER NOT NULL,"
	" path BLOB NOT NULL, parent BLOB NOT NULL, name BLOB NOT NULL,"
	" version INTEGER NOT NULL, capture_ns INTEGER NOT NULL, recv_ns INTEGER NOT NULL,"
	" type INTEGER NOT NULL, deleted INTEGER NOT NULL, implicit INTEGER NOT NULL,"
	" size INTEGER NOT NULL, mode INTEGER NOT NULL, uid INTEGER NOT NULL,"
	" gid INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 BLOB NOT NULL,"
	" tree_root BLOB NOT NULL, content_root BLOB NOT NULL, link BLOB NOT NULL,"
	" xattrs BLOB NOT NULL, sha_pending INTEGER NOT NULL DEFAULT 0, digest BLOB);"
	"CREATE UNIQUE INDEX IF NOT EXISTS versions_by_path ON versions(dev, path, version);"
	"CREATE INDEX IF NOT EXISTS versions_by_dir ON versions(dev, parent, name, version);"
	"CREATE INDEX IF NOT EXISTS versions_with_xattrs ON versions(dev) WHERE length(xattrs) > 0;"
	VERSIONS_PENDING_INDEX
	"CREATE TABLE IF NOT EXISTS devices("
	" dev INTEGER PRIMARY KEY, max_capture_ns INTEGER NOT NULL DEFAULT 0,"
	" last_seen_ns INTEGER NOT NULL DEFAULT 0, files INTEGER NOT NULL DEFAULT 0,"
	" bytes INTEGER NOT NULL DEFAULT 0, report BLOB, report_ns INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS events("
	" id INTEGER PRIMARY KEY, dev INTEGER NOT NULL, time_ns INTEGER NOT NULL,"
	" kind TEXT NOT NULL, detail TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS events_by_dev ON events(dev, id);"
	"INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', 1);";


/* Maps a SQLite result to -errno, logging the context once. */
int idx_sql_fail(struct index *idx, int rc, const char *what)
{
	if (rc == SQLITE_FULL) {
		log_warnx("index %s: %s", what, sqlite3_errmsg(idx->db));
		return -ENOSPC;
	}
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		log_warnx("index %s: database busy", what);
		return -EBUSY;
	}
	log_warnx("index %s: %s", what, sqlite3_errmsg(idx->db));
	return -EIO;
}

int idx_prep(struct index *idx, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(idx->db, sql, -1, st, NULL);

	return rc == SQLITE_OK ? 0 : idx_sql_fail(idx, rc, "prepare");
}

int idx_prepc(struct index *idx, const char *sql, sqlite3_stmt **st)
{
	int rc = stmtcache_get(&idx->stc, idx->db, sql, st);

	return rc == SQLITE_OK ? 0 : idx_sql_fail(idx, rc, "prepare");
}

void idx_done(struct index *idx, sqlite3_stmt *st)
{
	stmtcache_put(&idx->stc, st);
}

void idx_bind_path(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_blob(st, i, s, (int)strlen(s), SQLITE_TRANSIENT);
}

/* Runs a statement that returns no rows. */
int idx_step_done(struct index *idx, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE ? 0 : idx_sql_fail(idx, rc, what);
}

int idx_exec(struct index *idx, const char *sql, const char *what)
{
	int rc = sqlite3_exec(idx->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : idx_sql_fail(idx, rc, what);
}

/* idx_exec for a statement run often (a savepoint per version of a
 * group): prepared once, from the statement cache. */
int idx_run(struct index *idx, const char *sql, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = idx_prepc(idx, sql, &st)) < 0)
		return r;
	r = idx_step_done(idx, st, what);
	idx_done(idx, st);
	return r;
}

int idx_txn(struct index *idx, int (*fn)(struct index *, void *), void *arg)
{
	int r, c;

	if ((r = idx_exec(idx, "BEGIN IMMEDIATE", "begin")) < 0)
		return r;
	r = fn(idx, arg);
	if (r >= 0 && (c = idx_exec(idx, "COMMIT", "commit")) < 0)
		r = c;
	if (r < 0)
		sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* The schema version an index.db was written with (1 when unset). */
static int schema_version(struct index *idx, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*out = 1;
	if ((r = idx_prep(idx, "SELECT value FROM meta WHERE key = 'schema'", &st)) < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		r = idx_sql_fail(idx, rc, "schema version");
	sqlite3_finalize(st);
	return r;
}

static int has_column(struct index *idx, const char *table, const char *name, bool *have)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = idx_prep(idx, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", &st)) < 0)
		return r;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	*have = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = idx_sql_fail(idx, rc, "table columns");
	sqlite3_finalize(st);
	return r;
}

int idx_add_columns(struct index *idx, const char *table, const struct idx_col *cols, size_t n)
{
	char sql[256];
	bool have;
	int r;

	for (size_t i = 0; i < n; i++) {
		if ((r = has_column(idx, table, cols[i].name, &have)) < 0)
			return r;
		if (have)
			continue;
		if (snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s %s", table,
			     cols[i].name, cols[i].decl) >= (int)sizeof(sql))
			return -ENAMETOOLONG;
		if ((r = idx_exec(idx, sql, "add column")) < 0)
			return r;
	}
	return 0;
}

/* An index.db made before sha_pending existed gets the column (and its
 * partial index), one made before digest (schema 5: the XXH3-128 of a
 * pending version's content, NULL for the rows before it: `get` then
 * checks their tree root) gets that.  An older server refuses a schema 5
 * file: it would store versions without their digest. */
static int add_sha_pending(struct index *idx)
{
	static const struct idx_col cols[] = {
		{ "sha_pending", "INTEGER NOT NULL DEFAULT 0" },
		{ "digest", "BLOB" },
	};
	int r = idx_add_columns(idx, "versions", cols, sizeof(cols) / sizeof(cols[0]));

	return r < 0 ? r : idx_exec(idx, VERSIONS_PENDING_INDEX, "sha_pending index");
}

/* Brings any index.db, new or old, to INDEX_SCHEMA_VERSION by the same
 * steps (so a fresh file and a migrated one cannot differ), inside the
 * write lock, so two processes opening the file at once do not both
 * migrate.  A file from a newer server is refused. */
static int migrate(struct index *idx)
{
	int64_t have;
	int r;

	if ((r = idx_exec(idx, "BEGIN IMMEDIATE", "migrate")) < 0)
		return r;
	if ((r = schema_version(idx, &have)) < 0)
		goto out;
	if (have > INDEX_SCHEMA_VERSION) {
		log_warnx("%s: schema %lld is newer than this server's (%d)", idx->path,
			  (long long)have, INDEX_SCHEMA_VERSION);
		r = -EPROTO;
		goto out;
	}
	if ((r = add_sha_pending(idx)) < 0 || (r = idx_commands_schema(idx)) < 0 ||
	    (r = idx_sim_schema(idx)) < 0 || (r = idx_quota_schema(idx)) < 0 ||
	    (r = idx_retain_schema(idx)) < 0)
		goto out;
	if (have < INDEX_SCHEMA_VERSION)
		r = idx_exec(idx, "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', "
			     VG_STR(INDEX_SCHEMA_VERSION) ")", "schema version");
out:
	if (r == 0)
		r = idx_exec(idx, "COMMIT", "migrate");
	if (r < 0)
		sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* reader: a second, read-only connection (index_open_reader). */
static int open_handle(const char *dir, bool create, bool reader, struct index **out)
{
	struct index *idx = calloc(1, sizeof(*idx));
	int rc, flags = (reader ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
			SQLITE_OPEN_FULLMUTEX;
	int r = 0;

	*out = NULL;
	if (!idx)
		return -ENOMEM;
	if (snprintf(idx->path, sizeof(idx->path), "%s/index.db", dir) >= (int)sizeof(idx->path)) {
		free(idx);
		return -ENAMETOOLONG;
	}
	pthread_mutex_init(&idx->lock, NULL);
	pthread_cond_init(&idx->cmd_changed, NULL);
	pthread_mutex_init(&idx->gate, NULL);
	pthread_cond_init(&idx->gate_turn, NULL);
	idx->cq_tail = &idx->cq_head;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	/* an encrypted store's index.db: through dbcrypt.h's VFS */
	rc = dbcrypt_open(idx->path, flags, &idx->db);
	if (rc == SQLITE_AUTH) {
		r = -ENOKEY;
		goto out;
	}
	if (rc != SQLITE_OK) {
		r = rc == SQLITE_CANTOPEN ? -ENOENT : -EIO;
		log_warnx("%s: %s", idx->path, idx->db ? sqlite3_errmsg(idx->db) : "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(idx->db, INDEX_BUSY_MS);
	if (reader)
		goto out;   /* the writer set WAL and the schema */
	/* WAL: readers never block the writer; synchronous=FULL: a committed
	 * version survives a power cut, as the device deletes its queue entry
	 * once it got PUT_DONE. */
	if ((r = idx_exec(idx, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		      "PRAGMA foreign_keys=OFF;", "pragmas")) < 0)
		goto out;
	if (create && (r = idx_exec(idx, schema_sql, "create schema")) < 0)
		goto out;
	r = migrate(idx);
out:
	if (r < 0) {
		index_close(idx);
		return r;
	}
	*out = idx;
	return 0;
}

int index_open(const char *dir, bool create, struct index **out)
{
	return open_handle(dir, create, false, out);
}

int index_open_reader(const char *dir, struct index **out)
{
	return open_handle(dir, false, true, out);
}

void index_close(struct index *idx)
{
	if (!idx)
		return;
	stmtcache_free(&idx->stc);
	free(idx->scratch);
	if (idx->db)
		sqlite3_close(idx->db);
	pthread_cond_destroy(&idx->cmd_changed);
	pthread_cond_destroy(&idx->gate_turn);
	pthread_mutex_destroy(&idx->gate);
	pthread_mutex_destroy(&idx->lock);
	free(idx);
}

/* ---------------------------------------------------------------- identities */

int index_ident_add(struct index *idx, struct ident *id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, "INSERT INTO identities(name, role, cert_sha256, devkey, sign_pub,"
		      " enrolled_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &st)) < 0)
		goto out;
	sqlite3_bind_text(st, 1, id->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, id->role);
	sqlite3_bind_blob(st, 3, id->cert_sha256, 32, SQLITE_TRANSIENT);
	if (id->role == 1)
		sqlite3_bind_blob(st, 4, id->devkey, 32, SQLITE_TRANSIENT);
	if (id->sign_pub_len)
		sqlite3_bind_blob(st, 5, id->sign_pub, (int)id->sign_pub_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, id->enrolled_ns);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT) {
		r = -EEXIST;
		goto out;
	}
	if (rc != SQLITE_DONE) {
		r = idx_sql_fail(idx, rc, "add identity");
		goto out;
	}
	id->id = sqlite3_last_insert_rowid(idx->db);
	if (id->role == 1) {
		sqlite3_finalize(st);
		st = NULL;
		if ((r = idx_prep(idx, "INSERT OR IGNORE INTO devices(dev) VALUES (?1)", &st)) < 0)
			goto out;
		sqlite3_bind_int64(st, 1, id->id);
		r = idx_step_done(idx, st, "add device");
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

static void read_ident(sqlite3_stmt *st, struct ident *id)
{
	const void *p;
	int n;

	memset(id, 0, sizeof(*id));
	id->id = sqlite3_column_int64(st, 0);
	snprintf(id->name, sizeof(id->name), "%s", (const char *)sqlite3_column_text(st, 1));
	id->role = sqlite3_column_int(st, 2);
	p = sqlite3_column_blob(st, 3);
	if (p && sqlite3_column_bytes(st, 3) == 32)
		memcpy(id->cert_sha256, p, 32);
	id->revoked = sqlite3_column_int(st, 4) != 0;
	p = sqlite3_column_blob(st, 5);
	if (p && sqlite3_column_bytes(st, 5) == 32)
		memcpy(id->devkey, p, 32);
	p = sqlite3_column_blob(st, 6);
	n = sqlite3_column_bytes(st, 6);
	if (p && n > 0 && n <= INDEX_SIGN_PUB_MAX) {
		memcpy(id->sign_pub, p, (size_t)n);
		id->sign_pub_len = (size_t)n;
	}
	id->enrolled_ns = sqlite3_column_int64(st, 7);
}

#define ICOLS "id, name, role, cert_sha256, revoked, devkey, sign_pub, enrolled_ns"

/* One identity by name, or by row id when name is NULL. */
static int ident_lookup(struct index *idx, const char *name, int64_t id, struct ident *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prepc(idx, name ? "SELECT " ICOLS " FROM identities WHERE name = ?1" :
			   "SELECT " ICOLS " FROM identities WHERE id = ?1", &st)) < 0)
		goto out;
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_ident(st, out);
	else
		r = rc == SQLITE_DONE ? -ENOENT : idx_sql_fail(idx, rc, "get identity");
out:
	idx_done(idx, st);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int index_ident_get(struct index *idx, const char *name, struct ident *out)
{
	return ident_lookup(idx, name, 0, out);
}

int index_ident_by_id(struct index *idx, int64_t id, struct ident *out)
{
	return ident_lookup(idx, NULL, id, out);
}

static int ident_update(struct index *idx, const char *sql, const char *name, int64_t arg,
			const char *what)
{
	sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, sql, &st)) < 0)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, arg);
	if ((r = idx_step_done(idx, st, what)) == 0 && sqlite3_changes(idx->db) == 0)
		r = -ENOENT;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int index_ident_remove(struct index *idx, const char *name)
{
	return ident_update(idx, "DELETE FROM identities WHERE name = ?1 AND ?2 = 0", name, 0,
			    "remove identity");
}

int index_ident_revoke(struct index *idx, const char *name, int64_t now_ns)
{
	return ident_update(idx, "UPDATE identities SET revoked = 1, revoked_ns = ?2"
			    " WHERE name = ?1", name, now_ns, "revoke identity");
}

int index_ident_list(struct index *idx, int role,
		     int (*cb)(void *arg, const struct ident *id), void *arg)
{
	sqlite3_stmt *st = NULL;
	struct ident id;
	int r, rc;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, "SELECT " ICOLS " FROM identities WHERE role = ?1 ORDER BY id", &st)) < 0)
		goto out;
	sqlite3_bind_int(st, 1, role);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_ident(st, &id);
		if ((r = cb(arg, &id)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = idx_sql_fail(idx, rc, "list identities");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

/* -------------------------------------------------------------- device state */

static int dev_update(struct index *idx, const char *sql, int64_t dev, int64_t a,
		      const void *blob, size_t bloblen, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, sql, &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_int64(st, 2, a);
	if (blob)
		sqlite3_bind_blob(st, 3, blob, (int)bloblen, SQLITE_TRANSIENT);
	r = idx_step_done(idx, st, what);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int index_dev_seen(struct index *idx, int64_t dev, int64_t now_ns)
{
	return dev_update(idx, "INSERT INTO devices(dev, last_seen_ns) VALUES (?1, ?2)"
			  " ON CONFLICT(dev) DO UPDATE SET last_seen_ns = max(last_seen_ns, ?2)",
			  dev, now_ns, NULL, 0, "last seen");
}

int index_dev_report(struct index *idx, int64_t dev, const struct vg_report *rep, int64_t now_ns)
{
	struct buf b;
	int r;

	buf_init(&b, VG_MSG_MAX);
	proto_put_report(&b, rep);
	if ((r = wire_buf_error(&b)) == 0)
		r = dev_update(idx, "INSERT INTO devices(dev, last_seen_ns, report, report_ns)"
			       " VALUES (?1, ?2, ?3, ?2) ON CONFLICT(dev) DO UPDATE SET"
			       " last_seen_ns = max(last_seen_ns, ?2), report = ?3, report_ns = ?2",
			       dev, now_ns, b.data ? (const void *)b.data : "", b.len, "report");
	buf_free(&b);
	return r;
}

/* A stored report; one an older build stored (before MUX_VERSION 5) ends
 * before its instant, read as at_ns 0.  Undecodable: all zero. */
static void read_report(const void *p, size_t n, struct vg_report *rep)
{
	struct wire_reader wr;
	uint8_t *old;

	wire_reader_init(&wr, p, n);
	proto_get_report(&wr, rep);
	if (wire_done(&wr) == 0)
		return;
	memset(rep, 0, sizeof(*rep));
	if (!(old = calloc(1, n + 8)))
		return;
	memcpy(old, p, n);
	wire_reader_init(&wr, old, n + 8);
	proto_get_report(&wr, rep);
	if (wire_done(&wr) < 0)
		memset(rep, 0, sizeof(*rep));
	free(old);
}

int index_dev_state(struct index *idx, int64_t dev, struct index_devstate *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, "SELECT last_seen_ns, files, bytes, report, report_ns FROM devices"
		      " WHERE dev = ?1", &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, dev);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		goto out;   /* never seen: all zero */
	if (rc != SQLITE_ROW) {
		r = idx_sql_fail(idx, rc, "device state");
		goto out;
	}
	out->last_seen_ns = sqlite3_column_int64(st, 0);
	out->files = (uint64_t)sqlite3_column_int64(st, 1);
	out->bytes = (uint64_t)sqlite3_column_int64(st, 2);
	out->report_ns = sqlite3_column_int64(st, 4);
	if (sqlite3_column_bytes(st, 3) > 0)
		read_report(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3),
			    &out->report);
	sqlite3_finalize(st);
	st = NULL;
	/* the partial index versions_with_xattrs answers this without a scan */
	if ((r = idx_prep(idx, "SELECT EXISTS(SELECT 1 FROM versions"
		      " WHERE dev = ?1 AND length(xattrs) > 0)", &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, dev);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = idx_sql_fail(idx, rc, "device xattrs");
		goto out;
	}
	out->has_xattrs = sqlite3_column_int(st, 0) != 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

/* -------------------------------------------------------------------- events */

int idx_event_add_locked(struct index *idx, int64_t dev, int64_t time_ns, const char *kind,
			 const char *detail)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = idx_prep(idx, "INSERT INTO events(dev, time_ns, kind, detail) VALUES (?1, ?2, ?3, ?4)",
		      &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_int64(st, 2, time_ns);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, detail ? detail : "", -1, SQLITE_TRANSIENT);
	r = idx_step_done(idx, st, "add event");
	sqlite3_finalize(st);
	return r;
}

int index_event_add(struct index *idx, int64_t dev, int64_t time_ns, const char *kind,
		    const char *detail)
{
	int r;

	pthread_mutex_lock(&idx->lock);
	r = idx_event_add_locked(idx, dev, time_ns, kind, detail);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int index_events(struct index *idx, int64_t dev, size_t max,
		 void (*cb)(void *arg, int64_t time_ns, const char *kind, const char *detail),
		 void *arg)
{
	sqlite3_stmt *st = NULL;
	int r, rc, n = 0;

	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, "SELECT time_ns, kind, detail FROM (SELECT id, time_ns, kind, detail"
		      " FROM events WHERE dev = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id", &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cb(arg, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		   (const char *)sqlite3_column_text(st, 2));
		n++;
	}
	if (rc != SQLITE_DONE)
		r = idx_sql_fail(idx, rc, "events");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&idx->lock);
	return r < 0 ? r : n;
}
