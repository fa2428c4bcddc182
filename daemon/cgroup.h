/* cgroup.h — one freezable cgroup directory: which kind it is (cgroup v2
 * with cgroup.freeze, or a cgroup of the v1 freezer hierarchy), where it
 * sits inside its hierarchy, whether it holds a given process, and freezing
 * or thawing it with the kernel's confirmation.  daemon/freezer.c keeps a
 * set of them for `--freeze-cgroup`. */
#ifndef VIGIL_DAEMON_CGROUP_H
#define VIGIL_DAEMON_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum cg_kind { CG_V1_FREEZER = 1, CG_V2 = 2 };

struct cgroup_dir {
	enum cg_kind kind;
	char path[PATH_MAX];      /* canonical path of the directory */
	char rel[PATH_MAX];       /* its path inside the hierarchy, as /proc/PID/cgroup writes it */
};

/* Validates path and fills d: a directory on a cgroup2 mount with
 * cgroup.freeze, or on a cgroup v1 mount of the freezer controller with
 * freezer.state (neither exists at a hierarchy's root).  0, or -errno
 * with a one-line reason naming the path in err. */
int cgroup_dir_open(struct cgroup_dir *d, const char *path, char *err, size_t errlen);

/* 1 when pid (any of its threads when it is our own process) sits in d or
 * below it, 0 when not, -errno (-ESRCH: the process is gone). */
int cgroup_holds_pid(const struct cgroup_dir *d, pid_t pid);

/* Asks the kernel to freeze (or thaw) d and waits until it reports so
 * (v2: `frozen 1`/`frozen 0` in cgroup.events; v1: freezer.state reads
 * FROZEN/THAWED).  0, -ETIMEDOUT after timeout_ms, or -errno. */
int cgroup_set_frozen(const struct cgroup_dir *d, bool frozen, int timeout_ms);

/* What the kernel reports now: 1 frozen, 0 not (v1 FREEZING counts as
 * not yet), -errno. */
int cgroup_is_frozen(const struct cgroup_dir *d);

/* The mount point of the cgroup2 hierarchy and of the v1 freezer
 * hierarchy, from /proc/self/mountinfo; "" when not mounted. */
void cgroup_mounts(char v2[PATH_MAX], char v1_freezer[PATH_MAX]);

#endif
