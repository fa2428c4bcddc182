/* textindex.c — search.db: schema, content and piece writing, versions,
 * the overflow queue and counters.  Queries are in textindex_query.c;
 * the layout is documented in docs/search.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "common/fnv.h"
#include "common/log.h"
#include "server/search/phone.h"
#include "server/search/textindex_int.h"
#include "server/search/tokenize.h"
#include "server/store/dbcrypt.h"

#define PIECE_MIN   8192
#define PIECE_MAX   32768
#define PHONES_MAX  16384       /* bytes of normalised numbers per piece */
#define COMMIT_EVERY 64         /* pieces per writer transaction */

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v);"
	"CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, phones, tokenize='vigil');"
	"CREATE TABLE IF NOT EXISTS pieces(id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE);"
	"CREATE TABLE IF NOT EXISTS contents(id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE,"
	" status INTEGER NOT NULL, kind TEXT, reason TEXT, npieces INTEGER);"
	"CREATE TABLE IF NOT EXISTS content_pieces(content INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" piece INTEGER NOT NULL, PRIMARY KEY(content, seq)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS content_pieces_piece ON content_pieces(piece, content);"
	"CREATE TABLE IF NOT EXISTS versions(id INTEGER PRIMARY KEY, device INTEGER NOT NULL,"
	" path TEXT NOT NULL, version INTEGER NOT NULL, time_ns INTEGER NOT NULL,"
	" deleted INTEGER NOT NULL, content INTEGER, path_piece INTEGER NOT NULL,"
	" UNIQUE(device, path, version));"
	"CREATE INDEX IF NOT EXISTS versions_content ON versions(content);"
	"CREATE INDEX IF NOT EXISTS versions_path_piece ON versions(path_piece);"
	"CREATE TABLE IF NOT EXISTS pending(id INTEGER PRIMARY KEY, device INTEGER NOT NULL,"
	" path TEXT NOT NULL, version INTEGER NOT NULL, time_ns INTEGER NOT NULL,"
	" deleted INTEGER NOT NULL, root BLOB, size INTEGER);";

#define BUILDING (-1)   /* contents.status while a content is being indexed */

struct ti_content {
	struct textindex *ti;
	int64_t id;
	int64_t seq;
	int in_txn;            /* pieces in the open transaction */
	char *buf;             /* PIECE_MAX */
	size_t len;
	uint32_t linehash;
	size_t last_nl;        /* 1 + offset of the last '\n' at or past PIECE_MIN, 0: none */
	int err;
};

int
ti_fail(sqlite3 *db, const char *what)
{
	log_warnx("search index: %s: %s", what, sqlite3_errmsg(db));
	return -EIO;
}

int
ti_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : ti_fail(db, sql);
}

int
ti_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK ? 0 : ti_fail(db, sql);
}

/* The writer's statement for sql (a string literal), prepared once and
 * kept: preparing was a fifth of the indexer's time on small files.
 * wlock held; give it back with wdone(). */
