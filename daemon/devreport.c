/* devreport.c — the device report the command link sends (devreport.h). */
#include "daemon/devreport.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "daemon/cmdlink.h"
#include "daemon/daemon.h"
#include "daemon/intake.h"

#define GAP_NS   ((int64_t)DEVREPORT_GAP_MS * 1000000LL)
#define EVERY_NS ((int64_t)DEVREPORT_EVERY_S * 1000000000LL)

static int ms_until(int64_t now, int64_t at)
{
	return at <= now ? 0 : (int)((at - now + 999999) / 1000000);
}

/* When to be asked again at the latest: while the queue held something at
 * the last report, every DEVREPORT_LOOK_MS (a change no one poked about is
 * still reported within a second while the device is busy) and every
 * DEVREPORT_EVERY_S anyway.  An empty queue: -1, not until poked (what
 * the server holds stays true while nothing moves, and a report's only
 * use is to say what moved); an idle device's link thread sleeps. */
static int next_look(const struct devreport *r, int64_t now)
{
	int ms = ms_until(now, r->last_ns + EVERY_NS);

	if (r->sent && r->files == 0)
		return -1;
	return r->files > 0 && ms > DEVREPORT_LOOK_MS ? DEVREPORT_LOOK_MS : ms;
}

bool devreport_make(void *arg, bool force, struct vg_report *rep, int *wait_ms)
{
	struct vigild *d = arg;
	struct devreport *r = &d->report;
	int64_t now = mono_ns(), oldest;   /* intervals: immune to wall-clock jumps */
	uint64_t changes, files;
	bool dirty, old;

	*wait_ms = next_look(r, now);
	if (!force && r->sent && now - r->last_ns < GAP_NS) {
		*wait_ms = ms_until(now, r->last_ns + GAP_NS);
		return false;
	}
	changes = statedb_changes(d->db);
	dirty = __atomic_load_n(&d->report_dirty, __ATOMIC_RELAXED);
	old = !r->sent || now - r->last_ns >= EVERY_NS;
	if (!force && !dirty && !old && changes == r->changes)
		return false;
	if (statedb_queue_stats(d->db, &files, &oldest) < 0)
		return false;
	r->changes = changes;
	/* a change elsewhere in the state db (a shipped row, a hold) */
	if (!force && !dirty && !old && files == r->files && oldest == r->oldest)
		return false;
	__atomic_store_n(&d->report_dirty, false, __ATOMIC_RELAXED);
	memset(rep, 0, sizeof(*rep));
	rep->backlog_files = files;
	rep->backlog_oldest_ns = oldest;
	rep->at_ns = real_ns();
	snprintf(rep->tracker, sizeof(rep->tracker), "%s", d->tops ? d->tops->name : "");
	ctr_report(&d->ctr, rep);
	r->sent = true;
	r->files = files;
	r->oldest = oldest;
	r->last_ns = now;
	*wait_ms = next_look(r, now);
	return true;
}

void devreport_poke(struct vigild *d)
{
	pthread_mutex_lock(&d->mu);
	if (d->link)
		cmdlink_dev_poke(d->link, false);
	pthread_mutex_unlock(&d->mu);
	intake_status_poke(d->in);   /* and STATE/status.json (intake.h) */
}
