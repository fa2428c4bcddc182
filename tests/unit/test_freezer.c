/* test_freezer.c — daemon/freezer.c and daemon/cgroup.c on real cgroups
 * (as root): a cgroup v2 directory under /sys/fs/cgroup/unified and a v1
 * freezer cgroup under /sys/fs/cgroup/freezer, each holding a child that
 * increments a counter in shared memory.  Freeze: both counters stop and
 * the kernel says frozen; thaw: they move again.  A cgroup holding the test
 * process (directly, through nesting, or as the parent of the process that
 * opens the freezer) is refused.  The frozen record survives a new freezer
 * instance (a restart) and re-freezes after the kernel forgot (a reboot).
 * Teardown thaws, kills the children, moves everything out and removes the
 * cgroups whatever happened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "daemon/cgroup.h"
#include "daemon/freezer.h"

#define V2_ROOT "/sys/fs/cgroup/unified"
#define V1_ROOT "/sys/fs/cgroup/freezer"
#define STILL_MS 300     /* a frozen counter must not move over this long */
#define MOVE_MS  3000    /* a running counter must move within this (2 shared cores) */

struct fx {
	char v2[256], v1[256], v2_outer[256], v2_inner[300], state[64];
	char self_v2[256], self_v1[256];   /* where the test process started */
	volatile uint64_t *ctr;            /* [0] the v2 child's, [1] the v1 child's */
	pid_t child[2];
};

static void put(const char *dir, const char *file, const char *val)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	if ((fd = open(p, O_WRONLY | O_CLOEXEC)) < 0)
		return;
	if (write(fd, val, strlen(val)) < 0) { /* best effort: cleanup paths */ }
	close(fd);
}

static void move_pid(const char *dir, pid_t pid)
{
	char v[32];

	snprintf(v, sizeof(v), "%d", (int)pid);
	put(dir, "cgroup.procs", v);
}

/* Moves every process of dir to dest (cleanup). */
static void empty_into(const char *dir, const char *dest)
{
	char p[512];
	int pid;
	FILE *f;

	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	if (!(f = fopen(p, "re")))
		return;
	while (fscanf(f, "%d", &pid) == 1)
		move_pid(dest, pid);
	fclose(f);
}

/* Our cgroup in a hierarchy (controllers "" for v2), as a path under its mount. */
static void self_cgroup(const char *root, const char *ctl, char *out, size_t cap)
{
	char line[512];
	FILE *f = fopen("/proc/self/cgroup", "re");

	snprintf(out, cap, "%s", root);
	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;

		if (!p)
			continue;
		*p++ = '\0';
		c++;
		p[strcspn(p, "\n")] = '\0';
		if ((*ctl && strstr(c, ctl)) || (!*ctl && !*c))
			snprintf(out, cap, "%s%s", root, strcmp(p, "/") ? p : "");
	}
	if (f)
		fclose(f);
}

static pid_t spawn_counter(volatile uint64_t *ctr)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;) {
			(*ctr)++;
			usleep(200);   /* moves ~thousands of times a second, spares the CPU */
		}
	}
	return pid;
}

static bool moves(volatile uint64_t *ctr, int within_ms)
{
	uint64_t a = *ctr;
	int64_t end = mono_ms() + within_ms;

	while (mono_ms() < end) {
		usleep(5000);
		if (*ctr != a)
			return true;
	}
	return false;
}

static bool still(volatile uint64_t *ctr)
{
	uint64_t a = *ctr;

	usleep(STILL_MS * 1000);
	return *ctr == a;
}

static void teardown_cgroups(struct fx *x)
{
	put(x->v2, "cgroup.freeze", "0");
	put(x->v1, "freezer.state", "THAWED");   /* a frozen v1 task cannot die */
	for (int i = 0; i < 2; i++)
		if (x->child[i] > 0) {
			kill(x->child[i], SIGKILL);
			waitpid(x->child[i], NULL, 0);
			x->child[i] = 0;
		}
	move_pid(x->self_v2, getpid());
	move_pid(x->self_v1, getpid());
	empty_into(x->v2_inner, V2_ROOT);
	empty_into(x->v2_outer, V2_ROOT);
	empty_into(x->v2, V2_ROOT);
	empty_into(x->v1, V1_ROOT);
	rmdir(x->v2_inner);
	rmdir(x->v2_outer);
	rmdir(x->v2);
	rmdir(x->v1);
}

