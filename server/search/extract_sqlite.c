/* extract_sqlite.c — the TEXT values of an SQLite database from a device.
 *
 * The database is hostile.  It is opened through a private read-only VFS
 * over the extractor's pread callback (no temporary copy, nothing written,
 * no journal or WAL looked up), with immutable=1, and the connection is
 * hardened before the schema is first read: defensive mode, trusted_schema
 * off, triggers and views disabled, extension loading off, tight limits
 * (value length, SQL length, columns, expression depth, attached = 0), a
 * small page cache, mmap off, cell_size_check on, query_only, an
 * authorizer that allows only SELECT and column reads (no PRAGMA, ATTACH
 * or function in our statements; functions inside the schema, such as a
 * generated column's, are limited to innocuous ones by trusted_schema=OFF
 * and to 16 MiB values by the length limit), and a progress handler that
 * interrupts after the time budget.  Only ordinary tables are read, with
 * "SELECT * FROM t"; a table that fails (corrupt page, refused column) is
 * reported and the next one is tried. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "server/search/extract_int.h"

struct ro_file {
	sqlite3_file base;
	struct ex_ctx *x;
};

struct ro_vfs {
	sqlite3_vfs vfs;
	char name[64];
	struct ex_ctx *x;
};

static int
ro_close(sqlite3_file *f)
{
	return SQLITE_OK;
}

static int
ro_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	struct ex_ctx *x = ((struct ro_file *)f)->x;
	uint8_t *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < (size_t)amt && (uint64_t)off + got < x->src->size) {
		n = x->src->pread(x->src->arg, p + got, (size_t)amt - got, (uint64_t)off + got);
		if (n < 0) {
			x->err = (int)n;
			return SQLITE_IOERR_READ;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	/* A WAL-mode file (header bytes 18/19 == 2) would need a -shm; the
	 * WAL is not part of this content anyway, so read it as legacy mode. */
	if (off <= 19 && off + amt > 19 && got > (size_t)(19 - off)) {
		if (p[18 - off] == 2)
			p[18 - off] = 1;
		if (p[19 - off] == 2)
			p[19 - off] = 1;
	}
	if (got < (size_t)amt) {
		memset(p + got, 0, (size_t)amt - got);
		return SQLITE_IOERR_SHORT_READ;
	}
	return SQLITE_OK;
}

static int
ro_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	return SQLITE_READONLY;
}

static int
ro_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return SQLITE_READONLY;
}

static int
ro_sync(sqlite3_file *f, int flags)
{
	return SQLITE_OK;
}

static int
ro_size(sqlite3_file *f, sqlite3_int64 *size)
{
	*size = (sqlite3_int64)((struct ro_file *)f)->x->src->size;
	return SQLITE_OK;
}

static int
ro_lock(sqlite3_file *f, int level)
{
	return SQLITE_OK;
}

static int
ro_reserved(sqlite3_file *f, int *out)
{
	*out = 0;
	return SQLITE_OK;
}

static int
ro_fcntl(sqlite3_file *f, int op, void *arg)
{
	return SQLITE_NOTFOUND;
}

static int
ro_sector(sqlite3_file *f)
{
	return 4096;
}

static int
ro_caps(sqlite3_file *f)
{
	return SQLITE_IOCAP_IMMUTABLE;
}

static const sqlite3_io_methods ro_io = {
	.iVersion = 1,
	.xClose = ro_close, .xRead = ro_read, .xWrite = ro_write, .xTruncate = ro_truncate,
	.xSync = ro_sync, .xFileSize = ro_size, .xLock = ro_lock, .xUnlock = ro_lock,
	.xCheckReservedLock = ro_reserved, .xFileControl = ro_fcntl,
	.xSectorSize = ro_sector, .xDeviceCharacteristics = ro_caps,
};

static int
ro_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *outflags)
{
	struct ro_file *rf = (struct ro_file *)f;

	rf->base.pMethods = NULL;
	if (!(flags & SQLITE_OPEN_MAIN_DB))
		return SQLITE_CANTOPEN;   /* no journal, WAL or temp file ever */
	rf->x = ((struct ro_vfs *)vfs)->x;
	rf->base.pMethods = &ro_io;
	if (outflags != NULL)
		*outflags = SQLITE_OPEN_READONLY;
	return SQLITE_OK;
}

static int
ro_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	return SQLITE_IOERR_DELETE;
}

static int
ro_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	*out = 0;
	return SQLITE_OK;
}

static int
ro_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	snprintf(out, (size_t)n, "%s", name);
	return SQLITE_OK;
}

static int
ro_random(sqlite3_vfs *vfs, int n, char *out)
{
	sqlite3_vfs *d = sqlite3_vfs_find(NULL);

	return d->xRandomness(d, n, out);
}

static int
ro_sleep(sqlite3_vfs *vfs, int us)
{
	sqlite3_vfs *d = sqlite3_vfs_find(NULL);

	return d->xSleep(d, us);
}

static int
ro_time(sqlite3_vfs *vfs, double *out)
{
	sqlite3_vfs *d = sqlite3_vfs_find(NULL);

	return d->xCurrentTime(d, out);
}

static int
ro_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
	return 0;
}

