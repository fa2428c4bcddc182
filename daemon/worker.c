/* worker.c — the shipper thread of `vigild run`: connect (with backoff),
 * ship due queue entries one by one, report after each batch and every
 * REPORT_EVERY seconds.  Stops between files when told to quit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "daemon/daemon.h"

#define REPORT_EVERY_NS (60 * 1000000000LL)
#define ENOSPC_WAIT_NS  (30 * 1000000000LL)
#define MIN_GAP_NS      (1000000000LL)

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return scan_ts(&t);
}

/* Sleeps up to ms unless woken (new work) or told to quit. */
static bool nap(struct vigild *d, int ms)
{
	struct timespec ts;
	bool quit;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->mu);
	if (!d->quit)
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
	quit = d->quit;
	pthread_mutex_unlock(&d->mu);
	return !quit;
}

static void set_state(struct vigild *d, bool connected, const char *err)
{
	pthread_mutex_lock(&d->mu);
	d->connected = connected;
	if (err)
		snprintf(d->last_error, sizeof(d->last_error), "%s", err);
	pthread_mutex_unlock(&d->mu);
}

static bool quitting(struct vigild *d)
{
	bool q;

	pthread_mutex_lock(&d->mu);
	q = d->quit;
	pthread_mutex_unlock(&d->mu);
	return q;
}

/* After a failure: when to look at this entry again. */
static int64_t retry_at(const struct qitem *q, int rc)
{
	int64_t base = rc == -ENOSPC ? ENOSPC_WAIT_NS : 200000000LL;   /* 0.2 s */
	int shift = q->attempts < 12 ? q->attempts : 12;

	return now_ns() + (base << shift > 3600 * 1000000000LL ? 3600 * 1000000000LL : base << shift);
}

static void report(struct vigild *d, int64_t *last)
{
	ship_report(d->sh, d->tops ? d->tops->name : "");
	*last = now_ns();
}

void *worker_main(void *arg)
{
	struct vigild *d = arg;
	struct qitem *q = malloc(sizeof(*q));
	int64_t last_report = 0;
	bool dirty = false;
	uint64_t n;
	int64_t oldest;
	int rc;

	while (q && !quitting(d)) {
		if (!ship_connected(d->sh)) {
			set_state(d, false, NULL);
			if (ship_connect(d->sh) < 0) {
				set_state(d, false, ship_last_error(d->sh));
				nap(d, ship_backoff_ms(d->sh));
				continue;
			}
			ship_backoff_reset(d->sh);
			set_state(d, true, "");
			report(d, &last_report);
		}
		rc = statedb_queue_next(d->db, now_ns(), 1 << 30, q);
		if (rc == -ENOENT) {
			if (dirty || now_ns() - last_report > REPORT_EVERY_NS)
				report(d, &last_report);
			dirty = false;
			statedb_queue_stats(d->db, &n, &oldest);
			nap(d, n ? 50 : 1000);
			continue;
		}
		if (rc < 0) {
			nap(d, 1000);
			continue;
		}
		rc = ship_item(d->sh, q);
		dirty = true;
		if (rc == 0) {
			/* changed again while it was being shipped: not before
			 * MIN_GAP, so a file written all the time ships every
			 * second or so instead of back to back */
			statedb_queue_hold(d->db, q->path, now_ns() + MIN_GAP_NS);
			continue;
		}
		if (rc != -EAGAIN)
			set_state(d, ship_connected(d->sh), ship_last_error(d->sh));
		if (rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -EPROTO) {
			nap(d, ship_backoff_ms(d->sh));
			continue;
		}
		statedb_queue_defer(d->db, q->path, retry_at(q, rc));
	}
	if (ship_connected(d->sh))
		report(d, &last_report);
	free(q);
	return NULL;
}
