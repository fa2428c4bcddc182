/* test_capture.c — consistent reads: a file modified during the read is
 * read again and the result matches its final bytes; a file that never
 * holds still is shipped from a copy (unstable); a SQLite database is
 * captured as one committed state while another connection writes;
 * capture_stream reads once and gives up (-EBUSY) on a file that moves.  The
 * content hash itself is tested in test_chash.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/chunktree.h"
#include "daemon/capture.h"
#include "daemon/rootwalk.h"

struct fx { char dir[64]; char file[96]; };

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-cap-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->file, sizeof(f->file), "%s/f", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void write_bytes(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static void hash_of(const uint8_t *p, size_t n, uint8_t sha[32], uint8_t root[32])
{
	struct chash *h = chash_new(CHASH_BOTH);
	uint64_t size;

	assert_non_null(h);
	assert_int_equal(chash_feed(h, p, n), 0);
	assert_int_equal(chash_finish(h, sha, root, &size), 0);
	assert_int_equal(size, n);
	chash_free(h);
}

/* The sink that scribbles on the file during the first `passes` reads. */
struct scribble {
	const char *path;
	int passes, resets;
	uint64_t fed;
	bool done_this_pass;
};

static int scr_reset(void *arg)
{
	struct scribble *s = arg;

	s->resets++;
	s->fed = 0;
	s->done_this_pass = false;
	return 0;
}

static int scr_data(void *arg, const uint8_t *p, size_t n)
{
	struct scribble *s = arg;

	s->fed += n;
	if (s->resets <= s->passes && !s->done_this_pass) {
		int fd = open(s->path, O_WRONLY);
		char c = (char)('A' + s->resets);

		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, &c, 1, 10), 1);   /* same size, new mtime/ctime */
		close(fd);
		s->done_this_pass = true;
		usleep(2000);   /* make sure the timestamps move on a coarse clock */
	}
	return 0;
}

static void test_stable(void **state)
{
	struct fx *f = *state;
	static const size_t sizes[] = { 0, 1, 2, 3, 7, 100, 10000, 200000 };
	uint8_t *buf = malloc(200000), sha[32], root[32];
	struct capture c;

	for (size_t i = 0; i < 200000; i++)
		buf[i] = (uint8_t)(i * 7 + i / 1000);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		write_bytes(f->file, buf, sizes[i]);
		assert_int_equal(capture_file(f->dir, f->file, f->dir, NULL, &c), 0);
		hash_of(buf, sizes[i], sha, root);
		assert_int_equal(c.size, sizes[i]);
		assert_memory_equal(c.sha256, sha, 32);
		assert_memory_equal(c.root, root, 32);
		assert_false(c.unstable);
		assert_false(c.sqlite);
		assert_string_equal(c.tmp, "");
		capture_release(&c);
	}
	free(buf);
}