static int
wprep(struct textindex *ti, const char *sql, sqlite3_stmt **st)
{
	int i;

	for (i = 0; i < TI_WSTMTS && ti->wst[i].sql; i++)
		if (ti->wst[i].sql == sql) {
			*st = ti->wst[i].st;
			return 0;
		}
	if (i == TI_WSTMTS) {   /* more call sites than slots: raise TI_WSTMTS */
		log_warnx("search index: statement cache full");
		return -ENOBUFS;
	}
	if (sqlite3_prepare_v3(ti->w, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
		return ti_fail(ti->w, sql);
	ti->wst[i].sql = sql;
	ti->wst[i].st = *st;
	return 0;
}

static void
wdone(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int
conn_open(const char *path, sqlite3 **out)
{
	sqlite3 *db = NULL;

	/* an encrypted store's search.db: through dbcrypt.h's VFS */
	int rc = dbcrypt_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			      SQLITE_OPEN_NOMUTEX, &db);

	if (rc != SQLITE_OK) {
		log_warnx("search index: %s: %s", path, rc == SQLITE_AUTH ? "encrypted, and no key" :
			  sqlite3_errstr(rc));
		return rc == SQLITE_AUTH ? -ENOKEY : -EIO;
	}
	sqlite3_busy_timeout(db, 10000);
	if (tokenize_register(db) < 0 ||
	    ti_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		    " PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY") < 0) {
		log_warnx("search index: %s: cannot set up the connection", path);
		sqlite3_close(db);
		return -EIO;
	}
	*out = db;
	return 0;
}

/* meta's value for k: 1 found (in *v), 0 absent, or -errno. */
static int
meta_get(struct textindex *ti, const char *k, int *v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = ti_prepare(ti->w, "SELECT v FROM meta WHERE k = ?1", &st)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : ti_fail(ti->w, "meta");
	sqlite3_finalize(st);
	return rc;
}

static int
check_country(struct textindex *ti)
{
	sqlite3_stmt *st = NULL;
	int rc, old;

	if ((rc = meta_get(ti, "country", &old)) < 0)
		return rc;
	if (rc == 1) {
		if (old != ti->country)
			log_warnx("search index: numbers were normalised with country %d, now %d;"
				  " remove %s to re-index", old, ti->country, ti->path);
		return 0;
	}
	if ((rc = ti_prepare(ti->w, "INSERT INTO meta(k, v) VALUES('country', ?1)", &st)) < 0)
		return rc;
	sqlite3_bind_int(st, 1, ti->country);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ti_fail(ti->w, "meta");
	sqlite3_finalize(st);
	return rc;
}

/* The previous run's clean-stop mark (meta 'clean' = 1). */
static int
read_clean(struct textindex *ti)
{
	int rc, v;

	if ((rc = meta_get(ti, "clean", &v)) < 0)
		return rc;
	ti->was_clean = rc == 1 && v == 1;
	return 0;
}

bool
textindex_was_clean(const struct textindex *ti)
{
	return ti->was_clean;
}

int
textindex_mark_clean(struct textindex *ti)
{
	int rc;

	pthread_mutex_lock(&ti->wlock);
	rc = ti_exec(ti->w, "UPDATE meta SET v = 1 WHERE k = 'clean'");
	pthread_mutex_unlock(&ti->wlock);
	return rc;
}

int64_t
textindex_recover(struct textindex *ti, const char *index_db)
{
	/* what search.c's on_commit hands the indexer: files and deletions */
	static const char find[] =
		"INSERT INTO pending(device, path, version, time_ns, deleted, root, size)"
		" SELECT v.dev, CAST(v.path AS TEXT), v.version, v.capture_ns, v.deleted,"
		"  CASE WHEN v.deleted THEN NULL ELSE v.content_root END, v.size"
		" FROM idx.versions v"
		" WHERE (v.type = ?1 OR v.deleted)"
		"  AND NOT EXISTS (SELECT 1 FROM main.versions t WHERE t.device = v.dev"
		"   AND t.path = CAST(v.path AS TEXT) AND t.version = v.version)"
		" ORDER BY v.id";
	sqlite3_stmt *st = NULL;
	int64_t n = -EIO;

	pthread_mutex_lock(&ti->qlock);
	if (ti_prepare(ti->q, "ATTACH DATABASE ?1 AS idx", &st) == 0) {
		sqlite3_bind_text(st, 1, index_db, -1, SQLITE_STATIC);
		n = sqlite3_step(st) == SQLITE_DONE ? 0 : ti_fail(ti->q, "attach index.db");
		sqlite3_finalize(st);
	}
	if (n < 0)
		goto out;
	if ((n = ti_prepare(ti->q, find, &st)) == 0) {
		sqlite3_bind_int(st, 1, VG_FILE);
		n = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes64(ti->q) :
		    ti_fail(ti->q, "re-queue after an unclean stop");
		sqlite3_finalize(st);
	}
	ti_exec(ti->q, "DETACH DATABASE idx");
out:
	pthread_mutex_unlock(&ti->qlock);
	return n;
}

int
textindex_open(const char *dir, int country, struct textindex **out)
{
	struct textindex *ti;
	int rc;

	if ((ti = calloc(1, sizeof(*ti))) == NULL)
		return -ENOMEM;
	ti->country = country;
	pthread_mutex_init(&ti->wlock, NULL);
	pthread_mutex_init(&ti->rlock, NULL);
	pthread_mutex_init(&ti->qlock, NULL);
	if (snprintf(ti->path, sizeof(ti->path), "%s/search.db", dir) >= (int)sizeof(ti->path)) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	if ((rc = conn_open(ti->path, &ti->w)) < 0 || (rc = ti_exec(ti->w, schema)) < 0 ||
	    (rc = check_country(ti)) < 0 || (rc = conn_open(ti->path, &ti->r)) < 0 ||
	    (rc = conn_open(ti->path, &ti->q)) < 0)
		goto fail;
	/* contents a crash left half indexed are redone from scratch */
	if ((rc = ti_exec(ti->w, "DELETE FROM content_pieces WHERE content IN"
			  " (SELECT id FROM contents WHERE status < 0);"
			  "DELETE FROM contents WHERE status < 0")) < 0 ||
	    (rc = read_clean(ti)) < 0 ||
	    (rc = ti_exec(ti->w, "INSERT OR REPLACE INTO meta(k, v) VALUES('clean', 0)")) < 0)
		goto fail;
	*out = ti;
	return 0;
fail:
	textindex_close(ti);
	return rc;
}

void
textindex_close(struct textindex *ti)
{
	if (ti == NULL)
		return;
	for (int i = 0; i < TI_WSTMTS; i++)
		sqlite3_finalize(ti->wst[i].st);
	sqlite3_close_v2(ti->w);
	sqlite3_close_v2(ti->r);
	sqlite3_close_v2(ti->q);
	pthread_mutex_destroy(&ti->wlock);
	pthread_mutex_destroy(&ti->rlock);
	pthread_mutex_destroy(&ti->qlock);
	free(ti);
}

int
textindex_country(const struct textindex *ti)
{
	return ti->country;
}

/* Content id of key, status in *status; -ENOENT when unknown. */
static int
content_lookup(struct textindex *ti, const uint8_t *key, int64_t *id, int *status)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = wprep(ti, "SELECT id, status FROM contents WHERE key = ?1", &st)) < 0)
		return rc;
	sqlite3_bind_blob(st, 1, key, TI_KEY_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*status = sqlite3_column_int(st, 1);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT : ti_fail(ti->w, "content lookup");
	}
	wdone(st);
	return rc;
}

