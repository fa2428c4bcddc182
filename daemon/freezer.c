/* freezer.c — the `--freeze-cgroup` set: refusal of a cgroup holding vigild
 * or its ancestors, freeze and thaw of every cgroup (daemon/cgroup.c does
 * one), and the durable record STATE/frozen that a restart obeys. */
#include "daemon/freezer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/fdio.h"
#include "daemon/cgroup.h"

#define ANCESTORS_MAX 64   /* process tree depth we look up; real chains are < 10 */

struct freezer {
	char record[PATH_MAX];     /* STATE/frozen */
	bool frozen;               /* what the record says */
	size_t n;
	struct cgroup_dir *cg;     /* n of them */
};

/* ---- the record ---- */

static int record_read(struct freezer *f, char *err, size_t errlen)
{
	struct buf b;
	int r;

	f->frozen = false;
	buf_init(&b, 32);
	r = file_read_all(AT_FDCWD, f->record, 0, &b);
	/* anything but "thawed" counts as frozen: a lost device errs on the
	 * side of staying stopped */
	if (r == 0 || r == -EMSGSIZE || r == -EINVAL)
		f->frozen = r < 0 || b.len != 7 || memcmp(b.data, "thawed\n", 7) != 0;
	buf_free(&b);
	if (r == -ENOENT || f->frozen)
		return 0;
	if (r < 0)
		snprintf(err, errlen, "%s: %s", f->record, strerror(-r));
	return r;
}

static int record_write(struct freezer *f, bool frozen, char *err, size_t errlen)
{
	const char *text = frozen ? "frozen\n" : "thawed\n";
	int r = file_write_atomic(f->record, text, strlen(text), 0600, 0);

	if (r < 0) {
		snprintf(err, errlen, "%s: %s", f->record, strerror(-r));
		return r;
	}
	f->frozen = frozen;
	return 0;
}

/* ---- who must never be frozen ---- */

/* Parent pid and name of pid from /proc/PID/stat ("pid (comm) S ppid ..."). */
static int proc_parent(pid_t pid, pid_t *ppid, char comm[32])
{
	char p[64], buf[512], *open_paren, *close_paren;
	int fd, ppid_i;
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren ||
	    sscanf(close_paren + 1, " %*c %d", &ppid_i) != 1)
		return -EIO;
	snprintf(comm, 32, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	*ppid = ppid_i;
	return 0;
}

/* -EPERM when d holds vigild or one of its ancestors. */
static int refuse_holder(const struct cgroup_dir *d, char *err, size_t errlen)
{
	pid_t pid = getpid(), ppid;
	char comm[32];
	int r, depth;

	if ((r = cgroup_holds_pid(d, pid)) != 0) {
		if (r > 0)
			snprintf(err, errlen, "%s holds vigild itself (pid %d): refused", d->path,
				 (int)pid);
		else
			snprintf(err, errlen, "%s: cannot read our cgroup: %s", d->path, strerror(-r));
		return r > 0 ? -EPERM : r;
	}
	for (depth = 0; depth < ANCESTORS_MAX && pid > 1; depth++) {
		if (proc_parent(pid, &ppid, comm) < 0 || ppid <= 0)
			break;   /* the chain ended or is not visible (pid namespace) */
		pid = ppid;
		if (cgroup_holds_pid(d, pid) > 0) {
			snprintf(err, errlen, "%s holds pid %d (%s), an ancestor of vigild: refused",
				 d->path, (int)pid, comm);
			return -EPERM;
		}
	}
	return 0;
}

static int refuse_holders(const struct freezer *f, char *err, size_t errlen)
{
	int r;

	for (size_t i = 0; i < f->n; i++)
		if ((r = refuse_holder(&f->cg[i], err, errlen)) < 0)
			return r;
	return 0;
}

/* ---- the set ---- */

int freezer_open(struct freezer **out, const char *state_dir, char *const *paths, size_t n,
		 char *err, size_t errlen)
{
	struct freezer *f = calloc(1, sizeof(*f));
	int r = -ENOMEM;

	*out = NULL;
	if (!f || (n && !(f->cg = calloc(n, sizeof(*f->cg))))) {
		snprintf(err, errlen, "freezer: %s", strerror(ENOMEM));
		goto fail;
	}
	if ((size_t)snprintf(f->record, sizeof(f->record), "%s/%s", state_dir,
			     FREEZER_STATE_FILE) >= sizeof(f->record)) {
		snprintf(err, errlen, "%s: path too long", state_dir);
		r = -ENAMETOOLONG;
		goto fail;
	}
	for (f->n = 0; f->n < n; f->n++)
		if ((r = cgroup_dir_open(&f->cg[f->n], paths[f->n], err, errlen)) < 0)
			goto fail;
	if ((r = refuse_holders(f, err, errlen)) < 0 || (r = record_read(f, err, errlen)) < 0)
		goto fail;
	*out = f;
	return 0;
fail:
	freezer_free(f);
	return r;
}