static void
ro_vfs_init(struct ro_vfs *v, struct ex_ctx *x)
{
	memset(v, 0, sizeof(*v));
	v->x = x;
	snprintf(v->name, sizeof(v->name), "vigil-ro-%p", (void *)v);
	v->vfs.iVersion = 1;
	v->vfs.szOsFile = sizeof(struct ro_file);
	v->vfs.mxPathname = 512;
	v->vfs.zName = v->name;
	v->vfs.xOpen = ro_open;
	v->vfs.xDelete = ro_delete;
	v->vfs.xAccess = ro_access;
	v->vfs.xFullPathname = ro_fullpath;
	v->vfs.xRandomness = ro_random;
	v->vfs.xSleep = ro_sleep;
	v->vfs.xCurrentTime = ro_time;
	v->vfs.xGetLastError = ro_lasterr;
}

/* ---- hardening ---- */

static int
budget(void *arg)
{
	return mono_ms() > *(int64_t *)arg;
}

static int
authorize(void *arg, int action, const char *a, const char *b, const char *c, const char *d)
{
	return (action == SQLITE_SELECT || action == SQLITE_READ) ? SQLITE_OK : SQLITE_DENY;
}

static int
harden(sqlite3 *db, struct ex_ctx *x, int64_t *deadline)
{
	char sql[160];

	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 16 << 20);
	sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, 1 << 20);
	sqlite3_limit(db, SQLITE_LIMIT_COLUMN, 2000);
	sqlite3_limit(db, SQLITE_LIMIT_EXPR_DEPTH, 100);
	sqlite3_limit(db, SQLITE_LIMIT_COMPOUND_SELECT, 10);
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(db, SQLITE_LIMIT_FUNCTION_ARG, 8);
	sqlite3_limit(db, SQLITE_LIMIT_TRIGGER_DEPTH, 1);
	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%zu; PRAGMA mmap_size=0; "
		 "PRAGMA cell_size_check=ON; PRAGMA query_only=ON; PRAGMA trusted_schema=OFF",
		 x->lim.sqlite_cache_kib);
	*deadline = mono_ms() + x->lim.sqlite_budget_ms;
	sqlite3_progress_handler(db, 1000, budget, deadline);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	sqlite3_set_authorizer(db, authorize, NULL);
	return 0;
}

/* ---- walking the tables ---- */

/* 0 go on, -1 stop everything (interrupted, output cap, read error) */
static int
sq_failed(struct ex_ctx *x, sqlite3 *db, int rc, const char *table)
{
	char why[128];

	if (rc == SQLITE_INTERRUPT) {
		ex_truncated(x, "sqlite: time budget exceeded");
		return -1;
	}
	snprintf(why, sizeof(why), "sqlite: %s%s%s", table ? table : "", table ? ": " : "",
		 sqlite3_errmsg(db));
	ex_malformed(x, why);
	return ex_stop(x) ? -1 : 0;
}

static int
dump_table(struct ex_ctx *x, sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	char *sql = sqlite3_mprintf("SELECT * FROM main.\"%w\"", name);
	int rc, i, ncol;

	if (sql == NULL)
		return -1;
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return sq_failed(x, db, rc, name);
	ncol = sqlite3_column_count(st);
	while (!ex_stop(x) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < ncol; i++) {
			if (sqlite3_column_type(st, i) != SQLITE_TEXT)
				continue;
			ex_bytes(x, sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i));
			ex_byte(x, ' ');
		}
		ex_byte(x, '\n');
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		rc = sq_failed(x, db, rc, name);
	else
		rc = ex_stop(x) ? -1 : 0;
	sqlite3_finalize(st);
	return rc;
}

static void
dump_tables(struct ex_ctx *x, sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	const char *name, *sql;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT name, sql FROM main.sqlite_schema WHERE type = 'table'",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		sq_failed(x, db, rc, NULL);
		return;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		sql = (const char *)sqlite3_column_text(st, 1);
		if (name == NULL || strncasecmp(name, "sqlite_", 7) == 0)
			continue;
		while (sql != NULL && (*sql == ' ' || *sql == '\t' || *sql == '\n'))
			sql++;
		if (sql != NULL && strncasecmp(sql, "CREATE VIRTUAL", 14) == 0)
			continue;   /* its shadow tables hold the data */
		if (dump_table(x, db, name) < 0)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		sq_failed(x, db, rc, NULL);
	sqlite3_finalize(st);
}

int
ex_sqlite(struct ex_ctx *x)
{
	struct ro_vfs *v;
	sqlite3 *db = NULL;
	int64_t deadline;

	if (x->src->size > x->lim.sqlite_max_size) {
		ex_malformed(x, "sqlite: database larger than the size cap");
		return 0;
	}
	if ((v = malloc(sizeof(*v))) == NULL) {
		x->err = -ENOMEM;
		return 0;
	}
	ro_vfs_init(v, x);
	if (sqlite3_vfs_register(&v->vfs, 0) != SQLITE_OK) {
		free(v);
		x->err = -ENOMEM;
		return 0;
	}
	if (sqlite3_open_v2("file:device.db?immutable=1", &db,
			    SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
			    v->name) != SQLITE_OK || harden(db, x, &deadline) < 0)
		sq_failed(x, db, db ? sqlite3_errcode(db) : SQLITE_NOMEM, NULL);
	else
		dump_tables(x, db);
	sqlite3_close_v2(db);
	sqlite3_vfs_unregister(&v->vfs);
	free(v);
	return 0;
}
