/* exproc.c — the extractor child's life: start, sandbox report, kill,
 * backoff (exproc.h); and the packet I/O with deadlines. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/search/exproc_int.h"

static char *env_copy(const char *name)
{
	const char *v = getenv(name);
	char *s = NULL;

	if (v != NULL && asprintf(&s, "%s=%s", name, v) < 0)
		s = NULL;
	return s;
}

int exproc_new(const char *exe, struct exproc **out)
{
	struct exproc *ep = calloc(1, sizeof(*ep));
	const char *ms = getenv("VIGIL_TEST_EXTRACT_MS");
	int n = 0;

	if (ep == NULL || (ep->buf = malloc(EXW_MSG_MAX)) == NULL) {
		free(ep);
		return -ENOMEM;
	}
	snprintf(ep->exe, sizeof(ep->exe), "%s", exe);
	ep->fd = -1;
	if (ms != NULL)
		ep->file_ms = strtol(ms, NULL, 10);
	/* the child's whole environment: test hooks and sanitizer options */
	if ((ep->envp[n] = env_copy("VIGIL_TEST_EXTRACT_HOOK")) != NULL)
		n++;
	if ((ep->envp[n] = env_copy("ASAN_OPTIONS")) != NULL)
		n++;
	if ((ep->envp[n] = env_copy("UBSAN_OPTIONS")) != NULL)
		n++;
	*out = ep;
	return 0;
}

void exproc_free(struct exproc *ep)
{
	if (ep == NULL)
		return;
	exproc_child_kill(ep, NULL, NULL, 0);
	for (int i = 0; i < 3; i++)
		free(ep->envp[i]);
	free(ep->buf);
	free(ep);
}

void exproc_stats(struct exproc *ep, struct exproc_stats *out)
{
	*out = ep->st;
	out->pid = ep->fd >= 0 ? ep->pid : 0;
}

/* Kills and reaps the child; why (NULL: an orderly stop) goes into
 * reason with how the child ended. */
void exproc_child_kill(struct exproc *ep, const char *why, char *reason, size_t len)
{
	int status = 0;

	if (ep->fd < 0)
		return;
	close(ep->fd);
	ep->fd = -1;
	kill(ep->pid, SIGKILL);
	while (waitpid(ep->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (why == NULL)
		return;
	ep->st.failed++;
	ep->fails++;
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
		snprintf(reason, len, "extractor %s (signal %d)", why, WTERMSIG(status));
	else
		snprintf(reason, len, "extractor %s", why);
}

int exproc_send(struct exproc *ep, int64_t deadline, uint32_t type, int64_t a,
		const void *p, size_t len)
{
	struct exw_hdr h = { .type = type, .len = (uint32_t)len, .a = a };
	struct pollfd pfd = { .fd = ep->fd, .events = POLLOUT };
	int64_t left;

	memcpy(ep->buf, &h, sizeof(h));
	if (len > 0)
		memmove(ep->buf + sizeof(h), p, len);
	for (;;) {
		if (send(ep->fd, ep->buf, sizeof(h) + len, MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((left = deadline - mono_ms()) <= 0)
			return -ETIMEDOUT;
		(void)poll(&pfd, 1, (int)left);
	}
}

/* One packet into ep->buf; its header checked against its length. */
int exproc_recv(struct exproc *ep, int64_t deadline, struct exw_hdr *h)
{
	struct pollfd pfd = { .fd = ep->fd, .events = POLLIN };
	int64_t left;
	ssize_t n;

	while ((n = recv(ep->fd, ep->buf, EXW_MSG_MAX, MSG_TRUNC)) < 0) {
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((left = deadline - mono_ms()) <= 0)
			return -ETIMEDOUT;
		(void)poll(&pfd, 1, (int)left);
	}
	if (n == 0)
		return -EPIPE;
	if (n < (ssize_t)sizeof(*h) || n > (ssize_t)EXW_MSG_MAX)
		return -EPROTO;
	memcpy(h, ep->buf, sizeof(*h));
	return h->len == (size_t)n - sizeof(*h) ? 0 : -EPROTO;
}

/* posix_spawn: vfork-like, safe in a threaded process; the child gets
 * its socket as EXW_FD, /dev/null as 0-2 and no other descriptor. */
static int spawn(struct exproc *ep, int sv[2])
{
	static char arg0[] = "vigil-server", arg1[] = "extractor";
	char *argv[] = { arg0, arg1, NULL };
	posix_spawn_file_actions_t fa;
	int r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], EXW_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, EXW_FD + 1);
	r = posix_spawn(&ep->pid, ep->exe, &fa, NULL, argv, ep->envp);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

/* The child's HELLO: what its sandbox holds, each lack logged once. */
static int hello(struct exproc *ep)
{
	static const struct { uint64_t bit; const char *what; } parts[] = {
		{ EXW_SB_UNPRIV, "an unprivileged uid" }, { EXW_SB_NNP, "no_new_privs" },
		{ EXW_SB_LANDLOCK, "Landlock (this kernel has none)" },
		{ EXW_SB_SECCOMP, "a seccomp filter (this kernel has none)" },
	};
	struct exw_hdr h;
	int r;

	if ((r = exproc_recv(ep, mono_ms() + EXPROC_HELLO_MS, &h)) < 0)
		return log_errno(r, "search index: the extractor did not start"), r;
	if (h.type != EXW_HELLO || h.len != 0)
		return log_warnx("search index: the extractor did not say hello"), -EPROTO;
	if (h.a < 0)
		return log_errno((int)h.a, "search index: the extractor cannot sandbox itself"),
		       (int)h.a;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!(h.b & parts[i].bit) && !(ep->warned & parts[i].bit))
			log_warnx("search index: the extractor runs without %s", parts[i].what);
		ep->warned |= parts[i].bit;
	}
	return 0;
}

static void sleep_until(int64_t when_ms)
{
	int64_t left = when_ms - mono_ms();
	struct timespec ts;

	if (left <= 0)
		return;
	ts.tv_sec = left / 1000;
	ts.tv_nsec = (left % 1000) * 1000000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A live child, started (after the backoff) when there is none. */
int exproc_child_ready(struct exproc *ep)
{
	unsigned shift;
	int sv[2], r, status;

	/* one that died between files costs no file: it is replaced */
	if (ep->fd >= 0 && waitpid(ep->pid, &status, WNOHANG) == ep->pid) {
		log_warnx("search index: the extractor died while idle; starting another");
		close(ep->fd);
		ep->fd = -1;
		ep->fails++;
	}
	if (ep->fd >= 0)
		return 0;
	sleep_until(ep->next_spawn_ms);
	shift = ep->fails < 7 ? ep->fails : 7;
	ep->next_spawn_ms = mono_ms() + (EXPROC_BACKOFF_MIN_MS << shift < EXPROC_BACKOFF_MAX_MS ?
					 EXPROC_BACKOFF_MIN_MS << shift : EXPROC_BACKOFF_MAX_MS);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return r = -errno, log_errno(r, "search index: extractor socket"), r;
	if ((r = spawn(ep, sv)) < 0) {
		close(sv[0]);
		close(sv[1]);
		return log_errno(r, "search index: cannot start %s extractor", ep->exe), r;
	}
	close(sv[1]);
	ep->fd = sv[0];
	ep->st.started++;
	r = fcntl(ep->fd, F_SETFL, O_NONBLOCK) < 0 ? -errno : hello(ep);
	if (r < 0) {
		exproc_child_kill(ep, NULL, NULL, 0);
		ep->fails++;
	}
	return r;
}
