/* test_mountinfo.c — mountinfo_parse over lines as proc(5) gives them:
 * optional fields, escaped spaces in paths, long superblock options, and
 * lines that are not mountinfo; mountinfo_each over this process's own
 * mounts finds "/" and /proc; mount_id_of's fdinfo fallback gives statx's
 * id on /, a tmpfs, a bind mount of a directory and of a file (mounted in a
 * private mount namespace), and -ENOTSUP without /proc. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/mountinfo.h"
#include "tests/unit/mount_ids.h"

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

/* ---- mount ids ---- */

static char ids_base[] = "/tmp/vigil-mntid-XXXXXX";

static void sub(char *out, const char *name)
{
	assert_true(snprintf(out, PATH_MAX, "%s/%s", ids_base, name) < PATH_MAX);
}

static void touch(const char *p)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	close(fd);
}

static int ids_teardown(void **state)
{
	static const char *const mounts[] = { "tmpfs", "bind", "fbind" };
	char p[PATH_MAX], cmd[PATH_MAX + 16];

	mount_ids_hide(MNTID_TRUE);
	for (size_t i = 0; i < 3; i++) {
		sub(p, mounts[i]);
		umount2(p, MNT_DETACH);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", ids_base);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_mount_ids(void **state)
{
	char tmpfs[PATH_MAX], src[PATH_MAX], bind[PATH_MAX], file[PATH_MAX], fbind[PATH_MAX];
	const char *paths[] = { "/", ids_base, tmpfs, bind, fbind, "/proc" };
	enum { ROOT, BASE, TMPFS, BIND, FBIND, PROC, N };
	static const enum mount_ids_lie lies[] = { MNTID_NO_MASK, MNTID_ZERO };
	uint64_t truth[N], id;
	struct stat a, b;
	int fd;

	/* a private mount namespace: the test's mounts are gone with it */
	if (unshare(CLONE_NEWNS) < 0)
		fail_msg("unshare(CLONE_NEWNS): %s", strerror(errno));
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	assert_non_null(mkdtemp(ids_base));
	sub(tmpfs, "tmpfs");
	sub(src, "src");
	sub(bind, "bind");
	sub(file, "src/file");
	sub(fbind, "fbind");
	assert_int_equal(mkdir(tmpfs, 0755), 0);
	assert_int_equal(mkdir(src, 0755), 0);
	assert_int_equal(mkdir(bind, 0755), 0);
	touch(file);
	touch(fbind);
	assert_int_equal(mount("tmpfs", tmpfs, "tmpfs", 0, "size=1m"), 0);
	assert_int_equal(mount(src, bind, NULL, MS_BIND, NULL), 0);
	assert_int_equal(mount(file, fbind, NULL, MS_BIND, NULL), 0);
	/* the case st_dev cannot see: a bind mount of base's own filesystem */
	assert_int_equal(stat(ids_base, &a), 0);
	assert_int_equal(stat(bind, &b), 0);
	assert_int_equal(a.st_dev, b.st_dev);

	for (int i = 0; i < N; i++) {
		struct statx sx;

		assert_true((fd = open(paths[i], O_RDONLY | O_CLOEXEC | O_NOCTTY)) >= 0);
		assert_int_equal(statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx), 0);
		if (!(sx.stx_mask & STATX_MNT_ID) || !sx.stx_mnt_id) {
			close(fd);
			print_message("skip: this kernel's statx gives no mount id to compare with\n");
			skip();
		}
		truth[i] = sx.stx_mnt_id;
		assert_int_equal(mount_id_fdinfo(fd, &id), 0);
		assert_int_equal(id, truth[i]);
		for (size_t k = 0; k < sizeof(lies) / sizeof(lies[0]); k++) {
			mount_ids_hide(lies[k]);
			id = 0;
			assert_int_equal(mount_id_of(fd, &id), 0);
			mount_ids_hide(MNTID_TRUE);
			assert_int_equal(id, truth[i]);
		}
		close(fd);
	}
	/* the ids tell each mount from the directory it sits in */
	assert_int_not_equal(truth[BIND], truth[BASE]);
	assert_int_not_equal(truth[FBIND], truth[BASE]);
	assert_int_not_equal(truth[FBIND], truth[BIND]);
	assert_int_not_equal(truth[TMPFS], truth[BASE]);
	assert_int_not_equal(truth[PROC], truth[ROOT]);

	/* no /proc (a tmpfs over it): neither says, and the caller is told */
	assert_true((fd = open(bind, O_RDONLY | O_CLOEXEC)) >= 0);
	assert_int_equal(mount("tmpfs", "/proc", "tmpfs", 0, "size=1m"), 0);
	assert_int_equal(mount_id_fdinfo(fd, &id), -ENOTSUP);
	for (size_t k = 0; k < sizeof(lies) / sizeof(lies[0]); k++) {
		mount_ids_hide(lies[k]);
		assert_int_equal(mount_id_of(fd, &id), -ENOTSUP);
	}
	mount_ids_hide(MNTID_TRUE);
	assert_int_equal(mount_id_of(fd, &id), 0);   /* statx alone needs no /proc */
	assert_int_equal(id, truth[BIND]);
	assert_int_equal(umount2("/proc", MNT_DETACH), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_long_super),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_path_too_long),
		cmocka_unit_test(test_each_own_mounts),
		cmocka_unit_test_teardown(test_mount_ids, ids_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
