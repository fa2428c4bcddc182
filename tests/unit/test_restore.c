/* test_restore.c — `get`'s local side: atomic verified writes, no clobbering,
 * metadata, symlinks, trees, and hostile listings, with a fake content source
 * that delivers at the buffer sizes 0 (all at once), 1, 2, 3, 7, 100, 10000, 200000. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "common/xattrs.h"
#include "controller/restore.h"

struct fake {
	const uint8_t *data;
	size_t len;
	size_t chunk;        /* 0: one call */
	int corrupt;         /* flip a byte */
	int extra;           /* send one byte more than len */
	long fail_after;     /* >= 0: return -EIO after this many bytes */
	int calls;
};

static int fake_fetch(void *arg, const struct vg_entry *e, restore_sink_fn sink,
		      void *sink_arg, char *err, size_t errlen)
{
	struct fake *f = arg;
	size_t off = 0, total = f->len + (f->extra ? 1 : 0);
	uint8_t *copy = malloc(total + 1);
	int r = 0;

	f->calls++;
	memcpy(copy, f->data, f->len);
	copy[f->len] = 'X';
	if (f->corrupt && f->len)
		copy[f->len / 2] ^= 1;
	while (off < total) {
		size_t n = f->chunk ? f->chunk : total;

		if (n > total - off)
			n = total - off;
		if (f->fail_after >= 0 && off + n > (size_t)f->fail_after) {
			snprintf(err, errlen, "simulated network failure");
			r = -EIO;
			break;
		}
		if ((r = sink(sink_arg, copy + off, n)) < 0)
			break;
		off += n;
	}
	free(copy);
	return r;
}

static char tmpdir[64];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_restore.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s", tmpdir, tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct vg_entry *file_entry(const uint8_t *data, size_t len, uint32_t mode, int64_t mtime)
{
	struct vg_entry *e = calloc(1, sizeof(*e));

	e->type = VG_FILE;
	e->mode = mode;
	e->size = len;
	e->mtime_ns = mtime;
	SHA256(data, len, e->sha256);
	return e;
}

static char *path_of(const char *rel)
{
	static char p[512];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
	return p;
}

static void assert_content(const char *path, const uint8_t *data, size_t len)
{
	uint8_t *got = malloc(len + 1);
	int fd = open(path, O_RDONLY);
	ssize_t n, total = 0;

	assert_true(fd >= 0);
	while ((n = read(fd, got + total, len + 1 - total)) > 0)
		total += n;
	close(fd);
	assert_int_equal(total, len);
	assert_memory_equal(got, data, len);
	free(got);
}

/* No ".vigil-tmp-*" may be left anywhere under dir. */
static void assert_no_temp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strncmp(de->d_name, ".vigil-tmp-", 11) == 0)
			fail_msg("temporary file %s left in %s", de->d_name, dir);
	closedir(d);
}

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n + 1);
	uint32_t x = 12345;
	size_t i;

	for (i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		p[i] = (uint8_t)(x >> 16);
	}
	return p;
}

static void test_file_sizes_and_chunks(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 7, 100, 10000, 200000, 1 << 20 };
	static const size_t chunks[] = { 0, 1, 2, 3, 7, 100, 10000, 200000 };
	size_t i, j;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *data = pattern(sizes[i]);
		struct vg_entry *e = file_entry(data, sizes[i], 0640, 1700000000123456789LL);

		for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			struct fake f = { .data = data, .len = sizes[i], .chunk = chunks[j], .fail_after = -1 };
			struct restore_src src = { fake_fetch, &f };
			struct restore *r;
			struct stat st;
			char name[64];

			if (sizes[i] > 10000 && chunks[j] && chunks[j] < 100)
				continue;   /* slow and adds nothing */
			snprintf(name, sizeof(name), "f_%zu_%zu", sizes[i], chunks[j]);
			r = restore_new(&src, false, false);
			assert_int_equal(restore_one(r, path_of(name), e), 0);
			assert_int_equal(restore_stats(r)->files, 1);
			restore_free(r);
			assert_content(path_of(name), data, sizes[i]);
			assert_int_equal(stat(path_of(name), &st), 0);
			assert_int_equal(st.st_mode & 07777, 0640);
			assert_int_equal(st.st_mtim.tv_sec, 1700000000);
			assert_int_equal(st.st_mtim.tv_nsec, 123456789);
		}
		free(e);
		free(data);
	}
	assert_no_temp(tmpdir);
}

