/* statedb.h — vigild's durable state: what was shipped, and what is queued.
 *
 * SQLite in WAL mode at STATE/state.db.  Two tables:
 *   shipped: per path, the stat tuple and identity of the version the server
 *            acknowledged (MSG_PUT_DONE), so a scan can tell what changed;
 *   queue:   paths that may have changed and are not shipped yet, with when
 *            the change was first seen.  An entry is removed only after the
 *            server acknowledged it, so kill -9 and restart lose nothing.
 * Thread-safe: one connection guarded by a mutex. */
#ifndef VIGIL_DAEMON_STATEDB_H
#define VIGIL_DAEMON_STATEDB_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shipped {
	char path[PATH_MAX];
	uint8_t type;            /* enum vg_type */
	uint64_t size;
	int64_t mtime_ns, ctime_ns;
	uint64_t ino, dev;
	uint32_t mode;           /* full st_mode */
	uint32_t uid, gid;
	char link[PATH_MAX];
	uint64_t version;        /* server's version number */
	uint8_t sha256[32];
	uint8_t root[32];        /* chunk tree root */
	int64_t capture_ns;      /* when the shipped content was read */
};

struct qitem {
	char path[PATH_MAX];
	int64_t first_seen_ns;
	int64_t not_before_ns;   /* retry/recheck time */
	uint64_t gen;            /* changes each time the path is queued again */
	int attempts;
	char reason[32];
};

struct statedb;

int  statedb_open(const char *statedir, struct statedb **out);
/* For `vigild status` beside a running daemon: read only, no schema, no
 * journal mode set: a reader that set them up raced the daemon's start,
 * which then failed ("database is locked"). */
int  statedb_open_ro(const char *statedir, struct statedb **out);
void statedb_close(struct statedb *db);   /* NULL-safe */

/* Bytes the page cache of the state db holds now (bounded by its
 * cache_size: STATEDB_CACHE_KIB), or -1. */
#define STATEDB_CACHE_KIB 512
int64_t statedb_cache_used(struct statedb *db);
/* Idle housekeeping: a write-ahead log past STATEDB_WAL_KEEP_KIB is
 * checkpointed and truncated to nothing (a first backup leaves 4-7 MB of
 * it, kept as long as the daemon idles otherwise); a smaller one is left
 * for the next automatic checkpoint.  0, or -errno (busy: try later). */
#define STATEDB_WAL_KEEP_KIB 1024
int statedb_tidy(struct statedb *db);

/* Group many writes into one transaction (scans). */
int statedb_begin(struct statedb *db);
int statedb_commit(struct statedb *db);

int statedb_get(struct statedb *db, const char *path, struct shipped *out);  /* 0 | -ENOENT */
int statedb_put(struct statedb *db, const struct shipped *s);
int statedb_del(struct statedb *db, const char *path);
/* A shipped regular file with this (dev, ino) at another path than 'not'. */
int statedb_find_ino(struct statedb *db, uint64_t dev, uint64_t ino, const char *not,
		     struct shipped *out);                                  /* 0 | -ENOENT */
/* statedb_get and, when want_moved, statedb_find_ino(dev, ino, path) in
 * one statement (one read transaction): path's row into *row, the other
 * path's into *moved.  A mask of what was found, or -errno. */
#define STATEDB_LOOK_ROW   1
#define STATEDB_LOOK_MOVED 2
int statedb_look(struct statedb *db, const char *path, bool want_moved, uint64_t dev,
		 uint64_t ino, struct shipped *row, struct shipped *moved);
/* Calls fn for every shipped path equal to dir or below it; stops on fn's
 * non-zero return and returns it. */
int statedb_each_under(struct statedb *db, const char *dir,
		       int (*fn)(void *arg, const struct shipped *s), void *arg);
int64_t statedb_count_shipped(struct statedb *db);

