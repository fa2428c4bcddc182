/* test_rootwalk.c — root-confined opens, through openat2 and through the
 * component-by-component fallback (forced by the test hook), against the
 * traps a hostile user can lay inside a watched root: a parent directory
 * swapped for a symlink, a symlink to a FIFO, a symlink to a root-only file
 * outside the root, ".." escapes, a bind mount and a tmpfs below the root. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/rootwalk.h"
#include "tests/unit/mount_ids.h"

struct fx {
	char root[64], out[64];
	char mnt[PATH_MAX], tmpfs[PATH_MAX];
	bool bound, tmpfs_on;
};

static void put(const char *path, const char *s, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static void pathf(char *out, const char *a, const char *b)
{
	assert_true(snprintf(out, PATH_MAX, "%s/%s", a, b) < PATH_MAX);
}

/* Layout: ROOT/d/f ("inside"), ROOT/fifo, OUT/d/f ("outside"),
 * OUT/secret (0600, "secret"), OUT/fifo. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char p[PATH_MAX];

	snprintf(f->root, sizeof(f->root), "/tmp/vigil-rw-XXXXXX");
	snprintf(f->out, sizeof(f->out), "/tmp/vigil-rwout-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	assert_non_null(mkdtemp(f->out));
	pathf(p, f->root, "d");
	assert_int_equal(mkdir(p, 0755), 0);
	pathf(p, f->root, "d/f");
	put(p, "inside", 0644);
	pathf(p, f->root, "fifo");
	assert_int_equal(mkfifo(p, 0644), 0);
	pathf(p, f->out, "d");
	assert_int_equal(mkdir(p, 0755), 0);
	pathf(p, f->out, "d/f");
	put(p, "outside", 0644);
	pathf(p, f->out, "secret");
	put(p, "secret", 0600);
	pathf(p, f->out, "fifo");
	assert_int_equal(mkfifo(p, 0644), 0);
	*state = f;
	alarm(20);   /* a walk that blocks on a FIFO fails the test */
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[256];

	alarm(0);
	if (f->bound)
		umount2(f->mnt, MNT_DETACH);
	if (f->tmpfs_on)
		umount2(f->tmpfs, MNT_DETACH);
	rootwalk_force_fallback(false);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", f->root, f->out);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void read_is(int fd, const char *want)
{
	char b[64];
	ssize_t n;

	assert_true(fd >= 0);
	n = pread(fd, b, sizeof(b), 0);
	assert_int_equal(n, (ssize_t)strlen(want));
	assert_memory_equal(b, want, strlen(want));
	close(fd);
}

static int open_in(struct fx *f, const char *rel, int oflags, unsigned flags)
{
	char p[PATH_MAX];

	pathf(p, f->root, rel);
	return rootwalk_open(f->root, p, oflags, flags);
}

/* Every case twice: openat2, then the fallback walk. */
static void both(void (*fn)(struct fx *f), struct fx *f)
{
	rootwalk_force_fallback(false);
	fn(f);
	rootwalk_force_fallback(true);
	fn(f);
	rootwalk_force_fallback(false);
}

static void plain(struct fx *f)
{
	int fd;

	read_is(open_in(f, "d/f", O_RDONLY, RW_REG), "inside");
	assert_true((fd = rootwalk_open(f->root, f->root, O_RDONLY | O_DIRECTORY, RW_DIR)) >= 0);
	close(fd);
	assert_int_equal(open_in(f, "d", O_RDONLY, RW_REG), -EINVAL);
	assert_int_equal(open_in(f, "d/f", O_RDONLY, RW_DIR), -ENOTDIR);
	assert_int_equal(open_in(f, "d/nope", O_RDONLY, RW_REG), -ENOENT);
	assert_int_equal(open_in(f, "nope/f", O_RDONLY, RW_REG), -ENOENT);
	/* O_NONBLOCK is cleared unless asked for */
	assert_true((fd = open_in(f, "d/f", O_RDONLY, RW_REG)) >= 0);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
}

static void test_plain(void **state) { both(plain, *state); }