static int teardown(void **state)
{
	struct fx *x = *state;
	char p[128];

	if (!x)
		return 0;
	teardown_cgroups(x);
	snprintf(p, sizeof(p), "%s/%s", x->state, FREEZER_STATE_FILE);
	unlink(p);
	rmdir(x->state);
	munmap((void *)x->ctr, 4096);
	free(x);
	return 0;
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	int pid = (int)getpid();

	if (!x || geteuid() != 0) {
		fprintf(stderr, "test_freezer needs root (real cgroups)\n");
		free(x);
		return -1;
	}
	*state = x;
	snprintf(x->v2, sizeof(x->v2), V2_ROOT "/vigil-test-freezer-%d", pid);
	snprintf(x->v1, sizeof(x->v1), V1_ROOT "/vigil-test-freezer-%d", pid);
	snprintf(x->v2_outer, sizeof(x->v2_outer), V2_ROOT "/vigil-test-refuse-%d", pid);
	snprintf(x->v2_inner, sizeof(x->v2_inner), "%s/inner", x->v2_outer);
	snprintf(x->state, sizeof(x->state), "/tmp/vigil-test-freezer-XXXXXX");
	self_cgroup(V2_ROOT, "", x->self_v2, sizeof(x->self_v2));
	self_cgroup(V1_ROOT, "freezer", x->self_v1, sizeof(x->self_v1));
	x->ctr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (x->ctr == MAP_FAILED || !mkdtemp(x->state) || mkdir(x->v2, 0755) < 0 ||
	    mkdir(x->v1, 0755) < 0 || mkdir(x->v2_outer, 0755) < 0 || mkdir(x->v2_inner, 0755) < 0)
		return -1;
	x->child[0] = spawn_counter(&x->ctr[0]);
	x->child[1] = spawn_counter(&x->ctr[1]);
	if (x->child[0] < 0 || x->child[1] < 0)
		return -1;
	move_pid(x->v2, x->child[0]);
	move_pid(x->v1, x->child[1]);
	return 0;
}

static struct freezer *open_both(struct fx *x)
{
	char *paths[2] = { x->v2, x->v1 }, err[512] = "";
	struct freezer *f = NULL;
	int r = freezer_open(&f, x->state, paths, 2, err, sizeof(err));

	if (r < 0)
		fprintf(stderr, "freezer_open: %s\n", err);
	assert_int_equal(r, 0);
	return f;
}

/* What the kernel says, read straight from its files. */
static bool kernel_frozen_v2(const struct fx *x)
{
	char p[512], buf[256] = "";
	FILE *f;

	snprintf(p, sizeof(p), "%s/cgroup.events", x->v2);
	if (!(f = fopen(p, "re")))
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, "frozen 1\n") != NULL;
}

static bool kernel_frozen_v1(const struct fx *x)
{
	char p[512], buf[64] = "";
	FILE *f;

	snprintf(p, sizeof(p), "%s/freezer.state", x->v1);
	if (!(f = fopen(p, "re")))
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return !strcmp(buf, "FROZEN\n");
}

static void assert_frozen(struct fx *x)
{
	assert_true(kernel_frozen_v2(x));
	assert_true(kernel_frozen_v1(x));
	assert_true(still(&x->ctr[0]));
	assert_true(still(&x->ctr[1]));
}

static void assert_running(struct fx *x)
{
	assert_false(kernel_frozen_v2(x));
	assert_false(kernel_frozen_v1(x));
	assert_true(moves(&x->ctr[0], MOVE_MS));
	assert_true(moves(&x->ctr[1], MOVE_MS));
}

static void test_freeze_thaw(void **state)
{
	struct fx *x = *state;
	struct freezer *f = open_both(x);
	char err[512] = "";
	int64_t t0;

	assert_running(x);
	t0 = mono_ms();
	assert_int_equal(freezer_freeze(f, FREEZER_TIMEOUT_MS, err, sizeof(err)), 0);
	fprintf(stderr, "freeze of 2 cgroups confirmed in %lld ms\n", (long long)(mono_ms() - t0));
	assert_frozen(x);
	assert_int_equal(freezer_thaw(f, FREEZER_TIMEOUT_MS, err, sizeof(err)), 0);
	assert_running(x);
	freezer_free(f);
}

