/* ship_int.h — the shipper's inside, shared by ship.c (connection, PUT
 * sending, stale fix-ups) and shipitem.c (what to send for a path). */
#ifndef VIGIL_DAEMON_SHIP_INT_H
#define VIGIL_DAEMON_SHIP_INT_H

#include "daemon/capture.h"
#include "daemon/pathstate.h"
#include "daemon/putio.h"
#include "daemon/rangetab.h"
#include "daemon/ship.h"

/* Below this a delta cannot beat sending the bytes (2 KiB blocks plus
 * headers), so no signature is kept for the next edit. */
#define SIG_MIN_SIZE (16 * 1024)
/* Below this reading the whole file costs less than keeping its chunk
 * list and ranges: no PUT_RANGES. */
#define RANGES_MIN_SIZE (256 * 1024)

struct shipper {
	struct ship_opts o;
	struct pathstate ps;         /* o.db, o.statedir, o.rt: a path's state */
	char tmpdir[PATH_MAX];
	struct mux *mux;
	int backoff;                 /* ms, next wait */
	unsigned seed;
	int64_t last_capture_ns;     /* capture times are kept increasing */
	char last_err[PATH_MAX + 1024];
	char conn_err[256];
	struct shipped *cur, *old;   /* scratch rows (large) */
	struct vg_put *put;          /* the PUT being built */
	struct rangeset *rs;         /* ranges taken for the path in hand */
};

/* The watched root holding path, or NULL (then nothing is opened). */
const char *ship_root_of(const struct shipper *sh, const char *path);
/* lstat of path reached beneath its root (daemon/rootwalk.h): a parent
 * directory swapped for a symlink is ENOENT, the path is gone from the
 * root.  0, or -1 with errno, as lstat. */
int ship_lstat(const struct shipper *sh, const char *path, struct stat *st);
int64_t ship_next_capture(struct shipper *sh, int64_t t);
void ship_entry_from_stat(struct vg_entry *e, const char *path, const struct stat *st);
void ship_row_from(struct shipped *r, const struct vg_entry *e, const struct stat *st,
		   uint64_t version);
/* Sends sh->put (body may be NULL).  Logs and counts; 0 sets *version. */
int ship_send_put(struct shipper *sh, struct put_body *body, uint64_t *version);
/* Maps a failed PUT: ESTALE -> learn the server's latest, -EAGAIN. */
int ship_finish_put(struct shipper *sh, int rc, const char *path);

/* Records a shipped version of sh->put's path and clears its queue entry. */
int ship_commit(struct shipper *sh, const struct qitem *q, const struct stat *st,
		uint64_t version);
/* Deterministic WHOLE-upload token of (path, content). */
void ship_token_for(const struct vg_entry *e, uint8_t token[16]);
/* capture_file() of a queued path into sink, counted in bytes_read and
 * unstable; a path that vanished or changed kind meanwhile is -EAGAIN
 * (look again), any other failure is logged (shipcontent.c). */
int ship_capture(struct shipper *sh, const char *path, const struct capture_sink *sink,
		 struct capture *cap);
/* A regular file whose content may have changed (shipcontent.c). */
int ship_content(struct shipper *sh, const struct qitem *q, const struct stat *st,
		 const struct shipped *cur);

/* A path without a shipped record that the server may already hold
 * (shipadopt.c): adopt its version, PUT_META on it, or (a file) a delta
 * against its signature.  0 or -errno as ship_item; -ENOTSUP: the server
 * has nothing to build on, ship it as new. */
int ship_adopt_file(struct shipper *sh, const struct qitem *q, const struct stat *st);
int ship_adopt_empty(struct shipper *sh, const struct qitem *q, const struct stat *st);

/* PUT_RANGES from the known written ranges (shipranges.c): 0 or -errno
 * as ship_item; -ENOTSUP: not possible here, take the capture path. */
int ship_ranges(struct shipper *sh, const struct qitem *q, const struct stat *st,
		const struct shipped *cur, const struct rangeset *rs);

#endif
