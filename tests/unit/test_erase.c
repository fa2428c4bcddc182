/* test_erase.c — the erase engine on real trees, as root, no mocks:
 * an erase root full of traps (symlinks to outside files and directories
 * and to a root-only file, a bind mount of an outside directory, a hard link
 * to an outside file, a FIFO, a unix socket, a file being written by another
 * process) leaves every outside byte identical (sha256 of the whole outside
 * tree before and after) while the inside is gone and the counters are
 * right; a killed erase (test hook, in a forked child) resumes and counts
 * every file once; LUKS2 key slots are destroyed for real (cryptsetup
 * luksDump, open --test-passphrase); the per-entry plan from a table.
 * Where statx hides mount ids (as before 5.8 and under qemu-user; the test's
 * statx wrapper, tests/unit/mount_ids.h) a bind mount of a directory and of
 * a file of the root's own filesystem are still not crossed (fdinfo), and
 * without /proc as well the root is not walked at all. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/erase.h"
#include "daemon/erase_int.h"
#include "tests/unit/mount_ids.h"

struct fx {
	char base[64];
	char root[PATH_MAX], out[PATH_MAX], state[PATH_MAX], mnt[PATH_MAX], fmnt[PATH_MAX];
	bool bound, fbound, proc_hidden;
	pid_t writer;
};

static void pathf(char *out, const char *a, const char *b)
{
	assert_true(snprintf(out, PATH_MAX, "%s/%s", a, b) < PATH_MAX);
}

static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	assert_true(vsnprintf(cmd, sizeof(cmd), fmt, ap) < (int)sizeof(cmd));
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

/* A file of n bytes of a marker pattern (so a survivor is recognisable). */
static void put_n(const char *dir, const char *name, size_t n, mode_t mode)
{
	static const char pat[] = "INSIDE-SECRET-";
	char p[PATH_MAX];
	int fd;

	pathf(p, dir, name);
	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode)) >= 0);
	for (size_t off = 0; off < n;) {
		char b[4096];
		size_t k = n - off < sizeof(b) ? n - off : sizeof(b);

		for (size_t i = 0; i < k; i++)
			b[i] = pat[(off + i) % (sizeof(pat) - 1)];
		assert_int_equal(write(fd, b, k), (ssize_t)k);
		off += k;
	}
	close(fd);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->base, sizeof(f->base), "/tmp/vigil-erase-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	pathf(f->root, f->base, "root");
	pathf(f->out, f->base, "out");
	pathf(f->state, f->base, "state");
	assert_int_equal(mkdir(f->root, 0755), 0);
	assert_int_equal(mkdir(f->out, 0755), 0);
	assert_int_equal(mkdir(f->state, 0700), 0);
	f->writer = -1;
	*state = f;
	alarm(120);   /* a blocked erase fails the test instead of hanging it */
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	alarm(0);
	if (f->writer > 0) {
		kill(f->writer, SIGKILL);
		waitpid(f->writer, NULL, 0);
	}
	mount_ids_hide(MNTID_TRUE);
	if (f->proc_hidden)
		umount2("/proc", MNT_DETACH);
	if (f->bound)
		umount2(f->mnt, MNT_DETACH);
	if (f->fbound)
		umount2(f->fmnt, MNT_DETACH);
	erase_test_exit_after(0, false);
	sh("rm -rf %s", f->base);
	free(f);
	return 0;
}

/* Everything a user could check about a tree: names, types, sizes, mtimes,
 * link targets, and the sha256 of every regular file. */
static char *tree_digest(const char *dir)
{
	char cmd[PATH_MAX + 256], *buf = NULL;
	size_t len = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "cd %s && find . -printf '%%p %%y %%s %%T@ %%m %%l\\n' | LC_ALL=C sort && "
		 "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum", dir);
	assert_non_null(p = popen(cmd, "r"));
	for (;;) {
		buf = realloc(buf, len + 4097);
		size_t n = fread(buf + len, 1, 4096, p);

		len += n;
		if (n == 0)
			break;
	}
	buf[len] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_true(len > 0);
	return buf;
}

static struct erase_opts opts_for(struct fx *f, char **roots, size_t nroots)
{
	struct erase_opts o = { .statedir = f->state, .roots = roots, .nroots = nroots };

	return o;
}

/* ---- the plan, case by case ---- */

