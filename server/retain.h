/* retain.h — retention policies, holds, and applying a policy to a
 * device's versions in index.db (tables retain_policy and retain_dev,
 * docs/index.md; the rules themselves are server/retention.h).
 *
 * A policy is stored per device, or as the default (dev 0) for devices
 * without their own; none at all keeps everything.  A device is on hold
 * while it has a freeze or an erase command queued (in any state) or a
 * sim-swap event newer than its last release; `retain --release-hold`
 * records the newest command and event ids then (and an event), so a later
 * freeze, erase or swap holds it again.  Nothing of a held device is
 * dropped.
 *
 * Applying deletes the version rows the policy drops, 256 per
 * transaction; each transaction first checks again that the device is not
 * on hold and the policies did not change (meta retain_gen), so a freeze
 * queued during a pass stops it before its next delete.  A dropped row is
 * gone for every reader at once (ls/log/get --at/mount: ENOENT); its
 * chunks are garbage for the sweeper.  Works from the `retain` command
 * while `run` serves (WAL), and from the server's own worker (retainer.h).
 * Functions return 0 (or a count) or -errno. */
#ifndef VIGIL_SERVER_RETAIN_H
#define VIGIL_SERVER_RETAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "server/index.h"
#include "server/retention.h"

#define RETAIN_DELETE_TXN 256     /* rows deleted per transaction */

/* dev 0: the default.  An empty policy stored for a device keeps all of
 * that device (it does not inherit the default). */
int retain_set(struct index *idx, int64_t dev, const struct retain_policy *p, int64_t now_ns);
/* The policy in force for dev (its own, else the default, else empty);
 * own: whether dev has its own row (for dev 0: whether a default is set). */
int retain_get(struct index *idx, int64_t dev, struct retain_policy *p, bool *own);

struct retain_devinfo {
	bool on_hold;
	char reason[128];              /* what holds it: "freeze #3 (done)", "sim-swap ..." */
	int64_t released_ns;           /* last release (0: never) */
	int64_t pass_ns;               /* last pass that looked at it (0: never) */
	uint64_t dropped;              /* versions dropped so far */
};
int retain_info(struct index *idx, int64_t dev, struct retain_devinfo *out);

/* Records a release (and the event `hold-released`): 1 released, 0 the
 * device was not on hold (nothing recorded). */
int retain_release(struct index *idx, int64_t dev, const char *by, int64_t now_ns);

/* Bumped by every policy change and release. */
int retain_gen(struct index *idx, int64_t *out);

struct retain_result {
	bool held, empty;              /* nothing looked at: why */
	bool stopped;                  /* a hold or a policy change stopped it */
	uint64_t instants, paths, versions, dropped;
};
/* One pass over dev's versions at time now.  on_drop (may be NULL) hears
 * each dropped version after its transaction committed.  cancel (may be
 * NULL): once *cancel is nonzero the pass ends before its next page or
 * delete transaction with -ECANCELED (what was dropped stays dropped,
 * out->dropped counts it; the pass is not recorded as done). */
int retain_apply(struct index *idx, int64_t dev, int64_t now_ns,
		 void (*on_drop)(void *arg, const char *path, uint64_t version), void *arg,
		 const volatile int *cancel, struct retain_result *out);

#endif
