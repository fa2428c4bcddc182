/* test_scan.c — the reconcile scan on temp trees: new files, dirs, empty
 * dirs and symlinks are queued; a clean tree queues nothing; modified,
 * deleted, renamed, mode changes and symlink retargets are found; racily
 * clean entries are queued for a later look; the state dir and SQLite
 * companions are left out. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/proto.h"
#include "daemon/scan.h"

struct fx {
	char dir[64], root[96], state[96];
	struct statedb *db;
	struct scan_ctx sc;
};

static void put_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-scan-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/root/.state", f->dir);   /* inside the root */
	assert_int_equal(mkdir(f->root, 0755), 0);
	assert_int_equal(mkdir(f->state, 0700), 0);
	assert_int_equal(statedb_open(f->state, &f->db), 0);
	assert_int_equal(scan_ctx_init(&f->sc, f->db, f->state), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	statedb_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The queued paths, relative to the root, sorted, joined by spaces. */
static const char *queued(struct fx *f, char *out, size_t cap)
{
	struct qitem *q = calloc(256, sizeof(*q));
	size_t n = 0, rl = strlen(f->root), len = 0;

	assert_int_equal(statedb_queue_list(f->db, "", q, 256, &n), 0);
	/* selection sort by path for a stable string */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(q[j].path, q[i].path) < 0) {
				struct qitem t = q[i];
				q[i] = q[j];
				q[j] = t;
			}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *rel = strlen(q[i].path) > rl ? q[i].path + rl : ".";
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " " : "", rel);
	}
	free(q);
	return out;
}

