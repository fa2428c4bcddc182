/* devreport.h — what `vigil status` shows as the device's backlog: the
 * device report (MSG_DEV_REPORT: queued files, the oldest, the counters)
 * that `vigild run` sends on its command link.
 *
 * The link thread makes it (cmdlink_set_reporter): whenever the queue's
 * figures moved (anyone poked the link, or, while the last report had
 * files queued, its look every DEVREPORT_LOOK_MS saw the state db change),
 * at most every DEVREPORT_GAP_MS, and every DEVREPORT_EVERY_S while files
 * are queued; an idle device's link thread sleeps until poked.  Made where it is sent, a report is never
 * held up by the intake (a rescan, a full ring) or the shippers, and it
 * carries the figures of the moment it leaves, not of when it was queued. */
#ifndef VIGIL_DAEMON_DEVREPORT_H
#define VIGIL_DAEMON_DEVREPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/proto.h"

#define DEVREPORT_GAP_MS  200
#define DEVREPORT_EVERY_S 60
#define DEVREPORT_LOOK_MS 1000   /* the backlog row's bound: within 1 s */

/* The reporter's memory (in struct vigild; the link thread only). */
struct devreport {
	bool sent;
	int64_t last_ns;          /* mono_ns of the last report made */
	uint64_t changes, files;  /* statedb_changes and the queue then */
	int64_t oldest;
};

struct vigild;

/* The cmdlink reporter (arg: struct vigild *): true with *rep filled when
 * a report is due (force: now, whatever moved); *wait_ms: how soon to ask
 * again at the latest, -1: only when poked. */
bool devreport_make(void *arg, bool force, struct vg_report *rep, int *wait_ms);

/* The queue moved (a ship finished, the intake queued): pokes the command
 * link, if any, to report (d->mu must not be held). */
void devreport_poke(struct vigild *d);

#endif