/* A file several times restore.c's dirty window (RESTORE_DIRTY_MAX, 32
 * MiB): writeback is started and waited for behind the received offset
 * while it arrives, at pieces that do not divide the 8 MiB flush step;
 * the bytes and the metadata land, and a failure past the window leaves
 * nothing (no file, no temporary). */
static void test_large_file(void **state)
{
	static const size_t chunks[] = { 65536, 1000003 };
	size_t len = 80u << 20, j;
	uint8_t *data = pattern(len);
	struct vg_entry *e = file_entry(data, len, 0600, 1700000000000000000LL);
	struct stat st;

	for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
		struct fake f = { .data = data, .len = len, .chunk = chunks[j], .fail_after = -1 };
		struct restore_src src = { fake_fetch, &f };
		struct restore *r = restore_new(&src, false, false);
		char name[64];

		snprintf(name, sizeof(name), "large_%zu", chunks[j]);
		assert_int_equal(restore_one(r, path_of(name), e), 0);
		assert_int_equal(restore_stats(r)->bytes, len);
		restore_free(r);
		assert_content(path_of(name), data, len);
		unlink(path_of(name));
	}
	{
		struct fake f = { .data = data, .len = len, .chunk = 65536, .fail_after = 70l << 20 };
		struct restore_src src = { fake_fetch, &f };
		struct restore *r = restore_new(&src, false, false);

		assert_true(restore_one(r, path_of("large_cut"), e) < 0);
		restore_free(r);
		assert_int_equal(stat(path_of("large_cut"), &st), -1);
		assert_no_temp(tmpdir);
	}
	free(e);
	free(data);
}

static void test_bad_content_writes_nothing(void **state)
{
	uint8_t *data = pattern(50000);
	struct vg_entry *e = file_entry(data, 50000, 0644, 0);
	struct fake cases[] = {
		{ .data = data, .len = 50000, .chunk = 7000, .corrupt = 1, .fail_after = -1 },
		{ .data = data, .len = 50000, .chunk = 7000, .extra = 1, .fail_after = -1 },
		{ .data = data, .len = 40000, .chunk = 7000, .fail_after = -1 },   /* short */
		{ .data = data, .len = 50000, .chunk = 7000, .fail_after = 30000 },
		{ .data = data, .len = 50000, .chunk = 0, .fail_after = 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct restore_src src = { fake_fetch, &cases[i] };
		struct restore *r = restore_new(&src, false, false);
		struct stat st;

		assert_true(restore_one(r, path_of("bad"), e) < 0);
		assert_int_equal(restore_stats(r)->failed, 1);
		restore_free(r);
		if (stat(path_of("bad"), &st) == 0)
			fail_msg("case %zu left a file", i);
		assert_no_temp(tmpdir);
	}
	free(e);
	free(data);
}

static void test_existing_file(void **state)
{
	const uint8_t data[] = "the version";
	struct vg_entry *e = file_entry(data, sizeof(data) - 1, 0600, 1000000000);
	struct fake f = { .data = data, .len = sizeof(data) - 1, .fail_after = -1 };
	struct restore_src src = { fake_fetch, &f };
	struct restore *r;
	struct stat st1, st2;
	FILE *fp;

	/* a different file of the same size is kept */
	fp = fopen(path_of("exists"), "w");
	fputs("other versio", fp);
	fclose(fp);
	chmod(path_of("exists"), 0644);
	r = restore_new(&src, false, false);
	assert_int_equal(restore_one(r, path_of("exists"), e), -EEXIST);
	restore_free(r);
	assert_content(path_of("exists"), (const uint8_t *)"other versio", 12);
	assert_int_equal(f.calls, 0);

	/* the same version: success, not rewritten, left exactly as it is */
	fp = fopen(path_of("same"), "w");
	fputs("the version", fp);
	fclose(fp);
	chmod(path_of("same"), 0644);
	stat(path_of("same"), &st1);
	r = restore_new(&src, false, false);
	assert_int_equal(restore_one(r, path_of("same"), e), 0);
	assert_int_equal(restore_stats(r)->unchanged, 1);
	assert_int_equal(restore_stats(r)->files, 0);
	restore_free(r);
	stat(path_of("same"), &st2);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st2.st_mode & 07777, 0644);
	assert_int_equal(st2.st_mtim.tv_sec, st1.st_mtim.tv_sec);
	assert_int_equal(st2.st_mtim.tv_nsec, st1.st_mtim.tv_nsec);
	assert_int_equal(f.calls, 0);

	/* a symlink or directory in the way is kept */
	assert_int_equal(symlink("same", path_of("lnk")), 0);
	mkdir(path_of("adir"), 0755);
	r = restore_new(&src, false, false);
	assert_int_equal(restore_one(r, path_of("lnk"), e), -EEXIST);
	assert_int_equal(restore_one(r, path_of("adir"), e), -EEXIST);
	restore_free(r);
	assert_int_equal(lstat(path_of("lnk"), &st1), 0);
	assert_true(S_ISLNK(st1.st_mode));
	free(e);
}