/* Queue.  enqueue keeps the earliest first_seen and makes the entry due at
 * not_before_ns (0: now) — an earlier due time wins over a later one. */
int statedb_enqueue(struct statedb *db, const char *path, int64_t seen_ns,
		    int64_t not_before_ns, const char *reason);
/* The due entry (not_before <= now, fewer than max_attempts failures, not
 * one of the nexcl paths in excl: those in flight elsewhere) seen first.
 * An entry due more than STATEDB_HOLD_MAX_NS after now is due as well: no
 * hold or backoff is that long (the longest, ENOSPC's, stops at 1 h), so
 * the wall clock went back after it was queued (a device's clock jumping
 * back by days must not hold its queue for days).  0 | -ENOENT. */
#define STATEDB_HOLD_MAX_NS (2 * 3600 * 1000000000LL)
#define STATEDB_EXCL_MAX 40   /* 16 shippers, 2 paths each for a rename */
int statedb_queue_next(struct statedb *db, int64_t now_ns, int max_attempts,
		       char *const excl[], size_t nexcl, struct qitem *out);
/* A place in queue order (first_seen_ns, path). */
struct qcursor {
	int64_t seen_ns;
	char path[PATH_MAX];
};
/* Up to max due entries (as statedb_queue_next) in queue order after
 * `after` (NULL: from the start), those skip() says true for left out:
 * *n of them into out.  0, -ENOENT (none). */
int statedb_queue_scan(struct statedb *db, int64_t now_ns, int max_attempts,
		       const struct qcursor *after, bool (*skip)(void *arg, const char *path),
		       void *arg, struct qitem *out, size_t max, size_t *n);
/* Up to max queued paths other than 'not' (for rename pairing). */
int statedb_queue_list(struct statedb *db, const char *not, struct qitem *out, size_t max,
		       size_t *n);
int statedb_queue_get(struct statedb *db, const char *path, struct qitem *out);
/* Removes path's entry only if it was not queued again since (same gen). */
int statedb_queue_done(struct statedb *db, const char *path, uint64_t gen);
int statedb_queue_remove(struct statedb *db, const char *path);
/* Postpones an entry (backoff), counting an attempt. */
int statedb_queue_defer(struct statedb *db, const char *path, int64_t not_before_ns);
/* Makes an entry due no earlier than t (rate limit; attempts unchanged),
 * unless a last close queued it ("closed" stays until it ships; a later
 * "event" does not replace it). */
int statedb_queue_hold(struct statedb *db, const char *path, int64_t t);
/* Every entry postponed after a failure (attempts > 0) that is not due
 * yet becomes due at now_ns (the server has space again). */
int statedb_queue_release(struct statedb *db, int64_t now_ns);
/* The earliest due time after after_ns of any entry: 0 | -ENOENT. */
int statedb_queue_next_due(struct statedb *db, int64_t after_ns, int64_t *t);
/* Forgets past failures (a new `once` run tries everything again). */
int statedb_queue_reset_attempts(struct statedb *db);
int statedb_queue_stats(struct statedb *db, uint64_t *n, int64_t *oldest_ns);
/* Rows written so far through this handle (any table): a cheap "did
 * anything move" before asking queue_stats. */
uint64_t statedb_changes(struct statedb *db);

/* Small key/value for counters and settings that survive restarts. */
int statedb_kv_get(struct statedb *db, const char *key, int64_t *v);
int statedb_kv_set(struct statedb *db, const char *key, int64_t v);
/* key := max(key + 1, t) in one step (t when unset); *out = the new value.
 * Every thread sharing db gets a distinct, increasing value. */
int statedb_kv_raise(struct statedb *db, const char *key, int64_t t, int64_t *out);
/* n values at once: key := max(key + n, t + n - 1); *first = the first of
 * the n consecutive values now reserved (the last is the new key). */
int statedb_kv_raise_by(struct statedb *db, const char *key, int64_t t, int64_t n,
			int64_t *first);

#endif
