/* ship_int.h — the shipper's inside.  Layers, each using only those below:
 *   shipitem.c     ship_item: gathers the facts, asks shipplan.h, dispatches
 *   shipadopt.c    a path without a shipped row (adopt.h)
 *   shipcontent.c  a regular file's content: RANGES, else one read
 *   shipranges.c   PUT_RANGES
 *   shipsink.c     reaching a path beneath its root, one read of a file and
 *                  what it builds (delta, signature, chunk list)
 *   ship.c         the connection, sending a PUT, recording it (pathstate.h)
 */
#ifndef VIGIL_DAEMON_SHIP_INT_H
#define VIGIL_DAEMON_SHIP_INT_H

#include "common/backoff.h"
#include "daemon/capture.h"
#include "daemon/chunkdelta.h"
#include "daemon/chunklist.h"
#include "daemon/pathstate.h"
#include "daemon/putio.h"
#include "daemon/rangetab.h"
#include "daemon/ship.h"
#include "daemon/shipplan.h"
#include "daemon/rsstream.h"
#include "daemon/rootwalk.h"

struct shipper {
	struct ship_opts o;
	struct pathstate ps;         /* o.db, o.statedir, o.rt: a path's state */
	char tmpdir[PATH_MAX];
	struct mux *mux;             /* mr's, while this shipper holds it */
	struct muxref *mr;           /* its hold on o.conn's connection */
	bool own_conn;               /* o.conn made for this shipper alone */
	struct backoff bo;            /* waits between attempts to connect */
	int64_t last_capture_ns;     /* capture times are kept increasing */
	char last_err[PATH_MAX + 1024];
	char conn_err[256];
	struct shipped *cur, *old;   /* scratch rows (large) */
	struct vg_put *put;          /* the PUT being built */
	struct rangeset *rs;         /* ranges taken for the path in hand */
	/* chunk fingerprints' secret (chunklist.h), when fp_ok */
	uint8_t fp_secret[CHASH_FP_SECRET];
	bool fp_ok;
	struct shipbatch *batch;     /* small new files gathered (shipbatch.c) */
	struct rootwalk_roots roots; /* the watched roots' fds for this walk (shipsink.c) */
	char no_delta[PATH_MAX];     /* its DELTA was refused (EBADMSG): next try WHOLE */
};

/* shipitem.c: the facts ship_plan decides on for q (st, moved: storage). */
int ship_look(struct shipper *sh, const struct qitem *q, struct stat *st,
	      struct shipped *moved, struct ship_facts *f);

/* shipbatch.c */
struct shipbatch;
int  ship_batch_new(struct shipbatch **out);
void ship_batch_free(struct shipbatch *b);   /* NULL-safe; an open batch is reset */

/* ship.c */
int64_t ship_next_capture(struct shipper *sh, int64_t t);
void ship_row_from(struct shipped *r, const struct vg_entry *e, const struct stat *st,
		   uint64_t version);
/* Sends sh->put (body may be NULL).  Logs and counts; 0 sets *version. */
int ship_send_put(struct shipper *sh, struct put_body *body, uint64_t *version);
/* sh->put as a WHOLE sent while it is read (putio.h put_stream): opens
 * it (0 and *ps, or -errno logged and counted as ship_send_put), and
 * ends it: rc 0 sends the trailer t and waits for PUT_STORED (into *st)
 * and the chunk list t asks for (*list_rc, putio.h); any other rc (the read's) abandons
 * the upload and is returned (-EBUSY, the file moved under the read, is
 * not counted as an error). */
int ship_stream_open(struct shipper *sh, struct put_body *body, struct put_stream **ps);
int ship_stream_end(struct shipper *sh, struct put_body *body, struct put_stream *ps, int rc,
		    const struct putio_trailer *t, struct vg_put_stored *st, int *list_rc);
/* Upload token of a WHOLE sent as it is read: sha256 of the path, the
 * file's dev, ino, size, mtime and ctime and the state directory's nonce
 * (STATE/state.db kv upload_nonce), first 16 bytes. */
void ship_stream_token(struct shipper *sh, const struct vg_entry *e, const struct stat *st,
		       uint8_t token[16]);
/* Maps a failed PUT: ESTALE -> learn the server's latest, -EAGAIN. */
int ship_finish_put(struct shipper *sh, int rc, const char *path);

/* Records a shipped version of sh->put's path and clears its queue entry
 * (only right after sh->put was built for q's path). */
int ship_commit(struct shipper *sh, const struct qitem *q, const struct stat *st,
		uint64_t version);
/* Nothing to send (a read found base's content and metadata): q's row
 * becomes base with the fresh stat st and capture time; queue entry
 * cleared. */
int ship_keep(struct shipper *sh, const struct qitem *q, const struct stat *st,
	      const struct shipped *base, int64_t capture_ns);
