/* index.h — the server's metadata index: SQLite in WAL mode, DIR/index.db.
 *
 * Holds identities (devices and controllers, their certificate fingerprint,
 * revocation, a device's content key, a controller's signing key), every
 * version of every path of every device, each device's last report, events
 * and the command queue (server/commands.h).  The schema is in docs/index.md.
 *
 * Thread-safe: one SQLite connection per struct index, every call takes its
 * mutex and keeps its transaction short.  Long listings are paged (the
 * caller passes where the previous page ended), so a slow peer never holds
 * the lock while it sends.  Other processes (enroll, revoke while `run`
 * serves) share the file through WAL and a busy timeout.
 *
 * All functions return 0 (or a count) or -errno: -ENOENT (no such row),
 * -EEXIST, -ESTALE (a put's base is not the latest), -EIO (SQLite error,
 * logged once here with the statement's context). */
#ifndef VIGIL_SERVER_INDEX_H
#define VIGIL_SERVER_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proto.h"

#define INDEX_AT_LATEST INT64_MAX   /* `at` meaning "the latest versions" */
#define INDEX_SIGN_PUB_MAX 64

struct index;

/* Opens DIR/index.db.  create: make the file and schema (init); otherwise
 * the file must exist.  Returns 0 or -errno. */
int index_open(const char *dir, bool create, struct index **out);
/* A second connection to DIR/index.db (opened with index_open already),
 * read-only, with a lock of its own: in WAL mode its reads see every
 * committed version and never wait for the writer's commits (each one an
 * fsync under the writer's lock), so a controller's ls stays quick while
 * devices push (bench/load_bench.sh).  Only the read calls may be used on it. */
int index_open_reader(const char *dir, struct index **out);
void index_close(struct index *idx);   /* NULL-safe */

/* --- identities --- */
struct ident {
	int64_t id;                     /* row id; versions refer to it */
	char name[VG_NAME_MAX];
	int role;                       /* enum vg_role: 1 device, 2 controller */
	uint8_t cert_sha256[32];        /* sha256 of the certificate's DER */
	bool revoked;
	uint8_t devkey[32];             /* devices: content key (random) */
	uint8_t sign_pub[INDEX_SIGN_PUB_MAX]; /* controllers: raw Ed25519 public key */
	size_t sign_pub_len;
	int64_t enrolled_ns;
};

/* Adds an identity (id is set).  -EEXIST when the name is taken (by any role). */
int index_ident_add(struct index *idx, struct ident *id);
int index_ident_get(struct index *idx, const char *name, struct ident *out);
int index_ident_by_id(struct index *idx, int64_t id, struct ident *out);   /* -ENOENT */
int index_ident_remove(struct index *idx, const char *name);  /* undo of a failed enroll */
int index_ident_revoke(struct index *idx, const char *name, int64_t now_ns);
/* Calls cb for every identity of a role in enrolment order (cb returns
 * non-zero to stop, which is returned). */
int index_ident_list(struct index *idx, int role,
		     int (*cb)(void *arg, const struct ident *id), void *arg);

/* --- versions --- */
/* One stored version as the server keeps it: the entry plus the store's
 * reference to its content (content.h's content_ref root; the size is
 * e.size). */
struct index_version {
	struct vg_entry e;
	uint8_t content_root[32];
	bool implicit;          /* a directory the server added as an ancestor */
	bool sha_pending;       /* e.sha256 not computed yet (zeros): PUT_RANGES
				 * commits on the tree root; a background
				 * worker fills it in (index_sha_done) */
};

