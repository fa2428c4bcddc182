/* sweep.h — sweeping the store while the server serves: the roots from the
 * index (every live file version, every upload state, every pinned
 * reader), the server's sweep thread, and `vigil-server sweep`.  The
 * steps and why nothing live is deleted: docs/store-format.md, "Sweeping
 * unreferenced chunks" (also when it runs).
 *
 * The thread sweeps when versions were dropped since the last sweep (the
 * index's row count against its highest row id), at most once per
 * SWEEP_INTERVAL_S, and whenever `vigil-server sweep DIR` asks: that
 * command creates DIR/store/sweep.request and waits for DIR/store/
 * sweep.last (the result, with a sequence number) to change.  Without a
 * running server, the command sweeps itself. */
#ifndef VIGIL_SERVER_SWEEP_H
#define VIGIL_SERVER_SWEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "server/index.h"
#include "server/store/store.h"

#define SWEEP_INTERVAL_S 3600   /* automatic sweeps at most this often */
#define SWEEP_CHECK_S    600    /* ... checked for this often */
/* A sweep waits this long for the uploads that were running when it began
 * (docs/store-format.md, step 2); past it, it ends without deleting. */
#define SWEEP_WAIT_MS    (15 * 60 * 1000)

struct sweep_result {
	struct store_sweep_stats s;
	uint64_t roots, pages, states, pins;
	uint64_t unreadable;     /* live versions whose tree could not be read */
	uint64_t seq;            /* the server's sweep number (sweep.last) */
	double seconds;
	int err;                 /* 0, or the -errno that stopped it */
};

/* One whole sweep.  idx: an index connection for reading versions and
 * devices.  0 or -errno (also in out->err): -EBUSY another sweep runs,
 * -ETIMEDOUT older uploads did not end within wait_ms, -EIO a live
 * version's tree is unreadable (nothing deleted). */
int  sweep_run(struct store *st, struct index *idx, int wait_ms, struct sweep_result *out);

/* The server's thread.  VIGIL_SWEEP_CONTINUOUS=1 (with VIGIL_TEST_HOOKS=1)
 * sweeps back to back: a test hook.  NULL on failure. */
struct sweeper;
struct sweeper *sweeper_start(struct store *st, struct index *idx);
void sweeper_stop(struct sweeper *sw);   /* NULL-safe; waits for a sweep in progress */

/* Whether a server runs on the store (it holds chunks.db locked). */
bool sweep_server_running(const char *storedir);
/* `vigil-server sweep DIR`: asks the server running on DIR and waits for
 * its answer (at most timeout_s).  0, -ETIMEDOUT, or -errno. */
int  sweep_request(const char *storedir, int timeout_s, struct sweep_result *out);
/* One line for people, or one JSON document. */
void sweep_print(const struct sweep_result *r, int json);

#endif
