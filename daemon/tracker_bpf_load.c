/* tracker_bpf_load.c — loads and attaches bpf/tracker.bpf.c in a
 * short-lived child, so that libbpf's copies of the kernel's BTF (about
 * 11 MB for an instant: /sys/kernel/btf/vmlinux read, then parsed into a
 * second buffer) never count against vigild's resident memory.  The child
 * is vigild itself, run again (posix_spawn of /proc/self/exe, "__bpf-loader"):
 * vigild has threads by then, and between a fork and an exec only
 * async-signal-safe calls are allowed, which libbpf is not; posix_spawn
 * does only those.  The child reads the request (struct tb_loadreq) from
 * fd 3, opens the object, sets its rodata, loads it (tp_btf sys_exit first,
 * the raw tracepoint when that does not load), fills the roots map and the
 * free-slot queue, attaches, and passes the fds of the maps user space uses
 * and of every link back over that socketpair (SCM_RIGHTS); then it exits
 * without destroying anything (destroying a perf-event link would disable
 * it for the parent too).  The links keep the programs attached while the
 * parent holds their fds.  A child that fails, dies or hangs (killed after
 * TB_LOAD_TIMEOUT_MS) is one error for start(): --tracker auto then goes on
 * to fanotify.  docs/tracker.md, docs/performance.md. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "common/log.h"
#include "daemon/tracker_bpf.h"
#include "tracker.skel.h"

#define TB_LOAD_TIMEOUT_MS (120 * 1000)   /* the verifier on a busy phone */
#define TB_LOADER_ARG "__bpf-loader"      /* argv[1] of the child */
#define TB_LOADER_FD 3                    /* its end of the socketpair */

extern char **environ;

struct tb_loadmsg {
	int32_t rc;
	uint8_t raw_tp;                   /* sys_exit is the raw tracepoint */
	uint8_t kcast;                    /* kernel fields by plain loads (trk_kcast) */
	char err[240];
};

/* In the child only: it logs nothing of its own (its error goes back in
 * the answer); verifier logs on request, straight to fd 2. */
static int child_log(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	(void)lvl;
	if (getenv("VIGIL_BPF_DEBUG"))
		return vdprintf(2, fmt, ap);
	return 0;
}

/* What a test asks of the loader (test_loader_hook). */
enum tb_test_load {
	TB_TEST_NONE,
	TB_TEST_RAW,      /* the raw tracepoint alone, with probe reads */
	TB_TEST_PROBE,    /* tp_btf with probe reads (kernels before 6.2) */
};

/* Whether this kernel's BTF has the kfunc bpf_rdonly_cast (6.2 and later):
 * then the program reads kernel fields with plain loads (trk_kcast).  The
 * program cannot ask itself: libbpf before 1.2 gives a kfunc's address as
 * 0 even where it resolves it.  A second parse of the kernel's BTF, in
 * this short-lived child: ~75 ms here. */
static bool kernel_has_rdonly_cast(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool has = vmlinux && btf__find_by_name_kind(vmlinux, "bpf_rdonly_cast", BTF_KIND_FUNC) > 0;

	btf__free(vmlinux);
	return has;
}

/* open -> rodata -> load, with the BTF-typed tracepoint first; the raw
 * tracepoint (kernels without tp_btf, so without bpf_rdonly_cast either)
 * reads kernel fields with bpf_probe_read_kernel, as test hooks may ask. */
static int child_load(struct tracker_bpf **out, const struct tb_loadreq *rq, struct tb_loadmsg *m,
		      enum tb_test_load test)
{
	bool kcast = test == TB_TEST_NONE && kernel_has_rdonly_cast();
	int rc = -ENOENT;

