/* test_pathstate.c — daemon/pathstate.c on a real state directory: the
 * file names (<dir>/<sub>/<hex sha256(path)>), forget clearing all four
 * pieces (row, signature, chunk list, ranges) and only the path's, drop
 * clearing only the parts asked for, move carrying the files and the row
 * to the new path and its queue entries, commit recording a row and
 * clearing a queue entry only when it was not queued again since. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/pathstate.h"

struct fx {
	char dir[64];
	struct statedb *db;
	struct rangetab *rt;
	struct pathstate ps;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char d[128];

	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-pst-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(d, sizeof(d), "%s/" PS_DIR_CHUNKS, f->dir);
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(statedb_open(f->dir, &f->db), 0);
	assert_non_null(f->rt = rangetab_new());
	f->ps = (struct pathstate){ .db = f->db, .statedir = f->dir, .rt = f->rt };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	statedb_close(f->db);
	rangetab_free(f->rt);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void put_file(struct fx *f, const char *sub, const char *path, const char *body)
{
	char file[PATH_MAX];
	int fd;

	assert_int_equal(pathstate_file(f->dir, sub, path, file), 0);
	assert_true((fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
}

/* The file's content ("" when absent). */
static const char *file_body(struct fx *f, const char *sub, const char *path)
{
	static char buf[64];
	char file[PATH_MAX];
	ssize_t n;
	int fd;

	assert_int_equal(pathstate_file(f->dir, sub, path, file), 0);
	buf[0] = '\0';
	if ((fd = open(file, O_RDONLY)) < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

/* A shipped path with all four pieces, and a queue entry. */
static void full(struct fx *f, const char *path)
{
	struct shipped s = { 0 };
	struct rangeset rs;
	struct trk_range r = { 10, 20 };

	snprintf(s.path, sizeof(s.path), "%s", path);
	s.type = 1;
	s.version = 7;
	assert_int_equal(statedb_put(f->db, &s), 0);
	put_file(f, PS_DIR_CHUNKS, path, "chunks");
	rangetab_take(f->rt, path, true, &rs);   /* starts a complete set */
	rangetab_add(f->rt, path, &r, 1, false, 100);
	assert_int_equal(statedb_enqueue(f->db, path, 1, 0, "event"), 0);
}

static bool has_row(struct fx *f, const char *path)
{
	struct shipped s;

	return statedb_get(f->db, path, &s) == 0;
}

static bool has_ranges(struct fx *f, const char *path)
{
	struct rangeset rs;

	rangetab_peek(f->rt, path, &rs);
	return rs.complete;   /* only a taken entry is complete */
}

static bool queued(struct fx *f, const char *path)
{
	struct qitem q;

	return statedb_queue_get(f->db, path, &q) == 0;
}

static void test_file_names(void **state)
{
	struct fx *f = *state;
	char a[PATH_MAX], b[PATH_MAX], longp[PATH_MAX];

	/* sha256("/a") */
	assert_int_equal(pathstate_file("/s", PS_DIR_CHUNKS, "/a", a), 0);
	assert_string_equal(a, "/s/chunks/"
			    "6a50dc8584134c7de537c0052ff6d236bf874355e050c90523e0c5ff2a543a28");
	assert_int_equal(pathstate_file("/s", PS_DIR_CHUNKS, "/b", b), 0);
	assert_string_not_equal(a, b);
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(pathstate_file(longp, PS_DIR_CHUNKS, "/a", a), -ENAMETOOLONG);
	(void)f;
}

static void test_forget(void **state)
{
	struct fx *f = *state;

	full(f, "/d/a");
	full(f, "/d/b");
	assert_int_equal(pathstate_forget(&f->ps, "/d/a"), 0);
	assert_false(has_row(f, "/d/a"));
	assert_string_equal(file_body(f, PS_DIR_CHUNKS, "/d/a"), "");
	assert_false(has_ranges(f, "/d/a"));
	assert_true(queued(f, "/d/a"));   /* the change itself is still to look at */
	/* the other path keeps everything */
	assert_true(has_row(f, "/d/b"));
	assert_string_equal(file_body(f, PS_DIR_CHUNKS, "/d/b"), "chunks");
	assert_true(has_ranges(f, "/d/b"));
	/* forgetting what is not there is fine */
	assert_int_equal(pathstate_forget(&f->ps, "/d/a"), 0);
	assert_int_equal(pathstate_forget(&f->ps, "/never"), 0);
}

static void test_drop_parts(void **state)
{
	struct fx *f = *state;

	full(f, "/p");
	assert_int_equal(pathstate_drop(&f->ps, "/p", PS_CHUNKS), 0);
	assert_string_equal(file_body(f, PS_DIR_CHUNKS, "/p"), "");
	assert_true(has_ranges(f, "/p"));
	assert_true(has_row(f, "/p"));
	assert_int_equal(pathstate_drop(&f->ps, "/p", PS_CHUNKS | PS_RANGES), 0);
	assert_string_equal(file_body(f, PS_DIR_CHUNKS, "/p"), "");
	assert_false(has_ranges(f, "/p"));
	assert_true(has_row(f, "/p"));
	/* no range table (`once`): the other parts still go */
	full(f, "/q");
	f->ps.rt = NULL;
	assert_int_equal(pathstate_drop(&f->ps, "/q", PS_CONTENT), 0);
	assert_string_equal(file_body(f, PS_DIR_CHUNKS, "/q"), "");
	assert_true(has_row(f, "/q"));
}

static void test_move(void **state)
{
	struct fx *f = *state;
	struct shipped row = { 0 }, got;
	struct qitem q;

	full(f, "/old");
	assert_int_equal(statedb_enqueue(f->db, "/new", 2, 0, "event"), 0);
	assert_int_equal(statedb_queue_get(f->db, "/new", &q), 0);
	snprintf(row.path, sizeof(row.path), "/new");
	row.type = 1;
	row.version = 8;
	assert_int_equal(pathstate_move(&f->ps, "/old", &row, q.gen), 0);
	assert_false(has_row(f, "/old"));
	assert_int_equal(statedb_get(f->db, "/new", &got), 0);
	assert_int_equal(got.version, 8);
	assert_string_equal(file_body(f, PS_DIR_CHUNKS, "/new"), "chunks");
	assert_string_equal(file_body(f, PS_DIR_CHUNKS, "/old"), "");
	assert_false(has_ranges(f, "/old"));
	assert_false(queued(f, "/old"));
	assert_false(queued(f, "/new"));
}

static void test_commit(void **state)
{
	struct fx *f = *state;
	struct shipped row = { 0 }, got;
	struct qitem q;

	snprintf(row.path, sizeof(row.path), "/c");
	row.version = 1;
	assert_int_equal(statedb_enqueue(f->db, "/c", 1, 0, "event"), 0);
	assert_int_equal(statedb_queue_get(f->db, "/c", &q), 0);
	/* queued again while shipping: the entry stays */
	assert_int_equal(statedb_enqueue(f->db, "/c", 1, 0, "event"), 0);
	assert_int_equal(pathstate_commit(&f->ps, &row, &q), 0);
	assert_int_equal(statedb_get(f->db, "/c", &got), 0);
	assert_true(queued(f, "/c"));
	assert_int_equal(statedb_queue_get(f->db, "/c", &q), 0);
	row.version = 2;
	assert_int_equal(pathstate_commit(&f->ps, &row, &q), 0);
	assert_false(queued(f, "/c"));
	assert_int_equal(statedb_get(f->db, "/c", &got), 0);
	assert_int_equal(got.version, 2);
	/* no queue entry given: the row only */
	row.version = 3;
	assert_int_equal(statedb_enqueue(f->db, "/c", 1, 0, "event"), 0);
	assert_int_equal(pathstate_commit(&f->ps, &row, NULL), 0);
	assert_true(queued(f, "/c"));
	assert_int_equal(statedb_get(f->db, "/c", &got), 0);
	assert_int_equal(got.version, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_parts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
