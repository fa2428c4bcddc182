/* loop.c — `vigild run`: one epoll loop that only dispatches (signalfd,
 * timerfd, the tracker's fd, vigil-simfs's socket, the network changes of
 * netwatch.h); the intake and shipper threads do the work.
 * SIGTERM/SIGINT: the shipper finishes the file in hand, then exit 0.
 * SIGUSR1 (`vigild status`): a fresh STATE/status.json.
 * The timer is armed only while there is work: a tracker's burst or its
 * slots (tracker_ops.next_ms), files with a writable shared mapping.  With
 * nothing changing the loop sleeps on its fds alone (docs/daemon.md,
 * "Idle and battery"). */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/cmdexec.h"
#include "daemon/cmdlink.h"
#include "daemon/daemon.h"
#include "daemon/intake.h"
#include "daemon/netwatch.h"
#include "daemon/simlink.h"

#define POLL_MS       1000      /* polled files: re-checked every second */
#define POLL_MAX      256
#define COUNTERS_MS   1000      /* the tracker's counters copied at most this often while busy */

struct loop {
	struct vigild *d;
	struct simlink *sl;       /* vigil-simfs's reports (simlink.h) */
	int ep, sfd, tfd, trkfd;
	int nfd;                  /* netwatch.h, -1: none */
	bool trk_on;              /* trkfd is in the epoll set */
	int64_t poll_at;          /* mono_ms of the next look at the polled files */
	int64_t counters_at;      /* mono_ms of the last copy of the tracker's counters */
	size_t npoll;
	char *poll[POLL_MAX];     /* files with a live writable shared mapping */
};

static void sink_changed(void *arg, const char *path, int64_t when_ns)
{
	struct loop *l = arg;

	intake_push(l->d->in, IN_CHANGED, path, when_ns);
}

/* Ranges accumulate per file until it ships (rangetab.h).  The size now
 * is remembered too, as are cuts (ranges to TRK_EOF): the bytes after the
 * smallest of them count as rewritten. */
static void sink_ranges(void *arg, const char *path, const struct trk_range *r, size_t n,
			bool unknown)
{
	struct loop *l = arg;
	struct stat st;
	uint64_t size = UINT64_MAX;

	if (!unknown && lstat(path, &st) == 0)
		size = (uint64_t)st.st_size;
	rangetab_add(l->d->rt, path, r, n, unknown, size);
	intake_push(l->d->in, IN_CHANGED, path, 0);
}

/* The last writable close: ship now, not after the debounce. */
static void sink_closed(void *arg, const char *path, int64_t when_ns)
{
	struct loop *l = arg;

	intake_push(l->d->in, IN_CLOSED, path, when_ns);
}

static void sink_rescan(void *arg, const char *dir)
{
	struct loop *l = arg;

	/* something was not itemised: no range set there is complete */
	rangetab_unknown(l->d->rt, dir);
	intake_push(l->d->in, IN_RESCAN, dir, 0);
}

static void sink_poll(void *arg, const char *path, bool on)
{
	struct loop *l = arg;
	size_t i;

	rangetab_add(l->d->rt, path, NULL, 0, true, UINT64_MAX);   /* mmap writes: no ranges */
	for (i = 0; i < l->npoll && strcmp(l->poll[i], path); i++)
		;
	if (on && i == l->npoll && l->npoll < POLL_MAX) {
		char *p = strdup(path);

		if (p && !l->npoll)
			l->poll_at = mono_ms() + POLL_MS;
		if (p)
			l->poll[l->npoll++] = p;
	} else if (!on && i < l->npoll) {
		free(l->poll[i]);
		l->poll[i] = l->poll[--l->npoll];
		intake_push(l->d->in, IN_CHANGED, path, 0);
	}
}

static int add_fd(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int make_fds(struct loop *l)
{
	sigset_t set;
	int r;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	l->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->sfd < 0 || l->tfd < 0 || l->ep < 0 || add_fd(l->ep, l->sfd) < 0 ||
	    add_fd(l->ep, l->tfd) < 0)
		return -errno;
	/* without it, reconnects wait out their backoff: said, not fatal */
	l->nfd = netwatch_open();
	if (l->nfd < 0 || (r = add_fd(l->ep, l->nfd)) < 0)
		log_errno(l->nfd < 0 ? l->nfd : r,
			  "network changes (NETLINK_ROUTE): reconnects wait out their backoff");
	return 0;
}

/* The tracker's counters belong to the loop thread; status.json is
 * written by the intake thread from this copy. */