int
textindex_has_content(struct textindex *ti, const uint8_t key[TI_KEY_LEN])
{
	int64_t id;
	int status, rc;

	pthread_mutex_lock(&ti->wlock);
	rc = content_lookup(ti, key, &id, &status);
	pthread_mutex_unlock(&ti->wlock);
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : status >= 0;
}

/* ---- pieces ---- */

struct phones { char buf[PHONES_MAX]; size_t len; };

static int
phone_add(void *arg, const char *key, size_t start, size_t end)
{
	struct phones *p = arg;
	size_t n = strlen(key);

	if (p->len + n + 1 >= sizeof(p->buf))
		return 1;   /* enough: stop scanning */
	memcpy(p->buf + p->len, key, n);
	p->buf[p->len + n] = ' ';
	p->len += n + 1;
	return 0;
}

/* The piece holding exactly this text (inserted when new). */
static int
piece_put(struct textindex *ti, const char *text, size_t len, int64_t *id)
{
	uint8_t key[SHA256_DIGEST_LENGTH];
	sqlite3_stmt *st = NULL;
	struct phones *ph = NULL;
	int rc;

	SHA256((const uint8_t *)text, len, key);
	if ((rc = wprep(ti, "SELECT id FROM pieces WHERE key = ?1", &st)) < 0)
		return rc;
	sqlite3_bind_blob(st, 1, key, sizeof(key), SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	wdone(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return ti_fail(ti->w, "piece lookup");
	if ((ph = calloc(1, sizeof(*ph))) == NULL)
		return -ENOMEM;
	phone_scan(text, len, ti->country, phone_add, ph);
	if ((rc = wprep(ti, "INSERT INTO fts(body, phones) VALUES(?1, ?2)", &st)) < 0)
		goto out;
	sqlite3_bind_text(st, 1, text, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ph->buf, (int)ph->len, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ti_fail(ti->w, "piece insert");
	wdone(st);
	if (rc < 0)
		goto out;
	*id = sqlite3_last_insert_rowid(ti->w);
	if ((rc = wprep(ti, "INSERT INTO pieces(id, key) VALUES(?1, ?2)", &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, *id);
	sqlite3_bind_blob(st, 2, key, sizeof(key), SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ti_fail(ti->w, "piece key insert");
	wdone(st);
out:
	free(ph);
	return rc;
}

/* ---- contents ---- */

static int
content_drop(struct textindex *ti, int64_t id)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = wprep(ti, "DELETE FROM content_pieces WHERE content = ?1", &st)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ti_fail(ti->w, "content drop");
	wdone(st);
	if (rc < 0 || (rc = wprep(ti, "DELETE FROM contents WHERE id = ?1", &st)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ti_fail(ti->w, "content drop");
	wdone(st);
	return rc;
}

int
textindex_content_begin(struct textindex *ti, const uint8_t key[TI_KEY_LEN],
			struct ti_content **out)
{
	struct ti_content *c;
	sqlite3_stmt *st = NULL;
	int64_t id;
	int status, rc;

	if ((c = calloc(1, sizeof(*c))) == NULL || (c->buf = malloc(PIECE_MAX)) == NULL) {
		free(c);
		return -ENOMEM;
	}
	c->ti = ti;
	c->linehash = FNV32_BASIS;
	pthread_mutex_lock(&ti->wlock);
	rc = content_lookup(ti, key, &id, &status);
	if (rc == 0 && status >= 0)
		rc = -EEXIST;
	else if (rc == 0)
		rc = content_drop(ti, id);
	else if (rc == -ENOENT)
		rc = 0;
	/* in a batch the content shares its transaction: no savepoint, which
	 * would make FTS5 flush its pending terms for every content */
	if (rc < 0 || (!ti->batch && (rc = ti_exec(ti->w, "BEGIN IMMEDIATE")) < 0))
		goto out;
	if ((rc = wprep(ti, "INSERT INTO contents(key, status) VALUES(?1, -1)", &st)) == 0) {
		sqlite3_bind_blob(st, 1, key, TI_KEY_LEN, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ti_fail(ti->w, "content insert");
		wdone(st);
	}
	if (rc < 0) {
		if (!ti->batch)
			ti_exec(ti->w, "ROLLBACK");
		goto out;
	}
	c->id = sqlite3_last_insert_rowid(ti->w);
out:
	pthread_mutex_unlock(&ti->wlock);
	if (rc < 0) {
		free(c->buf);
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* Stores buf[0..at) as the next piece of the content.  Called locked. */
static int
content_cut(struct ti_content *c, size_t at)
{
	struct textindex *ti = c->ti;
	sqlite3_stmt *st = NULL;
	int64_t piece;
	int rc;

	if (at == 0)
		return 0;
	if ((rc = piece_put(ti, c->buf, at, &piece)) < 0)
		return rc;
	if ((rc = wprep(ti, "INSERT INTO content_pieces(content, seq, piece)"
			     " VALUES(?1, ?2, ?3)", &st)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_int64(st, 2, c->seq++);
	sqlite3_bind_int64(st, 3, piece);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ti_fail(ti->w, "content piece insert");
	wdone(st);
	if (rc < 0)
		return rc;
	memmove(c->buf, c->buf + at, c->len - at);
	c->len -= at;
	c->last_nl = 0;
	if (++c->in_txn >= COMMIT_EVERY) {   /* let the queue's writer in */
		c->in_txn = 0;
		if ((rc = ti_exec(ti->w, "COMMIT")) < 0 || (rc = ti_exec(ti->w, "BEGIN IMMEDIATE")) < 0)
			return rc;
	}
	return 0;
}

/* A full buffer without a good line end: cut at the last line end past
 * PIECE_MIN, else at a UTF-8 character boundary. */
static int
content_force_cut(struct ti_content *c)
{
	size_t at = c->last_nl, k = c->len, need;
	uint8_t lead;

	if (at == 0) {
		at = c->len;
		while (k > 0 && c->len - k < 3 && ((uint8_t)c->buf[k - 1] & 0xc0) == 0x80)
			k--;
		if (k > 0 && ((lead = (uint8_t)c->buf[k - 1]) & 0xc0) == 0xc0) {
			need = (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3 : 4;
			if (k - 1 + need > c->len)
				at = k - 1;   /* the last character is incomplete */
		}
	}
	return content_cut(c, at);
}

int
textindex_content_text(void *arg, const char *t, size_t n)
{
	struct ti_content *c = arg;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&c->ti->wlock);
	for (i = 0; i < n && rc == 0 && c->err == 0; i++) {
		c->buf[c->len++] = t[i];
		if (t[i] == '\n') {
			if (c->len >= PIECE_MIN) {
				c->last_nl = c->len;
				if ((c->linehash & 7) == 0)
					rc = content_cut(c, c->len);
			}
			c->linehash = FNV32_BASIS;
		} else {
			c->linehash = fnv1a32_byte(c->linehash, (uint8_t)t[i]);
		}
		if (rc == 0 && c->len == PIECE_MAX)
			rc = content_force_cut(c);
	}
	if (rc < 0)
		c->err = rc;
	pthread_mutex_unlock(&c->ti->wlock);
	return c->err;
}

int
textindex_content_end(struct ti_content *c, enum ti_status status, const char *kind,
		      const char *reason)
{
	struct textindex *ti = c->ti;
	sqlite3_stmt *st = NULL;
	int rc = c->err;

	pthread_mutex_lock(&ti->wlock);
	if (rc == 0)
		rc = content_cut(c, c->len);
	if (rc == 0 && (rc = wprep(ti, "UPDATE contents SET status = ?2, kind = ?3,"
					" reason = ?4, npieces = ?5 WHERE id = ?1", &st)) == 0) {
		sqlite3_bind_int64(st, 1, c->id);
		sqlite3_bind_int(st, 2, (int)status);
		sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, c->seq);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ti_fail(ti->w, "content end");
		wdone(st);
	}
	if (rc == 0)
		rc = ti->batch ? 0 : ti_exec(ti->w, "COMMIT");
	pthread_mutex_unlock(&ti->wlock);
	if (rc < 0) {
		textindex_content_abort(c);
		return rc;
	}
	free(c->buf);
	free(c);
	return 0;
}

void
textindex_content_abort(struct ti_content *c)
{
	struct textindex *ti;

	if (c == NULL)
		return;
	ti = c->ti;
	pthread_mutex_lock(&ti->wlock);
	if (!ti->batch && !sqlite3_get_autocommit(ti->w))
		ti_exec(ti->w, "ROLLBACK");
	/* in a batch the other contents stay; this one's rows go */
	content_drop(ti, c->id);   /* pieces written already stay, unreferenced */
	pthread_mutex_unlock(&ti->wlock);
	free(c->buf);
	free(c);
}

/* ---- batches ---- */

int
textindex_batch_begin(struct textindex *ti)
{
	int rc = 0;

	pthread_mutex_lock(&ti->wlock);
	if (!ti->batch && (rc = ti_exec(ti->w, "BEGIN IMMEDIATE")) == 0)
		ti->batch = true;
	pthread_mutex_unlock(&ti->wlock);
	return rc;
}

int
textindex_batch_end(struct textindex *ti)
{
	int rc = 0;

	pthread_mutex_lock(&ti->wlock);
	if (ti->batch) {
		ti->batch = false;
		if ((rc = ti_exec(ti->w, "COMMIT")) < 0)
			ti_exec(ti->w, "ROLLBACK");
	}
	pthread_mutex_unlock(&ti->wlock);
	return rc;
}

/* ---- versions ---- */

int
textindex_add_version(struct textindex *ti, int64_t device_id, const char *path,
		      uint64_t version, int64_t time_ns, const uint8_t *key)
{
	sqlite3_stmt *st = NULL;
	int64_t content = 0, piece;
	int status = 0, rc = 0;

	pthread_mutex_lock(&ti->wlock);
	if (key != NULL && (rc = content_lookup(ti, key, &content, &status)) == 0 && status < 0)
		rc = -ENOENT;
	if (rc < 0 || (rc = piece_put(ti, path, strlen(path), &piece)) < 0)
		goto out;
	if ((rc = wprep(ti, "INSERT OR REPLACE INTO versions(device, path, version,"
			     " time_ns, deleted, content, path_piece) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			     &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)version);
	sqlite3_bind_int64(st, 4, time_ns);
	sqlite3_bind_int(st, 5, key == NULL);
	if (key != NULL)
		sqlite3_bind_int64(st, 6, content);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, piece);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ti_fail(ti->w, "version insert");
	wdone(st);
out:
	pthread_mutex_unlock(&ti->wlock);
	return rc;
}

/* ---- the overflow queue ---- */

int
textindex_pending_add(struct textindex *ti, const struct ti_pending *p)
{
	sqlite3_stmt *st = NULL;
	int rc;

	pthread_mutex_lock(&ti->qlock);
	if ((rc = ti_prepare(ti->q, "INSERT INTO pending(device, path, version, time_ns, deleted,"
			     " root, size) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st)) == 0) {
		sqlite3_bind_int64(st, 1, p->device_id);
		sqlite3_bind_text(st, 2, p->path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)p->version);
		sqlite3_bind_int64(st, 4, p->time_ns);
		sqlite3_bind_int(st, 5, p->deleted);
		sqlite3_bind_blob(st, 6, p->key, TI_KEY_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, (int64_t)p->size);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ti_fail(ti->q, "pending insert");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&ti->qlock);
	return rc;
}

int
textindex_pending_next(struct textindex *ti, struct ti_pending *out, size_t max)
{
	sqlite3_stmt *st = NULL;
	const void *key;
	size_t n = 0;
	int rc;

	pthread_mutex_lock(&ti->qlock);
	if ((rc = ti_prepare(ti->q, "SELECT id, device, path, version, time_ns, deleted, root, size"
			     " FROM pending ORDER BY id LIMIT ?1", &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ti_pending *p = &out[n++];

		memset(p, 0, sizeof(*p));
		p->id = sqlite3_column_int64(st, 0);
		p->device_id = sqlite3_column_int64(st, 1);
		snprintf(p->path, sizeof(p->path), "%s", (const char *)sqlite3_column_text(st, 2));
		p->version = (uint64_t)sqlite3_column_int64(st, 3);
		p->time_ns = sqlite3_column_int64(st, 4);
		p->deleted = sqlite3_column_int(st, 5) != 0;
		key = sqlite3_column_blob(st, 6);
		if (key != NULL && sqlite3_column_bytes(st, 6) == TI_KEY_LEN)
			memcpy(p->key, key, TI_KEY_LEN);
		p->size = (uint64_t)sqlite3_column_int64(st, 7);
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? (int)n : ti_fail(ti->q, "pending read");
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&ti->qlock);
	return rc;
}

int
textindex_pending_done(struct textindex *ti, int64_t id)
{
	sqlite3_stmt *st = NULL;
	int rc;

	pthread_mutex_lock(&ti->qlock);
	if ((rc = ti_prepare(ti->q, "DELETE FROM pending WHERE id <= ?1", &st)) == 0) {
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ti_fail(ti->q, "pending delete");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&ti->qlock);
	return rc;
}

/* ---- counters ---- */

static int
count(sqlite3 *db, const char *sql, int64_t device_id, uint64_t out[], int n)
{
	sqlite3_stmt *st = NULL;
	int rc, i;

	if ((rc = ti_prepare(db, sql, &st)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < n; i++)
			out[i] = (uint64_t)sqlite3_column_int64(st, i);
		rc = 0;
	} else {
		rc = ti_fail(db, "stats");
	}
	sqlite3_finalize(st);
	return rc;
}

int
textindex_stats(struct textindex *ti, int64_t device_id, struct ti_stats *out)
{
	uint64_t v[5] = { 0 }, g[3] = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&ti->rlock);
	rc = count(ti->r, "SELECT count(*), total(c.status = 0), total(c.status = 1),"
		   " total(c.status = 2), count(DISTINCT v.device || '/' || v.path) FROM versions v"
		   " LEFT JOIN contents c ON c.id = v.content WHERE ?1 < 0 OR v.device = ?1",
		   device_id, v, 5);
	if (rc == 0)
		rc = count(ti->r, "SELECT (SELECT count(*) FROM pending), (SELECT count(*) FROM"
			   " contents WHERE status >= 0), (SELECT count(*) FROM pieces) WHERE ?1 = ?1",
			   device_id, g, 3);
	pthread_mutex_unlock(&ti->rlock);
	out->versions = v[0];
	out->text = v[1];
	out->path_only = v[2];
	out->malformed = v[3];
	out->files = v[4];
	out->pending = g[0];
	out->contents = g[1];
	out->pieces = g[2];
	return rc;
}