static void expect_refused(const char *path, const char *state_dir)
{
	char *paths[1] = { (char *)path }, err[512] = "";
	struct freezer *f = NULL;

	assert_int_equal(freezer_open(&f, state_dir, paths, 1, err, sizeof(err)), -EPERM);
	assert_null(f);
}

/* The test process itself in a v2 cgroup: that cgroup and its parent are
 * refused; in the v1 freezer cgroup: refused. */
static void test_refuse_self(void **state)
{
	struct fx *x = *state;

	move_pid(x->v2_inner, getpid());
	expect_refused(x->v2_inner, x->state);
	expect_refused(x->v2_outer, x->state);
	move_pid(x->self_v2, getpid());
	move_pid(x->v1, getpid());
	expect_refused(x->v1, x->state);
	move_pid(x->self_v1, getpid());
	freezer_free(open_both(x));   /* the same cgroups without us: accepted */
}

/* A process whose parent sits in the cgroup must refuse it too. */
static void test_refuse_ancestor(void **state)
{
	struct fx *x = *state;
	int status = -1;
	pid_t kid;

	move_pid(x->v2_outer, getpid());
	kid = fork();
	if (kid == 0) {
		/* the child starts in its parent's cgroup; leave it first */
		char *paths[1] = { x->v2_outer }, err[512];
		struct freezer *f = NULL;

		move_pid(x->self_v2, getpid());
		_exit(freezer_open(&f, x->state, paths, 1, err, sizeof(err)) == -EPERM ? 0 : 1);
	}
	assert_true(kid > 0);
	waitpid(kid, &status, 0);
	move_pid(x->self_v2, getpid());
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_not_freezable(void **state)
{
	struct fx *x = *state;
	char *bad[] = { "/tmp", V2_ROOT, V1_ROOT, "/sys/fs/cgroup/pids", "/nonexistent" };
	int want[] = { -ENOTDIR, -ENOTSUP, -ENOTSUP, -ENOTSUP, -ENOENT };
	char err[512];
	struct freezer *f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = NULL;
		assert_int_equal(freezer_open(&f, x->state, &bad[i], 1, err, sizeof(err)), want[i]);
		assert_null(f);
	}
	/* no cgroups at all: opens, but a freeze says why it cannot */
	assert_int_equal(freezer_open(&f, x->state, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(freezer_freeze(f, 100, err, sizeof(err)), -ENOENT);
	freezer_free(f);
}

static void read_record(const struct fx *x, char *buf, size_t cap)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", x->state, FREEZER_STATE_FILE);
	buf[0] = '\0';
	if ((f = fopen(p, "re"))) {
		if (!fgets(buf, (int)cap, f))
			buf[0] = '\0';
		fclose(f);
	}
}

/* Freeze, "restart" (new instance) after the kernel forgot ("reboot"):
 * restore freezes again; after a thaw, restore does nothing. */
static void test_persist(void **state)
{
	struct fx *x = *state;
	struct freezer *f = open_both(x);
	char err[512] = "", rec[32];

	assert_false(freezer_recorded_frozen(f));
	assert_int_equal(freezer_restore(f, FREEZER_TIMEOUT_MS, err, sizeof(err)), 0);
	assert_int_equal(freezer_freeze(f, FREEZER_TIMEOUT_MS, err, sizeof(err)), 0);
	freezer_free(f);
	read_record(x, rec, sizeof(rec));
	assert_string_equal(rec, "frozen\n");

	put(x->v2, "cgroup.freeze", "0");
	put(x->v1, "freezer.state", "THAWED");
	assert_running(x);

	f = open_both(x);
	assert_true(freezer_recorded_frozen(f));
	assert_int_equal(freezer_restore(f, FREEZER_TIMEOUT_MS, err, sizeof(err)), 1);
	assert_frozen(x);
	assert_int_equal(freezer_thaw(f, FREEZER_TIMEOUT_MS, err, sizeof(err)), 0);
	freezer_free(f);
	read_record(x, rec, sizeof(rec));
	assert_string_equal(rec, "thawed\n");

	f = open_both(x);
	assert_false(freezer_recorded_frozen(f));
	assert_int_equal(freezer_restore(f, FREEZER_TIMEOUT_MS, err, sizeof(err)), 0);
	freezer_free(f);
	assert_running(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_freeze_thaw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_self, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_ancestor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_freezable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persist, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
