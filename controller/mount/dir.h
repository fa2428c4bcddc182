/* dir.h — the mount's metadata cache: whole one-level listings of
 * directories (MSG_CTL_LS at the mount's time) and of a path's versions
 * (MSG_CTL_LOG), kept per path, least-recently-used evicted under a byte
 * budget.  Every attribute FUSE asks for (stat, readlink, xattrs) is
 * answered from a cached listing, so `ls -l` costs one request per
 * directory, not per file.
 *
 * Listings at a fixed time are immutable; LOG listings only grow, so a
 * cached one may miss versions committed after it was fetched (it is
 * fetched again once evicted).  Thread-safe; a held listing is never
 * evicted (the budget may then be exceeded by that listing alone). */
#ifndef VIGIL_MOUNT_DIR_H
#define VIGIL_MOUNT_DIR_H

#include <stddef.h>
#include <stdint.h>

#include "controller/mount/conn.h"

#define MDIR_ENTRIES_MAX  (1u << 21)   /* entries of one listing */
#define MDIRS_PREFETCH_THREADS 3       /* listings fetched ahead in parallel */

enum mdir_kind {
	MDIR_TREE = 'T',   /* children of a directory at the mount's time */
	MDIR_LOG  = 'V',   /* live file/symlink versions of a path, named <version>_<time> */
};

/* One entry.  Strings live as long as the listing is held. */
struct mnode {
	const char *name;
	uint8_t type;                /* enum vg_type */
	uint32_t mode, uid, gid;
	uint64_t size, version;
	int64_t mtime_ns, capture_ns;
	uint8_t id[32];              /* content id: chunk-tree root (or a hash of path+version) */
	const char *link;            /* symlink target, "" otherwise */
	const uint8_t *xattrs;       /* encoded {str name, blob value}* */
	uint32_t xattr_len;
};

struct mdir {
	size_t n;
	const struct mnode *e;       /* sorted by name (strcmp) */
};

struct mdirs;

/* dev and mc must outlive the cache; at: the mount's time (0 = latest). */
struct mdirs *mdirs_new(struct mconn *mc, const char *dev, int64_t at, size_t max_bytes);
void mdirs_free(struct mdirs *d);   /* nothing held; NULL-safe */

/* The listing of kind for path, fetched on a miss.  0 and *out held, or
 * -errno (-ENOENT: no such directory / no versions; -EIO: server away). */
int mdirs_get(struct mdirs *d, enum mdir_kind kind, const char *path, const struct mdir **out);
void mdirs_put(struct mdirs *d, const struct mdir *dir);
/* Prefetch: a directory's subdirectories are usually listed next (ls -R,
 * find, diff -r), so the caller queues them; workers fetch them in
 * parallel.  Queued keys beyond the queue's bound are dropped.  Start the
 * workers after any fork. */
int mdirs_start_prefetch(struct mdirs *d);
void mdirs_prefetch(struct mdirs *d, enum mdir_kind kind, const char *path);

const struct mnode *mdir_find(const struct mdir *dir, const char *name);

/* Walks an encoded xattr list: 1 with *name (not NUL-terminated: nlen) and
 * value filled, 0 at the end, -EBADMSG when malformed.  *pos starts at 0. */
int mnode_xattr_next(const struct mnode *n, size_t *pos, const char **name, size_t *nlen,
		     const uint8_t **value, size_t *vlen);

size_t mdirs_bytes(struct mdirs *d);

#endif
