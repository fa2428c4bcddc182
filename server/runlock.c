/* runlock.c — the Landlock ruleset of `vigil-server run` (runlock.h). */
#include "server/runlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server/ca.h"
#include "server/search/textindex.h"

/* Landlock's ABI, written out: Debian 12's headers stop at ABI 2. */
#define LL_CREATE_VERSION 1u
#define LL_RULE_PATH_BENEATH 1
#define LL_EXEC      (1ull << 0)
#define LL_WRITE     (1ull << 1)
#define LL_READ      (1ull << 2)
#define LL_READ_DIR  (1ull << 3)
#define LL_FS_ABI1   ((1ull << 13) - 1)   /* execute .. make_sym */
#define LL_FS_REFER  (1ull << 13)         /* ABI 2 */
#define LL_FS_TRUNC  (1ull << 14)         /* ABI 3 */
#define LL_FS_IOCTL  (1ull << 15)         /* ABI 5 */

#define RD  (LL_READ | LL_READ_DIR)
#define RX  (RD | LL_EXEC)
#define RW  (LL_READ | LL_WRITE | LL_FS_TRUNC)

struct ll_ruleset_attr { uint64_t fs; };
struct ll_beneath { uint64_t allowed; int32_t parent_fd; } __attribute__((packed));

/* Files at DIR's top level that run opens, and how. */
static const struct { const char *name; uint64_t rights; } dir_files[] = {
	{ "config", LL_READ }, { "ca.pem", LL_READ },
	{ "server.pem", LL_READ }, { "server.key", LL_READ },
	{ "index.db", RW }, { "index.db-wal", RW }, { "index.db-shm", RW },
	{ "search.db", RW }, { "search.db-wal", RW }, { "search.db-shm", RW },
};
/* The SQLite files of those: made before the ruleset (rules hold inodes). */
static const char *const sidecars[] = {
	"index.db-wal", "index.db-shm", "search.db-wal", "search.db-shm",
};
/* System directories: libraries, configuration, devices, /proc. */
static const struct { const char *path; uint64_t rights; } sys_dirs[] = {
	{ "/usr", RX }, { "/lib", RX }, { "/lib64", RX }, { "/bin", RX }, { "/sbin", RX },
	{ "/etc", RD }, { "/dev", RD | LL_WRITE }, { "/proc", RD }, { "/sys", RD },
};

/* Whether directory a is b or holds it (both absolute, resolved). */
static int holds(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (n == 1)
		return 1;   /* "/" */
	return !strncmp(a, b, n) && (b[n] == '\0' || b[n] == '/');
}

