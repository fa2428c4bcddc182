/* poller.c — the modem thread (poller.h): one loop, one poll() per wake,
 * deadlines on the monotonic clock. */
#include "fuse/poller.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "fuse/simapply.h"

struct poller {
	struct poller_cfg cfg;
	struct reporter *rep;
	struct simapply apply;
	pthread_t th;
	int stopfd;                     /* eventfd: written once to stop */
	struct modem *m;                /* NULL while closed */
	int64_t next_read;              /* mono ms; while m is open */
	int64_t reread_at;              /* mono ms, 0: none; after URCs */
	int64_t next_open;              /* mono ms; while m is closed */
	int64_t backoff_ms;
	bool trouble;                   /* logged, not yet over */
};

/* The modem failed: log it once, close it, reopen after the backoff. */
static void trouble(struct poller *p, const char *why)
{
	size_t n = strlen(p->cfg.spec);
	bool named = strncmp(why, p->cfg.spec, n) == 0 && why[n] == ':';   /* "/dev/x: ..." */

	if (!p->trouble)
		log_warnx("modem %s%s%s; keeping the last SIM files, retrying",
			  named ? "" : p->cfg.spec, named ? "" : ": ", why);
	p->trouble = true;
	p->cfg.ops->close(p->m);
	p->m = NULL;
	p->reread_at = 0;
	p->next_open = mono_ms() + p->backoff_ms;
	p->backoff_ms = p->backoff_ms * 2 > POLLER_BACKOFF_MAX ? POLLER_BACKOFF_MAX
							      : p->backoff_ms * 2;
}

static void try_open(struct poller *p)
{
	char err[256] = "";
	int e = p->cfg.ops->open(&p->m, p->cfg.spec, p->cfg.baud, err, sizeof(err));

	if (e < 0) {
		p->m = NULL;
		trouble(p, err[0] ? err : strerror(-e));
		return;
	}
	p->next_read = 0;   /* read it at once */
}

static void do_read(struct poller *p)
{
	struct sim_snapshot s;
	char err[256] = "";
	int e;

	memset(&s, 0, sizeof(s));
	e = p->cfg.ops->read(p->m, &s, err, sizeof(err));
	p->reread_at = 0;
	p->next_read = mono_ms() + (int64_t)p->cfg.poll_s * 1000;
	if (e == -EAGAIN) {   /* the SIM is still starting (just inserted): no trouble */
		sim_snapshot_free(&s);
		log_debug("modem %s: %s; reading again shortly", p->cfg.spec, err);
		p->reread_at = mono_ms() + POLLER_NOTREADY_MS;
		return;
	}
	if (e < 0) {
		sim_snapshot_free(&s);
		trouble(p, err[0] ? err : strerror(-e));
		return;
	}
	if (p->trouble)
		log_info("modem %s: answering again", p->cfg.spec);
	p->trouble = false;
	p->backoff_ms = POLLER_BACKOFF_MS;
	if ((e = simapply_snapshot(&p->apply, &s, real_ns())) < 0)
		log_errno(e, "rendering the SIM files");
	sim_snapshot_free(&s);
}

/* Milliseconds until the next thing due (>= 0). */
static int timeout_ms(const struct poller *p)
{
	int64_t due = p->m ? p->next_read : p->next_open, now = mono_ms();

	if (p->m && p->reread_at && p->reread_at < due)
		due = p->reread_at;
	if (due <= now)
		return 0;
	return due - now > INT32_MAX ? INT32_MAX : (int)(due - now);
}

/* Does what is due now. */
static void due(struct poller *p)
{
	int64_t now = mono_ms();

	if (!p->m && now >= p->next_open)
		try_open(p);
	now = mono_ms();
	if (p->m && (now >= p->next_read || (p->reread_at && now >= p->reread_at)))
		do_read(p);
	reporter_retry(p->rep);
}

/* The modem's fd is readable (or hung up): its events. */
static void events(struct poller *p, short revents)
{
	int ev = p->cfg.ops->events(p->m);

	if (ev < 0)
		trouble(p, strerror(-ev));
	else if (revents & (POLLHUP | POLLERR | POLLNVAL))
		trouble(p, "the modem hung up");   /* never spin on a dead fd */
	else if (ev & MODEM_EV_REREAD)
		p->reread_at = mono_ms() + POLLER_QUIET_MS;
}

static void *run(void *arg)
{
	struct poller *p = arg;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = p->stopfd, .events = POLLIN } };
		int fd, n = 1;

		due(p);
		if (p->m && (fd = p->cfg.ops->fd(p->m)) >= 0)
			pfd[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(pfd, (nfds_t)n, timeout_ms(p)) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		if (n > 1 && pfd[1].revents)
			events(p, pfd[1].revents);
	}
	p->cfg.ops->close(p->m);
	p->m = NULL;
	return NULL;
}

int poller_start(struct poller **out, const struct poller_cfg *cfg, struct simstore *store,
		 struct reporter *rep)
{
	struct poller *p = calloc(1, sizeof(*p));
	int e;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	p->rep = rep;
	p->backoff_ms = POLLER_BACKOFF_MS;
	simapply_init(&p->apply, store, rep, cfg->allow, cfg->nallow);
	if ((p->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		e = -errno;
		free(p);
		return e;
	}
	if ((e = pthread_create(&p->th, NULL, run, p)) != 0) {
		close(p->stopfd);
		free(p);
		return -e;
	}
	*out = p;
	return 0;
}

bool poller_stop(struct poller *p, long wait_ms)
{
	uint64_t one = 1;
	struct timespec dl;

	if (!p)
		return true;
	if (write(p->stopfd, &one, sizeof(one)) < 0)
		log_warn("stopping the modem thread");
	dl = deadline_in_ms(wait_ms);
	if (pthread_timedjoin_np(p->th, NULL, &dl) != 0)
		return false;
	close(p->stopfd);
	free(p);
	return true;
}