static void test_plan(void **state)
{
	static const uint64_t keep[1][2] = { { 8, 77 } };
	static const struct {
		uint32_t mode, nlink;
		uint64_t dev, mnt, ino;
		int depth;
		enum eplan want;
	} cases[] = {
		{ S_IFREG | 0644, 1, 8, 20, 5, 0, EP_OVERWRITE },
		{ S_IFREG | 0644, 2, 8, 20, 5, 0, EP_LINKS },
		{ S_IFREG | 0644, 1, 9, 20, 5, 0, EP_MOUNT },     /* another st_dev */
		{ S_IFDIR | 0755, 2, 8, 21, 5, 0, EP_MOUNT },     /* a bind mount: same dev */
		{ S_IFREG | 0644, 1, 8, 21, 5, 0, EP_MOUNT },     /* a file bind mount */
		{ S_IFREG | 0644, 1, 8, 0, 5, 0, EP_OVERWRITE },  /* no mount id: st_dev only */
		{ S_IFLNK | 0777, 1, 8, 20, 5, 0, EP_SYMLINK },
		{ S_IFIFO | 0644, 1, 8, 20, 5, 0, EP_SPECIAL },
		{ S_IFSOCK | 0755, 1, 8, 20, 5, 0, EP_SPECIAL },
		{ S_IFCHR | 0600, 1, 8, 20, 5, 0, EP_SPECIAL },
		{ S_IFBLK | 0600, 1, 8, 20, 5, 0, EP_SPECIAL },
		{ S_IFDIR | 0755, 2, 8, 20, 5, 0, EP_DESCEND },
		{ S_IFDIR | 0755, 2, 8, 20, 5, ERASE_DEPTH_MAX - 2, EP_DESCEND },
		{ S_IFDIR | 0755, 2, 8, 20, 5, ERASE_DEPTH_MAX - 1, EP_TOO_DEEP },
		{ S_IFDIR | 0700, 2, 8, 20, 77, 0, EP_KEEP },     /* the state dir */
		{ S_IFREG | 0600, 1, 8, 20, 77, 0, EP_KEEP },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct eplan_entry e = { cases[i].mode, cases[i].nlink, cases[i].dev, cases[i].mnt,
					 cases[i].ino };
		struct eplan_ctx c = { .root_dev = 8, .root_mnt = 20, .keep = keep, .nkeep = 1,
				       .depth = cases[i].depth };

		assert_int_equal(erase_plan(&e, &c), cases[i].want);
	}
}

/* ---- traps ---- */