static void test_modified_during_read(void **state)
{
	struct fx *f = *state;
	uint8_t buf[100000], sha[32], root[32];
	struct scribble s = { .path = f->file, .passes = 1 };
	struct capture_sink sink = { .arg = &s, .reset = scr_reset, .data = scr_data };
	struct capture c;
	int fd;

	memset(buf, 'x', sizeof(buf));
	write_bytes(f->file, buf, sizeof(buf));
	assert_int_equal(capture_file(f->dir, f->file, f->dir, &sink, &c), 0);
	assert_true(s.resets >= 2);          /* read again after the torn pass */
	assert_false(c.unstable);
	assert_int_equal(s.fed, sizeof(buf)); /* the sink saw exactly one clean pass */
	/* what was captured is the file as it is now */
	fd = open(f->file, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
	hash_of(buf, sizeof(buf), sha, root);
	assert_memory_equal(c.sha256, sha, 32);
	capture_release(&c);
}

static void test_never_still(void **state)
{
	struct fx *f = *state;
	uint8_t buf[50000], *copy = malloc(60000), sha[32], root[32];
	struct scribble s = { .path = f->file, .passes = 1000 };
	struct capture_sink sink = { .arg = &s, .reset = scr_reset, .data = scr_data };
	struct capture c;
	ssize_t n;
	char tmp[PATH_MAX];

	memset(buf, 'y', sizeof(buf));
	write_bytes(f->file, buf, sizeof(buf));
	assert_int_equal(capture_file(f->dir, f->file, f->dir, &sink, &c), 0);
	assert_true(c.unstable);
	assert_int_equal(s.resets, CAPTURE_TRIES + 1);
	assert_true(c.tmp[0] != '\0');
	/* the copy is what the hash describes, and c.fd reads the copy */
	n = pread(c.fd, copy, 60000, 0);
	assert_int_equal(n, (ssize_t)c.size);
	hash_of(copy, (size_t)n, sha, root);
	assert_memory_equal(c.sha256, sha, 32);
	snprintf(tmp, sizeof(tmp), "%s", c.tmp);
	capture_release(&c);
	assert_int_equal(access(tmp, F_OK), -1);   /* the copy is gone */
	free(copy);
}

/* A writer at it (sink->moving): no read waits for stillness, one copy
 * pass; "unstable" only when the file moved during that pass. */
static void test_moving(void **state)
{
	struct fx *f = *state;
	uint8_t buf[50000], sha[32], root[32];
	struct scribble s = { .path = f->file, .passes = 1000 };
	struct capture_sink sink = { .arg = &s, .reset = scr_reset, .data = scr_data,
				     .moving = true };
	struct capture c;

	memset(buf, 'z', sizeof(buf));
	write_bytes(f->file, buf, sizeof(buf));
	assert_int_equal(capture_file(f->dir, f->file, f->dir, &sink, &c), 0);
	assert_int_equal(s.resets, 1);   /* one pass: the copy */
	assert_true(c.unstable);
	assert_true(c.tmp[0] != '\0');
	capture_release(&c);

	/* still after all: a copy, one state, not counted unstable */
	s = (struct scribble){ .path = f->file, .passes = 0 };
	write_bytes(f->file, buf, sizeof(buf));
	assert_int_equal(capture_file(f->dir, f->file, f->dir, &sink, &c), 0);
	assert_int_equal(s.resets, 1);
	assert_false(c.unstable);
	assert_true(c.tmp[0] != '\0');
	hash_of(buf, sizeof(buf), sha, root);
	assert_memory_equal(c.sha256, sha, 32);
	capture_release(&c);
}

/* capture_stream: begin() once, before any byte, with the size to read. */
struct streamsink {
	struct scribble scr;
	int begins;
	uint64_t size_at_begin, fed_at_begin;
};

static int ss_begin(void *arg, const struct capture *c)
{
	struct streamsink *s = arg;

	s->begins++;
	s->size_at_begin = c->size;
	s->fed_at_begin = s->scr.fed;
	return 0;
}

static int ss_reset(void *arg) { return scr_reset(&((struct streamsink *)arg)->scr); }
static int ss_data(void *arg, const uint8_t *p, size_t n)
{
	return scr_data(&((struct streamsink *)arg)->scr, p, n);
}

/* One pass, the sink sees every byte once, and the hash is the file's. */
static void test_stream_stable(void **state)
{
	struct fx *f = *state;
	/* around CAPTURE_BUF too: the first buffer is read with the open */
	static const size_t sizes[] = { 0, 1, 7, 10000, 65535, 65536, 65537, 131073, 200000 };
	uint8_t *buf = malloc(200000), sha[32], root[32];
	struct streamsink s = { .scr = { .path = f->file, .passes = 0 } };
	struct capture_sink sink = { .arg = &s, .reset = ss_reset, .data = ss_data,
				     .begin = ss_begin };
	struct capture c;

	for (size_t i = 0; i < 200000; i++)
		buf[i] = (uint8_t)(i * 13 + i / 777);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		write_bytes(f->file, buf, sizes[i]);
		s.begins = s.scr.resets = 0;
		assert_int_equal(capture_stream(f->dir, f->file, f->dir, &sink, &c), 0);
		assert_int_equal(s.begins, 1);
		assert_int_equal(s.scr.resets, 1);
		assert_int_equal(s.fed_at_begin, 0);
		assert_int_equal(s.size_at_begin, sizes[i]);
		assert_int_equal(s.scr.fed, sizes[i]);
		hash_of(buf, sizes[i], sha, root);
		assert_int_equal(c.size, sizes[i]);
		assert_memory_equal(c.sha256, sha, 32);
		assert_memory_equal(c.root, root, 32);
		assert_false(c.unstable);
		capture_release(&c);
		/* the same through a root fd held for a walk */
		int rfd = rootwalk_open_root(f->dir);

		assert_true(rfd >= 0);
		assert_int_equal(capture_stream_at(f->dir, rfd, f->file, f->dir, &sink, &c), 0);
		assert_int_equal(s.scr.fed, sizes[i]);
		assert_int_equal(c.size, sizes[i]);
		assert_memory_equal(c.sha256, sha, 32);
		assert_memory_equal(c.root, root, 32);
		capture_release(&c);
		assert_true(fcntl(rfd, F_GETFD) >= 0);   /* the walk's fd stays the walk's */
		close(rfd);
	}
	free(buf);
}