static void swapped_parent(struct fx *f)
{
	char d[PATH_MAX], o[PATH_MAX], away[PATH_MAX];

	pathf(d, f->root, "d");
	pathf(away, f->root, "d.away");
	pathf(o, f->out, "d");
	/* the debounce window: d is renamed and a symlink to OUT/d takes its name */
	assert_int_equal(rename(d, away), 0);
	assert_int_equal(symlink(o, d), 0);
	assert_int_equal(open_in(f, "d/f", O_RDONLY, RW_REG), -ELOOP);
	assert_int_equal(open_in(f, "d", O_RDONLY | O_DIRECTORY, RW_DIR), -ELOOP);
	/* a relative symlink climbing out is refused the same way */
	assert_int_equal(unlink(d), 0);
	assert_int_equal(symlink("../../../../../../../..", d), 0);
	assert_int_equal(open_in(f, "d/etc/passwd", O_RDONLY, RW_REG), -ELOOP);
	assert_int_equal(unlink(d), 0);
	assert_int_equal(rename(away, d), 0);
	read_is(open_in(f, "d/f", O_RDONLY, RW_REG), "inside");
}

static void test_swapped_parent(void **state) { both(swapped_parent, *state); }

static void fifo_traps(struct fx *f)
{
	char l[PATH_MAX], o[PATH_MAX];

	/* a FIFO inside: opened without blocking, refused as not regular */
	assert_int_equal(open_in(f, "fifo", O_RDONLY, RW_REG), -EINVAL);
	/* a symlink to a FIFO outside: never followed */
	pathf(l, f->root, "tofifo");
	pathf(o, f->out, "fifo");
	assert_int_equal(symlink(o, l), 0);
	assert_int_equal(open_in(f, "tofifo", O_RDONLY, RW_REG), -ELOOP);
	assert_int_equal(open_in(f, "tofifo", O_RDONLY, 0), -ELOOP);
	assert_int_equal(unlink(l), 0);
}

static void test_fifo(void **state) { both(fifo_traps, *state); }

static void root_only_outside(struct fx *f)
{
	char l[PATH_MAX], o[PATH_MAX];

	pathf(l, f->root, "d/shadow");
	pathf(o, f->out, "secret");
	assert_int_equal(symlink(o, l), 0);
	assert_int_equal(open_in(f, "d/shadow", O_RDONLY, RW_REG), -ELOOP);
	assert_int_equal(open_in(f, "d/shadow", O_RDONLY, 0), -ELOOP);
	assert_int_equal(unlink(l), 0);
	/* a magic link is a symlink too */
	pathf(l, f->root, "d/proc");
	assert_int_equal(symlink("/proc/self/root/etc", l), 0);
	assert_int_equal(open_in(f, "d/proc/passwd", O_RDONLY, RW_REG), -ELOOP);
	assert_int_equal(unlink(l), 0);
}

static void test_root_only(void **state) { both(root_only_outside, *state); }

static void dotdot(struct fx *f)
{
	static const char *const rels[] = {
		"..", "../x", "d/../../x", "d/..", "d/../d/f", "../",
	};
	char p[PATH_MAX];
	const char *rel;
	int rfd = rootwalk_open_root(f->root);

	assert_true(rfd >= 0);
	for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++)
		assert_int_equal(rootwalk_openat(rfd, rels[i], O_RDONLY, 0), -EXDEV);
	assert_int_equal(rootwalk_openat(rfd, "/etc/passwd", O_RDONLY, 0), -EINVAL);
	close(rfd);
	/* lexically beside, not beneath */
	snprintf(p, sizeof(p), "%sx/f", f->root);
	assert_int_equal(rootwalk_rel(f->root, p, &rel), -EXDEV);
	assert_int_equal(rootwalk_open(f->root, "/etc/passwd", O_RDONLY, 0), -EXDEV);
	assert_int_equal(rootwalk_rel(f->root, f->root, &rel), 0);
	assert_string_equal(rel, "");
	assert_int_equal(rootwalk_rel("/", "/a/b", &rel), 0);
	assert_string_equal(rel, "a/b");
}

static void test_dotdot(void **state) { both(dotdot, *state); }

