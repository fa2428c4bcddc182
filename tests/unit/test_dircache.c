/* test_dircache.c — the bpf tracker's cache of directories' real paths:
 * a symlink is resolved, the answer is kept while the name generation
 * stays (even when the link changed: the kernel's counter is what says
 * so), resolved again once it moved; a missing directory is not kept;
 * more directories than slots; an answer longer than the caller's buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/dircache.h"

struct fx {
	char top[64];              /* realpath of the temp dir */
	char a[PATH_MAX], b[PATH_MAX], link[PATH_MAX];
};

static int setup(void **state)
{
	static struct fx f;
	char tmpl[] = "/tmp/test_dircache.XXXXXX", real[PATH_MAX];

	/* realpath writes up to PATH_MAX bytes (_FORTIFY_SOURCE checks it) */
	if (!mkdtemp(tmpl) || !realpath(tmpl, real) ||
	    snprintf(f.top, sizeof(f.top), "%s", real) >= (int)sizeof(f.top))
		return -1;
	snprintf(f.a, sizeof(f.a), "%s/a", f.top);
	snprintf(f.b, sizeof(f.b), "%s/b", f.top);
	snprintf(f.link, sizeof(f.link), "%s/l", f.top);
	if (mkdir(f.a, 0755) < 0 || mkdir(f.b, 0755) < 0 || symlink("a", f.link) < 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->link);
	rmdir(f->a);
	rmdir(f->b);
	rmdir(f->top);
	return 0;
}

static void expect(struct dircache *c, uint64_t gen, const char *dir, const char *want,
		   uint64_t hits, uint64_t misses)
{
	char out[PATH_MAX];
	uint64_t h, m;

	assert_int_equal(dircache_real(c, gen, dir, out, sizeof(out)), 0);
	assert_string_equal(out, want);
	dircache_stats(c, &h, &m);
	assert_int_equal(h, hits);
	assert_int_equal(m, misses);
}

static void test_generation(void **state)
{
	struct fx *f = *state;
	struct dircache *c = dircache_new();

	assert_non_null(c);
	expect(c, 1, f->link, f->a, 0, 1);
	expect(c, 1, f->link, f->a, 1, 1);
	/* the link now leads to b; same generation: the cached answer */
	assert_int_equal(unlink(f->link), 0);
	assert_int_equal(symlink("b", f->link), 0);
	expect(c, 1, f->link, f->a, 2, 1);
	/* the counter moved (the kernel saw the symlink): resolved again */
	expect(c, 2, f->link, f->b, 2, 2);
	expect(c, 2, f->link, f->b, 3, 2);
	/* a plain directory resolves to itself */
	expect(c, 2, f->a, f->a, 3, 3);
	dircache_free(c);
	dircache_free(NULL);
}

static void test_missing(void **state)
{
	struct fx *f = *state;
	struct dircache *c = dircache_new();
	char gone[PATH_MAX], out[PATH_MAX];

	assert_non_null(c);
	snprintf(gone, sizeof(gone), "%s/gone", f->top);
	assert_int_equal(dircache_real(c, 1, gone, out, sizeof(out)), -ENOENT);
	/* created without the counter moving (a mkdir): found at once */
	assert_int_equal(mkdir(gone, 0755), 0);
	expect(c, 1, gone, gone, 0, 2);
	assert_int_equal(rmdir(gone), 0);
	dircache_free(c);
}

/* More directories than slots (each its own string), twice round: every
 * answer right, whichever entry the next one pushed out. */
static void test_many(void **state)
{
	struct fx *f = *state;
	struct dircache *c = dircache_new();
	char d[PATH_MAX], want[PATH_MAX], out[PATH_MAX];
	uint64_t h, m;

	assert_non_null(c);
	assert_int_equal(unlink(f->link), 0);
	assert_int_equal(symlink("a", f->link), 0);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 3 * DIRCACHE_SLOTS; i++) {
			int n = snprintf(d, sizeof(d), "%s/", f->top);

			for (int k = 0; k < i; k++)
				n += snprintf(d + n, sizeof(d) - n, "./");
			snprintf(d + n, sizeof(d) - n, "%s", i % 3 ? "l" : "b");
			snprintf(want, sizeof(want), "%s/%s", f->top, i % 3 ? "a" : "b");
			assert_int_equal(dircache_real(c, 7, d, out, sizeof(out)), 0);
			assert_string_equal(out, want);
		}
	dircache_stats(c, &h, &m);
	assert_int_equal(h + m, 6 * DIRCACHE_SLOTS);
	assert_true(m >= 3 * DIRCACHE_SLOTS);     /* the first round */
	dircache_free(c);
}

static void test_small_buffer(void **state)
{
	struct fx *f = *state;
	struct dircache *c = dircache_new();
	char out[8];

	assert_non_null(c);
	assert_int_equal(dircache_real(c, 1, f->a, out, sizeof(out)), -ENAMETOOLONG);
	/* stored all the same: the next caller with room gets it */
	expect(c, 1, f->a, f->a, 1, 1);
	assert_int_equal(dircache_real(c, 1, f->a, out, sizeof(out)), -ENAMETOOLONG);
	dircache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generation),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_small_buffer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