static void copy_tracker_counters(struct loop *l)
{
	struct vigild *d = l->d;

	pthread_mutex_lock(&d->mu);
	d->trk_ctr.ncounters = 0;
	if (d->tops->counters)
		d->tops->counters(d->trk, &d->trk_ctr);
	pthread_mutex_unlock(&d->mu);
	l->counters_at = mono_ms();
}

/* Files with a writable shared mapping change without a syscall: each is
 * queued again every POLL_MS while it stays mapped. */
static void poll_files(struct loop *l, int64_t now)
{
	if (!l->npoll || now < l->poll_at)
		return;
	for (size_t k = 0; k < l->npoll; k++) {
		rangetab_add(l->d->rt, l->poll[k], NULL, 0, true, UINT64_MAX);
		intake_push(l->d->in, IN_CHANGED, l->poll[k], 0);
	}
	l->poll_at = now + POLL_MS;
}

/* After every turn: when the loop must look again without an fd waking it.
 * While the tracker ticks (a burst: records come faster than TRK_TICK_MS)
 * its fd leaves the epoll set, so the burst costs one wake-up per tick and
 * not one per record; it comes back as soon as the tracker waits longer.
 * Nothing in hand: the timer is disarmed and only an fd wakes the loop. */
static void schedule(struct loop *l)
{
	struct vigild *d = l->d;
	int64_t now = mono_ms();
	int wait = d->tops->next_ms ? d->tops->next_ms(d->trk) : TRK_TICK_MS;
	struct itimerspec it = { { 0, 0 }, { 0, 0 } };
	bool trk_on;

	if (l->npoll) {
		int p = l->poll_at > now ? (int)(l->poll_at - now) : 1;

		if (wait == TRK_WAIT_FD || p < wait)
			wait = p;
	}
	/* the last figures of a burst: status.json shows them once idle */
	if ((wait == TRK_WAIT_FD || wait > COUNTERS_MS || now - l->counters_at >= COUNTERS_MS) &&
	    d->tops->counters)
		copy_tracker_counters(l);
	trk_on = wait == TRK_WAIT_FD || wait > TRK_TICK_MS;
	if (l->trkfd >= 0 && trk_on != l->trk_on) {
		struct epoll_event ev = { .events = trk_on ? EPOLLIN : 0, .data.fd = l->trkfd };

		if (epoll_ctl(l->ep, EPOLL_CTL_MOD, l->trkfd, &ev) == 0)
			l->trk_on = trk_on;
		else
			log_warn("epoll: tracker fd");
	}
	if (wait != TRK_WAIT_FD) {
		wait = wait < 1 ? 1 : wait;
		it.it_value.tv_sec = wait / 1000;
		it.it_value.tv_nsec = (long)(wait % 1000) * 1000000L;
	}
	if (timerfd_settime(l->tfd, 0, &it, NULL) < 0)
		log_warn("timerfd");
}

static void on_signal(struct loop *l)
{
	struct signalfd_siginfo si;

	while (read(l->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {   /* `vigild status`: fresh figures */
			if (l->d->tops->counters)
				copy_tracker_counters(l);
			intake_status_now(l->d->in);
			continue;
		}
		log_info("signal %u: finishing the current file, then exiting", si.ssi_signo);
		vigild_quit = 1;
	}
}

/* The network changed: those waiting to connect try now. */
static void net_changed(struct vigild *d)
{
	ctr_add(&d->ctr, CTR_NET_CHANGES, 1);
	vigild_reachable(d);
}

static void dispatch(struct loop *l)
{
	struct vigild *d = l->d;
	struct epoll_event ev[8];
	uint64_t x;

	schedule(l);
	while (!vigild_quit) {
		int n = epoll_wait(l->ep, ev, 8, -1);
		bool turn = false;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("epoll_wait");
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == l->sfd)
				on_signal(l);
			else if (fd == l->tfd && read(l->tfd, &x, sizeof(x)) == sizeof(x))
				turn = true;
			else if (fd == l->trkfd)
				turn = true;
			else if (fd == simlink_fd(l->sl))
				simlink_process(l->sl);
			else if (fd == l->nfd && netwatch_read(l->nfd))
				net_changed(d);
		}
		if (!turn)
			continue;
		d->tops->process(d->trk);
		poll_files(l, mono_ms());
		schedule(l);
	}
}

/* Test hook (VIGIL_TEST_HOOKS=1): VIGIL_TEST_TRACKER_DELAY_MS holds the
 * tracker's start back, widening the start-up window t_startrace.sh looks
 * into. */
