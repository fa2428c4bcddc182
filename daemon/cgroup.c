/* cgroup.c — one freezable cgroup directory (cgroup v2 or the v1 freezer):
 * classified by its filesystem and its mount in /proc/self/mountinfo,
 * frozen and thawed through the kernel's files, and asked whether it holds
 * a process by comparing /proc/PID/cgroup with its place in the hierarchy
 * (so nesting counts: a parent cgroup holds its children's processes). */
#include "daemon/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/magic.h>

#include "common/clock.h"
#include "common/fdio.h"
#include "common/mountinfo.h"

/* One cgroup line of /proc/self/mountinfo. */
struct cg_mount {
	struct mountinfo mi;
	bool v2, freezer;        /* cgroup2; a v1 mount carrying the freezer controller */
};

/* True when the comma-separated list has the token. */
static bool has_token(const char *list, const char *tok)
{
	size_t n = strlen(tok);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, tok, n) && (p[n] == ',' || p[n] == '\0' || p[n] == '\n'))
			return true;
	return false;
}

/* Fills c from mi; true for a cgroup or cgroup2 mount. */
static bool cg_mount_of(const struct mountinfo *mi, struct cg_mount *c)
{
	c->v2 = !strcmp(mi->fstype, "cgroup2");
	c->freezer = !strcmp(mi->fstype, "cgroup") && has_token(mi->super, "freezer");
	if (!c->v2 && strcmp(mi->fstype, "cgroup"))
		return false;
	c->mi = *mi;
	c->mi.super = NULL;      /* it points into a line that is gone */
	return true;
}

/* Is p equal to dir or below it (whole components)? */
static bool path_under(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return *p == '/';
	return !strncmp(p, dir, n) && (p[n] == '\0' || p[n] == '/');
}

struct find_ctx {
	dev_t dev;
	const char *canon;
	struct cg_mount *best;
	size_t bestlen;
};

static int find_one(const struct mountinfo *mi, const char *line, void *arg)
{
	struct find_ctx *c = arg;
	struct cg_mount m;

	if (mi->dev == c->dev && path_under(c->canon, mi->point) &&
	    strlen(mi->point) >= c->bestlen && cg_mount_of(mi, &m)) {
		c->bestlen = strlen(mi->point);
		*c->best = m;
	}
	return 0;
}

/* The cgroup mount of dev whose point is the longest prefix of canon. */
static int find_mount(dev_t dev, const char *canon, struct cg_mount *best)
{
	struct find_ctx c = { .dev = dev, .canon = canon, .best = best };
	int r = mountinfo_each(find_one, &c);

	return r < 0 ? r : c.bestlen ? 0 : -ENOENT;
}

struct mounts_ctx {
	char *v2, *v1_freezer;
};

static int mounts_one(const struct mountinfo *mi, const char *line, void *arg)
{
	struct mounts_ctx *c = arg;
	struct cg_mount m;

	if (!cg_mount_of(mi, &m))
		return 0;
	if (m.v2 && !c->v2[0])
		snprintf(c->v2, PATH_MAX, "%s", mi->point);
	if (m.freezer && !c->v1_freezer[0])
		snprintf(c->v1_freezer, PATH_MAX, "%s", mi->point);
	return 0;
}

void cgroup_mounts(char v2[PATH_MAX], char v1_freezer[PATH_MAX])
{
	struct mounts_ctx c = { v2, v1_freezer };

	v2[0] = v1_freezer[0] = '\0';
	mountinfo_each(mounts_one, &c);
}

static bool has_file(const char *dir, const char *name)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/* d->rel from the mount: its root joined with the part of path below the point. */
static int set_rel(struct cgroup_dir *d, const struct cg_mount *m)
{
	const char *tail = d->path + strlen(m->mi.point);
	int n;

	if (*tail == '/')
		tail++;
	if (!*tail)
		n = snprintf(d->rel, sizeof(d->rel), "%s", m->mi.root);
	else
		n = snprintf(d->rel, sizeof(d->rel), "%s%s%s", m->mi.root,
			     strcmp(m->mi.root, "/") ? "/" : "", tail);
	return n < 0 || (size_t)n >= sizeof(d->rel) ? -ENAMETOOLONG : 0;
}

static int classify(struct cgroup_dir *d, const struct statfs *fs, const struct cg_mount *m,
		    char *err, size_t errlen)
{
	if (fs->f_type == CGROUP2_SUPER_MAGIC) {
		d->kind = CG_V2;
		if (has_file(d->path, "cgroup.freeze"))
			return 0;
		snprintf(err, errlen, "%s: cgroup v2 without cgroup.freeze (the root cgroup, "
			 "or a kernel before 5.2)", d->path);
		return -ENOTSUP;
	}
	d->kind = CG_V1_FREEZER;
	if (!m->freezer) {
		snprintf(err, errlen, "%s: a cgroup v1 hierarchy without the freezer controller",
			 d->path);
		return -ENOTSUP;
	}
	if (has_file(d->path, "freezer.state"))
		return 0;
	snprintf(err, errlen, "%s: the root of the v1 freezer hierarchy cannot be frozen", d->path);
	return -ENOTSUP;
}

