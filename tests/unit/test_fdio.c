/* test_fdio.c — file_write_atomic: contents, exact modes, replace/no-replace,
 * symlinks replaced not followed, failures leave the target and no temp file;
 * file_read_all's bounds and refusals; fd_pread_all's ranges; rename_noreplace and fsync_parent. */
#include <dirent.h>
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
#include <sys/types.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/fdio.h"

static char dir[] = "/tmp/vigil-test-fdio-XXXXXX";

static const char *at(const char *name)
{
	static char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void put(const char *name, const char *text)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(fd_write_all(fd, text, strlen(text)), 0);
	close(fd);
}

/* The file's bytes as a string ("<none>" when it cannot be read). */
static const char *get(const char *name)
{
	static char buf[256];
	int fd = open(at(name), O_RDONLY | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return "<none>";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return "<none>";   /* a directory */
	buf[n] = '\0';
	return buf;
}

static int entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, ".."));
	closedir(d);
	return n;
}

static void clean(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			if (unlinkat(dirfd(d), e->d_name, 0) < 0)
				unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	closedir(d);
}

struct aw_case {
	const char *what;
	const char *before;    /* existing file's text, or NULL */
	const char *link_to;   /* target is a symlink to this file, or NULL */
	bool is_dir;           /* target is a directory */
	const char *text;
	mode_t mode;
	unsigned flags;
	int want_rc;
	const char *want;      /* the target's text afterwards */
	int want_entries;      /* directory entries afterwards: no temp left */
};

static void test_write_atomic(void **state)
{
	static const struct aw_case cases[] = {
		{ "new 0600", NULL, NULL, false, "secret\n", 0600, 0, 0, "secret\n", 1 },
		{ "new 0644", NULL, NULL, false, "listen x\n", 0644, 0, 0, "listen x\n", 1 },
		{ "empty", NULL, NULL, false, "", 0644, 0, 0, "", 1 },
		{ "replace", "old", NULL, false, "new", 0644, 0, 0, "new", 1 },
		{ "replace shorter", "a long old text", NULL, false, "b", 0600, 0, 0, "b", 1 },
		{ "nosync", "old", NULL, false, "{}", 0644, FILE_NOSYNC, 0, "{}", 1 },
		{ "noreplace new", NULL, NULL, false, "k", 0600, FILE_NOREPLACE, 0, "k", 1 },
		{ "noreplace exists", "keep", NULL, false, "k", 0600, FILE_NOREPLACE,
		  -EEXIST, "keep", 1 },
		{ "symlink replaced", NULL, "victim", false, "new", 0644, 0, 0, "new", 2 },
		{ "over a directory", NULL, NULL, true, "x", 0644, 0, -EISDIR, "<none>", 1 },
	};

	umask(0077);   /* the mode must be exact, not masked */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct aw_case *c = &cases[i];
		struct stat st;
		int rc;

		clean();
		if (c->before)
			put("f", c->before);
		if (c->link_to) {
			put(c->link_to, "untouched");
			assert_int_equal(symlink(c->link_to, at("f")), 0);
		}
		if (c->is_dir)
			assert_int_equal(mkdir(at("f"), 0755), 0);
		rc = file_write_atomic(at("f"), c->text, strlen(c->text), c->mode, c->flags);
		if (rc != c->want_rc || strcmp(get("f"), c->want) || entries() != c->want_entries)
			fail_msg("%s: rc %d (want %d), text '%s' (want '%s'), %d entries (want %d)",
				 c->what, rc, c->want_rc, get("f"), c->want, entries(),
				 c->want_entries);
		if (c->link_to)
			assert_string_equal(get(c->link_to), "untouched");
		if (rc == 0) {
			assert_int_equal(lstat(at("f"), &st), 0);
			assert_true(S_ISREG(st.st_mode));
			assert_int_equal(st.st_mode & 07777, c->mode);
		}
	}
	umask(0022);
}

static void test_write_atomic_bad_paths(void **state)
{
	char longp[PATH_MAX + 8];

	assert_int_equal(file_write_atomic(at("missing/f"), "x", 1, 0644, 0), -ENOENT);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(file_write_atomic(longp, "x", 1, 0644, 0), -ENAMETOOLONG);
}

struct rd_case {
	const char *what;
	const char *text;      /* a regular file with this text, or NULL */
	int kind;              /* 0 regular, 1 missing, 2 directory, 3 FIFO, 4 symlink to a file */
	int oflags;
	size_t max;
	int want_rc;
	const char *want;      /* b's contents afterwards (after "pre") */
};

