/* intake.h — tracker (and vigil-simfs) events into the durable queue.
 *
 * The loop thread pushes what trackers report into a bounded ring (never
 * blocking, never touching SQLite); the intake thread drains it into the
 * queue (due after --debounce-ms) and runs the rescans asked for.  A full
 * ring drops the event, counts it, and turns into one rescan of every root
 * — the same answer as a tracker's own overflow. */
#ifndef VIGIL_DAEMON_INTAKE_H
#define VIGIL_DAEMON_INTAKE_H

#include <stdint.h>

#include "daemon/daemon.h"

#define INTAKE_RING_MAX 16384

/* IN_CLOSED: the last writable close of a file: due at once (no debounce,
 * a short per-path gap only).  IN_SIM: a SIM report from vigil-simfs, into
 * d->simq (STATE/sim-pending) for worker 0 to send. */
enum intake_kind { IN_CHANGED = 1, IN_RESCAN = 2, IN_CLOSED = 3, IN_SIM = 4 };

int  intake_start(struct vigild *d, struct intake **out);
/* From the loop thread; path NULL with IN_RESCAN: every root. */
void intake_push(struct intake *in, enum intake_kind k, const char *path, int64_t when_ns);
/* From the loop thread: IN_SIM with a copy of sim. */
void intake_push_sim(struct intake *in, const struct vg_sim *sim);
void intake_stop(struct intake *in);    /* drains, joins, frees; NULL-safe */
/* STATE/status.json is written by the intake thread when something moved
 * (intake_status_poke from any thread: at most every 200 ms), and at once
 * when `vigild status` asks (intake_status_now, from the loop's SIGUSR1);
 * never on a timer of its own.  Both NULL-safe. */
void intake_status_poke(struct intake *in);
void intake_status_now(struct intake *in);

/* Reconciles every watched root now (intake thread or `once`).  Like every
 * rescan here, it first rereads STATE/mounts (vigil-simfs mounts). */
int intake_scan_all(struct vigild *d);

#endif
