/* retainer.h — the server's background retention: applies each device's
 * policy (retain.h) after its ingest quiets, so nobody has to run
 * `vigil-server retain` for versions to age out.
 *
 * One thread for the whole server.  ingest kicks it with the device after
 * each commit; the device is then due RETAIN_QUIET_S after its last kick
 * (a burst of edits costs one pass, after the burst), but never more than
 * RETAIN_WAIT_MAX_S after its first kick (a device that never rests is
 * still pruned), and passes start at least RETAIN_QUIET_S apart (rate
 * limit).  Without ingest nothing changes what a policy keeps (the rules
 * depend only on the versions' capture times): `retain` applies a new
 * policy or a release itself.  At start every device is due once (a
 * previous run may have stopped mid-pass).  A pass over one device holds
 * the index lock one page or one 256-row transaction at a time.
 * VIGIL_TEST_RETAIN_QUIET_MS (read at start) replaces RETAIN_QUIET_S. */
#ifndef VIGIL_SERVER_RETAINER_H
#define VIGIL_SERVER_RETAINER_H

#include <stdint.h>

#include "server/index.h"

#define RETAIN_QUIET_S     60
#define RETAIN_WAIT_MAX_S  3600
#define RETAIN_DIRTY_MAX   4096   /* devices remembered; beyond: all are due */

struct retainer;

struct sweeper;
/* sw (may be NULL) is kicked after a pass that dropped versions, so the
 * space they held comes back without anyone running `vigil-server sweep`
 * (sweep.h: at most one automatic sweep per SWEEP_INTERVAL_S). */
int  retainer_new(struct index *idx, struct sweeper *sw, struct retainer **out);
void retainer_kick(struct retainer *rt, int64_t dev);   /* NULL-safe */
/* Passes done since start (tests wait for one). */
uint64_t retainer_passes(struct retainer *rt);
/* Stops: a pass under way ends before its next page or delete
 * transaction (retain_apply's cancel).  NULL-safe. */
void retainer_free(struct retainer *rt);

#endif
