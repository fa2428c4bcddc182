/* scan.h — the reconcile scan: walk a tree, compare every entry's lstat with
 * what was shipped, queue what differs, and queue shipped paths that are gone.
 *
 * A scan never crosses into another mount (st_dev differs from its root's)
 * except a vigil-simfs mount registered in STATE/mounts (one absolute
 * mountpoint per line, written by vigil-simfs --state).  While such a
 * mountpoint is not mounted, what was shipped below it is not taken for
 * deleted (simfs keeps its line when it stops).  vigild's own state
 * directory, and the -wal/-journal/-shm companions of a file, are never
 * shipped.  Racily clean: a shipped entry whose mtime is within
 * SCAN_RACY_NS of the moment its content was read may have changed again in
 * the same timestamp tick, so it is queued for one more look later. */
#ifndef VIGIL_DAEMON_SCAN_H
#define VIGIL_DAEMON_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "daemon/statedb.h"

#define SCAN_RACY_NS     (2 * 1000000000LL)   /* >= coarse fs timestamp granularity */
#define SCAN_DEPTH_MAX   128
#define SCAN_MOUNTS_MAX  16

struct scan_ctx {
	struct statedb *db;
	char statedir[PATH_MAX];      /* canonical; excluded from every scan */
	size_t nmounts;
	char mounts[SCAN_MOUNTS_MAX][PATH_MAX];
};

struct scan_stats {
	uint64_t entries;   /* looked at */
	uint64_t queued;    /* differed from shipped (new/changed/racy) */
	uint64_t deleted;   /* shipped but gone */
};

/* statedir must exist; reads STATE/mounts if present. */
int  scan_ctx_init(struct scan_ctx *c, struct statedb *db, const char *statedir);
/* (Re)reads STATE/mounts: the vigil-simfs hook. */
void scan_reload_mounts(struct scan_ctx *c);

/* Reconciles dir (a watched root or a directory below one, recursively).
 * 0 or -errno (dir itself unreadable); entries that vanish mid-walk are
 * normal.  Counts into st (may be NULL). */
int scan_tree(struct scan_ctx *c, const char *dir, int64_t now_ns, struct scan_stats *st);

/* true when path must never be shipped (state dir, SQLite companions). */
bool scan_excluded(const struct scan_ctx *c, const char *path);
/* The shipped-table view of a stat (path/type/stat fields; hashes untouched). */
void scan_fill_stat(struct shipped *s, const struct stat *st);
/* true when st differs from what was shipped in any tracked field. */
bool scan_differs(const struct stat *st, const struct shipped *s);
/* true when the shipped capture is racily clean and needs another look. */
bool scan_racy(const struct shipped *s);
/* enum vg_type of a mode, 0 for types vigil does not ship. */
int scan_type(mode_t m);
int64_t scan_ts(const struct timespec *t);

#endif
