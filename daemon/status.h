/* status.h — the daemon's local status: written by the running daemon to
 * STATE/status.json (atomically, a fraction of a second after something
 * moved, never on an idle timer), read by `vigild status --state DIR
 * [--json]` without any server.  `vigild status` first asks a running
 * `vigild run` (SIGUSR1, when status.json says "refresh") for a fresh one
 * and waits for it up to STATUS_REFRESH_MS.
 *
 * JSON: {"pid", "running", "updated", "tracker", "connected", "linked", "last_error",
 *        "refresh", "retry_in_ms": {"ship", "link"}, "queue": {"files", "oldest"},
 *        "counters": {name: value, ...}}
 * (times RFC 3339 UTC, "oldest" null when nothing is queued). */
#ifndef VIGIL_DAEMON_STATUS_H
#define VIGIL_DAEMON_STATUS_H

#include <stdbool.h>

#include "daemon/counters.h"
#include "daemon/statedb.h"

struct status_snap {
	const char *tracker;
	bool connected;                /* shipper 0's connection */
	bool linked;                   /* the command link's */
	int64_t retry_at, link_retry_at;   /* mono_ms of the next connect, 0: connected */
	const char *last_error;
	const struct counters *ctr;
	const struct vg_report *trk;   /* the tracker's counters (may be NULL) */
	bool refresh;                  /* `run`: SIGUSR1 asks for a fresh status.json */
};

#define STATUS_REFRESH_MS 2000

/* Writes STATE/status.json (tmp + rename).  0 or -errno. */
int status_write(const char *statedir, struct statedb *db, const struct status_snap *s);
/* `vigild status` (argv[0] is "status").  Returns the exit code. */
int status_main(int argc, char **argv);

#endif