/* Deterministic WHOLE-upload token of (path, content). */
void ship_token_for(const struct vg_entry *e, uint8_t token[16]);

/* shipsink.c: a path beneath its root; what one read builds besides the
 * hash. */
struct ship_sink {
	struct shipper *sh;
	const char *path;
	uint64_t base_version;       /* the delta's base, whose regions are asked for */
	struct chunkdelta *cd;       /* delta guided by the base's chunk list */
	struct clwriter *cw;         /* chunk list, for PUT_RANGES and the next delta */
	int dfd;                     /* the finished delta (owned by cd), or -1 */
	bool stale;                  /* the server's latest is not the base */
	uint64_t dsize;
	const uint8_t *fp_secret;    /* chunks fingerprinted (the shipper's), or NULL */
	/* the read computes no sha256 of the whole (a DELTA or a streamed
	 * WHOLE: the server's check is the tree root; it computes the sha256) */
	bool no_sha256;
	/* no sha256 at all (a WHOLE sent as it is read): the digest, and the
	 * chunk list without sha256s until the server's fills them in */
	bool digest;
	/* ship_capture_stream: the bytes, after the pieces above, go on to
	 * out(); begin() first learns what will be read */
	int (*begin)(void *arg, const struct capture *c);
	int (*out)(void *arg, const uint8_t *p, size_t n);
	/* may be NULL: out() for a buffer of MUX_FRAME_MAX bytes from
	 * mux_buf_new, which it takes in every case (sent without a copy) */
	int (*out_buf)(void *arg, void *p, size_t n);
	/* may be NULL: each chunk the read cut, before out() gets the bytes
	 * that end it (a streamed WHOLE's boundaries, putio_stream_cut) */
	int (*cut)(void *arg, uint32_t len);
	void *out_arg;
};
/* Prepares the sink for a read of the st-sized file at path (path must
 * outlive s): a delta against base when delta is set and base's chunk
 * list is kept (chunkdelta.h); a chunk list (files >= SIG_MIN_SIZE).  A
 * piece that cannot be set up is left out. */
void ship_sink_open(struct shipper *sh, const char *path, const struct stat *st,
		    const struct shipped *base, bool delta, struct ship_sink *s);
void ship_sink_close(struct ship_sink *s);
/* Finishes the delta: its fd (rewound, owned by s) and *size; -1: none. */
int  ship_sink_delta(struct ship_sink *s, uint64_t *size);
/* The watched root holding path, or NULL (then nothing is opened). */
const char *ship_root_of(const struct shipper *sh, const char *path);
/* lstat of path reached beneath its root (daemon/rootwalk.h): a parent
 * directory swapped for a symlink is ENOENT, the path is gone from the
 * root.  0, or -1 with errno, as lstat. */
int ship_lstat(struct shipper *sh, const char *path, struct stat *st);
/* capture_file() of a queued path beneath its root into s, counted in
 * bytes_read and unstable; a path that vanished or changed kind meanwhile
 * is -EAGAIN (look again), any other failure is logged. */
int  ship_capture(struct shipper *sh, const char *path, struct ship_sink *s,
		  struct capture *cap);
/* The same in one pass whose bytes also go to s->out (capture_stream):
 * -EBUSY when the file moved under the read; the caller logs failures
 * (it knows whether reading or sending failed). */
int  ship_capture_stream(struct shipper *sh, const char *path, struct ship_sink *s,
			 struct capture *cap);
/* After cap's content was recorded for path (base: the version it
 * replaced, NULL: none): the new chunk list goes in place, or the stale
 * one is dropped. */
void ship_sink_keep(struct shipper *sh, const char *path, const struct capture *cap,
		    const struct shipped *base, struct ship_sink *s);

/* shipranges.c: PUT_RANGES from the known written ranges: 0 or -errno as
 * ship_item; -ENOTSUP: not possible here, take the capture path. */
int ship_ranges(struct shipper *sh, const struct qitem *q, const struct stat *st,
		const struct shipped *cur, const struct rangeset *rs);

/* shipcontent.c: a regular file whose content may have changed, against
 * base (NULL: none); delta_base: a delta against base may be tried. */
int ship_content(struct shipper *sh, const struct qitem *q, const struct stat *st,
		 const struct shipped *base, bool delta_base);

/* shipadopt.c: a path without a shipped record that the server may
 * already hold: adopt its version, or PUT_META on it.  0 or -errno as
 * ship_item; -ENOTSUP: the server has nothing to build on, ship it as
 * new; SHIP_ADOPT_CONTENT (files): the server holds other content, base
 * is its version: ship the content against it. */
#define SHIP_ADOPT_CONTENT 1
int ship_adopt_file(struct shipper *sh, const struct qitem *q, const struct stat *st,
		    struct shipped *base);
int ship_adopt_empty(struct shipper *sh, const struct qitem *q, const struct stat *st);

#endif
