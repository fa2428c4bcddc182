/* test_mountinfo.c — mountinfo_parse over lines as proc(5) gives them:
 * optional fields, escaped spaces in paths, long superblock options, and
 * lines that are not mountinfo; mountinfo_each over this process's own
 * mounts finds "/" and /proc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <cmocka.h>

#include "common/mountinfo.h"

static void test_lines(void **state)
{
	struct mountinfo m;

	assert_int_equal(mountinfo_parse("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 "
					 "/dev/root rw,errors=continue\n", &m), 0);
	assert_int_equal(major(m.dev), 98);
	assert_int_equal(minor(m.dev), 0);
	assert_string_equal(m.root, "/mnt1");
	assert_string_equal(m.point, "/mnt2");
	assert_string_equal(m.fstype, "ext3");
	assert_string_equal(m.super, "rw,errors=continue\n");

	/* no optional fields; a space, a tab and a backslash escaped */
	assert_int_equal(mountinfo_parse("50 1 0:45 / /home/a\\040b\\011c\\134d rw - fuse.vigil vigil "
					 "rw,user_id=0", &m), 0);
	assert_string_equal(m.point, "/home/a b\tc\\d");
	assert_string_equal(m.fstype, "fuse.vigil");
	assert_int_equal(minor(m.dev), 45);
	assert_string_equal(m.super, "rw,user_id=0");

	/* cgroup v1 with its controllers in the superblock options */
	assert_int_equal(mountinfo_parse("30 25 0:27 / /sys/fs/cgroup/freezer rw shared:12 shared:13 "
					 "- cgroup cgroup rw,freezer\n", &m), 0);
	assert_string_equal(m.fstype, "cgroup");
	assert_string_equal(m.super, "rw,freezer\n");
}

static void test_long_super(void **state)
{
	size_t n = 8192;
	char *line = malloc(n), *p = line;
	struct mountinfo m;

	assert_non_null(line);
	p += snprintf(p, n, "70 1 0:60 / /merged rw - overlay overlay rw,lowerdir=");
	while ((size_t)(p - line) < n - 64)
		p += snprintf(p, n - (size_t)(p - line), "/layer:");
	snprintf(p, n - (size_t)(p - line), "/top\n");
	assert_int_equal(mountinfo_parse(line, &m), 0);
	assert_string_equal(m.point, "/merged");
	assert_string_equal(m.fstype, "overlay");
	assert_true(strlen(m.super) > 4096);
	free(line);
}

static void test_bad_lines(void **state)
{
	static const char *bad[] = {
		"",
		"\n",
		"36 35 98:0 /mnt1 /mnt2 rw,noatime\n",            /* no separator */
		"36 35 98 /mnt1 /mnt2 rw - ext3 /dev/root rw\n",  /* no minor */
		"36 35 98:0x /mnt1 /mnt2 rw - ext3 /dev/root rw\n",
		"36 35 98:0 /mnt1 rw - ext3 /dev/root rw\n",      /* no point */
		"36 35 98:0 /mnt1 /mnt2 rw - \n",                 /* no fstype */
	};
	struct mountinfo m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mountinfo_parse(bad[i], &m), -22);
}

static void test_path_too_long(void **state)
{
	size_t n = PATH_MAX + 128;
	char *line = malloc(n);
	struct mountinfo m;
	int k;

	assert_non_null(line);
	k = snprintf(line, n, "1 1 8:1 / /");
	memset(line + k, 'a', PATH_MAX);
	snprintf(line + k + PATH_MAX, n - (size_t)k - PATH_MAX, " rw - ext4 /dev/sda1 rw\n");
	assert_int_equal(mountinfo_parse(line, &m), -22);
	free(line);
}

struct seen {
	int root, proc;
	dev_t root_dev;
};

static int note(const struct mountinfo *m, const char *line, void *arg)
{
	struct seen *s = arg;

	if (!strcmp(m->point, "/") && m->dev == s->root_dev)
		s->root++;
	if (!strcmp(m->point, "/proc") && !strcmp(m->fstype, "proc"))
		s->proc++;
	assert_non_null(strstr(line, m->fstype));
	return 0;
}

static int stop_at_first(const struct mountinfo *m, const char *line, void *arg)
{
	(*(int *)arg)++;
	return 7;
}

static void test_each_own_mounts(void **state)
{
	struct seen s = { 0 };
	struct stat st;
	int calls = 0;

	assert_int_equal(stat("/", &st), 0);
	s.root_dev = st.st_dev;
	assert_int_equal(mountinfo_each(note, &s), 0);
	assert_true(s.root >= 1);
	assert_true(s.proc >= 1);
	assert_int_equal(mountinfo_each(stop_at_first, &calls), 7);
	assert_int_equal(calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_long_super),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_path_too_long),
		cmocka_unit_test(test_each_own_mounts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