/* Commit one new version of v->e.path for device dev, in one transaction:
 *  - when check_base: -ESTALE unless base is the latest (non-implicit)
 *    version number of the path (0: it has none);
 *  - capture_ns is kept monotonic per device (a time lower than the
 *    device's maximum so far becomes maximum + 1 ns);
 *  - version = previous + 1, recv_ns = now; ancestors that are missing or
 *    deleted get an implicit directory version;
 *  - a deleted directory deletes its live descendants too;
 *  - from (RENAME, may be NULL): the source path's live subtree is copied
 *    under v->e.path and gets deleted versions; -ENOENT when the source has
 *    no live version of v->e.type (a file's rename never moves a directory).
 * On success v->e.version/capture_ns/recv_ns hold what was stored, and it
 * is durable.  Concurrent commits are grouped: one transaction (one fsync)
 * for every version waiting when the previous group ends, each version
 * under its own savepoint; meta counts groups (commit_groups) and the
 * versions they stored (commit_versions). */
int index_commit(struct index *idx, int64_t dev, struct index_version *v,
		 bool check_base, uint64_t base, const char *from);

/* index_commit for n new versions of dev (a batched put) queued at once,
 * so they commit in one group (or a few, never interleaved with a wait):
 * rs[i] is each one's result.  The versions are not held whole: ops->fill
 * writes item i into a scratch version the index keeps (256 whole
 * versions were 6 MiB of fresh pages per batch), and ops->done hears it
 * back after its commit inside the group (version, capture and receive
 * times set; rs[i] says whether it stands).  adopt[i]: a path the device
 * never shipped; when its live latest version has the same content (size,
 * tree root, sha256) and metadata (mode, owner, mtime, xattrs) nothing is
 * stored, adopted[i] is set and the version handed to done carries that
 * version's number and times.  Adopted versions are not counted in
 * commit_versions.  0 or -ENOMEM. */
struct index_batch_ops {
	void (*fill)(void *arg, size_t i, struct index_version *v);
	void (*done)(void *arg, size_t i, const struct index_version *v);
	void *arg;
};
int index_commit_batch(struct index *idx, int64_t dev, const struct index_batch_ops *ops,
		       const bool *adopt, size_t n, int *rs, bool *adopted);

/* The newest version of path with capture_ns <= at (INDEX_AT_LATEST: the
 * latest), deleted or not; skip_implicit ignores server-made directories
 * (the device's view).  -ENOENT when none. */
int index_latest(struct index *idx, int64_t dev, const char *path, int64_t at,
		 bool skip_implicit, struct index_version *out);
int index_version_get(struct index *idx, int64_t dev, const char *path,
		      uint64_t version, struct index_version *out);

/* Page callbacks: return 0 to take the entry, > 0 to stop before it (the
 * entry is not counted and is offered again on the next page), < 0 error. */
typedef int (*index_entry_cb)(void *arg, const struct index_version *v);

/* Entries below dir (one level, or the whole tree) as of `at`, newest
 * version of each path, deleted ones left out, in byte order of path,
 * starting after path `after` ("" = from the start).  At most max entries.
 * Returns the number taken, or -errno. */
int index_ls(struct index *idx, int64_t dev, const char *dir, int64_t at, bool recursive,
	     const char *after, size_t max, index_entry_cb cb, void *arg);
/* Whether dir has any entry below it (any time): lets `ls` tell an empty
 * directory from a path that never existed.  1, 0 or -errno. */
int index_has_children(struct index *idx, int64_t dev, const char *dir);
/* Versions of path, oldest first, with version > after; at most max. */
int index_log(struct index *idx, int64_t dev, const char *path, uint64_t after,
	      size_t max, index_entry_cb cb, void *arg);

/* --- the sweeper's roots (server/sweep.c) --- */
struct index_root {
	int64_t id;                     /* versions row id: the paging cursor */
	int64_t dev;
	uint8_t content_root[32];
	uint64_t size;
};
/* Live file rows (type file, not deleted) with row id > after, in id
 * order, at most max.  Returns the number filled, or -errno. */
int index_roots(struct index *idx, int64_t after, struct index_root *out, size_t max);
/* The number of version rows and the highest row id: their difference
 * grows when versions are dropped (a sweep may then free something). */
int index_version_span(struct index *idx, int64_t *rows, int64_t *max_id);

