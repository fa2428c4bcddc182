/* simstate.h — the SIM a device last reported (MSG_DEV_SIM, relayed by
 * vigild from vigil-simfs) and the events a new report makes.
 *
 * The state lives in the devices table (sim_* columns, docs/index.md).  A
 * report is compared with it under the index lock, and the new state and
 * its event are stored in one transaction:
 *   - the first report ever: stored, no event;
 *   - a report older than the stored one (time_ns less): ignored;
 *     a time ahead of the server's clock counts as the server's now (a
 *     phone that booted with its clock years ahead must not make every
 *     later report look old), for the stored time, the event's time and
 *     sim_changed_ns alike;
 *   - present -> absent: "sim-removed" (detail: the ICCID that went);
 *   - absent -> present, same ICCID: "sim-inserted" (detail: the ICCID);
 *   - another ICCID, present: "sim-swap" ("ICCID <old> -> <new>, IMSI
 *     <new>") unless the report says it is allowed; sim_changed_ns = the
 *     report's time either way;
 *   - the same state again: nothing written.
 * An empty ICCID in a present report (unreadable) is no change of SIM.
 * While no SIM is present the last one's ICCID and IMSI stay stored.  A
 * device with a sim-swap event is on hold for retention (commands.h). */
#ifndef VIGIL_SERVER_SIMSTATE_H
#define VIGIL_SERVER_SIMSTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/proto.h"
#include "server/index.h"

#define SIM_DETAIL_MAX 256

/* What the server stored (known false: no report yet). */
struct sim_state {
	bool known;
	struct vg_sim sim;              /* time_ns: of the stored report */
	int64_t changed_ns;             /* when the ICCID last changed (0: never) */
};

/* The decision, apart from its I/O. */
struct sim_outcome {
	bool store;                     /* write next */
	struct sim_state next;
	const char *event;              /* NULL, "sim-swap", "sim-removed", "sim-inserted" */
	char detail[SIM_DETAIL_MAX];
};

void sim_decide(const struct sim_state *cur, const struct vg_sim *rep, int64_t now_ns,
		struct sim_outcome *out);

/* Applies a report of device dev (one transaction).  0 or -errno. */
int index_sim_report(struct index *idx, int64_t dev, const struct vg_sim *rep, int64_t now_ns);
/* The stored state (known false when none).  0 or -errno. */
int index_sim_get(struct index *idx, int64_t dev, struct sim_state *out);

#endif
