/* status.h — the daemon's local status: written by the running daemon to
 * STATE/status.json (atomically, about once a second), read by
 * `vigild status --state DIR [--json]` without any server.
 *
 * JSON: {"pid", "running", "updated", "tracker", "connected", "last_error",
 *        "queue": {"files", "oldest"}, "counters": {name: value, ...}}
 * (times RFC 3339 UTC, "oldest" null when nothing is queued). */
#ifndef VIGIL_DAEMON_STATUS_H
#define VIGIL_DAEMON_STATUS_H

#include <stdbool.h>

#include "daemon/counters.h"
#include "daemon/statedb.h"

struct status_snap {
	const char *tracker;
	bool connected;
	const char *last_error;
	const struct counters *ctr;
	const struct vg_report *trk;   /* the tracker's counters (may be NULL) */
};

/* Writes STATE/status.json (tmp + rename).  0 or -errno. */
int status_write(const char *statedir, struct statedb *db, const struct status_snap *s);
/* `vigild status` (argv[0] is "status").  Returns the exit code. */
int status_main(int argc, char **argv);

#endif