static void test_symlink(void **state)
{
	struct vg_entry *e = calloc(1, sizeof(*e));
	struct fake f = { .fail_after = -1 };
	struct restore_src src = { fake_fetch, &f };
	struct restore *r = restore_new(&src, false, false);
	struct timespec tv[2] = { { .tv_sec = 42 }, { .tv_sec = 42 } };
	struct stat st;
	char buf[64];
	ssize_t n;

	e->type = VG_SYMLINK;
	snprintf(e->link, sizeof(e->link), "../somewhere/else");
	e->mtime_ns = 5000000000LL;
	assert_int_equal(restore_one(r, path_of("sl"), e), 0);
	n = readlink(path_of("sl"), buf, sizeof(buf) - 1);
	assert_int_equal(n, strlen(e->link));
	buf[n] = 0;
	assert_string_equal(buf, e->link);
	assert_int_equal(lstat(path_of("sl"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 5);
	/* the same symlink again: fine, and its own times stay; another
	 * target: refused */
	assert_int_equal(utimensat(AT_FDCWD, path_of("sl"), tv, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(restore_one(r, path_of("sl"), e), 0);
	assert_int_equal(lstat(path_of("sl"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 42);
	snprintf(e->link, sizeof(e->link), "elsewhere");
	assert_int_equal(restore_one(r, path_of("sl"), e), -EEXIST);
	assert_int_equal(restore_stats(r)->links, 1);
	assert_int_equal(restore_stats(r)->unchanged, 1);
	restore_free(r);
	free(e);
}

static void test_target(void **state)
{
	char out[512];

	mkdir(path_of("dd"), 0755);
	assert_int_equal(restore_target(path_of("dd"), "x.txt", out, sizeof(out)), 0);
	assert_string_equal(out, path_of("dd/x.txt"));
	assert_int_equal(restore_target(path_of("dd/"), "x.txt", out, sizeof(out)), 0);
	assert_string_equal(out, path_of("dd/x.txt"));
	assert_int_equal(restore_target(path_of("nope"), "x.txt", out, sizeof(out)), 0);
	assert_string_equal(out, path_of("nope"));
	assert_int_equal(restore_target(path_of("dd"), "x.txt", out, 8), -ENAMETOOLONG);
}

static void test_tree(void **state)
{
	const uint8_t a[] = "alpha", b[] = "bravo";
	struct fake f = { .fail_after = -1 };
	struct restore_src src = { fake_fetch, &f };
	struct vg_entry *root = calloc(1, sizeof(*root)), *d = calloc(1, sizeof(*d));
	struct vg_entry *fa = file_entry(a, 5, 0644, 2000000000), *fb = file_entry(b, 5, 0600, 3000000000LL);
	struct restore *r = restore_new(&src, false, false);
	struct timespec tv[2] = { { .tv_sec = 42 }, { .tv_sec = 42 } };
	struct stat st;

	root->type = d->type = VG_DIR;
	root->mode = 0750;
	root->mtime_ns = 7000000000LL;
	d->mode = 0555;            /* read-only directory with a file inside */
	d->mtime_ns = 8000000000LL;
	assert_int_equal(restore_tree_begin(r, path_of("tree"), root), 0);
	assert_int_equal(restore_tree_add(r, "ro", d), 0);
	f.data = a;
	f.len = 5;
	assert_int_equal(restore_tree_add(r, "ro/a.txt", fa), 0);
	d->mode = 0700;
	assert_int_equal(restore_tree_add(r, "empty", d), 0);
	f.data = b;
	assert_int_equal(restore_tree_add(r, "deep/er/b.txt", fb), 0);  /* parents not listed */
	assert_int_equal(restore_finish(r), 0);
	assert_int_equal(restore_stats(r)->files, 2);
	restore_free(r);

	assert_content(path_of("tree/ro/a.txt"), a, 5);
	assert_content(path_of("tree/deep/er/b.txt"), b, 5);
	assert_int_equal(stat(path_of("tree/ro"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0555);
	assert_int_equal(st.st_mtim.tv_sec, 8);
	assert_int_equal(stat(path_of("tree/empty"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(path_of("tree"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_mtim.tv_sec, 7);

	/* the same tree again into the existing directory: the file is
	 * unchanged, the existing directories keep their own mode (and ro,
	 * where nothing is added, its mtime); a new one gets the stored ones */
	r = restore_new(&src, false, false);
	d->mode = 0555;
	chmod(path_of("tree"), 0711);
	chmod(path_of("tree/ro"), 0755);
	assert_int_equal(utimensat(AT_FDCWD, path_of("tree/ro"), tv, 0), 0);
	assert_int_equal(restore_tree_begin(r, path_of("tree"), root), 0);
	assert_int_equal(restore_tree_add(r, "ro", d), 0);
	f.data = a;
	assert_int_equal(restore_tree_add(r, "ro/a.txt", fa), 0);
	assert_int_equal(restore_tree_add(r, "new", d), 0);
	assert_int_equal(restore_finish(r), 0);
	assert_int_equal(restore_stats(r)->unchanged, 1);
	assert_int_equal(restore_stats(r)->files, 0);
	restore_free(r);
	assert_int_equal(stat(path_of("tree"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	assert_int_equal(stat(path_of("tree/ro"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_mtim.tv_sec, 42);
	assert_int_equal(stat(path_of("tree/new"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0555);
	assert_int_equal(st.st_mtim.tv_sec, 8);
	free(root); free(d); free(fa); free(fb);
}

/* A listing that puts a symlink and then a file "through" it must not write
 * outside the tree; a file where a directory should be is reported. */
static void test_tree_hostile(void **state)
{
	const uint8_t x[] = "evil";
	struct fake f = { .data = x, .len = 4, .fail_after = -1 };
	struct restore_src src = { fake_fetch, &f };
	struct vg_entry *ln = calloc(1, sizeof(*ln)), *fx = file_entry(x, 4, 0644, 0);
	struct vg_entry *dd = calloc(1, sizeof(*dd));
	struct restore *r = restore_new(&src, false, false);
	struct stat st;

	mkdir(path_of("outside"), 0755);
	ln->type = VG_SYMLINK;
	snprintf(ln->link, sizeof(ln->link), "%s", path_of("outside"));
	dd->type = VG_DIR;
	dd->mode = 0755;
	assert_int_equal(restore_tree_begin(r, path_of("t2"), NULL), 0);
	assert_int_equal(restore_tree_add(r, "esc", ln), 0);
	assert_true(restore_tree_add(r, "esc/pwned", fx) < 0);
	assert_true(restore_tree_add(r, "esc", dd) < 0);
	assert_int_equal(restore_tree_add(r, "plain", fx), 0);
	assert_true(restore_tree_add(r, "plain/sub", fx) < 0);
	assert_int_equal(restore_tree_add(r, "bad//x", fx), -EINVAL);
	assert_int_equal(restore_tree_add(r, "", fx), -EINVAL);
	assert_int_equal(restore_finish(r), -EIO);
	assert_int_equal(restore_stats(r)->failed, 5);
	restore_free(r);
	assert_int_not_equal(stat(path_of("outside/pwned"), &st), 0);
	assert_no_temp(path_of("t2"));

	/* tree target that is an existing file */
	r = restore_new(&src, false, false);
	assert_int_equal(restore_tree_begin(r, path_of("t2/plain"), NULL), -EEXIST);
	restore_free(r);
	free(ln); free(fx); free(dd);
}

static void add_xattr(struct vg_entry *e, const char *name, const char *value)
{
	assert_int_equal(xattr_append(e->xattrs, VG_XATTR_MAX, &e->xattr_len, name, strlen(name),
				      value, strlen(value)), 0);
}

static void assert_xattr(const char *path, const char *name, const char *want)
{
	char got[64];
	ssize_t n = lgetxattr(path, name, got, sizeof(got));

	if (!want) {
		assert_true(n < 0 && (errno == ENODATA || errno == ENOTSUP));
		return;
	}
	assert_int_equal(n, strlen(want));
	assert_memory_equal(got, want, n);
}

/* xattrs on a read-only file and a read-only directory; a namespace that
 * is never restored; a malformed list is a warning, not a failure. */
static void test_xattrs(void **state)
{
	const uint8_t a[] = "alpha";
	struct fake f = { .data = a, .len = 5, .fail_after = -1 };
	struct restore_src src = { fake_fetch, &f };
	struct vg_entry *root = calloc(1, sizeof(*root)), *d = calloc(1, sizeof(*d));
	struct vg_entry *fa = file_entry(a, 5, 0444, 2000000000);
	struct restore *r = restore_new(&src, false, false);

	if (setxattr(tmpdir, "user.probe", "1", 1, 0) < 0 && errno == ENOTSUP) {
		restore_free(r);
		free(root); free(d); free(fa);
		skip();
	}
	root->type = d->type = VG_DIR;
	root->mode = 0750;
	d->mode = 0555;
	add_xattr(root, "user.color", "green");
	add_xattr(d, "user.color", "red");
	add_xattr(d, "user.empty", "");
	add_xattr(fa, "other.ns", "never");
	add_xattr(fa, "user.color", "blue");
	assert_int_equal(restore_tree_begin(r, path_of("x"), root), 0);
	assert_int_equal(restore_tree_add(r, "ro", d), 0);
	assert_int_equal(restore_tree_add(r, "ro/a.txt", fa), 0);
	assert_int_equal(restore_finish(r), 0);
	assert_true(restore_stats(r)->xattrs >= 4);
	assert_int_equal(restore_stats(r)->xattr_failed, 0);
	restore_free(r);
	assert_xattr(path_of("x"), "user.color", "green");
	assert_xattr(path_of("x/ro"), "user.color", "red");
	assert_xattr(path_of("x/ro"), "user.empty", "");
	assert_xattr(path_of("x/ro/a.txt"), "user.color", "blue");
	assert_xattr(path_of("x/ro/a.txt"), "other.ns", NULL);

	/* truncated list: the good item is set, the rest is a warning */
	fa->xattr_len = 0;
	add_xattr(fa, "user.one", "1");
	add_xattr(fa, "user.two", "2");
	fa->xattr_len -= 1;
	r = restore_new(&src, false, false);
	assert_int_equal(restore_one(r, path_of("b.txt"), fa), 0);
	assert_int_equal(restore_finish(r), 0);
	assert_int_equal(restore_stats(r)->xattr_failed, 1);
	assert_int_equal(restore_stats(r)->files, 1);
	restore_free(r);
	assert_content(path_of("b.txt"), a, 5);
	assert_xattr(path_of("b.txt"), "user.one", "1");
	assert_xattr(path_of("b.txt"), "user.two", NULL);
	free(root); free(d); free(fa);
}

/* An item already there before the restore: a file holding the same
 * content (mode 0600, mtime 12345), or a directory (mode 0751). */
static void make_existing(const char *p, bool dir, const uint8_t *a, size_t n)
{
	struct timespec tv[2] = { { .tv_sec = 12345 }, { .tv_sec = 12345 } };
	FILE *fp;

	if (dir) {
		assert_int_equal(mkdir(p, 0751), 0);
		assert_int_equal(chmod(p, 0751), 0);
	} else {
		assert_non_null(fp = fopen(p, "w"));
		assert_int_equal(fwrite(a, 1, n, fp), n);
		fclose(fp);
		assert_int_equal(chmod(p, 0600), 0);
	}
	assert_int_equal(utimensat(AT_FDCWD, p, tv, 0), 0);
}

/* What grants privilege (set-id bits; security.* and trusted.* attributes)
 * comes back only with restore_keep_privileged(); the sticky bit, user.*
 * and the rest of the mode always do.  Table: with and without the flag,
 * a setuid+setgid file and a setgid+sticky directory, each carrying
 * security.*, trusted.* and user.* attributes.  Only what the restore
 * creates gets the stored metadata: an existing identical file and an
 * existing directory (merged into) keep their own mode, mtime and xattrs,
 * with or without the flag. */
static void test_privileged(void **state)
{
	static const struct {
		bool keep, dir, existing;
		uint32_t mode, want;
	} t[] = {
		{ false, false, false, 06755, 0755 },
		{ true, false, false, 06755, 06755 },
		{ false, false, false, 04711, 0711 },
		{ false, true, false, 03775, 01775 },
		{ true, true, false, 03775, 03775 },
		{ false, false, false, 0644, 0644 },
		{ false, false, true, 04755, 0600 },
		{ true, false, true, 04755, 0600 },
		{ false, true, true, 03775, 0751 },
		{ true, true, true, 03775, 0751 },
	};
	const uint8_t a[] = "setuid binary";
	struct fake f = { .data = a, .len = sizeof(a) - 1, .fail_after = -1 };
	struct restore_src src = { fake_fetch, &f };
	bool root = geteuid() == 0;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct vg_entry *e = file_entry(a, sizeof(a) - 1, t[i].mode, 1000000000);
		struct restore *r = restore_new(&src, false, false);
		bool made = !t[i].existing, priv = root && t[i].keep && made;
		char name[32], *p;
		struct stat st;

		snprintf(name, sizeof(name), "priv%zu", i);
		if (t[i].existing)
			make_existing(path_of(name), t[i].dir, a, sizeof(a) - 1);
		if (t[i].dir)
			e->type = VG_DIR;
		add_xattr(e, "security.vigil-test", "label");
		add_xattr(e, "trusted.vigil-test", "secret");
		add_xattr(e, "user.note", "kept");
		restore_keep_privileged(r, t[i].keep);
		if (t[i].dir) {
			assert_int_equal(restore_tree_begin(r, path_of(name), e), 0);
		} else {
			assert_int_equal(restore_one(r, path_of(name), e), 0);
		}
		assert_int_equal(restore_finish(r), 0);
		p = path_of(name);
		assert_int_equal(stat(p, &st), 0);
		if ((st.st_mode & 07777) != t[i].want)
			fail_msg("case %zu: mode %o, want %o", i, st.st_mode & 07777, t[i].want);
		assert_int_equal(st.st_mtim.tv_sec, made ? 1 : 12345);
		assert_int_equal(restore_stats(r)->unchanged, t[i].existing && !t[i].dir);
		assert_int_equal(restore_stats(r)->setid_dropped,
				 made && !t[i].keep && (t[i].mode & 06000) ? 1 : 0);
		assert_xattr(p, "user.note", made ? "kept" : NULL);
		assert_xattr(p, "security.vigil-test", priv ? "label" : NULL);
		assert_xattr(p, "trusted.vigil-test", priv ? "secret" : NULL);
		assert_int_equal(restore_stats(r)->xattr_dropped, made && !t[i].keep ? 2 : 0);
		restore_free(r);
		free(e);
	}
}

/* As root with owners restored (chown_too): a tree merged into an existing
 * directory that holds an identical file — both owned by someone else,
 * with modes and a user.* attribute of their own — leaves them exactly as
 * they were (owner, mode, mtime, xattrs), while the file it creates beside
 * them gets the stored owner and mode, its setuid bit dropped (issue 10,
 * finding 1.3: a directory went from 0700 to 0777, a file to -rwsrwsrwx). */
static void test_existing_owner(void **state)
{
	const uint8_t a[] = "same bytes";
	struct fake f = { .data = a, .len = sizeof(a) - 1, .fail_after = -1 };
	struct restore_src src = { fake_fetch, &f };
	struct vg_entry *e = file_entry(a, sizeof(a) - 1, 06777, 1000000000), *d;
	struct restore *r;
	struct stat st;
	char dir[512];

	if (geteuid() != 0)
		skip();
	snprintf(dir, sizeof(dir), "%s", path_of("mine"));
	assert_int_equal(mkdir(dir, 0700), 0);
	make_existing(path_of("mine/same"), false, a, sizeof(a) - 1);
	assert_int_equal(lchown(dir, 4242, 4242), 0);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(lchown(path_of("mine/same"), 4242, 4242), 0);
	assert_int_equal(lsetxattr(path_of("mine/same"), "user.own", "mine", 4, 0), 0);
	e->uid = e->gid = 1000;
	add_xattr(e, "user.note", "theirs");
	add_xattr(e, "security.capability", "x");
	d = calloc(1, sizeof(*d));
	*d = *e;
	d->type = VG_DIR;
	d->mode = 0777;
	assert_non_null(r = restore_new(&src, true, false));
	assert_int_equal(restore_tree_begin(r, dir, d), 0);
	assert_int_equal(restore_tree_add(r, "same", e), 0);
	assert_int_equal(restore_tree_add(r, "new", e), 0);
	assert_int_equal(restore_finish(r), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(st.st_uid == 4242 && (st.st_mode & 07777) == 0700);
	assert_int_equal(stat(path_of("mine/same"), &st), 0);
	assert_true(st.st_uid == 4242 && (st.st_mode & 07777) == 0600 && st.st_mtim.tv_sec == 12345);
	assert_xattr(path_of("mine/same"), "user.own", "mine");
	assert_xattr(path_of("mine/same"), "user.note", NULL);
	assert_int_equal(stat(path_of("mine/new"), &st), 0);
	assert_true(st.st_uid == 1000 && st.st_gid == 1000 && (st.st_mode & 07777) == 0777);
	assert_xattr(path_of("mine/new"), "user.note", "theirs");
	assert_xattr(path_of("mine/new"), "security.capability", NULL);
	assert_int_equal(restore_stats(r)->unchanged, 1);
	restore_free(r);
	free(e);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_sizes_and_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_content_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xattrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_privileged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_owner, setup, teardown),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
