/* test_shipkeep.c — one shipper (daemon/ship*.c) against the real
 * vigil-server: a queued file whose read finds nothing to send must
 * refresh its own shipped row and no other.  The soak's lost directory
 * (docs/reliability.md, "Under faults"): the row was built from the last
 * PUT sent, so a directory's row took the file's stat; when the file was
 * renamed, the shipper found that row by inode and sent the directory as
 * the rename's source, and the server moved the whole directory's files
 * under the file's new name.  Here: ship dir d (with d/a) and file x,
 * replace x by a copy with the same bytes and mtime (a new inode, what an
 * editor's save-and-rename does), send a PUT of d (a chmod), ship x
 * (nothing to send), rename x to y and ship y and x.  The server must hold
 * d/a and y, and x as deleted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>


#include "ship_fixture.h"

static int setup(void **state)
{
	return shipfix_setup("test_shipkeep");
}

static int teardown(void **state)
{
	return shipfix_teardown();
}

static void test_keep_own_row(void **state)
{
	char x[PATH_MAX], xt[PATH_MAX], y[PATH_MAX], d[PATH_MAX];
	struct timespec mt[2];
	struct vg_entry *e = malloc(sizeof(*e));
	struct shipped *row = malloc(sizeof(*row));
	struct stat st;

	assert_non_null(e);
	assert_non_null(row);
	at(d, "d");
	at(x, "x.bin");
	at(xt, "x.bin.tmp");
	at(y, "y.bin");
	assert_int_equal(mkdir(d, 0755), 0);
	write_file("d/a", "the directory's file\n", 0644);
	write_file("x.bin", "the file that moves\n", 0644);
	ship("d");
	ship("d/a");
	ship("x.bin");
	assert_int_equal(latest("x.bin", e), 0);
	assert_int_equal(e->version, 1);

	/* x replaced by a copy: same bytes, mode and mtime, a new inode */
	assert_int_equal(stat(x, &st), 0);
	write_file("x.bin.tmp", "the file that moves\n", 0644);
	mt[0] = st.st_atim;
	mt[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, xt, mt, 0), 0);
	assert_int_equal(rename(xt, x), 0);
	/* a PUT of d goes out just before x is looked at again */
	assert_int_equal(chmod(d, 0700), 0);
	ship("d");
	ship("x.bin");   /* read: same content and metadata, nothing sent */
	assert_int_equal(latest("x.bin", e), 0);
	assert_int_equal(e->version, 1);

	/* x renamed: the server moves x, and only x */
	assert_int_equal(rename(x, y), 0);
	ship("y.bin");
	ship("x.bin");
	assert_int_equal(latest("y.bin", e), 0);
	assert_int_equal(e->type, VG_FILE);
	assert_false(e->deleted);
	assert_int_equal(e->size, strlen("the file that moves\n"));
	assert_int_equal(latest("x.bin", e), 0);
	assert_true(e->deleted);
	assert_int_equal(latest("d/a", e), 0);
	assert_false(e->deleted);
	assert_int_equal(latest("d", e), 0);
	assert_int_equal(e->type, VG_DIR);
	assert_false(e->deleted);
	/* and the shipped table still knows d as a directory */
	assert_int_equal(statedb_get(db, d, row), 0);
	assert_int_equal(row->type, VG_DIR);
	assert_int_equal(statedb_get(db, y, row), 0);
	assert_int_equal(stat(y, &st), 0);
	assert_int_equal(row->ino, st.st_ino);
	free(e);
	free(row);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_own_row),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
