/* test_sandbox.c — the extractor child's sandbox (server/search/sandbox.c)
 * where the kernel takes no seccomp filter, forced by wrappers of
 * libseccomp linked into this test alone (-Wl,--wrap, the Makefile) that
 * answer as libseccomp 2.5.4 does under qemu-user 7.2: seccomp_init gives
 * NULL for SCMP_ACT_KILL_PROCESS, and the kernel refuses the load (-EINVAL
 * with SCMP_FLTATR_API_SYSRAWRC, -ECANCELED without).  The sandbox takes
 * its "no seccomp" path: 0, every other part held, EXW_SB_SECCOMP not
 * (the parent logs that once).  Where the kernel has filters the filter is
 * loaded (Seccomp: 2 in the child's /proc status), and where it has none
 * (qemu-user: make test-arm64) the real libseccomp gives the no-seccomp
 * path; a seccomp_init that fails for every action is an error (-ENOMEM),
 * never a silent lack. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <seccomp.h>

#include "server/search/exwire.h"
#include "server/search/sandbox.h"
#include "tests/unit/proc_status.h"

enum fake { REAL, NO_FILTER, NO_MEMORY };
static enum fake fake;

scmp_filter_ctx __real_seccomp_init(uint32_t def_action);
scmp_filter_ctx __wrap_seccomp_init(uint32_t def_action);
int __real_seccomp_load(const scmp_filter_ctx ctx);
int __wrap_seccomp_load(const scmp_filter_ctx ctx);

scmp_filter_ctx __wrap_seccomp_init(uint32_t def_action)
{
	if (fake == NO_MEMORY || (fake == NO_FILTER && def_action == SCMP_ACT_KILL_PROCESS))
		return NULL;
	return __real_seccomp_init(def_action);
}

int __wrap_seccomp_load(const scmp_filter_ctx ctx)
{
	uint32_t raw = 0;

	if (fake != NO_FILTER)
		return __real_seccomp_load(ctx);
	if (seccomp_attr_get(ctx, SCMP_FLTATR_API_SYSRAWRC, &raw) < 0)
		raw = 0;
	return raw ? -EINVAL : -ECANCELED;
}

struct outcome {
	int r;
	uint64_t held;
	long seccomp;   /* the child's "Seccomp:" in /proc/PID/status */
};

/* sandbox_enter in a child, as the extractor does: the child reports on
 * its socket (the one fd it may use) and waits there until told to exit,
 * so its /proc status is read while the sandbox holds. */
static struct outcome enter(enum fake how)
{
	struct outcome o = { 0 };
	pid_t parent = getpid(), pid;
	int sv[2], status;
	char go = 0;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		fake = how;
		o.r = sandbox_enter(sv[1], parent, &o.held);
		if (write(sv[1], &o, sizeof(o)) != (ssize_t)sizeof(o))
			_exit(2);
		if (read(sv[1], &go, 1) < 0)
			_exit(3);
		syscall(SYS_exit_group, 0);   /* not _exit: ASan's would call sigaltstack */
	}
	assert_true(pid > 0);
	close(sv[1]);
	assert_int_equal(read(sv[0], &o, sizeof(o)), (ssize_t)sizeof(o));
	o.seccomp = status_field(pid, "Seccomp");
	assert_int_equal(write(sv[0], &go, 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(sv[0]);
	return o;
}

/* Whether this kernel takes seccomp filters at all: not without
 * CONFIG_SECCOMP, nor under qemu-user (make test-arm64), where seccomp(2)
 * is ENOSYS.  (Before 4.14 the action query is EINVAL: filters exist.) */
static bool kernel_filters(void)
{
	unsigned action = SECCOMP_RET_KILL_PROCESS;

	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0 || errno != ENOSYS;
}

/* What each kernel gives, and what the sandbox must say about it. */
static void test_cases(void **state)
{
	static const struct {
		enum fake how;
		int r;
		bool seccomp;   /* EXW_SB_SECCOMP held */
		long mode;      /* the child's Seccomp: 2 = SECCOMP_MODE_FILTER */
	} cases[] = {
		{ REAL, 0, true, 2 },
		{ NO_FILTER, 0, false, 0 },
		{ NO_MEMORY, -ENOMEM, false, 0 },   /* an error: nothing more checked */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct outcome o = enter(cases[i].how);
		/* no filters here (qemu-user): the real libseccomp must take
		 * the no-seccomp path by itself, as NO_FILTER fakes it */
		bool none = cases[i].how == REAL && !kernel_filters();

		assert_int_equal(o.r, cases[i].r);
		assert_int_equal(!!(o.held & EXW_SB_SECCOMP), none ? false : cases[i].seccomp);
		if (cases[i].r < 0)
			continue;
		assert_true(o.held & EXW_SB_NNP);
		assert_true(o.held & EXW_SB_UNPRIV);
		assert_int_equal(o.seccomp, none ? 0 : cases[i].mode);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
