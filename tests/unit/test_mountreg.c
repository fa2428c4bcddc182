/* test_mountreg.c — fuse/mountreg.c: this mount's line in STATE/mounts.
 * A table of adds and removes on a real file checks the exact bytes after
 * each: one line per mount, no duplicate, other mounts' lines (and a last
 * line without its newline) kept, removing an absent line harmless. */
#include <errno.h>
#include <fcntl.h>
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

#include "common/buf.h"
#include "common/fdio.h"
#include "fuse/mountreg.h"

struct step {
	const char *mp;
	bool add;
	const char *want;               /* STATE/mounts afterwards; NULL: absent */
};

static const struct step steps[] = {
	{ "/data/m1", false, NULL },
	{ "/data/m1", true, "/data/m1\n" },
	{ "/data/m1", true, "/data/m1\n" },
	{ "/data/m2", true, "/data/m1\n/data/m2\n" },
	{ "/data/m", true, "/data/m1\n/data/m2\n/data/m\n" },
	{ "/data/m1", false, "/data/m2\n/data/m\n" },
	{ "/data/m1", false, "/data/m2\n/data/m\n" },
	{ "/data/m2", false, "/data/m\n" },
	{ "/data/m", false, "" },
};

static void expect_file(const char *dir, const char *want)
{
	char path[256];
	struct buf b;
	int e;

	snprintf(path, sizeof(path), "%s/%s", dir, MOUNTREG_FILE);
	buf_init(&b, 4096);
	e = file_read_all(AT_FDCWD, path, 0, &b);
	if (!want) {
		assert_int_equal(e, -ENOENT);
	} else {
		assert_int_equal(e, 0);
		assert_int_equal(b.len, strlen(want));
		assert_memory_equal(b.len ? (const char *)b.data : "", want, b.len);
	}
	buf_free(&b);
}

static void test_steps(void **state)
{
	char dir[] = "/tmp/test_mountreg.XXXXXX";

	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(mountreg_update(dir, steps[i].mp, steps[i].add), 0);
		expect_file(dir, steps[i].want);
	}
	/* a foreign line without its newline, and blank lines */
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", dir, MOUNTREG_FILE);
	assert_int_equal(file_write_atomic(path, "\n/x\n\n/y", 7, 0644, FILE_NOSYNC), 0);
	assert_int_equal(mountreg_update(dir, "/z", true), 0);
	expect_file(dir, "/x\n/y\n/z\n");
	assert_int_equal(mountreg_update(dir, "/y", false), 0);
	expect_file(dir, "/x\n/z\n");
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, MOUNTREG_LOCK);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

static void test_no_dir(void **state)
{
	assert_int_equal(mountreg_update("/nonexistent/state", "/m", true), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_no_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