void freezer_free(struct freezer *f)
{
	if (!f)
		return;
	free(f->cg);
	free(f);
}

/* Remaining milliseconds of a deadline, at least 1 so each cgroup is asked. */
static int left_ms(int64_t deadline)
{
	int64_t left = deadline - mono_ms();

	return left < 1 ? 1 : (int)left;
}

static void report(const struct cgroup_dir *d, int r, bool frozen, int timeout_ms, char *err,
		   size_t errlen)
{
	if (r == -ETIMEDOUT)
		snprintf(err, errlen, "%s: the kernel did not report it %s within %d ms", d->path,
			 frozen ? "frozen" : "thawed", timeout_ms);
	else
		snprintf(err, errlen, "%s: %s: %s", d->path, frozen ? "freeze" : "thaw",
			 strerror(-r));
}

/* Every cgroup, even after one failed: a partial freeze still stops what it can. */
static int set_all(struct freezer *f, bool frozen, int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = mono_ms() + timeout_ms;
	int r, first = 0;

	for (size_t i = 0; i < f->n; i++) {
		r = cgroup_set_frozen(&f->cg[i], frozen, left_ms(deadline));
		if (r < 0 && !first) {
			report(&f->cg[i], r, frozen, timeout_ms, err, errlen);
			first = r;
		}
	}
	return first;
}

int freezer_freeze(struct freezer *f, int timeout_ms, char *err, size_t errlen)
{
	int r;

	if (!f->n) {
		snprintf(err, errlen, "no --freeze-cgroup given: nothing to freeze");
		return -ENOENT;
	}
	if ((r = refuse_holders(f, err, errlen)) < 0)
		return r;
	if (!f->frozen && (r = record_write(f, true, err, errlen)) < 0)
		return r;
	return set_all(f, true, timeout_ms, err, errlen);
}

int freezer_thaw(struct freezer *f, int timeout_ms, char *err, size_t errlen)
{
	int r;

	if ((r = set_all(f, false, timeout_ms, err, errlen)) < 0)
		return r;
	return record_write(f, false, err, errlen);
}

int freezer_restore(struct freezer *f, int timeout_ms, char *err, size_t errlen)
{
	int r;

	if (!f->frozen)
		return 0;
	if (!f->n) {
		snprintf(err, errlen, "%s says frozen but no --freeze-cgroup is given", f->record);
		return -ENOENT;
	}
	r = freezer_freeze(f, timeout_ms, err, errlen);
	return r < 0 ? r : 1;
}

bool freezer_recorded_frozen(const struct freezer *f) { return f->frozen; }
size_t freezer_count(const struct freezer *f) { return f->n; }

/* ---- what the system offers ---- */

/* cgroup.freeze appears in every non-root v2 cgroup on kernels >= 5.2: make
 * one to see (as root), else look for an existing child that has it. */
static bool v2_can_freeze(const char *mnt)
{
	char p[PATH_MAX + 32], f[PATH_MAX + 256];
	struct dirent *de;
	bool ok = false;
	DIR *d;

	snprintf(p, sizeof(p), "%s/vigil-check-%d", mnt, (int)getpid());
	if (mkdir(p, 0755) == 0) {
		snprintf(f, sizeof(f), "%s/cgroup.freeze", p);
		ok = access(f, F_OK) == 0;
		rmdir(p);
		return ok;
	}
	if (!(d = opendir(mnt)))
		return false;
	while (!ok && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%.200s/cgroup.freeze", mnt, de->d_name);
		ok = access(f, F_OK) == 0;
	}
	closedir(d);
	return ok;
}

bool freezer_probe(char *msg, size_t len)
{
	char v2[PATH_MAX], v1[PATH_MAX];
	bool has_v2;

	cgroup_mounts(v2, v1);
	has_v2 = v2[0] && v2_can_freeze(v2);
	if (has_v2 && v1[0])
		snprintf(msg, len, "cgroup v2 cgroup.freeze under %s; v1 freezer at %s", v2, v1);
	else if (has_v2)
		snprintf(msg, len, "cgroup v2 cgroup.freeze under %s; no v1 freezer", v2);
	else if (v1[0])
		snprintf(msg, len, "v1 freezer at %s; cgroup v2 cgroup.freeze %s", v1,
			 v2[0] ? "missing (kernel before 5.2)" : "not mounted");
	else
		snprintf(msg, len, "no freezer: cgroup v2 cgroup.freeze %s and no v1 freezer "
			 "(CONFIG_CGROUP_FREEZER)", v2[0] ? "missing" : "not mounted");
	return has_v2 || v1[0];
}