static void make_socket(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(s >= 0);
	assert_true(strlen(path) < sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	close(s);
}

/* A child appending to ROOT/busy until killed. */
static pid_t start_writer(const char *root)
{
	char p[PATH_MAX];
	int fd;
	pid_t pid;

	pathf(p, root, "busy");
	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
	assert_int_equal(write(fd, "INSIDE-SECRET-", 14), 14);
	if ((pid = fork()) == 0) {
		char b[4096];

		memset(b, 'w', sizeof(b));
		for (;;) {
			if (write(fd, b, sizeof(b)) < 0)
				lseek(fd, 0, SEEK_SET);
			usleep(200);
		}
	}
	close(fd);
	assert_true(pid > 0);
	return pid;
}

static void lay_traps(struct fx *f, char *keep0, char *keep1)
{
	char p[PATH_MAX], q[PATH_MAX];

	/* outside: files, a directory, a root-only file, a bind-mount source */
	put_n(f->out, "file", 70000, 0644);
	put_n(f->out, "hard", 9000, 0644);
	put_n(f->out, "secret", 300, 0600);
	sh("mkdir -p %s/dir/sub %s/bound && head -c 50000 /dev/urandom > %s/dir/sub/g && "
	   "head -c 3000 /dev/urandom > %s/bound/x", f->out, f->out, f->out, f->out);
	/* inside: ordinary files at several depths */
	sh("mkdir -p %s/d1/d2/d3 %s/mnt %s/.state", f->root, f->root, f->root);
	put_n(f->root, "a", 0, 0644);
	put_n(f->root, "b", 1, 0644);
	put_n(f->root, "d1/c", 4097, 0644);
	put_n(f->root, "d1/d2/e", 1024 * 1024 + 3, 0644);
	put_n(f->root, "d1/d2/d3/f", 5000, 0600);
	/* two links, both inside: one unlinked, the last one overwritten */
	put_n(f->root, "d1/x", 300, 0644);
	pathf(p, f->root, "d1/x");
	pathf(q, f->root, "d1/y");
	assert_int_equal(link(p, q), 0);
	/* the traps */
	pathf(p, f->out, "hard");
	pathf(q, f->root, "hl");
	assert_int_equal(link(p, q), 0);
	pathf(p, f->out, "file");
	pathf(q, f->root, "tofile");
	assert_int_equal(symlink(p, q), 0);
	pathf(p, f->out, "dir");
	pathf(q, f->root, "d1/todir");
	assert_int_equal(symlink(p, q), 0);
	pathf(p, f->out, "secret");
	pathf(q, f->root, "shadow");
	assert_int_equal(symlink(p, q), 0);
	pathf(q, f->root, "fifo");
	assert_int_equal(mkfifo(q, 0644), 0);
	pathf(q, f->root, "d1/sock");
	make_socket(q);
	pathf(p, f->out, "bound");
	pathf(f->mnt, f->root, "mnt");
	assert_int_equal(mount(p, f->mnt, NULL, MS_BIND, NULL), 0);
	f->bound = true;
	/* vigild's own: kept */
	pathf(keep0, f->root, ".state");
	pathf(keep1, f->root, "bundle");
	put_n(f->root, "bundle", 100, 0600);
	put_n(f->root, ".state/statedb", 100, 0600);
}

static void test_traps(void **state)
{
	struct fx *f = *state;
	char keep0[PATH_MAX], keep1[PATH_MAX], *before, *after, *inside;
	char *roots[] = { f->root }, *keep[] = { keep0, keep1 };
	struct erase_opts o = opts_for(f, roots, 1);
	struct erase_report r;
	const uint64_t known = 0 + 1 + 4097 + 1024 * 1024 + 3 + 5000 + 300;

	lay_traps(f, keep0, keep1);
	if (!mount_ids_known(f->root, f->mnt)) {
		print_message("skip: statx gives the bind mount no mount id of its own here\n");
		skip();
	}
	/* the journal inside a kept state dir, as vigild has it */
	snprintf(f->state, sizeof(f->state), "%s", keep0);
	o.statedir = f->state;
	o.keep = keep;
	o.nkeep = 2;
	before = tree_digest(f->out);
	f->writer = start_writer(f->root);
	usleep(20000);
	assert_int_equal(erase_run(&o, &r), 0);
	after = tree_digest(f->out);
	assert_string_equal(before, after);               /* not one outside byte changed */
	assert_int_equal(r.phase, ERASE_DONE);
	assert_int_equal(r.files_overwritten + r.unlinked_busy, 7);
	assert_true(r.unlinked_busy <= 1);
	assert_true(r.bytes_overwritten >= known);
	assert_int_equal(r.unlinked_links, 2);             /* out/hard's link, d1/x or d1/y */
	assert_int_equal(r.unlinked_symlinks, 3);
	assert_int_equal(r.unlinked_special, 2);           /* FIFO, socket */
	assert_int_equal(r.dirs_removed, 3);               /* d1, d2, d3 */
	assert_int_equal(r.mounts_skipped, 1);
	assert_int_equal(r.kept, 2);
	assert_int_equal(r.failed, 0);
	assert_int_equal(r.resumed, 0);
	assert_true(r.fitrim_ran + r.fitrim_unsupported == 1 || r.fitrim_error != 0);
	/* what is left inside: the mount point and vigild's own, nothing else */
	inside = tree_digest(f->root);
	assert_null(strstr(inside, "./d1"));
	assert_null(strstr(inside, "./a "));
	assert_null(strstr(inside, "./busy"));
	assert_non_null(strstr(inside, "./mnt/x"));        /* the bind mount, untouched */
	assert_non_null(strstr(inside, "./bundle"));
	assert_non_null(strstr(inside, "./.state/statedb"));
	/* read again: nothing is redone, the same report */
	{
		struct erase_report again;

		assert_int_equal(erase_run(&o, &again), 0);
		assert_memory_equal(&again, &r, sizeof(r));
		assert_int_equal(erase_mark_reported(f->state), 0);
		assert_int_equal(erase_state(f->state, NULL), ERASE_REPORTED);
	}
	free(before);
	free(after);
	free(inside);
}

/* ---- statx without mount ids ---- */

/* Inside: files, and bind mounts of an outside directory and an outside
 * file of the same filesystem (same st_dev), in a private mount namespace. */
static void lay_binds(struct fx *f)
{
	char p[PATH_MAX];

	if (unshare(CLONE_NEWNS) < 0)
		fail_msg("unshare(CLONE_NEWNS): %s", strerror(errno));
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	sh("mkdir -p %s/bound/deep %s/d/mnt && head -c 3000 /dev/urandom > %s/bound/x && "
	   "head -c 5000 /dev/urandom > %s/bound/deep/y && head -c 7000 /dev/urandom > %s/file",
	   f->out, f->root, f->out, f->out, f->out);
	put_n(f->root, "a", 4000, 0644);
	put_n(f->root, "d/b", 100, 0644);
	put_n(f->root, "fb", 10, 0644);
	pathf(p, f->out, "bound");
	pathf(f->mnt, f->root, "d/mnt");   /* below a directory: walked in each of root's passes */
	assert_int_equal(mount(p, f->mnt, NULL, MS_BIND, NULL), 0);
	f->bound = true;
	pathf(p, f->out, "file");
	pathf(f->fmnt, f->root, "fb");
	assert_int_equal(mount(p, f->fmnt, NULL, MS_BIND, NULL), 0);
	f->fbound = true;
	if (!mount_ids_known(f->root, f->mnt)) {
		print_message("skip: neither statx nor fdinfo gives the bind mount an id of its own\n");
		skip();
	}
}

static void bind_not_crossed(struct fx *f, enum mount_ids_lie how)
{
	char *roots[] = { f->root };
	struct erase_opts o = opts_for(f, roots, 1);
	struct erase_report r;
	char *before, *after, *inside;
	int rc;

	lay_binds(f);
	before = tree_digest(f->out);
	mount_ids_hide(how);
	rc = erase_run(&o, &r);
	mount_ids_hide(MNTID_TRUE);
	assert_int_equal(rc, 0);
	after = tree_digest(f->out);
	assert_string_equal(before, after);               /* not one outside byte changed */
	assert_int_equal(r.phase, ERASE_DONE);
	assert_int_equal(r.mounts_skipped, 2);             /* each once */
	assert_int_equal(r.files_overwritten, 2);          /* a, d/b */
	assert_int_equal(r.failed, 0);
	inside = tree_digest(f->root);
	assert_null(strstr(inside, "./a "));
	assert_null(strstr(inside, "./d/b "));
	assert_non_null(strstr(inside, "./d/mnt/x "));
	assert_non_null(strstr(inside, "./d/mnt/deep/y "));
	assert_non_null(strstr(inside, "./fb "));
	free(before);
	free(after);
	free(inside);
}

static void test_bind_no_mask(void **state) { bind_not_crossed(*state, MNTID_NO_MASK); }
static void test_bind_zero_ids(void **state) { bind_not_crossed(*state, MNTID_ZERO); }

/* No mount id from statx nor from /proc: the root is refused, untouched. */
static void test_mounts_untold(void **state)
{
	struct fx *f = *state;
	char *roots[] = { f->root };
	struct erase_opts o = opts_for(f, roots, 1);
	struct erase_report r;
	char *before[2], *after[2];
	int rc;

	lay_binds(f);
	before[0] = tree_digest(f->root);
	before[1] = tree_digest(f->out);
	assert_int_equal(mount("tmpfs", "/proc", "tmpfs", 0, "size=1m"), 0);
	f->proc_hidden = true;
	mount_ids_hide(MNTID_NO_MASK);
	rc = erase_run(&o, &r);
	mount_ids_hide(MNTID_TRUE);
	assert_int_equal(umount2("/proc", MNT_DETACH), 0);
	f->proc_hidden = false;
	assert_int_equal(rc, 0);
	assert_int_equal(r.phase, ERASE_DONE);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.files_overwritten + r.unlinked_busy + r.dirs_removed, 0);
	after[0] = tree_digest(f->root);
	after[1] = tree_digest(f->out);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(before[i], after[i]);
		free(before[i]);
		free(after[i]);
	}
}

