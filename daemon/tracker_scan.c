/* tracker_scan.c — the tracker of last resort: no kernel help, a reconcile
 * scan of every root every SCAN_TRACKER_SECS.  The scan itself runs in the
 * intake thread; this only asks for it on the loop's timer.  That period is
 * the scan tracker's price: an idle device still wakes (and walks its
 * roots) every SCAN_TRACKER_SECS (docs/daemon.md, "Idle and battery"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "daemon/counters.h"
#include "daemon/tracker.h"

#define SCAN_TRACKER_SECS 10

struct tracker {
	struct tracker_sink sink;
	int64_t last_ms;             /* mono_ms of the last tick */
	uint64_t scans;
};

static int scan_start(struct tracker **out, char *const roots[], size_t nroots,
		      const struct tracker_sink *sink, char *err, size_t errlen)
{
	struct tracker *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->sink = *sink;
	t->last_ms = mono_ms();
	*out = t;
	return 0;
}

static int scan_fd(struct tracker *t)
{
	return -1;
}

static int scan_process(struct tracker *t)
{
	int64_t now = mono_ms();

	if (now - t->last_ms < SCAN_TRACKER_SECS * 1000)
		return 0;
	t->last_ms = now;
	t->scans++;
	t->sink.rescan(t->sink.arg, NULL);
	return 0;
}

static int scan_next_ms(struct tracker *t)
{
	int64_t left = t->last_ms + SCAN_TRACKER_SECS * 1000 - mono_ms();

	return left < 1 ? 1 : (int)left;
}

static void scan_counters(struct tracker *t, struct vg_report *rep)
{
	report_counter(rep, "scan_ticks", t->scans);
}

static void scan_stop(struct tracker *t)
{
	free(t);
}

const struct tracker_ops tracker_scan_ops = {
	.name = "scan",
	.start = scan_start,
	.fd = scan_fd,
	.process = scan_process,
	.next_ms = scan_next_ms,
	.counters = scan_counters,
	.stop = scan_stop,
};
