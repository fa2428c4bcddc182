/* test_dbcrypt.c — databases through the encrypting VFS (dbcrypt.c): rows
 * written in WAL mode read back, across reopening, checkpoints and a
 * second connection; no plain text in the database, its WAL or its shm;
 * a plain database made before opens unchanged through the same VFS; an
 * encrypted one without the key is refused (SQLITE_AUTH); a changed byte
 * in a page is an error, never other rows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/store/dbcrypt.h"

#define RW (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
#define NEEDLE "kumquat-needle-of-the-test"

static const struct store_key key = { { 7, 7, 7 } };
static char dir[64], path[96];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/vg-dbc-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : sqlite3_errstr(rc));
}

static long long count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q;
	long long n = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

/* the needle anywhere in file f (a missing file holds none) */
static bool file_has(const char *f, const char *needle)
{
	static char buf[8 << 20];
	int fd = open(f, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : 0;

	if (fd >= 0)
		close(fd);
	return n > 0 && memmem(buf, (size_t)n, needle, strlen(needle)) != NULL;
}

static bool any_has(const char *needle)
{
	char p[128];
	bool has = file_has(path, needle);

	snprintf(p, sizeof(p), "%s-wal", path);
	has |= file_has(p, needle);
	snprintf(p, sizeof(p), "%s-shm", path);
	return has | file_has(p, needle);
}

static void fill(sqlite3 *db, int from, int n)
{
	char sql[256];

	for (int i = from; i < from + n; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO t VALUES(%d, '" NEEDLE " %d /home/u/a%d.txt')",
			 i, i, i);
		exec_ok(db, sql);
	}
}

static void test_roundtrip(void **state)
{
	sqlite3 *db, *db2;

	dbcrypt_key_set(&key);
	assert_int_equal(dbcrypt_open(path, RW, &db), SQLITE_OK);
	exec_ok(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(i INTEGER PRIMARY KEY, s TEXT)");
	fill(db, 0, 2000);    /* several pages, in the WAL */
	assert_false(any_has(NEEDLE));
	assert_true(file_has(path, "vigil-sealed-db"));
	assert_int_equal(dbcrypt_open(path, SQLITE_OPEN_READONLY, &db2), SQLITE_OK);   /* a reader */
	assert_int_equal(count(db2, "SELECT count(*) FROM t WHERE s LIKE '%" NEEDLE "%'"), 2000);
	exec_ok(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	fill(db, 2000, 500);
	assert_false(any_has(NEEDLE));
	assert_int_equal(count(db2, "SELECT count(*) FROM t"), 2500);
	sqlite3_close(db2);
	sqlite3_close(db);
	assert_false(any_has(NEEDLE));
	assert_int_equal(dbcrypt_open(path, RW, &db), SQLITE_OK);
	assert_int_equal(count(db, "SELECT sum(i) FROM t"), 2499LL * 2500 / 2);
	{
		sqlite3_stmt *q;

		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
}

/* a plain database (a store made before) opens and grows unchanged */
static void test_plain(void **state)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(path, &db, RW, NULL), SQLITE_OK);
	exec_ok(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(i INTEGER PRIMARY KEY, s TEXT)");
	fill(db, 0, 10);
	sqlite3_close(db);
	dbcrypt_key_set(&key);
	assert_int_equal(dbcrypt_open(path, RW, &db), SQLITE_OK);
	fill(db, 10, 10);
	sqlite3_close(db);
	assert_false(file_has(path, "vigil-sealed-db"));
	assert_true(file_has(path, NEEDLE));
	assert_int_equal(sqlite3_open_v2(path, &db, RW, NULL), SQLITE_OK);
	assert_int_equal(count(db, "SELECT count(*) FROM t"), 20);
	sqlite3_close(db);
}

/* a changed byte of a sealed page fails its read */
static void test_tamper(void **state)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int fd, rc;
	char b;

	dbcrypt_key_set(&key);
	assert_int_equal(dbcrypt_open(path, RW, &db), SQLITE_OK);
	exec_ok(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(i INTEGER PRIMARY KEY, s TEXT)");
	fill(db, 0, 500);
	sqlite3_close(db);   /* checkpointed into t.db */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, 3 * DBCRYPT_PAGE + 100), 1);
	b ^= 0x10;
	assert_int_equal(pwrite(fd, &b, 1, 3 * DBCRYPT_PAGE + 100), 1);
	close(fd);
	assert_int_equal(dbcrypt_open(path, RW, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), sum(length(s)) FROM t", -1, &q, NULL),
			 SQLITE_OK);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	assert_int_not_equal(rc, SQLITE_ROW);
	sqlite3_close(db);
}

/* another process (enroll, quota beside run) changes the schema and rows;
 * a read-only connection of this one reads them */
static void test_other_process(void **state)
{
	sqlite3 *w, *r;
	pid_t pid;
	int st;

	dbcrypt_key_set(&key);
	assert_int_equal(dbcrypt_open(path, RW, &w), SQLITE_OK);
	exec_ok(w, "PRAGMA journal_mode=WAL; CREATE TABLE t(i INTEGER PRIMARY KEY, s TEXT)");
	fill(w, 0, 10);
	assert_int_equal(dbcrypt_open(path, SQLITE_OPEN_READONLY, &r), SQLITE_OK);
	assert_int_equal(count(r, "SELECT count(*) FROM t"), 10);
	if ((pid = fork()) == 0) {
		sqlite3 *o;

		if (dbcrypt_open(path, SQLITE_OPEN_READWRITE, &o) != SQLITE_OK ||
		    sqlite3_exec(o, "CREATE TABLE u(x); INSERT INTO u VALUES(42)", NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		sqlite3_close(o);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(st, 0);
	assert_int_equal(count(r, "SELECT x FROM u"), 42);
	assert_int_equal(count(w, "SELECT x FROM u"), 42);
	sqlite3_close(r);
	sqlite3_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_process, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
