/* retention.h — which versions a retention policy keeps: pure functions,
 * no I/O (the index applies the result, server/retain_db.c).
 *
 * restic's documented `forget --keep-*` rules (doc/060_forget.rst), applied
 * to a device's history as if every capture instant were a snapshot of the
 * whole device:
 *  - --keep-hourly/daily/weekly/monthly N: for the last N hours/days/ISO
 *    weeks (Monday to Sunday)/months, in the server's local time, that
 *    have at least one instant, the newest instant of each; when instants
 *    run out with a count left, the oldest instant is kept too ("oldest
 *    daily snapshot", restic >= 0.17);
 *  - --keep-within D: every instant strictly after latest - D, latest
 *    being the newest instant not in the future;
 *  - an instant kept by any rule is kept (the rules are ORed);
 *  - instants after `now` are never removed (restic ignores future
 *    snapshots for the duration rules; here for all of them).
 * A path's version is kept when it is what the path was at one of the kept
 * instants (its capture time <= the instant < the next version's), so the
 * device's whole tree as of every kept instant stays intact: `mount --at`
 * such an instant shows every file, and each directory above a kept file.
 * Per path this is "the newest version in each bucket" whenever the path
 * changed in that bucket, and otherwise the version it still had.  Always
 * kept besides: the newest row of every path (the latest version of a path
 * that exists; for a deleted path its tombstone, which holds no content
 * and keeps the path's version numbers increasing), and every version
 * captured after `latest`.  A policy with no rule keeps everything. */
#ifndef VIGIL_SERVER_RETENTION_H
#define VIGIL_SERVER_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RETAIN_COUNT_MAX 100000u   /* per --keep-* count: 11 years of hours */

enum { RET_HOURLY, RET_DAILY, RET_WEEKLY, RET_MONTHLY, RET_NBUCKETS };

struct retain_policy {
	int64_t within_ns;                   /* 0: no --keep-within */
	uint32_t count[RET_NBUCKETS];        /* 0: rule not set */
};

bool retain_policy_empty(const struct retain_policy *p);

/* The bucket key of an instant (ns since the epoch) in local time:
 * YYYYMMDDHH, YYYYMMDD, ISO YYYYWW, YYYYMM. */
int64_t retain_bucket(int kind, int64_t t_ns);

/* Walks a device's instants, newest first, deciding which the bucket and
 * within rules keep (the caller streams them from the index). */
struct retain_walk {
	struct retain_policy p;
	int64_t latest, cutoff;              /* within: instants > cutoff */
	uint32_t left[RET_NBUCKETS];
	int64_t last[RET_NBUCKETS];
	int64_t first_in_window;             /* oldest instant > cutoff seen */
};

void retain_walk_init(struct retain_walk *w, const struct retain_policy *p, int64_t latest_ns);
/* Feeds instant t (strictly older than the previous one, <= latest);
 * oldest: it is the device's oldest instant.  True when a bucket rule
 * keeps it (kept by --keep-within: t > w->cutoff). */
bool retain_walk_next(struct retain_walk *w, int64_t t, bool oldest);
/* True when no older instant can be kept by a rule any more (except as
 * the oldest, which needs a count left: then this is false). */
bool retain_walk_done(const struct retain_walk *w, int64_t t_last);

/* The kept instants of one device, as retain_walk found them. */
struct retain_plan {
	const int64_t *kept;                 /* bucket-kept instants, newest first */
	size_t nkept;
	int64_t latest;                      /* versions captured after it: kept */
	bool window;                         /* --keep-within set */
	int64_t cutoff, first_in_window;     /* instants > cutoff are kept; the oldest of them */
};

/* One path's versions, oldest first, by capture time (strictly
 * increasing); sets keep[i].  Returns how many are kept. */
size_t retain_path(const struct retain_plan *plan, const int64_t *cap, size_t n, bool *keep);

/* Convenience for tests and small histories: the whole device's instants
 * (newest first, distinct) through retain_walk; kept[i] set. */
void retain_instants(const struct retain_policy *p, int64_t now_ns, const int64_t *t, size_t n,
		     bool *kept);

#endif