static void parent(struct fx *f)
{
	char p[PATH_MAX], d[PATH_MAX], o[PATH_MAX];
	const char *leaf;
	int dfd, fd;

	pathf(p, f->root, "d/f");
	assert_true((dfd = rootwalk_parent(f->root, p, 0, &leaf)) >= 0);
	assert_string_equal(leaf, "f");
	fd = openat(dfd, leaf, O_RDONLY);
	read_is(fd, "inside");
	close(dfd);
	assert_true((dfd = rootwalk_parent(f->root, p + 0, RW_NO_XDEV, &leaf)) >= 0);
	close(dfd);
	assert_int_equal(rootwalk_parent(f->root, f->root, 0, &leaf), -EINVAL);
	/* a parent swapped for a symlink */
	pathf(d, f->root, "d");
	pathf(o, f->out, "d");
	pathf(p, f->root, "d.away");
	assert_int_equal(rename(d, p), 0);
	assert_int_equal(symlink(o, d), 0);
	pathf(p, f->root, "d/f");
	assert_int_equal(rootwalk_parent(f->root, p, 0, &leaf), -ELOOP);
	assert_int_equal(unlink(d), 0);
	pathf(p, f->root, "d.away");
	assert_int_equal(rename(p, d), 0);
}

static void test_parent(void **state) { both(parent, *state); }

static void symlinked_root(struct fx *f)
{
	char l[PATH_MAX], p[PATH_MAX];

	pathf(l, f->out, "rootlink");
	assert_int_equal(symlink(f->root, l), 0);
	assert_int_equal(rootwalk_open_root(l), -ELOOP);
	pathf(p, l, "d/f");
	assert_int_equal(rootwalk_open(l, p, O_RDONLY, RW_REG), -ELOOP);
	assert_int_equal(unlink(l), 0);
}

static void test_symlinked_root(void **state) { both(symlinked_root, *state); }

static void mounts(struct fx *f)
{
	char p[PATH_MAX];
	int fd;

	/* a bind mount of OUT/d at ROOT/mnt: same st_dev, another mount id */
	read_is(open_in(f, "mnt/f", O_RDONLY, RW_REG), "outside");
	assert_int_equal(open_in(f, "mnt/f", O_RDONLY, RW_REG | RW_NO_XDEV), -EXDEV);
	assert_int_equal(open_in(f, "mnt", O_RDONLY | O_DIRECTORY, RW_NO_XDEV), -EXDEV);
	/* a tmpfs: another st_dev */
	pathf(p, f->root, "tmpfs/g");
	put(p, "tmpfs", 0644);
	read_is(open_in(f, "tmpfs/g", O_RDONLY, 0), "tmpfs");
	assert_int_equal(open_in(f, "tmpfs/g", O_RDONLY, RW_NO_XDEV), -EXDEV);
	/* the same filesystem, no mount on the way: allowed */
	assert_true((fd = open_in(f, "d/f", O_RDONLY, RW_NO_XDEV)) >= 0);
	close(fd);
}

static void test_mounts(void **state)
{
	struct fx *f = *state;
	char o[PATH_MAX];

	pathf(f->mnt, f->root, "mnt");
	pathf(f->tmpfs, f->root, "tmpfs");
	pathf(o, f->out, "d");
	assert_int_equal(mkdir(f->mnt, 0755), 0);
	assert_int_equal(mkdir(f->tmpfs, 0755), 0);
	f->bound = mount(o, f->mnt, NULL, MS_BIND, NULL) == 0;
	f->tmpfs_on = mount("tmpfs", f->tmpfs, "tmpfs", 0, "size=1m") == 0;
	if (!f->bound || !f->tmpfs_on)
		fail_msg("mount: %s", strerror(errno));
	if (!mount_ids_known(f->root, f->mnt)) {
		print_message("skip: statx gives the bind mount no mount id of its own here\n");
		skip();
	}
	both(mounts, f);
	/* the component walk where statx gives no mount id (before 5.8,
	 * qemu-user): /proc/self/fdinfo tells the bind mount apart */
	rootwalk_force_fallback(true);
	mount_ids_hide(MNTID_NO_MASK);
	mounts(f);
	mount_ids_hide(MNTID_ZERO);
	mounts(f);
	mount_ids_hide(MNTID_TRUE);
	rootwalk_force_fallback(false);
}