	for (int attempt = test == TB_TEST_RAW; attempt < 2; attempt++) {
		struct tracker_bpf *s = tracker_bpf__open();

		if (!s) {
			snprintf(m->err, sizeof(m->err), "open bpf object: %s", strerror(errno));
			return -errno;
		}
		s->rodata->trk_self_tgid = rq->self_tgid;
		memcpy((void *)s->rodata->trk_sysop, rq->sysop, sizeof(rq->sysop));
		bpf_program__set_autoload(attempt == 0 ? s->progs.trk_exit_raw : s->progs.trk_exit_btf,
					  false);
		bpf_program__set_autoload(s->progs.trk_close, rq->close_tp);
		bpf_program__set_autoload(s->progs.trk_proc_exit, rq->exit_tp);
		s->rodata->trk_uring_tps = rq->uring_tps;
		s->rodata->trk_kcast = kcast && attempt == 0;
		bpf_program__set_autoload(s->progs.trk_uring_done, rq->uring_tps);
		bpf_program__set_autoload(s->progs.trk_uring_submit, rq->uring_tps);
		if ((rc = tracker_bpf__load(s)) == 0) {
			m->raw_tp = attempt == 1;
			m->kcast = s->rodata->trk_kcast;
			*out = s;
			return 0;
		}
		tracker_bpf__destroy(s);
	}
	snprintf(m->err, sizeof(m->err), "load bpf programs: %s%s", strerror(-rc),
		 rc == -ENOSYS ? " (no CONFIG_BPF_SYSCALL, or an emulator without bpf(2): qemu-user)" : "");
	return rc;
}

/* Roots and ancestors, then every slot into the free queue: both before
 * the programs attach, so their first event already sees them. */