static void test_read_all(void **state)
{
	static const struct rd_case cases[] = {
		{ "text", "frozen\n", 0, 0, 32, 0, "pre" "frozen\n" },
		{ "empty", "", 0, 0, 32, 0, "pre" },
		{ "exactly the max", "12345", 0, 0, 8, 0, "pre" "12345" },
		{ "one over", "123456", 0, 0, 8, -EMSGSIZE, "pre" },
		{ "missing", NULL, 1, 0, 32, -ENOENT, "pre" },
		{ "directory", NULL, 2, 0, 32, -EINVAL, "pre" },
		{ "FIFO: refused, not blocked on", NULL, 3, 0, 32, -EINVAL, "pre" },
		{ "symlink followed", "t", 4, 0, 32, 0, "pre" "t" },
		{ "symlink with O_NOFOLLOW", "t", 4, O_NOFOLLOW, 32, -ELOOP, "pre" },
	};
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rd_case *c = &cases[i];
		struct buf b;
		int rc;

		clean();
		if (c->kind == 0)
			put("f", c->text);
		if (c->kind == 2)
			assert_int_equal(mkdir(at("f"), 0755), 0);
		if (c->kind == 3)
			assert_int_equal(mkfifo(at("f"), 0600), 0);
		if (c->kind == 4) {
			put("target", c->text);
			assert_int_equal(symlink("target", at("f")), 0);
		}
		buf_init(&b, c->max);
		assert_int_equal(buf_append(&b, "pre", 3), 0);
		rc = file_read_all(dfd, "f", c->oflags, &b);
		if (rc != c->want_rc || b.len != strlen(c->want) || memcmp(b.data, c->want, b.len))
			fail_msg("%s: rc %d (want %d), %zu bytes", c->what, rc, c->want_rc, b.len);
		buf_free(&b);
	}
	close(dfd);
}

/* fd_pread_all: exactly the range, or -ENODATA when the file ends first. */
static void test_pread_all(void **state)
{
	static const struct { uint64_t off; size_t n; int want; } cases[] = {
		{ 0, 0, 0 }, { 0, 1, 0 }, { 0, 10, 0 }, { 3, 7, 0 }, { 9, 1, 0 },
		{ 10, 0, 0 }, { 9, 2, -ENODATA }, { 10, 1, -ENODATA }, { 100, 1, -ENODATA },
	};
	char b[16];
	int fd;

	clean();
	put("f", "0123456789");
	fd = open(at("f"), O_RDONLY);
	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = fd_pread_all(fd, b, cases[i].n, cases[i].off);

		if (rc != cases[i].want)
			fail_msg("%zu bytes at %llu: %d (want %d)", cases[i].n,
				 (unsigned long long)cases[i].off, rc, cases[i].want);
		if (rc == 0 && memcmp(b, "0123456789" + cases[i].off, cases[i].n))
			fail_msg("%zu bytes at %llu: wrong bytes", cases[i].n,
				 (unsigned long long)cases[i].off);
	}
	close(fd);
	assert_int_equal(fd_pread_all(-1, b, 1, 0), -EBADF);
}

static void test_rename_noreplace(void **state)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	clean();
	put("a", "A");
	put("b", "B");
	assert_int_equal(rename_noreplace(dfd, "a", "b"), -EEXIST);
	assert_string_equal(get("a"), "A");
	assert_string_equal(get("b"), "B");
	assert_int_equal(rename_noreplace(dfd, "a", "c"), 0);
	assert_string_equal(get("a"), "<none>");
	assert_string_equal(get("c"), "A");
	assert_int_equal(rename_noreplace(dfd, "nothere", "d"), -ENOENT);
	close(dfd);
}

static void test_fsync_parent(void **state)
{
	static const struct { const char *path; int want; } cases[] = {
		{ "relative-file", 0 },
		{ "/rootfile", 0 },
		{ "/tmp/x", 0 },
		{ "/nonexistent-vigil-dir/x", -ENOENT },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (fsync_parent(cases[i].path) != cases[i].want)
			fail_msg("%s: %d", cases[i].path, fsync_parent(cases[i].path));
	assert_int_equal(fsync_parent(at("f")), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_write_atomic_bad_paths),
		cmocka_unit_test(test_read_all),
		cmocka_unit_test(test_pread_all),
		cmocka_unit_test(test_rename_noreplace),
		cmocka_unit_test(test_fsync_parent),
	};
	int rc;

	if (!mkdtemp(dir))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	clean();
	rmdir(dir);
	return rc;
}