/* A file written during the streamed pass: -EBUSY, never read again. */
static void test_stream_moved(void **state)
{
	struct fx *f = *state;
	uint8_t buf[100000];
	struct streamsink s = { .scr = { .path = f->file, .passes = 1 } };
	struct capture_sink sink = { .arg = &s, .reset = ss_reset, .data = ss_data,
				     .begin = ss_begin };
	struct capture c;

	memset(buf, 'z', sizeof(buf));
	write_bytes(f->file, buf, sizeof(buf));
	assert_int_equal(capture_stream(f->dir, f->file, f->dir, &sink, &c), -EBUSY);
	assert_int_equal(s.begins, 1);
	assert_int_equal(s.scr.resets, 1);
	assert_true(s.scr.fed <= sizeof(buf));
	assert_int_equal(c.fd, -1);   /* released */
}

static void test_not_regular(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];
	struct capture c;

	snprintf(p, sizeof(p), "%s/nonexistent/x", f->dir);
	assert_int_equal(capture_file(f->dir, p, f->dir, NULL, &c), -ENOENT);
	assert_int_equal(capture_file(f->dir, "/etc/hostname", f->dir, NULL, &c), -EXDEV);
	snprintf(p, sizeof(p), "%s/link", f->dir);
	write_bytes(f->file, (const uint8_t *)"x", 1);
	assert_int_equal(symlink(f->file, p), 0);
	assert_int_equal(capture_file(f->dir, p, f->dir, NULL, &c), -ELOOP);   /* never followed */
	assert_int_equal(capture_file(f->dir, f->dir, f->dir, NULL, &c), -EINVAL);
}

/* ---- traps laid inside the root (issue 8, section 5) ---- */

/* OUT/d/f holds "outside" (and OUT/d/db a real database, OUT/fifo a FIFO);
 * ROOT/d is a symlink to OUT/d, as if swapped in during the debounce. */
struct outside { char dir[64]; char d[96]; };

static void outside_make(struct outside *o)
{
	char p[PATH_MAX];
	sqlite3 *db;

	snprintf(o->dir, sizeof(o->dir), "/tmp/vigil-capout-XXXXXX");
	assert_non_null(mkdtemp(o->dir));
	snprintf(o->d, sizeof(o->d), "%s/d", o->dir);
	assert_int_equal(mkdir(o->d, 0700), 0);
	snprintf(p, sizeof(p), "%s/f", o->d);
	write_bytes(p, (const uint8_t *)"outside", 7);
	snprintf(p, sizeof(p), "%s/db", o->d);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE secret(x); INSERT INTO secret VALUES('s');",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	snprintf(p, sizeof(p), "%s/fifo", o->dir);
	assert_int_equal(mkfifo(p, 0600), 0);
}

static void outside_free(struct outside *o)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", o->dir);
	assert_int_equal(system(cmd), 0);
}

static void test_swapped_parent(void **state)
{
	struct fx *f = *state;
	struct outside o;
	struct capture c;
	char d[PATH_MAX], p[PATH_MAX], copy[PATH_MAX];

	outside_make(&o);
	snprintf(d, sizeof(d), "%s/d", f->dir);
	assert_int_equal(mkdir(d, 0755), 0);
	snprintf(p, sizeof(p), "%s/d/f", f->dir);
	write_bytes(p, (const uint8_t *)"inside", 6);
	assert_int_equal(capture_file(f->dir, p, f->dir, NULL, &c), 0);
	assert_int_equal(c.size, 6);
	capture_release(&c);
	/* the swap: ROOT/d becomes a symlink to OUT/d */
	snprintf(copy, sizeof(copy), "%s/d.away", f->dir);
	assert_int_equal(rename(d, copy), 0);
	assert_int_equal(symlink(o.d, d), 0);
	assert_int_equal(capture_file(f->dir, p, f->dir, NULL, &c), -ELOOP);
	/* the database behind the same symlinked parent: SQLite never opens it */
	snprintf(p, sizeof(p), "%s/d/db", f->dir);
	assert_int_not_equal(capture_sqlite_backup(f->dir, p, f->dir, copy), 0);
	assert_int_equal(capture_file(f->dir, p, f->dir, NULL, &c), -ELOOP);
	outside_free(&o);
}