/* --- sha256 computed after the commit (PUT_RANGES) --- */
struct index_pending {
	int64_t id;                     /* versions row id: the paging cursor */
	int64_t dev;
	uint8_t content_root[32];
	uint64_t size;
	uint8_t devkey[32];             /* the device's content key */
	int64_t recv_ns;                /* when this row was committed */
	bool current;                   /* every later row of its path is a live file of this content */
	bool latest_has_sha;            /* current, and the latest row has its sha256: */
	uint8_t latest_sha[32];         /* ... this one (the same bytes) */
};
/* Rows with sha_pending = 1 and row id > after, in id order, at most max.
 * Returns the number filled, or -errno. */
int index_sha_pending(struct index *idx, int64_t after, struct index_pending *out, size_t max);
/* Row id's content stopped being its path's latest before its sha256 was
 * computed: sha_pending 1 -> 2 (not computed; out of the pending index).
 * 0 or -errno. */
int index_sha_superseded(struct index *idx, int64_t id);
/* Stores sha for every row of dev holding content_root whose sha256 is
 * pending or superseded (a META or RENAME copy of a pending version shares
 * it).  Returns the rows updated. */
int index_sha_done(struct index *idx, int64_t dev, const uint8_t content_root[32],
		   const uint8_t sha[32]);

/* --- check (index_check.c) --- */
/* One live file version, for `vigil-server check`. */
struct index_content {
	int64_t id;                     /* versions row id: the paging cursor */
	int64_t dev;
	char devname[VG_NAME_MAX];
	uint8_t devkey[32];
	char path[PATH_MAX];
	uint64_t version, size;
	int64_t capture_ns;
	uint8_t sha256[32], content_root[32];
	bool sha_known;                 /* sha256 computed (not pending) */
};
/* Live file versions of every device with row id > after, in id order, at
 * most max.  Returns the number filled, or -errno. */
int index_content_versions(struct index *idx, int64_t after, struct index_content *out,
			   size_t max);
/* Whether dev already has an event of this kind and detail: 1, 0, -errno. */
int index_event_seen(struct index *idx, int64_t dev, const char *kind, const char *detail);

/* --- device quotas (index_quota.c; docs/index.md "quotas") ---
 * A quota caps the logical bytes of a device's latest live regular files
 * (devices.bytes, what `vigil devices` shows). */
/* bytes 0: none.  Records a "quota" event.  0 or -errno. */
int index_quota_set(struct index *idx, int64_t dev, uint64_t bytes, int64_t now_ns);
/* 1 and *limit, *used when dev has a quota; 0 when it has none; -errno. */
int index_quota_get(struct index *idx, int64_t dev, uint64_t *limit, uint64_t *used);
/* Every quota, by device name; cb's non-zero return stops and is returned. */
int index_quota_list(struct index *idx,
		     int (*cb)(void *arg, const char *name, uint64_t limit, uint64_t used),
		     void *arg);

/* --- device state --- */
struct index_devstate {
	int64_t last_seen_ns;
	uint64_t files, bytes;          /* latest live regular files */
	struct vg_report report;        /* last report (backlog, tracker, counters) */
	int64_t report_ns;
	bool has_xattrs;                /* some version carries extended attributes */
};
int index_dev_seen(struct index *idx, int64_t dev, int64_t now_ns);
int index_dev_report(struct index *idx, int64_t dev, const struct vg_report *rep, int64_t now_ns);
int index_dev_state(struct index *idx, int64_t dev, struct index_devstate *out);

/* --- events (newest last) --- */
int index_event_add(struct index *idx, int64_t dev, int64_t time_ns, const char *kind,
		    const char *detail);
/* Fills up to max of the device's latest events, oldest first; returns count. */
int index_events(struct index *idx, int64_t dev, size_t max,
		 void (*cb)(void *arg, int64_t time_ns, const char *kind, const char *detail),
		 void *arg);

#endif
