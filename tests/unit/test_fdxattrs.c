/* test_fdxattrs.c — daemon/xattrs.c read through an open fd (what a
 * batched small file uses) gives the entry the path-based read gives:
 * the same names in the same order with the same values, none, and the
 * same left-out count past VG_XATTR_MAX. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/xattrs.h"

struct fx {
	char dir[64], path[128];
	int fd;
	struct vg_entry *a, *b;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/var/tmp/vigil-fdx-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/f", f->dir);
	assert_true((f->fd = open(f->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) >= 0);
	assert_non_null(f->a = calloc(1, sizeof(*f->a)));
	assert_non_null(f->b = calloc(1, sizeof(*f->b)));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close(f->fd);
	unlink(f->path);
	rmdir(f->dir);
	free(f->a);
	free(f->b);
	free(f);
	return 0;
}

/* Both reads of f's file; their encodings must be equal. */
static void same(struct fx *f, unsigned want_skipped)
{
	unsigned sa = 99, sb = 99;

	memset(f->b->xattrs, 0xee, sizeof(f->b->xattrs));   /* stale bytes are not read */
	assert_int_equal(xattrs_fill(f->a, f->path, &sa), 0);
	assert_int_equal(xattrs_fill_fd(f->b, f->fd, f->path, &sb), 0);
	assert_int_equal(sa, want_skipped);
	assert_int_equal(sb, want_skipped);
	assert_int_equal(f->a->xattr_len, f->b->xattr_len);
	assert_memory_equal(f->a->xattrs, f->b->xattrs, f->a->xattr_len);
}

static void test_none(void **state)
{
	struct fx *f = *state;

	same(f, 0);
	assert_int_equal(f->b->xattr_len, 0);
}

static void test_some(void **state)
{
	struct fx *f = *state;

	assert_int_equal(setxattr(f->path, "user.zeta", "last", 4, 0), 0);
	assert_int_equal(setxattr(f->path, "user.alpha", "first", 5, 0), 0);
	assert_int_equal(setxattr(f->path, "user.empty", "", 0, 0), 0);
	same(f, 0);
	assert_true(f->b->xattr_len > 0);
	/* sorted by name: user.alpha first */
	assert_memory_equal(f->b->xattrs, "\0\0\0\x0auser.alpha", 14);
}

static void test_many(void **state)
{
	struct fx *f = *state;
	char name[32], val[64];

	for (int i = 0; i < 24; i++) {   /* within ext4's one block of xattrs */
		snprintf(name, sizeof(name), "user.n%02d", 23 - i);
		snprintf(val, sizeof(val), "value %d", i * 7);
		assert_int_equal(setxattr(f->path, name, val, strlen(val), 0), 0);
	}
	same(f, 0);
	assert_memory_equal(f->b->xattrs, "\0\0\0\x08user.n00", 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_some, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