static void test_fifo_traps(void **state)
{
	struct fx *f = *state;
	struct outside o;
	struct capture c;
	char p[PATH_MAX], t[PATH_MAX], copy[PATH_MAX];

	outside_make(&o);
	alarm(20);   /* blocking on a FIFO fails the test instead of hanging it */
	/* a symlink to a FIFO, and a FIFO itself, inside the root */
	snprintf(p, sizeof(p), "%s/db", f->dir);
	snprintf(t, sizeof(t), "%s/fifo", o.dir);
	assert_int_equal(symlink(t, p), 0);
	assert_int_equal(capture_file(f->dir, p, f->dir, NULL, &c), -ELOOP);
	assert_int_not_equal(capture_sqlite_backup(f->dir, p, f->dir, copy), 0);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(capture_file(f->dir, p, f->dir, NULL, &c), -EINVAL);
	assert_int_not_equal(capture_sqlite_backup(f->dir, p, f->dir, copy), 0);
	/* a symlink to a database outside */
	assert_int_equal(unlink(p), 0);
	snprintf(t, sizeof(t), "%s/db", o.d);
	assert_int_equal(symlink(t, p), 0);
	assert_int_not_equal(capture_sqlite_backup(f->dir, p, f->dir, copy), 0);
	alarm(0);
	outside_free(&o);
}

/* ---- SQLite ---- */

struct writer { const char *path; volatile bool stop; int rows; };

static void *db_writer(void *arg)
{
	struct writer *w = arg;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(w->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	while (!w->stop) {
		/* each transaction keeps sum(v) == 0 and count even */
		int rc = sqlite3_exec(db, "BEGIN IMMEDIATE; INSERT INTO t(v, pad) VALUES(7, randomblob(3000));"
				      "INSERT INTO t(v, pad) VALUES(-7, randomblob(3000)); COMMIT;",
				      NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			w->rows += 2;
		else
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_close(db);
	return NULL;
}

static void check_db(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT coalesce(sum(v),0), count(*) % 2 FROM t", -1,
					    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	assert_int_equal(sqlite3_column_int(st, 1), 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_sqlite_consistent(void **state)
{
	struct fx *f = *state;
	struct writer w = { .path = f->file };
	sqlite3 *db;
	pthread_t th;
	struct capture c;
	char copy[PATH_MAX];

	assert_int_equal(sqlite3_open(f->file, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(v INTEGER, pad BLOB);",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(pthread_create(&th, NULL, db_writer, &w), 0);
	usleep(50000);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(capture_sqlite_backup(f->dir, f->file, f->dir, copy), 0);
		check_db(copy);
		unlink(copy);
		assert_int_equal(capture_file(f->dir, f->file, f->dir, NULL, &c), 0);
		assert_true(c.sqlite);
		assert_true(c.tmp[0] != '\0');
		assert_true(c.size > 0 && c.size % 512 == 0);   /* whole pages */
		capture_release(&c);
		usleep(20000);
	}
	w.stop = true;
	pthread_join(th, NULL);
	assert_true(w.rows > 0);
}

/* Rows only in the -wal (the writer still holds the database open, so
 * nothing was checkpointed) are in the backup: SQLite found LEAF-wal in
 * the directory it was given as an fd. */
static void test_sqlite_wal(void **state)
{
	struct fx *f = *state;
	sqlite3 *db, *cp;
	sqlite3_stmt *st;
	char copy[PATH_MAX], wal[PATH_MAX];
	struct stat ws;

	assert_int_equal(sqlite3_open(f->file, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
				      "CREATE TABLE t(v); INSERT INTO t VALUES(1),(2),(3);",
				      NULL, NULL, NULL), SQLITE_OK);
	snprintf(wal, sizeof(wal), "%s-wal", f->file);
	assert_int_equal(stat(wal, &ws), 0);
	assert_true(ws.st_size > 0);
	assert_int_equal(capture_sqlite_backup(f->dir, f->file, f->dir, copy), 0);
	assert_int_equal(sqlite3_open_v2(copy, &cp, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(cp, "SELECT sum(v) FROM t", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 6);
	sqlite3_finalize(st);
	sqlite3_close(cp);
	sqlite3_close(db);
	unlink(copy);
}

static void test_sqlite_header(void **state)
{
	struct fx *f = *state;
	static const struct { const char *b; size_t n; bool yes; } cases[] = {
		{ "SQLite format 3", 16, true },      /* with its NUL */
		{ "SQLite format 3 ", 16, false },
		{ "SQLite format", 13, false },
		{ "", 0, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd;

		write_bytes(f->file, (const uint8_t *)cases[i].b, cases[i].n);
		fd = open(f->file, O_RDONLY);
		assert_int_equal(capture_is_sqlite(fd), cases[i].yes);
		close(fd);
	}
	/* the header with garbage after: not a database, captured as plain bytes */
	write_bytes(f->file, (const uint8_t *)"SQLite format 3\0garbage garbage garbage", 40);
	{
		struct capture c;

		assert_int_equal(capture_file(f->dir, f->file, f->dir, NULL, &c), 0);
		assert_false(c.sqlite);
		assert_int_equal(c.size, 40);
		capture_release(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modified_during_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_still, setup, teardown),
		cmocka_unit_test_setup_teardown(test_moving, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_stable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swapped_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_traps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_consistent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_wal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_header, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
