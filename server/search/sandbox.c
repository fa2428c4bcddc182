/* sandbox.c — the extractor child's sandbox (sandbox.h). */
#include <errno.h>
#include <stddef.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "server/search/exwire.h"
#include "server/search/sandbox.h"

#define NOBODY_ID 65534   /* when /etc/passwd has no nobody */

/* Landlock's ABI, written out: Debian 12's headers stop at ABI 2. */
#define LL_CREATE_VERSION 1u
#define LL_FS_ABI1   ((1ull << 13) - 1)   /* execute .. make_sym */
#define LL_FS_REFER  (1ull << 13)         /* ABI 2 */
#define LL_FS_TRUNC  (1ull << 14)         /* ABI 3 */
#define LL_FS_IOCTL  (1ull << 15)         /* ABI 5 */
#define LL_NET_TCP   3ull                 /* ABI 4: bind and connect */
#define LL_SCOPE_ALL 3ull                 /* ABI 6: abstract unix sockets, signals */

struct ll_attr {
	uint64_t fs, net, scoped;
};

static int drop_ids(uint64_t *held)
{
	struct passwd *pw;
	struct group *gr;
	uid_t uid = NOBODY_ID;
	gid_t gid = NOBODY_ID;

	if (geteuid() != 0) {   /* already unprivileged: nothing to give up */
		*held |= EXW_SB_UNPRIV;
		return 0;
	}
	if ((pw = getpwnam("nobody")) != NULL) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if ((gr = getgrnam("nogroup")) != NULL)
		gid = gr->gr_gid;
	if (uid == 0 || gid == 0)
		return -EPERM;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	if (setuid(0) == 0)   /* must not be able to come back */
		return -EPERM;
	*held |= EXW_SB_UNPRIV;
	return 0;
}

/* A ruleset that handles every right this kernel knows and grants none. */
static int landlock(uint64_t *held)
{
	struct ll_attr a = { .fs = LL_FS_ABI1 };
	size_t size = sizeof(a.fs);
	long abi, fd;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_VERSION);
	if (abi < 1)
		return 0;   /* no Landlock in this kernel: reported, not fatal */
	a.fs |= (abi >= 2 ? LL_FS_REFER : 0) | (abi >= 3 ? LL_FS_TRUNC : 0) |
		(abi >= 5 ? LL_FS_IOCTL : 0);
	if (abi >= 4) {
		a.net = LL_NET_TCP;
		size = offsetof(struct ll_attr, scoped);
	}
	if (abi >= 6) {
		a.scoped = LL_SCOPE_ALL;
		size = sizeof(a);
	}
	if ((fd = syscall(SYS_landlock_create_ruleset, &a, size, 0)) < 0)
		return -errno;
	if (syscall(SYS_landlock_restrict_self, fd, 0) < 0) {
		int e = errno;

		close((int)fd);
		return -e;
	}
	close((int)fd);
	*held |= EXW_SB_LANDLOCK;
	return 0;
}

/* Calls allowed on the socket only (the first argument is the fd): one
 * packet per read or write on a SOCK_SEQPACKET socket. */
static const int fd_calls[] = { SCMP_SYS(read), SCMP_SYS(write) };
/* Memory, time and the way out: what malloc (brk, mmap for big blocks,
 * mremap to grow them, madvise to trim), SQLite (its progress handler's
 * clock; futex for its uncontended mutexes, never expected) and exit
 * need.  Anything else kills the process with SIGSYS. */
static const int any_calls[] = {
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(futex), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* libseccomp refuses SCMP_ACT_KILL_PROCESS (seccomp_init gives NULL) where
 * the kernel cannot confirm it has that action: before 4.14, without
 * seccomp(2), under qemu-user.  The child is single-threaded, so killing
 * the thread (SCMP_ACT_KILL) kills the process alike; whether the kernel
 * takes a filter at all the load says, with its own errno
 * (SCMP_FLTATR_API_SYSRAWRC: libseccomp 2.5 says -ECANCELED otherwise). */
static int load_seccomp(int fd, uint64_t *held)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r;

	if (ctx == NULL)
		ctx = seccomp_init(SCMP_ACT_KILL);
	if (ctx == NULL)
		return -ENOMEM;
	r = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	for (size_t i = 0; r == 0 && i < sizeof(fd_calls) / sizeof(fd_calls[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, fd_calls[i], 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd));
	for (size_t i = 0; r == 0 && i < sizeof(any_calls) / sizeof(any_calls[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, any_calls[i], 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r == -EINVAL || r == -ENOSYS)
		return 0;   /* no seccomp filter in this kernel (qemu-user refuses
			     * PR_SET_SECCOMP with EINVAL): reported, not fatal */
	if (r == 0)
		*held |= EXW_SB_SECCOMP;
	return r;
}

/* Limits that need no system call later: no core file of a device's data,
 * no file growth, a memory ceiling (not under ASan: its shadow map counts). */
static int limits(pid_t parent)
{
	struct rlimit zero = { 0, 0 }, data = { SANDBOX_DATA_MAX, SANDBOX_DATA_MAX };

	if (setrlimit(RLIMIT_CORE, &zero) < 0 || setrlimit(RLIMIT_FSIZE, &zero) < 0)
		return -errno;
#ifndef __SANITIZE_ADDRESS__
	if (setrlimit(RLIMIT_DATA, &data) < 0)
		return -errno;
#else
	(void)data;
#endif
	/* after the uid change, which clears it: die with the server */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return -errno;
	return getppid() == parent ? 0 : -ESRCH;
}

int sandbox_enter(int fd, pid_t parent, uint64_t *held)
{
	int r;

	*held = 0;
	if ((r = drop_ids(held)) < 0 || (r = limits(parent)) < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	*held |= EXW_SB_NNP;
	if ((r = landlock(held)) < 0)
		return r;
	return load_seccomp(fd, held);
}