/* ---- crash in the middle, resume ---- */

/* 4 directories, 24 files of known sizes; returns the byte total. */
static uint64_t lay_plain(struct fx *f)
{
	uint64_t total = 0;
	char name[64];

	sh("mkdir -p %s/p/q %s/r/s", f->root, f->root);
	for (int i = 0; i < 24; i++) {
		size_t n = (size_t)i * 3001 + 20 + (i % 3 ? 70000 : 0);
		static const char *const dirs[] = { "", "p/", "p/q/", "r/", "r/s/" };

		snprintf(name, sizeof(name), "%sf%02d", dirs[i % 5], i);
		put_n(f->root, name, n, 0644);
		total += n;
	}
	return total;
}

/* Files in root still holding the marker, and ones of full size without it. */
static void survivors(const char *root, int *marked, int *scrubbed)
{
	char cmd[PATH_MAX + 128], line[PATH_MAX];
	FILE *p;

	*marked = *scrubbed = 0;
	snprintf(cmd, sizeof(cmd), "find %s -type f -size +0 -exec sh -c "
		 "'grep -q INSIDE-SECRET \"$1\" && echo M || echo S' _ {} \\;", root);
	assert_non_null(p = popen(cmd, "r"));
	while (fgets(line, sizeof(line), p))
		*(line[0] == 'M' ? marked : scrubbed) += 1;
	pclose(p);
}

