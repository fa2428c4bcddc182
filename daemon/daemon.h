/* daemon.h — the vigild process context, passed to every part (no globals
 * besides the quit flag).  Threads: the loop (epoll: signals, timer,
 * tracker), the intake (tracker events and rescans into the durable queue),
 * the shipper (queue -> server).  SQLite, file reads and the network happen
 * only in the intake and shipper threads. */
#ifndef VIGIL_DAEMON_DAEMON_H
#define VIGIL_DAEMON_DAEMON_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "common/bundle.h"
#include "daemon/config.h"
#include "daemon/counters.h"
#include "daemon/scan.h"
#include "daemon/ship.h"
#include "daemon/statedb.h"
#include "daemon/tracker.h"

struct intake;

struct vigild {
	struct vconf *cf;
	struct bundle *bundle;
	struct statedb *db;
	struct scan_ctx scan;
	struct counters ctr;
	struct shipper *sh;
	const struct tracker_ops *tops;
	struct tracker *trk;
	struct intake *in;
	pthread_mutex_t mu;          /* guards the fields below and wakes the shipper */
	pthread_cond_t cv;
	bool quit;
	bool connected;
	char last_error[512];
};

/* Set by signal handlers (once) or the loop (run). */
extern volatile sig_atomic_t vigild_quit;

/* Creates STATE (0700), STATE/tmp (emptied), STATE/sigs; loads the bundle;
 * opens the state db; sets up the scanner and shipper.  Logs; -errno. */
int  vigild_open(struct vigild *d, struct vconf *cf);
void vigild_close(struct vigild *d);
void vigild_wake(struct vigild *d);     /* new work for the shipper */
void vigild_status(struct vigild *d);   /* writes STATE/status.json */

int run_main(struct vigild *d);      /* loop.c: returns the exit code */
int once_main(struct vigild *d);     /* once.c */
void *worker_main(void *arg);        /* worker.c: the shipper thread */

/* trackers.c: starts the tracker named by --tracker (auto: bpf, fanotify,
 * scan).  0 or -errno (logged). */
int trackers_start(struct vigild *d, const struct tracker_sink *sink);

#endif