static void test_tracker_delay(void)
{
	const char *on = getenv("VIGIL_TEST_HOOKS"), *ms = getenv("VIGIL_TEST_TRACKER_DELAY_MS");
	unsigned long v;
	struct timespec ts;

	if (!on || strcmp(on, "1") || !ms)
		return;
	v = strtoul(ms, NULL, 10);
	ts = (struct timespec){ .tv_sec = (time_t)(v / 1000), .tv_nsec = (long)(v % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* The link the device's reports go on (NULL: none), which makes them
 * (devreport.h). */
static void link_back(void *arg)
{
	vigild_reachable(arg);
}

static void set_report_link(struct vigild *d, struct cmdlink *link)
{
	if (link) {
		cmdlink_set_reporter(link, devreport_make, d);
		cmdlink_on_up(link, link_back, d);
	}
	pthread_mutex_lock(&d->mu);
	d->link = link;
	pthread_mutex_unlock(&d->mu);
}

/* Everything run_main started, stopped in order: the tracker, the intake,
 * the last report (the backlog as we leave it, which a clean stop waits
 * up to 2 s for the server to have), the command link, vigil-simfs's
 * socket; then the last status.json. */
static void stop_all(struct vigild *d, struct loop *l, struct cmdexec *cx, bool clean)
{
	if (d->trk)
		d->tops->stop(d->trk);
	d->trk = NULL;
	intake_stop(d->in);
	d->in = NULL;
	if (cx)
		cmdlink_dev_poke(cmdexec_link(cx), true);
	set_report_link(d, NULL);
	if (cx && clean)
		(void)cmdlink_wait_dev_reported(cmdexec_link(cx), 2000);
	cmdexec_stop(cx);
	simlink_close(l->sl);
	vigild_status(d);
	for (size_t i = 0; i < l->npoll; i++)
		free(l->poll[i]);
}

int run_main(struct vigild *d)
{
	struct loop l = { .d = d, .ep = -1, .sfd = -1, .tfd = -1, .trkfd = -1, .nfd = -1 };
	struct tracker_sink sink = {
		.arg = &l, .changed = sink_changed, .ranges = sink_ranges,
		.rescan = sink_rescan, .poll_file = sink_poll, .closed = sink_closed,
	};
	pthread_t workers[SHIP_WORKERS];
	struct cmdexec *cx = NULL;
	int rc = 1;

	if (make_fds(&l) < 0) {
		log_warn("event loop setup");
		goto out;
	}
	/* before anything watches or ships: a recorded freeze, an erase cut short */
	if (cmdexec_start(d, &cx) < 0)
		goto out;
	set_report_link(d, cmdexec_link(cx));
	if (vigild_quit) {   /* erased and reported before the last stop */
		rc = 0;
		goto out;
	}
	if (simlink_open(d, &sink, &l.sl) < 0 || intake_start(d, &d->in) < 0) {
		log_warnx("cannot start the intake thread");
		goto out;
	}
	test_tracker_delay();
	if (trackers_start(d, &sink) < 0)
		goto out;
	malloc_trim(0);   /* libbpf's parse of the kernel's BTF (several MiB) is freed by now */
	/* reconcile at start, but only once the tracker records changes: a file
	 * made after the scan passed its directory and before the tracker was
	 * attached was never queued (the soak lost one, docs/reliability.md) */
	intake_push(d->in, IN_RESCAN, NULL, 0);
	l.trkfd = d->tops->fd ? d->tops->fd(d->trk) : -1;
	l.trk_on = l.trkfd >= 0;
	if ((l.trkfd >= 0 && add_fd(l.ep, l.trkfd) < 0) ||
	    (simlink_fd(l.sl) >= 0 && add_fd(l.ep, simlink_fd(l.sl)) < 0)) {
		log_warn("epoll add");
		goto out;
	}
	if (workers_start(d, workers) < 0)
		goto out;
	log_info("watching %zu root(s) with the %s tracker", d->cf->nwatch, d->tops->name);
	dispatch(&l);
	pthread_mutex_lock(&d->mu);
	d->quit = true;
	pthread_cond_broadcast(&d->cv);
	pthread_cond_broadcast(&d->conn_cv);
	pthread_mutex_unlock(&d->mu);
	workers_join(d, workers);
	rc = 0;
out:
	stop_all(d, &l, cx, rc == 0);
	if (l.sfd >= 0)
		close(l.sfd);
	if (l.tfd >= 0)
		close(l.tfd);
	if (l.ep >= 0)
		close(l.ep);
	if (l.nfd >= 0)
		close(l.nfd);
	return rc;
}