static void lstats(struct fx *f)
{
	char p[PATH_MAX], d[PATH_MAX], o[PATH_MAX], away[PATH_MAX];
	struct stat st, want;
	int rfd = rootwalk_open_root(f->root);

	assert_true(rfd >= 0);
	pathf(p, f->root, "d/f");
	assert_int_equal(lstat(p, &want), 0);
	assert_int_equal(rootwalk_lstatat(rfd, "d/f", 0, &st), 0);
	assert_int_equal(st.st_ino, want.st_ino);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(rootwalk_lstatat(rfd, "d", 0, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(rootwalk_lstatat(rfd, "", 0, &st), 0);
	assert_int_equal(lstat(f->root, &want), 0);
	assert_int_equal(st.st_ino, want.st_ino);
	assert_int_equal(rootwalk_lstatat(rfd, "fifo", 0, &st), 0);   /* never opened */
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(rootwalk_lstatat(rfd, "d/nope", 0, &st), -ENOENT);
	assert_int_equal(rootwalk_lstatat(rfd, "d/../d/f", 0, &st), -EXDEV);
	/* a final symlink is its own stat, as lstat's */
	pathf(p, f->root, "d/link");
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(rootwalk_lstatat(rfd, "d/link", 0, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(unlink(p), 0);
	/* a parent swapped for a symlink to the outside: -ELOOP, never its target */
	pathf(d, f->root, "d");
	pathf(away, f->root, "d.away");
	pathf(o, f->out, "d");
	assert_int_equal(rename(d, away), 0);
	assert_int_equal(symlink(o, d), 0);
	assert_int_equal(rootwalk_lstatat(rfd, "d/f", 0, &st), -ELOOP);
	assert_int_equal(unlink(d), 0);
	assert_int_equal(rename(away, d), 0);
	/* openat_st: the stat of what it opened */
	int fd = rootwalk_openat_st(rfd, "d/f", O_RDONLY, RW_REG, &st);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &want), 0);
	assert_int_equal(st.st_ino, want.st_ino);
	assert_int_equal(st.st_size, 6);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	read_is(fd, "inside");
	close(rfd);
}

static void test_lstatat(void **state) { both(lstats, *state); }

static int open_fds(void)
{
	char p[64];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		n += access(p, F_OK) == 0;
	}
	return n;
}

static void read_at(struct rootwalk_roots *r, size_t i, const char *rel, const char *want)
{
	int rfd = rootwalk_roots_fd(r, i);

	assert_true(rfd >= 0);
	read_is(rootwalk_openat(rfd, rel, O_RDONLY, RW_REG), want);
}

/* The roots held for one walk: each opened once however many files the
 * walk reads, at most n fds open, all closed at the end; a root or a
 * directory renamed between walks is seen by the next walk. */
static void test_roots_walk(void **state)
{
	struct fx *f = *state;
	char old[PATH_MAX], d[PATH_MAX], e[PATH_MAX], p[PATH_MAX];
	char *roots[2] = { f->root, f->out };
	struct rootwalk_roots r;
	int base = open_fds();

	rootwalk_roots_init(&r, roots, 2);
	for (int k = 0; k < 50; k++)
		read_at(&r, 0, "d/f", "inside");
	read_at(&r, 1, "d/f", "outside");
	assert_int_equal(r.opens, 2);
	assert_int_equal(open_fds(), base + 2);
	assert_int_equal(rootwalk_roots_fd(&r, 2), -EINVAL);
	rootwalk_roots_end(&r);
	assert_int_equal(open_fds(), base);
	/* between walks: ROOT/d renamed to ROOT/e, a new ROOT/d with other content */
	pathf(d, f->root, "d");
	pathf(e, f->root, "e");
	assert_int_equal(rename(d, e), 0);
	assert_int_equal(mkdir(d, 0755), 0);
	pathf(p, f->root, "d/f");
	put(p, "new d", 0644);
	read_at(&r, 0, "d/f", "new d");
	read_at(&r, 0, "e/f", "inside");
	rootwalk_roots_end(&r);
	/* the root itself renamed away and made again: the next walk opens the new one */
	snprintf(old, sizeof(old), "%s.old", f->root);
	assert_int_equal(rename(f->root, old), 0);
	assert_int_equal(mkdir(f->root, 0755), 0);
	assert_int_equal(rootwalk_openat(rootwalk_roots_fd(&r, 0), "d/f", O_RDONLY, RW_REG), -ENOENT);
	rootwalk_roots_end(&r);
	/* removed: the walk cannot open it, and holds nothing */
	assert_int_equal(rmdir(f->root), 0);
	assert_int_equal(rootwalk_roots_fd(&r, 0), -ENOENT);
	assert_int_equal(open_fds(), base);
	rootwalk_roots_end(&r);
	assert_int_equal(rename(old, f->root), 0);
	assert_int_equal(r.opens, 4);
	assert_int_equal(open_fds(), base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swapped_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotdot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lstatat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roots_walk, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
