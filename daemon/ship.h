/* ship.h — shipping queued paths to the server.
 *
 * A shipper is one connection and the scratch space to ship one path at a
 * time; vigild runs SHIP_WORKERS (4) of them, each in its own worker
 * thread (worker.c), and `once` the same.  They never hold the same path
 * (claim/release below).  Per queued path a shipper lstats, compares with
 * the shipped table and sends the smallest PUT that brings the server up
 * to date: the rules are shipplan.h's, the state they read and change is
 * pathstate.h's, the layers inside are listed in ship_int.h.
 * A queue entry is removed only after MSG_PUT_DONE. */
#ifndef VIGIL_DAEMON_SHIP_H
#define VIGIL_DAEMON_SHIP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/bundle.h"
#include "common/mux.h"
#include "daemon/counters.h"
#include "daemon/resent.h"
#include "daemon/scan.h"
#include "daemon/statedb.h"

#define SHIP_CONNECT_MS   10000
#define SHIP_REPLY_MS     600000   /* a big version may take the server a while */
/* Waits between attempts to connect (common/backoff.h): offline, they grow
 * to 5 minutes, so a phone without network wakes for it a few times an
 * hour, not every 15 s; a network change, or another connection that came
 * back, makes the next attempt at once (worker.c, docs/daemon.md). */
#define SHIP_BACKOFF_MIN  500      /* ms */
#define SHIP_BACKOFF_MAX  300000
/* DELTA and RANGES bodies from this size on are resumable (carry a token,
 * docs/protocol.md): a smaller one fits in one mux frame and costs less
 * to send again than the server's stage file costs. */
#define SHIP_RESUME_MIN   (64 * 1024)

struct shipper;

struct ship_opts {
	const struct bundle *bundle;
	const char *server;          /* NULL: the bundle's */
	const char *statedir;
	struct statedb *db;
	struct scan_ctx *scan;
	struct counters *ctr;
	struct resent *resent;       /* for bytes_resent, shared (NULL: not counted) */
	size_t delta_outcap;         /* librsync output buffer (0: default) */
	/* Several shippers may work at once: a rename touches a second path,
	 * which must not be in another shipper's hands.  claim returns true
	 * when path was free and is now held; NULL: a single shipper. */
	bool (*claim)(void *arg, const char *path);
	void (*release)(void *arg, const char *path);
	void *claim_arg;
	/* Written ranges from the tracker (NULL: none, e.g. `once`): files
	 * whose every write is known ship as PUT_RANGES. */
	struct rangetab *rt;
	/* The watched roots (canonical): every file is opened beneath the
	 * root that holds it (daemon/rootwalk.h), never by its full path. */
	char *const *roots;
	size_t nroots;
	/* The connection, shared with other shippers (each request one
	 * stream of it); NULL: one of its own. */
	struct shipconn *conn;
	/* A connection ended (called from its mux's I/O thread): NULL, or a
	 * wake-up for idle shippers, whose nap has no timeout (shipper 0
	 * connects again, and status.json says whether it could). */
	void (*conn_closed)(void *arg);
	void *conn_closed_arg;
};

struct shipconn;
int  shipconn_new(struct shipconn **out);
/* Only once no shipper uses it any more. */
void shipconn_free(struct shipconn *c);

int  shipper_new(const struct ship_opts *o, struct shipper **out);
void shipper_free(struct shipper *sh);

/* Connects if not connected.  0, or -errno with the reason logged once per
 * change of reason.  Does not sleep: the caller backs off (ship_backoff_ms). */
int  ship_connect(struct shipper *sh);
bool ship_connected(struct shipper *sh);
void ship_disconnect(struct shipper *sh);
int  ship_backoff_ms(struct shipper *sh);     /* next wait, with jitter; grows */
void ship_backoff_reset(struct shipper *sh);

/* Ships one queued item.  0: done (entry removed unless re-queued);
 * -ECONNRESET/-ETIMEDOUT: connection trouble (reconnect); -ENOSPC: server
 * full; -EAGAIN: try again later (file busy, stale base fixed up);
 * other -errno: failed (logged). */
int  ship_item(struct shipper *sh, const struct qitem *q);
/* A walk (one item, or a batch with its gathering) is over: the watched
 * roots' fds it held are closed (rootwalk.h rootwalk_roots); the next
 * walk opens them afresh. */
void ship_walk_end(struct shipper *sh);

/* Batched puts of small new files (shipbatch.c, docs/protocol.md).  A
 * regular file below SHIP_BATCH_FILE_MAX without a shipped row is read and
 * sent on the shipper's open batch at once; ship_batch_flush ends the
 * batch and calls done() for every item with its result (as ship_item's).
 * Below 16 KiB (shipplan.h SIG_MIN_SIZE) a file keeps no signature, so an
 * item needs nothing but its row. */
#define SHIP_BATCH_FILE_MAX (16 * 1024)
#define SHIP_BATCH_ITEMS    128
#define SHIP_BATCH_BYTES    (1u << 20)
/* Batches one vigild has open at once (the server receives 4 of a device
 * at a time, SRV_DEVICE_BATCHES; more would only wait there, their bytes
 * buffered in its streams' windows). */
#define SHIP_BATCHES        4
/* 1: q would go into a batch; 0: not one for a batch; -errno. */
int  ship_batch_fits(struct shipper *sh, const struct qitem *q);
/* 1: q is in the batch (held until the flush); 0: not one for a batch
 * (ship_item it), or the batch is full; -errno: q failed (as ship_item). */
int  ship_batch_add(struct shipper *sh, const struct qitem *q);
bool ship_batch_full(const struct shipper *sh);
size_t ship_batch_count(const struct shipper *sh);
/* Sends END, waits for the answer, records the stored versions (one
 * state-db transaction) and calls done(arg, q, rc) for each item (q: its
 * path, gen and attempts).  Returns the batch's own failure or 0. */
int  ship_batch_flush(struct shipper *sh,
		      void (*done)(void *arg, const struct qitem *q, int rc), void *arg);

/* MSG_DEV_REPORT with the queue's backlog and the counters. */
int  ship_report(struct shipper *sh, const char *tracker);
/* MSG_DEV_SIM: 0 once the server stored the report. */
int  ship_sim(struct shipper *sh, const struct vg_sim *sim);

/* A new version's entry (type, mode, owner, size, mtime) from an lstat;
 * also what a direct fetch sends (fetchserve.c). */
void ship_entry_from_stat(struct vg_entry *e, const char *path, const struct stat *st);

/* The last error text (for status and `once`). */
const char *ship_last_error(struct shipper *sh);

#endif
