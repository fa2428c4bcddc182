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
#include "daemon/devreport.h"
#include "daemon/scan.h"
#include "daemon/rangetab.h"
#include "daemon/ship.h"
#include "daemon/pathset.h"
#include "daemon/statedb.h"
#include "daemon/tracker.h"

struct cmdlink;
struct intake;
struct simpending;

/* PUTs in flight at once: SHIP_WORKERS shippers share SHIP_CONNS
 * connections (shipper i uses connection i % SHIP_CONNS), so a device
 * holds at most SHIP_WORKERS / SHIP_CONNS (4) request streams per
 * connection of the 16 the server allows; many small files keep the
 * server's group commit fed (docs/performance.md). */
#define SHIP_WORKERS 16
#define SHIP_CONNS   4

struct vigild {
	struct vconf *cf;
	struct bundle *bundle;
	struct statedb *db;
	struct scan_ctx scan;
	struct counters ctr;
	struct resent resent;        /* uploads in flight, for CTR_BYTES_RESENT */
	size_t nsh;
	struct shipper *sh[SHIP_WORKERS];
	struct shipconn *conn[SHIP_CONNS];
	const struct tracker_ops *tops;
	struct tracker *trk;
	struct intake *in;
	struct cmdlink *link;        /* run: the command link, which carries the
				      * device report (intake.c); NULL otherwise (mu) */
	struct rangetab *rt;         /* written ranges (tracker -> shippers) */
	struct simpending *simq;     /* SIM reports to send (run: simlink.c opens it) */
	void *workers;               /* worker.c's thread contexts */
	pthread_mutex_t mu;          /* guards the fields below and wakes the shippers */
	pthread_cond_t cv;
	bool quit;
	bool once;                   /* workers stop when nothing is left */
	bool connected;
	bool erasing;                /* shippers take nothing more (cmdexec.c) */
	bool wipe_state;             /* erased and reported: main removes STATE and the bundle */
	int fatal;                   /* once: a failure that ends the run (-ENOSPC...) */
	bool report_dirty;           /* shipped since the last report (atomic) */
	struct devreport report;     /* the command link's reporter (devreport.h) */
	bool nospace;                /* a PUT met a full server since content last went through (atomic) */
	bool tidy_due;               /* shipped since the shippers last went idle (atomic; worker.c tidy) */
	size_t nclaimed;             /* paths in some shipper's hands */
	char *claimed[STATEDB_EXCL_MAX];
	struct pathset held;         /* paths in some shipper's open batch */
	struct qcursor gather_at;    /* where batches' gathering stopped ("": start) */
	int nbatches;                /* shippers with a batch open (<= SHIP_BATCHES) */
	/* idle shippers (worker.c nap_idle): each one's wake-up time (real
	 * ns, 0: not napping idle); wake_gen moves with every vigild_wake*,
	 * so a shipper that looked before it does not nap on what it saw;
	 * stepped_over: a look skipped a due entry another shipper holds,
	 * so its release wakes them */
	int64_t nap_until[SHIP_WORKERS];
	uint64_t wake_gen;
	bool stepped_over;
	/* reconnects (worker.c nap_conn): net_gen moves with every
	 * vigild_reachable, which wakes the shippers waiting out a backoff
	 * on conn_cv (and no one else); retry_at: mono_ms of shipper 0's
	 * next attempt, 0: connected */
	uint64_t net_gen;
	pthread_cond_t conn_cv;
	int64_t retry_at;
	char last_error[512];
	struct vg_report trk_ctr;    /* the tracker's own counters, copied by the loop */
};

/* Set by signal handlers (once) or the loop (run). */
extern volatile sig_atomic_t vigild_quit;

/* Creates STATE (0700), STATE/tmp (emptied); removes an older vigild's
 * STATE/sigs; loads the bundle;
 * opens the state db; sets up the scanner and shipper.  Logs; -errno. */
int  vigild_open(struct vigild *d, struct vconf *cf);
void vigild_close(struct vigild *d);
void vigild_wake(struct vigild *d);     /* new work for the shipper */
/* New work due at due_ns (real): wakes the idle shippers only when one
 * would otherwise sleep past it (the intake, once every tick while a file
 * is written, wakes nobody when its entry is due no sooner than before). */
void vigild_wake_at(struct vigild *d, int64_t due_ns);
bool vigild_under_root(const struct vigild *d, const char *path);   /* at or below a --watch */
void vigild_status(struct vigild *d);   /* writes STATE/status.json */
/* The network changed (netwatch.h) or a connection to the server came
 * back: every shipper and the command link waiting out a backoff to
 * connect tries now.  Wakes nobody else. */
void vigild_reachable(struct vigild *d);
/* After an erase was reported: removes STATE and the bundle (last of all). */
void vigild_wipe(const struct vconf *cf);

int run_main(struct vigild *d);      /* loop.c: returns the exit code */
int once_main(struct vigild *d);     /* once.c */
/* worker.c: starts d->nsh shipper threads / waits for them. */
int  workers_start(struct vigild *d, pthread_t th[SHIP_WORKERS]);
void workers_join(struct vigild *d, pthread_t th[SHIP_WORKERS]);
/* claims (ship_opts.claim/release) over d->claimed */
bool vigild_claim(void *arg, const char *path);
void vigild_release(void *arg, const char *path);

/* trackers.c: starts the tracker named by --tracker (auto: bpf, fanotify,
 * scan).  0 or -errno (logged). */
int trackers_start(struct vigild *d, const struct tracker_sink *sink);

#endif