int cgroup_dir_open(struct cgroup_dir *d, const char *path, char *err, size_t errlen)
{
	struct cg_mount m;
	struct statfs fs;
	struct stat st;
	int r;

	memset(d, 0, sizeof(*d));
	if (!realpath(path, d->path) || stat(d->path, &st) < 0 || statfs(d->path, &fs) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISDIR(st.st_mode) ||
	    (fs.f_type != CGROUP2_SUPER_MAGIC && fs.f_type != CGROUP_SUPER_MAGIC)) {
		snprintf(err, errlen, "%s: not a cgroup directory", path);
		return -ENOTDIR;
	}
	if ((r = find_mount(st.st_dev, d->path, &m)) < 0) {
		snprintf(err, errlen, "%s: its cgroup mount is not in /proc/self/mountinfo", path);
		return r;
	}
	if ((r = classify(d, &fs, &m, err, errlen)) < 0)
		return r;
	if ((r = set_rel(d, &m)) < 0)
		snprintf(err, errlen, "%s: path too long", path);
	return r;
}

/* The hierarchy path of the process or thread whose cgroup file is at
 * file, for d's kind: 1 and held in *held, or -errno. */
static int file_holds(const struct cgroup_dir *d, const char *file, bool *held)
{
	char line[PATH_MAX + 128];
	FILE *f = fopen(file, "re");
	int r = -ENOENT;

	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	*held = false;
	while (fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *p = ctl ? strchr(ctl + 1, ':') : NULL;

		if (!p)
			continue;
		*ctl++ = '\0';
		*p++ = '\0';
		p[strcspn(p, "\n")] = '\0';
		if ((d->kind == CG_V2 && !strcmp(line, "0") && !*ctl) ||
		    (d->kind == CG_V1_FREEZER && has_token(ctl, "freezer"))) {
			*held = path_under(p, d->rel);
			r = 1;
			break;
		}
	}
	fclose(f);
	return r == -ENOENT ? 0 : r;   /* no line: this hierarchy does not hold it */
}

/* Our own process: every thread (v1 and threaded v2 place threads apart). */
static int self_held(const struct cgroup_dir *d)
{
	char p[64];
	struct dirent *de;
	DIR *dir = opendir("/proc/self/task");
	bool held = false;
	int r = 0;

	if (!dir)
		return -errno;
	while (!held && r >= 0 && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/self/task/%.20s/cgroup", de->d_name);
		r = file_holds(d, p, &held);
		if (r == -ESRCH)
			r = 0;   /* a thread that just ended */
	}
	closedir(dir);
	return r < 0 ? r : held;
}

int cgroup_holds_pid(const struct cgroup_dir *d, pid_t pid)
{
	char p[64];
	bool held = false;
	int r;

	if (pid == getpid())
		return self_held(d);
	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	r = file_holds(d, p, &held);
	return r < 0 ? r : held;
}

/* Reads a small kernel file of d into buf (NUL-terminated). */
static int read_at(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int write_file(const char *dir, const char *name, const char *val)
{
	char p[PATH_MAX + 32];
	int fd, r;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((fd = open(p, O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	r = fd_write_all(fd, val, strlen(val));
	close(fd);
	return r;
}

/* 1 frozen, 0 not, from the file's text. */
static int parse_state(const struct cgroup_dir *d, const char *text)
{
	if (d->kind == CG_V2) {
		const char *l = strstr(text, "frozen ");

		while (l && l != text && l[-1] != '\n')
			l = strstr(l + 1, "frozen ");
		return l && l[7] == '1';
	}
	return !strncmp(text, "FROZEN", 6);
}

static int open_state(const struct cgroup_dir *d)
{
	char p[PATH_MAX + 32];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", d->path,
		 d->kind == CG_V2 ? "cgroup.events" : "freezer.state");
	fd = open(p, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cgroup_is_frozen(const struct cgroup_dir *d)
{
	char text[512];
	int fd = open_state(d), r;

	if (fd < 0)
		return fd;
	r = read_at(fd, text, sizeof(text));
	close(fd);
	return r < 0 ? r : parse_state(d, text);
}

/* v1 THAWED reads "THAWED"; "FREEZING" is neither state. */
static bool reached(const struct cgroup_dir *d, const char *text, bool frozen)
{
	if (d->kind == CG_V1_FREEZER && !frozen)
		return !strncmp(text, "THAWED", 6);
	return parse_state(d, text) == frozen;
}

/* Waits for the state.  v2's cgroup.events signals POLLPRI on change; the
 * 20 ms cap re-reads anyway (and is v1's only way: freezer.state does not
 * notify), and a v1 freeze stuck in FREEZING is asked again every 100 ms,
 * as the kernel's freezer documentation prescribes. */
int cgroup_set_frozen(const struct cgroup_dir *d, bool frozen, int timeout_ms)
{
	const char *file = d->kind == CG_V2 ? "cgroup.freeze" : "freezer.state";
	const char *val = d->kind == CG_V2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
	int64_t start = mono_ms(), last = start, now;
	char text[512];
	int fd, r;

	if ((r = write_file(d->path, file, val)) < 0)
		return r;
	if ((fd = open_state(d)) < 0)
		return fd;
	for (;;) {
		if ((r = read_at(fd, text, sizeof(text))) < 0 || reached(d, text, frozen))
			break;
		now = mono_ms();
		if (now - start >= timeout_ms) {
			r = -ETIMEDOUT;
			break;
		}
		if (d->kind == CG_V1_FREEZER && frozen && now - last >= 100) {
			last = now;
			if ((r = write_file(d->path, file, val)) < 0)
				break;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLPRI };
		poll(&pfd, 1, d->kind == CG_V2 ? 20 : 2);
	}
	close(fd);
	return r;
}