static void crash_and_resume(struct fx *f, uint64_t n, bool before_unlink)
{
	char *roots[] = { f->root };
	struct erase_opts o = opts_for(f, roots, 1);
	struct erase_report r;
	uint64_t total = lay_plain(f);
	int status, marked, scrubbed;
	pid_t pid;

	if ((pid = fork()) == 0) {
		erase_test_exit_after(n, before_unlink);
		erase_run(&o, &r);
		_exit(0);   /* never reached: the hook exits first */
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 99);
	assert_int_equal(erase_state(f->state, &r), ERASE_ROOTS);
	survivors(f->root, &marked, &scrubbed);
	/* killed after its journal record, before its unlink: that file is
	 * already overwritten (full size, no marker) */
	assert_int_equal(scrubbed, before_unlink ? 1 : 0);
	assert_true(marked > 0);
	assert_int_equal(erase_resume(&o, &r), 0);
	assert_int_equal(r.phase, ERASE_DONE);
	assert_int_equal(r.resumed, 1);
	assert_int_equal(r.files_overwritten, 24);
	assert_int_equal(r.bytes_overwritten, total);
	assert_int_equal(r.dirs_removed, 4);
	assert_int_equal(r.unlinked_busy + r.unlinked_links + r.failed, 0);
	survivors(f->root, &marked, &scrubbed);
	assert_int_equal(marked + scrubbed, 0);
}

static void test_crash_after_unlink(void **state) { crash_and_resume(*state, 5, false); }
static void test_crash_before_unlink(void **state) { crash_and_resume(*state, 7, true); }

static void test_resume_without_erase(void **state)
{
	struct fx *f = *state;
	char *roots[] = { f->root };
	struct erase_opts o = opts_for(f, roots, 1);
	struct erase_report r;

	put_n(f->root, "kept", 10, 0644);
	assert_int_equal(erase_resume(&o, &r), -ENOENT);   /* nothing started: nothing done */
	assert_int_equal(erase_state(f->state, NULL), ERASE_NONE);
	assert_int_equal(erase_mark_reported(f->state), -ENOENT);
	assert_int_equal(access(roots[0], F_OK), 0);
}

/* ---- LUKS key slots, with the real cryptsetup ---- */

static int passphrase_opens(const char *vol, const char *pass)
{
	char cmd[PATH_MAX + 256];

	snprintf(cmd, sizeof(cmd), "printf %%s '%s' | cryptsetup open --test-passphrase "
		 "--key-file - %s >/dev/null 2>&1", pass, vol);
	return system(cmd) == 0;
}

static int keyslots(const char *vol)
{
	char cmd[PATH_MAX + 256];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "cryptsetup luksDump %s | sed -n '/^Keyslots:/,/^Tokens:/p' "
		 "| grep -c '^  [0-9]*: luks2'", vol);
	assert_non_null(p = popen(cmd, "r"));
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static void test_luks(void **state)
{
	struct fx *f = *state;
	char vol[PATH_MAX], bad[PATH_MAX], *luks[] = { vol, bad };
	char *roots[] = { f->root };
	struct erase_opts o = opts_for(f, roots, 1);
	struct erase_report r;

	pathf(vol, f->base, "luks.img");
	pathf(bad, f->base, "notluks.img");
	sh("truncate -s 20M %s && truncate -s 1M %s", vol, bad);
	sh("printf %%s old-passphrase | cryptsetup luksFormat --type luks2 --batch-mode "
	   "--pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file - %s", vol);
	sh("printf %%s second > %s/k2 && printf %%s old-passphrase | cryptsetup luksAddKey "
	   "--pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file - %s %s/k2",
	   f->base, vol, f->base);
	assert_int_equal(keyslots(vol), 2);
	assert_true(passphrase_opens(vol, "old-passphrase"));
	assert_true(passphrase_opens(vol, "second"));
	o.luks = luks;
	o.nluks = 2;
	assert_int_equal(erase_run(&o, &r), 0);
	assert_int_equal(r.luks_slots_destroyed, 2);
	assert_int_equal(r.luks_volumes, 1);
	assert_int_equal(r.luks_failed, 1);                /* the file that is not LUKS */
	assert_true(r.luks_error != 0);
	assert_int_equal(keyslots(vol), 0);
	assert_false(passphrase_opens(vol, "old-passphrase"));
	assert_false(passphrase_opens(vol, "second"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test_setup_teardown(test_traps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_no_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_zero_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mounts_untold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_unlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_unlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_without_erase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_luks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
