/* putio.h — one MSG_DEV_PUT exchange on a mux stream.
 *
 *   device: MSG_DEV_PUT{put}
 *   server: MSG_PUT_READY{u64 resume_offset}      (or MSG_ERROR)
 *   device: DATA from resume_offset ... END        (bodies with data)
 *   server: MSG_PUT_DONE{u64 version}              (or MSG_ERROR)
 * Bodies without data (META, DELETE, RENAME) send END at once.  A body
 * with a zero token under PUTIO_EARLY_MAX goes with END right behind the
 * PUT, before PUT_READY (which must then say 0): no round trip per small
 * file. */
#ifndef VIGIL_DAEMON_PUTIO_H
#define VIGIL_DAEMON_PUTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/chunker.h"
#include "common/mux.h"
#include "common/proto.h"

#define PUTIO_EARLY_MAX (64 * 1024)   /* = SHIP_RESUME_MIN: one frame */

struct put_body {
	int fd;              /* source of DATA (-1: none) */
	uint64_t size;       /* bytes of DATA */
	bool verify;         /* re-hash the bytes read; reset the stream if they
			      * no longer match put->e.sha256 (file changed) */
	uint64_t bytes_read, bytes_sent;   /* out: for counters */
	uint64_t bytes_received;           /* out: a streamed WHOLE's chunk list */
	uint64_t resume_off;  /* out: where the server had the body resume */
	bool has_id;          /* id names this body (ship.c ship_body_id) */
	uint8_t id[16];
};

/* 0 and *version; -code for a MSG_ERROR (text in err), -EAGAIN when the
 * source changed under a verified upload, -ECONNRESET/-ETIMEDOUT/-EPROTO. */
int putio_send(struct mux *m, const struct vg_put *put, struct put_body *body,
	       int timeout_ms, uint64_t *version, char *err, size_t errlen);

/* A WHOLE PUT whose body is sent as it is read (daemon/capture.h
 * capture_stream): announced with zero sha256 and tree_root; the body is
 * followed by a MSG_PUT_TRAILER with its XXH3-128 digest, answered by
 * MSG_PUT_STORED (the server's tree root and sha256) and, when asked, the
 * version's chunk list (docs/protocol.md).
 *   putio_stream_open   sends the PUT, waits for PUT_READY{resume_offset}
 *   putio_stream_data   the next bytes of the body, from offset 0 (bytes
 *                       before the resume offset are only counted as read)
 *   putio_stream_cut    each chunk the read cut (below)
 *   putio_stream_finish the trailer, END, then PUT_STORED into *st, then
 *                       (t->list set) the chunk entries to t->list:
 *                       *list_rc 0 once all of them came, else why not
 *                       (the version is stored all the same)
 *   putio_stream_free   an unfinished stream abandons the upload (a
 *                       trailer saying so, so the server drops its state)
 * Results as putio_send; body->bytes_read/bytes_sent/resume_off as there,
 * and bytes_received for the list. */
#define PUTIO_LIST_ENTRY 36   /* sha256[32], u32 len */
/* the most chunk entries a content of size bytes can have */
#define PUTIO_LIST_MAX(size) ((size) / CHUNK_MIN + 1)
struct putio_trailer {
	uint8_t digest[VG_DIGEST_LEN];
	int (*list)(void *arg, const void *p, size_t n);   /* NULL: no list */
	void *arg;
};
struct put_stream;
int  putio_stream_open(struct mux *m, const struct vg_put *put, struct put_body *body,
		       int timeout_ms, struct put_stream **out, char *err, size_t errlen);
int  putio_stream_data(struct put_stream *ps, const uint8_t *p, size_t n);
/* The read cut a chunk of len bytes (its chunker, common/chunker.h), the
 * next after those before: when the server takes the device's boundaries
 * (MUX_FEAT_CUTS in its HELLO) they go out as MSG_PUT_CUTS before the
 * next bytes, so the server does not run FastCDC again.  Every chunk but
 * the stream's last must be given, before the bytes that end it are. */
int  putio_stream_cut(struct put_stream *ps, uint32_t len);
/* putio_stream_data of a buffer from mux_buf_new (n <= MUX_FRAME_MAX),
 * which it takes in every case: sent as one frame without a copy. */
int  putio_stream_data_buf(struct put_stream *ps, void *p, size_t n);
int  putio_stream_finish(struct put_stream *ps, const struct putio_trailer *t,
			 struct vg_put_stored *st, int *list_rc, char *err, size_t errlen);
void putio_stream_free(struct put_stream *ps);

/* A batched put (MSG_DEV_PUTBATCH, docs/protocol.md): many small WHOLE
 * files on one stream, one answer.
 *   putio_batch_open    opens the stream
 *   putio_batch_add     sends one item and its e.size bytes of body
 *   putio_batch_finish  END, then the per-item results (n = the items
 *                       added): 0, or -errno for the whole batch (then no
 *                       item is answered: none may be taken as stored)
 *   putio_batch_free    an unfinished batch is reset: the server stores
 *                       none of it */
struct put_batch;
int  putio_batch_open(struct mux *m, int timeout_ms, struct put_batch **out);
int  putio_batch_add(struct put_batch *pb, const struct vg_put *put, uint8_t flags,
		     const uint8_t *body);
int  putio_batch_finish(struct put_batch *pb, struct vg_batch_result *res, uint32_t n,
			char *err, size_t errlen);
void putio_batch_free(struct put_batch *pb);

/* Simple request/reply helpers for MSG_DEV_LATEST, MSG_DEV_REPORT and MSG_DEV_SIM. */
int putio_latest(struct mux *m, const char *path, struct vg_entry *out, int timeout_ms);
int putio_report(struct mux *m, const struct vg_report *rep, int timeout_ms);
/* MSG_DEV_SIM: 0 once the server stored it (MSG_OK). */
int putio_sim(struct mux *m, const struct vg_sim *sim, int timeout_ms);

/* MSG_DEV_RSIG: the librsync signature (common/rsync_params.h) of the
 * bytes [off, off+len) of path's latest version (which must be version;
 * len <= VG_RSIG_MAX), streamed to out() piece by piece.  MSG_DEV_CHUNKS:
 * that version's chunk list (entries sha256[32], u32 len big-endian), of
 * a content of size bytes.  Both: 0 and *got (bytes received; more than
 * such a reply can hold is -EFBIG), -ESTALE/-ENOENT/-EINVAL from the
 * server, out's error, -ECONNRESET/-ETIMEDOUT/-EPROTO. */
int putio_rsig(struct mux *m, const char *path, uint64_t version, uint64_t off, uint64_t len,
	       int (*out)(void *arg, const void *p, size_t n), void *arg, int timeout_ms,
	       uint64_t *got);
int putio_chunks(struct mux *m, const char *path, uint64_t version, uint64_t size,
		 int (*out)(void *arg, const void *p, size_t n), void *arg, int timeout_ms,
		 uint64_t *got);

#endif