static int child_fill(struct tracker_bpf *s, const struct tb_loadreq *rq, struct tb_loadmsg *m)
{
	int rfd = bpf_map__fd(s->maps.trk_roots);
	int qfd = bpf_map__fd(s->maps.trk_free);

	for (size_t i = 0; i < rq->nroots; i++) {
		if (bpf_map_update_elem(rfd, &rq->roots[i].k, &rq->roots[i].v, BPF_ANY) < 0) {
			snprintf(m->err, sizeof(m->err), "roots map: %s", strerror(errno));
			return -errno;
		}
	}
	for (uint32_t i = 0; i < TRK_SLOTS; i++) {
		if (bpf_map_update_elem(qfd, NULL, &i, 0) < 0) {
			snprintf(m->err, sizeof(m->err), "free-slot queue: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* Sends m and, when it succeeded, the fds in enum tb_fd order then links. */
static int child_send(int sock, struct tracker_bpf *s, struct tb_loadmsg *m)
{
	int fds[TB_FD_MAX + TB_LINKS_MAX];
	union { char b[CMSG_SPACE(sizeof(fds))]; struct cmsghdr a; } cbuf;
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t n = 0;

	if (s && m->rc == 0) {
		fds[TB_FD_ROOTS] = bpf_map__fd(s->maps.trk_roots);
		fds[TB_FD_FILES] = bpf_map__fd(s->maps.trk_files);
		fds[TB_FD_SLOTS] = bpf_map__fd(s->maps.trk_slots);
		fds[TB_FD_FREE] = bpf_map__fd(s->maps.trk_free);
		fds[TB_FD_RB] = bpf_map__fd(s->maps.trk_rb);
		fds[TB_FD_BSS] = bpf_map__fd(s->maps.bss);
		n = TB_FD_MAX;
		for (int i = 0; i < s->skeleton->prog_cnt && n < TB_FD_MAX + TB_LINKS_MAX; i++) {
			struct bpf_link *l = *s->skeleton->progs[i].link;

			if (l)
				fds[n++] = bpf_link__fd(l);
		}
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.b;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), fds, n * sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static void __attribute__((noreturn)) child_main(int sock, const struct tb_loadreq *rq,
						  enum tb_test_load test)
{
	struct tracker_bpf *s = NULL;
	struct tb_loadmsg m;
	int rc;

	memset(&m, 0, sizeof(m));
	libbpf_set_print(child_log);
	if ((rc = child_load(&s, rq, &m, test)) == 0 && (rc = child_fill(s, rq, &m)) == 0 &&
	    (rc = tracker_bpf__attach(s)) < 0)
		snprintf(m.err, sizeof(m.err), "attach bpf programs: %s", strerror(-rc));
	m.rc = rc;
	_exit(child_send(sock, s, &m) < 0 ? 2 : 0);
}

/* Test hooks (VIGIL_TEST_HOOKS=1): VIGIL_TEST_BPF_LOADER=kill makes the
 * child die by SIGKILL before it answers, as a crash would (t_tracker.sh);
 * =raw loads the raw_tp/sys_exit program alone, the fallback for kernels
 * without tp_btf; =probe the tp_btf program reading kernel fields with
 * probe reads, as on kernels before 6.2 (test_tracker_bpf). */
static enum tb_test_load test_loader_hook(void)
{
	const char *on = getenv("VIGIL_TEST_HOOKS"), *what = getenv("VIGIL_TEST_BPF_LOADER");

	if (!on || strcmp(on, "1") || !what)
		return TB_TEST_NONE;
	if (!strcmp(what, "kill"))
		raise(SIGKILL);
	if (!strcmp(what, "raw"))
		return TB_TEST_RAW;
	return !strcmp(what, "probe") ? TB_TEST_PROBE : TB_TEST_NONE;
}

int tracker_bpf_loader(int argc, char **argv)
{
	struct tb_loadreq *rq;
	enum tb_test_load test;

	if (argc != 2 || strcmp(argv[1], TB_LOADER_ARG) != 0)
		return 0;
	test = test_loader_hook();
	if (!(rq = malloc(sizeof(*rq))) ||
	    recv(TB_LOADER_FD, rq, sizeof(*rq), 0) != (ssize_t)sizeof(*rq))
		_exit(2);
	child_main(TB_LOADER_FD, rq, test);
}

/* Takes the fds out of a received message; -EPROTO when they are not all there. */
static int take_fds(struct msghdr *mh, struct tb_loaded *out)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(mh);
	size_t n;

	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	memcpy(out->fd, CMSG_DATA(c), (n < TB_FD_MAX ? n : TB_FD_MAX) * sizeof(int));
	if (n < TB_FD_MAX || (mh->msg_flags & MSG_CTRUNC)) {
		for (size_t i = 0; i < n && i < TB_FD_MAX; i++)
			close(out->fd[i]);
		return -EPROTO;
	}
	out->nlinks = n - TB_FD_MAX;
	memcpy(out->links, (int *)CMSG_DATA(c) + TB_FD_MAX, out->nlinks * sizeof(int));
	return 0;
}

static int parent_recv(int sock, struct tb_loaded *out, char *err, size_t errlen)
{
	int fds[TB_FD_MAX + TB_LINKS_MAX];
	union { char b[CMSG_SPACE(sizeof(fds))]; struct cmsghdr a; } cbuf;
	struct tb_loadmsg m;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf) };
	struct pollfd p = { .fd = sock, .events = POLLIN };
	ssize_t r;
	int rc;

	if ((rc = poll(&p, 1, TB_LOAD_TIMEOUT_MS)) <= 0) {
		snprintf(err, errlen, "bpf loader: %s", rc == 0 ? "timed out" : strerror(errno));
		return rc == 0 ? -ETIMEDOUT : -errno;
	}
	r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (r != (ssize_t)sizeof(m)) {
		snprintf(err, errlen, "bpf loader: no answer");
		return r < 0 ? -errno : -ECONNRESET;   /* it ended: the caller says how */
	}
	m.err[sizeof(m.err) - 1] = '\0';
	if (m.rc < 0) {
		snprintf(err, errlen, "%s", m.err);
		return m.rc;
	}
	if ((rc = take_fds(&mh, out)) < 0) {
		snprintf(err, errlen, "bpf loader: fds missing");
		return rc;
	}
	out->raw_tp = m.raw_tp;
	out->kcast = m.kcast;
	return 0;
}

/* Runs vigild again as the loader, its end of the socketpair on fd 3 (dup2
 * clears close-on-exec there), with no signal blocked. */
static int spawn_loader(int sock, pid_t *pid, char *err, size_t errlen)
{
	char *argv[] = { "vigild", TB_LOADER_ARG, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	int rc;

	sigemptyset(&none);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto out;
	if ((rc = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto out;
	}
	if ((rc = posix_spawn_file_actions_adddup2(&fa, sock, TB_LOADER_FD)) == 0 &&
	    (rc = posix_spawnattr_setsigmask(&at, &none)) == 0 &&
	    (rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK)) == 0)
		rc = posix_spawn(pid, "/proc/self/exe", &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
out:
	if (rc != 0)
		snprintf(err, errlen, "start bpf loader: %s", strerror(rc));
	return -rc;
}

/* A child that did not answer: how it ended, as the one error line. */
static void describe_end(int st, char *err, size_t errlen)
{
	if (WIFSIGNALED(st))
		snprintf(err, errlen, "bpf loader died (signal %d) without an answer", WTERMSIG(st));
	else if (WIFEXITED(st))
		snprintf(err, errlen, "bpf loader exited (status %d) without an answer",
			 WEXITSTATUS(st));
}

/* Starts the loader, sends it rq, waits for its fds and reaps it. */
int tb_load_child(const struct tb_loadreq *rq, struct tb_loaded *out, char *err, size_t errlen)
{
	int sv[2], rc, st = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -errno;
	}
	if (sv[1] == TB_LOADER_FD) {   /* dup2 onto itself would keep close-on-exec */
		int fd = fcntl(sv[1], F_DUPFD_CLOEXEC, TB_LOADER_FD + 1);

		close(sv[1]);
		sv[1] = fd;
	}
	rc = sv[1] < 0 ? -EMFILE : spawn_loader(sv[1], &pid, err, errlen);
	if (sv[1] >= 0)
		close(sv[1]);
	if (rc < 0) {
		close(sv[0]);
		return rc;
	}
	if (send(sv[0], rq, sizeof(*rq), MSG_NOSIGNAL) != (ssize_t)sizeof(*rq))
		rc = -ECONNRESET;     /* it died first: said below */
	else
		rc = parent_recv(sv[0], out, err, errlen);
	close(sv[0]);
	if (rc == -ETIMEDOUT)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (rc == -ECONNRESET)
		describe_end(st, err, errlen);
	return rc;
}

/* The .bss map (stats, io_uring time) mapped the way libbpf maps it. */
int tb_map_bss(struct tracker *t, char *err, size_t errlen)
{
	long pg = sysconf(_SC_PAGESIZE);

	t->bss_len = (sizeof(struct tracker_bpf__bss) + pg - 1) / pg * pg;
	t->bss = mmap(NULL, t->bss_len, PROT_READ | PROT_WRITE, MAP_SHARED, t->ld.fd[TB_FD_BSS], 0);
	if (t->bss == MAP_FAILED) {
		t->bss = NULL;
		snprintf(err, errlen, "mmap bss: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* A new fd of the sys_exit program the tracker attached (found through its
 * links), for a bench that reads its run time and a test that reads its
 * rodata; -1 when there is none.  The caller closes it. */
int tracker_bpf_exit_prog(struct tracker *t)
{
	for (size_t i = 0; i < t->ld.nlinks; i++) {
		struct bpf_link_info li;
		struct bpf_prog_info pi;
		__u32 len = sizeof(li);
		int fd;

		memset(&li, 0, sizeof(li));
		if (bpf_obj_get_info_by_fd(t->ld.links[i], &li, &len) < 0 ||
		    (fd = bpf_prog_get_fd_by_id(li.prog_id)) < 0)
			continue;
		memset(&pi, 0, sizeof(pi));
		len = sizeof(pi);
		if (bpf_obj_get_info_by_fd(fd, &pi, &len) == 0 && !strncmp(pi.name, "trk_exit_", 9))
			return fd;
		close(fd);
	}
	return -1;
}