/* The first temporary directory that does not hold DIR (resolved as rdir). */
static const char *pick_tmp(const char *rdir, char out[PATH_MAX])
{
	const char *cand[] = { getenv("TMPDIR"), "/var/tmp", "/tmp" };
	struct stat st;

	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
		if (!cand[i] || !realpath(cand[i], out) || stat(out, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (!holds(out, rdir) && !holds(rdir, out))
			return out;
	}
	return NULL;
}

int runlock_prepare(const char *dir, int country, char *err, size_t errlen)
{
	char path[PATH_MAX + 32], rdir[PATH_MAX], tmp[PATH_MAX];
	struct textindex *ti = NULL;
	struct stat st;
	int fd, r;

	if (!realpath(dir, rdir)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	if (pick_tmp(rdir, tmp) && setenv("SQLITE_TMPDIR", tmp, 1) < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/search.db", dir);
	if (stat(path, &st) < 0 || st.st_size == 0) {   /* its schema needs a journal */
		if ((r = textindex_open(dir, country, &ti)) < 0) {
			snprintf(err, errlen, "%s: cannot create: %s", path, strerror(-r));
			return r;
		}
		textindex_close(ti);
	}
	for (size_t i = 0; i < sizeof(sidecars) / sizeof(sidecars[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, sidecars[i]);
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -errno;
		}
		close(fd);
	}
	return 0;
}

/* Grants rights beneath path (a directory, or a file: file rights only).
 * A missing path is skipped when optional. */
static int grant(int rfd, const char *path, uint64_t rights, uint64_t handled, bool optional,
		 char *err, size_t errlen)
{
	struct ll_beneath b = { .allowed = rights & handled };
	int e = 0;

	if ((b.parent_fd = open(path, O_PATH | O_CLOEXEC)) < 0) {
		if (optional && errno == ENOENT)
			return 0;
		e = errno;
	} else {
		struct stat st;

		if (fstat(b.parent_fd, &st) == 0 && !S_ISDIR(st.st_mode))
			b.allowed &= LL_EXEC | LL_WRITE | LL_READ | LL_FS_TRUNC | LL_FS_IOCTL;
		if (syscall(SYS_landlock_add_rule, rfd, LL_RULE_PATH_BENEATH, &b, 0) < 0)
			e = errno;
		close(b.parent_fd);
	}
	if (e)
		snprintf(err, errlen, "landlock rule for %s: %s", path, strerror(e));
	return -e;
}

/* The rules for DIR: its files one by one, store/ whole, ca/ not at all. */
static int grant_dir(int rfd, const char *dir, uint64_t handled, char *err, size_t errlen)
{
	char path[PATH_MAX + 32];
	int r;

	if ((r = grant(rfd, dir, LL_READ_DIR, handled, false, err, errlen)) < 0)
		return r;
	for (size_t i = 0; i < sizeof(dir_files) / sizeof(dir_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, dir_files[i].name);
		if ((r = grant(rfd, path, dir_files[i].rights, handled, false, err, errlen)) < 0)
			return r;
	}
	snprintf(path, sizeof(path), "%s/store", dir);
	return grant(rfd, path, handled, handled, false, err, errlen);
}

/* The rules outside DIR (resolved as rdir): none on a directory that
 * holds it. */
static int grant_system(int rfd, const char *rdir, uint64_t handled, char *err, size_t errlen)
{
	const char *tmp = getenv("SQLITE_TMPDIR"), *hook = getenv("VIGIL_TEST_CLOCK_OFFSET_FILE");
	char exe[PATH_MAX];
	ssize_t n;
	int r;

	for (size_t i = 0; i < sizeof(sys_dirs) / sizeof(sys_dirs[0]); i++) {
		char real[PATH_MAX];

		if (!realpath(sys_dirs[i].path, real) || holds(real, rdir))
			continue;   /* absent, or it would grant DIR/ca */
		if ((r = grant(rfd, real, sys_dirs[i].rights, handled, true, err, errlen)) < 0)
			return r;
	}
	if (tmp && (r = grant(rfd, tmp, handled, handled, true, err, errlen)) < 0)
		return r;
	/* the extractor child: this binary again */
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0)
		return snprintf(err, errlen, "/proc/self/exe: %s", strerror(errno)), -errno;
	exe[n] = '\0';
	if ((r = grant(rfd, exe, LL_READ | LL_EXEC, handled, false, err, errlen)) < 0)
		return r;
	if (hook && getenv("VIGIL_TEST_HOOKS"))
		return grant(rfd, hook, LL_READ, handled, true, err, errlen);
	return 0;
}

/* Test hook (runlock.h): what opening the CA key gives under the ruleset,
 * by its path and through /proc's magic link to the root. */
static void probe(const char *dir, int out)
{
	static const char *const names[] = { CA_KEY_FILE, "index.db", "proc-root" };
	char path[PATH_MAX + 32], line[PATH_MAX + 64];

	for (size_t i = 0; i < 3; i++) {
		int fd, e = 0, n;

		if (i == 2)
			snprintf(path, sizeof(path), "/proc/self/root%s/%s", dir, CA_KEY_FILE);
		else
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			e = errno;
		else
			close(fd);
		n = snprintf(line, sizeof(line), "%s %d\n", names[i], e);
		if (write(out, line, (size_t)n) != n)
			break;
	}
	close(out);
}

static int probe_open(void)
{
	const char *on = getenv("VIGIL_TEST_HOOKS"), *f = getenv("VIGIL_TEST_OPEN_PROBE");

	if (!on || strcmp(on, "1") || !f)
		return -1;
	return open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

int runlock_apply(const char *dir, char *err, size_t errlen)
{
	struct ll_ruleset_attr a = { .fs = LL_FS_ABI1 };
	char rdir[PATH_MAX];
	long abi, rfd;
	int r, pfd;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_VERSION);
	if (abi < 1)
		return 1;   /* no Landlock in this kernel: the caller warns */
	a.fs |= (abi >= 2 ? LL_FS_REFER : 0) | (abi >= 3 ? LL_FS_TRUNC : 0) |
		(abi >= 5 ? LL_FS_IOCTL : 0);
	if (!realpath(dir, rdir)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	if ((rfd = syscall(SYS_landlock_create_ruleset, &a, sizeof(a), 0)) < 0) {
		snprintf(err, errlen, "landlock: %s", strerror(errno));
		return -errno;
	}
	if ((r = grant_dir((int)rfd, rdir, a.fs, err, errlen)) < 0 ||
	    (r = grant_system((int)rfd, rdir, a.fs, err, errlen)) < 0)
		goto out;
	pfd = probe_open();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_landlock_restrict_self, rfd, 0) < 0) {
		r = -errno;
		snprintf(err, errlen, "landlock: %s", strerror(errno));
		if (pfd >= 0)
			close(pfd);
		goto out;
	}
	if (pfd >= 0)
		probe(rdir, pfd);
	r = 0;
out:
	close((int)rfd);
	return r;
}
