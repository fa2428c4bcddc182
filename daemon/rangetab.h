/* rangetab.h — written byte ranges per file since its last shipped version.
 *
 * The tracker (loop thread) adds what it saw; a shipper takes a file's set
 * when it starts shipping it, which also starts a fresh, complete set for
 * the changes that follow.  A set is "complete" only if it was started by
 * a take in this process: a file with no entry, or whose changes were not
 * all itemised (a lost event, a rescan, an mmap, fanotify), has unknown
 * ranges and goes the delta path.  "unknown" stays until the file ships.
 * Thread-safe (one mutex); bounded: RANGETAB_MAX files, RANGETAB_RANGES
 * ranges per file (more make the set unknown). */
#ifndef VIGIL_DAEMON_RANGETAB_H
#define VIGIL_DAEMON_RANGETAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/tracker.h"

#define RANGETAB_MAX     8192
#define RANGETAB_RANGES  64

/* What a shipper takes: sorted, merged, non-overlapping ranges. */
struct rangeset {
	bool complete;           /* every change since the last take is itemised */
	bool unknown;
	uint64_t min_size;       /* smallest size seen at a pick-up or cut (UINT64_MAX: none) */
	bool cut;                /* a truncation (range to TRK_EOF) was seen */
	size_t n;
	struct trk_range r[RANGETAB_RANGES];
};

struct rangetab;
struct rangetab *rangetab_new(void);
void rangetab_free(struct rangetab *t);   /* NULL-safe */

/* Tracker side.  size: the file's size now (UINT64_MAX if unknown).  A
 * range running to TRK_EOF is a cut: it lowers min_size to its offset, so
 * everything from there to the size at ship time counts as rewritten.  A
 * file without an entry is ignored (its set would be incomplete anyway). */
void rangetab_add(struct rangetab *t, const char *path, const struct trk_range *r, size_t n,
		  bool unknown, uint64_t size);
/* Every entry at or below dir (NULL: all) becomes unknown. */
void rangetab_unknown(struct rangetab *t, const char *dir);

/* Shipper side.  take: out gets path's set (complete=false when none);
 * path's entry restarts empty and complete when track is true, is removed
 * otherwise.  putback: the ship failed, merge out back in. */
void rangetab_take(struct rangetab *t, const char *path, bool track, struct rangeset *out);
void rangetab_putback(struct rangetab *t, const char *path, const struct rangeset *rs);
void rangetab_forget(struct rangetab *t, const char *path);
/* out gets path's set as take would, leaving the table as it is. */
void rangetab_peek(struct rangetab *t, const char *path, struct rangeset *out);
/* true when path has written ranges (or unknown ones, or a cut) not shipped yet:
 * its content changed even if its stat looks the same (same time tick). */
bool rangetab_dirty(struct rangetab *t, const char *path);

/* Files a writer is at: the loop notes every write the tracker reports
 * (rangetab_add, any file, tracked or not) in a small table of the
 * RANGETAB_BUSY most recent.  Writes less than RANGETAB_RUN_GAP_NS apart
 * form one run; a run is "busy" from its second write until the writes
 * stop (the loop picks up every 50 ms, so a steady writer is seen every
 * tick).  Times are monotonic (common/clock.h mono_ns). */
#define RANGETAB_BUSY       32
#define RANGETAB_RUN_GAP_NS (500 * 1000000LL)
/* A new run's first ship waits this long after its start (one write alone
 * waits RANGETAB_PROBE_NS, to see whether a run begins), and while it
 * lasts captures are this far apart: a file written all the time ships a
 * version every RANGETAB_BUSY_GAP_NS plus the capture's own time. */
#define RANGETAB_PROBE_NS    (120 * 1000000LL)
#define RANGETAB_BUSY_WAIT_NS (2000 * 1000000LL)
#define RANGETAB_BUSY_GAP_NS  (2000 * 1000000LL)

/* A write to path at now (rangetab_add notes one at mono_ns()). */
void rangetab_note_write(struct rangetab *t, const char *path, int64_t now);
/* true when path is in a busy run at now. */
bool rangetab_busy(struct rangetab *t, const char *path, int64_t now);
/* 0 when path may be captured at now; else the (monotonic) time before
 * which it should not be: a run younger than RANGETAB_BUSY_WAIT_NS, or a
 * first write younger than RANGETAB_PROBE_NS. */
int64_t rangetab_hold(struct rangetab *t, const char *path, int64_t now);

/* true when rs holds written ranges, unknown ones or a cut. */
bool rangeset_dirty(const struct rangeset *rs);

/* Merges r[0..n) into rs (sorted, coalescing touching ranges); past
 * RANGETAB_RANGES ranges the set becomes unknown. */
void rangeset_merge(struct rangeset *rs, const struct trk_range *r, size_t n);

#endif