/* Pretend every queued path was shipped now (rows from lstat). */
static void ship_all(struct fx *f, int64_t capture_ns)
{
	struct qitem *q = calloc(256, sizeof(*q));
	struct shipped s;
	struct stat st;
	size_t n = 0;

	assert_int_equal(statedb_queue_list(f->db, "", q, 256, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (lstat(q[i].path, &st) == 0) {
			memset(&s, 0, sizeof(s));
			snprintf(s.path, sizeof(s.path), "%s", q[i].path);
			scan_fill_stat(&s, &st);
			s.version = 1;
			s.capture_ns = capture_ns;
			assert_int_equal(statedb_put(f->db, &s), 0);
		} else {
			assert_int_equal(statedb_del(f->db, q[i].path), 0);
		}
		assert_int_equal(statedb_queue_remove(f->db, q[i].path), 0);
	}
	free(q);
}

static void path_of(struct fx *f, char *out, const char *rel)
{
	snprintf(out, PATH_MAX, "%s/%s", f->root, rel);
}

static void build_tree(struct fx *f)
{
	char p[PATH_MAX], q[PATH_MAX];

	path_of(f, p, "a.txt");     put_file(p, "alpha");
	path_of(f, p, "sub");       mkdir(p, 0755);
	path_of(f, p, "sub/b.txt"); put_file(p, "beta");
	path_of(f, p, "empty");     mkdir(p, 0700);
	path_of(f, p, "link");      assert_int_equal(symlink("a.txt", p), 0);
	path_of(f, p, "fifo");      assert_int_equal(mkfifo(p, 0600), 0);   /* never shipped */
	path_of(f, p, "db");        put_file(p, "SQLite format 3");
	path_of(f, q, "db-wal");    put_file(q, "wal bytes");                /* companion */
	path_of(f, q, "x-wal");     put_file(q, "no base: a plain file");
}

static void test_new_and_clean(void **state)
{
	struct fx *f = *state;
	struct scan_stats st = { 0 };
	char out[4096];

	build_tree(f);
	assert_int_equal(scan_tree(&f->sc, f->root, real_ns(), &st), 0);
	assert_string_equal(queued(f, out, sizeof(out)),
			    ". /a.txt /db /empty /link /sub /sub/b.txt /x-wal");
	assert_int_equal(st.queued, 8);
	ship_all(f, real_ns() + 10LL * 1000000000LL);   /* well after every mtime */
	memset(&st, 0, sizeof(st));
	assert_int_equal(scan_tree(&f->sc, f->root, real_ns(), &st), 0);
	assert_string_equal(queued(f, out, sizeof(out)), "");
	assert_int_equal(st.queued + st.deleted, 0);
}

static void test_changes(void **state)
{
	struct fx *f = *state;
	char out[4096], p[PATH_MAX], q[PATH_MAX];

	build_tree(f);
	scan_tree(&f->sc, f->root, real_ns(), NULL);
	ship_all(f, real_ns() + 10LL * 1000000000LL);

	path_of(f, p, "a.txt");     put_file(p, "alpha, longer now");       /* modified */
	path_of(f, p, "sub/b.txt"); path_of(f, q, "sub/c.txt");
	assert_int_equal(rename(p, q), 0);                                  /* renamed */
	path_of(f, p, "empty");     assert_int_equal(chmod(p, 0755), 0);    /* mode */
	path_of(f, p, "link");      unlink(p);
	assert_int_equal(symlink("sub", p), 0);                             /* retarget */
	path_of(f, p, "x-wal");     unlink(p);                              /* deleted */
	assert_int_equal(scan_tree(&f->sc, f->root, real_ns(), NULL), 0);
	assert_string_equal(queued(f, out, sizeof(out)),
			    ". /a.txt /empty /link /sub /sub/b.txt /sub/c.txt /x-wal");
}

static void test_deleted_subtree(void **state)
{
	struct fx *f = *state;
	char out[4096], cmd[PATH_MAX + 16];

	build_tree(f);
	scan_tree(&f->sc, f->root, real_ns(), NULL);
	ship_all(f, real_ns() + 10LL * 1000000000LL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s/sub", f->root);
	assert_int_equal(system(cmd), 0);
	/* a rescan of just the vanished directory still finds its files gone */
	snprintf(cmd, sizeof(cmd), "%s/sub", f->root);
	assert_int_equal(scan_tree(&f->sc, cmd, real_ns(), NULL), 0);
	assert_string_equal(queued(f, out, sizeof(out)), "/sub /sub/b.txt");
}

static void test_racy(void **state)
{
	struct fx *f = *state;
	struct stat st;
	struct qitem q;
	char out[4096], p[PATH_MAX];
	int64_t mt;

	build_tree(f);
	scan_tree(&f->sc, f->root, real_ns(), NULL);
	path_of(f, p, "a.txt");
	assert_int_equal(lstat(p, &st), 0);
	mt = scan_ts(&st.st_mtim);
	/* captured 0.5 s after its mtime: within the window, so racily clean */
	ship_all(f, mt + 500000000LL);
	assert_int_equal(scan_tree(&f->sc, f->root, mt + 600000000LL, NULL), 0);
	assert_true(strstr(queued(f, out, sizeof(out)), "/a.txt") != NULL);
	assert_int_equal(statedb_queue_get(f->db, p, &q), 0);
	assert_string_equal(q.reason, "racy");
	assert_int_equal(q.not_before_ns, mt + SCAN_RACY_NS);
	/* captured long after: clean */
	ship_all(f, mt + SCAN_RACY_NS + 1000000000LL);   /* (the other files are a few ms newer) */
	assert_int_equal(scan_tree(&f->sc, f->root, real_ns(), NULL), 0);
	assert_string_equal(queued(f, out, sizeof(out)), "");
}

static void test_helpers(void **state)
{
	struct fx *f = *state;
	struct shipped s = { 0 };
	struct stat st;
	char p[PATH_MAX + 32];

	path_of(f, p, "f");
	put_file(p, "x");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(scan_differs(&st, &s));
	scan_fill_stat(&s, &st);
	assert_false(scan_differs(&st, &s));
	s.mode ^= 0111;
	assert_true(scan_differs(&st, &s));
	assert_int_equal(scan_type(S_IFREG), VG_FILE);
	assert_int_equal(scan_type(S_IFDIR), VG_DIR);
	assert_int_equal(scan_type(S_IFLNK), VG_SYMLINK);
	assert_int_equal(scan_type(S_IFIFO), 0);
	assert_true(scan_excluded(&f->sc, f->sc.statedir));
	snprintf(p, sizeof(p), "%s/state.db", f->sc.statedir);
	assert_true(scan_excluded(&f->sc, p));
	snprintf(p, sizeof(p), "%s-sibling", f->sc.statedir);
	assert_false(scan_excluded(&f->sc, p));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_and_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_racy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_helpers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
