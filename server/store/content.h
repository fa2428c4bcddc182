/* content.h — versions' content in the chunk store: build, read, patch.
 *
 * A version's content is named by the root of its chunk tree (common/
 * chunktree.h) over FastCDC chunks (common/chunker.h), exactly as the device
 * computes it, so the server checks a rebuilt version by comparing roots.
 * Chunks and tree pages are stored under the device's key (server/store/store.h).
 *
 * Builders (vbuild, vpatch, vranges) stream: memory stays bounded whatever
 * the content size.  On any error a builder latches it (every later call
 * returns it); nothing committed before is harmed.  -ENOSPC means the disk
 * is full; -EBADMSG means the input (delta, ranges) is malformed.
 *
 * A vbuild/vreader/vpatch/vranges is used by one thread at a time; any
 * number of them may run at once on one store.
 *
 * Files: content.c (vbuild), content_upload.c (checkpoint/resume),
 * content_stage.c (staged DELTA and RANGES bodies),
 * content_expire.c (abandoned uploads),
 * content_read.c (vreader), content_delta.c (vpatch, content_signature),
 * content_ranges.c (vranges), content_zero.c (runs of zeros). */
#ifndef VIGIL_CONTENT_H
#define VIGIL_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "server/store/store.h"

#define CONTENT_SIZE_MAX  (1ull << 40)   /* 1 TiB: a built version never exceeds this */

struct content_ref {
	uint8_t root[32];   /* chunk tree root (== device's tree_root) */
	uint64_t size;      /* bytes */
};

/* ---- building a version ---- */
struct vbuild;
int  vbuild_new(struct store *st, const struct devkey *key, struct vbuild **out);
/* A builder whose chunks go into b, the caller's batch (many small
 * versions, one store commit: ingest.c's batched puts): vbuild_finish
 * does not commit; the content is durable once the caller's
 * store_batch_commit(b) returned 0.  Not resumable (no checkpoint). */
int  vbuild_new_shared(struct store *st, const struct devkey *key, struct store_batch *b,
		       struct vbuild **out);
int  vbuild_write(struct vbuild *vb, const void *p, size_t n);
/* Appends base[off, off+len).  Whole base chunks that start where the new
 * stream is at a chunk boundary are reused without being re-stored.
 * -EBADMSG if the range lies outside base. */
int  vbuild_copy(struct vbuild *vb, const struct content_ref *base, uint64_t off, uint64_t len);
/* Appends len zero bytes.  A builder that keeps no sha256 and no entry log
 * (ranges) adds whole chunks of zeros as one shared chunk, without hashing
 * them: the cost does not grow with len (content_zero.c). */
int  vbuild_zero(struct vbuild *vb, uint64_t len);
/* Polled by a builder's long loops (copying, zero runs): true when the work
 * is no longer wanted (the peer went away); the call then fails with
 * -ECANCELED. */
typedef bool (*content_cancel_fn)(void *arg);
/* A build may not grow past max_size (capped at CONTENT_SIZE_MAX, the
 * default): appending more fails with -EFBIG.  gone may be NULL. */
void vbuild_set_limits(struct vbuild *vb, uint64_t max_size, content_cancel_fn gone, void *arg);
/* A build written more than start_at bytes (default CONTENT_PIPE_START) stores its
 * chunks on a thread of its own while the caller's thread hashes and
 * chunks the next bytes (content_pipe.c; 2 MiB of queue per build); the
 * result is the same either way.  UINT64_MAX: never (tests). */
void vbuild_set_pipe(struct vbuild *vb, uint64_t start_at);
/* 8 MiB: only a body announced at least that big (a heavy upload, at most
 * two per device: server/srv.h) ever gets a worker and its queue, so a
 * device's many small uploads cost no thread each. */
#define CONTENT_PIPE_START (8u << 20)
/* true once the build's chunks went through its pipeline. */
bool vbuild_pipelined(const struct vbuild *vb);
/* Bytes appended so far. */
uint64_t vbuild_size(const struct vbuild *vb);
/* Ends the stream; everything is durable (fdatasync + index commit) when it
 * returns 0.  Call once; then only vbuild_sha256/vbuild_free. */
int  vbuild_finish(struct vbuild *vb, struct content_ref *out);
/* sha256 of the whole content built; valid after vbuild_finish returned 0.
 * (Chunks reused by vbuild_copy are read back to hash them.) */
int  vbuild_sha256(const struct vbuild *vb, uint8_t out[32]);
/* XXH3-128 (canonical, 16 bytes) of the whole content built, from the
 * bytes written (a resumed build's earlier chunks are read back for it);
 * valid after vbuild_finish returned 0, for a build that reused no base
 * chunk (-EINVAL otherwise).  What a WHOLE sent as it is read is checked
 * by (docs/protocol.md, "A WHOLE sent as it is read"). */
int  vbuild_digest(const struct vbuild *vb, uint8_t out[16]);
/* Before the first byte: the build keeps the digest but no whole-content
 * sha256 (vbuild_sha256 then fails with -EINVAL): a WHOLE sent as it is
 * read, whose sha256 the background worker fills in (shafill.h).  0;
 * -EINVAL once bytes were appended; -ENOMEM. */
int  vbuild_digest_only(struct vbuild *vb);
/* The chunk boundaries of the bytes to come, as the device's chunker cut
 * them (MSG_PUT_CUTS): from the first call on the build takes announced
 * boundaries instead of running FastCDC, and checks each
 * (common/chunker.h chunker_take_cuts): its end is a cut point always,
 * no earlier cut point in one chunk in VB_CUTS_SAMPLE, picked at random.
 * A boundary that fails makes the write that reaches it fail with
 * -EBADMSG; the build is then latched.  0; -EPROTO for more than
 * CHUNK_CUTS_MAX announced ahead of their bytes; -EBADMSG. */
#define VB_CUTS_SAMPLE 16
int  vbuild_cuts(struct vbuild *vb, const uint32_t *len, size_t n);
/* After vbuild_finish returned 0: the build's chunk list, in order, as
 * CONTENT_CHUNK_ENTRY-byte entries (sha256[32], u32 len big-endian) to
 * out() in pieces of whole entries (at most 64 KiB), read from the
 * upload's state file (what its checkpoints wrote) and the entries since;
 * no chunk and no tree page is read.  vbuild_chunk_count first says how
 * many (-EOVERFLOW: the build did not keep them all).  0 or -errno. */
int  vbuild_chunk_count(const struct vbuild *vb, uint64_t *n);
int  vbuild_chunk_list(const struct vbuild *vb, int (*out)(void *arg, const void *p, size_t n),
		       void *arg);
void vbuild_free(struct vbuild *vb);   /* NULL-safe; an unfinished build is dropped */

/* Resumable WHOLE uploads.  State lives in
 * DIR/store/uploads/<hex of sha256(devkey)[0..8]>/<tokenhex>: the chunk list
 * written so far (sealed records in an encrypted store).  vbuild_resume returns a builder positioned at *offset
 * (the bytes covered by complete, durable chunks; the client resends from
 * there), or -ENOENT when the token is unknown (then use vbuild_new).
 * vbuild_checkpoint makes everything up to the last complete chunk durable
 * under token (call it every few MiB); the builder continues normally.
 * vbuild_forget removes the state (after the version is committed). */
int  vbuild_resume(struct store *st, const struct devkey *key, const uint8_t token[16],
		   struct vbuild **out, uint64_t *offset);
int  vbuild_checkpoint(struct vbuild *vb, const uint8_t token[16]);
/* A checkpoint at this point of the stream, made while the stream goes on
 * when the build is pipelined (below): 0 says only that it was queued; it
 * is durable once a later vbuild_checkpoint or vbuild_finish returned 0
 * (its error, if any, is latched and returned by a later call).  Without
 * a pipeline it is vbuild_checkpoint. */
int  vbuild_checkpoint_bg(struct vbuild *vb, const uint8_t token[16]);
void vbuild_forget(struct store *st, const struct devkey *key, const uint8_t token[16]);

/* Resumable DELTA and RANGES uploads.  A patch builder's state in the
 * middle of a delta or a range record cannot be checkpointed, so the body
 * itself is staged as it arrives, in DIR/store/uploads/<dev>/<tokenhex>.body:
 * a header naming the upload (struct bstage_id) and how many body bytes
 * are durable, then the body bytes (sealed records in an encrypted
 * store).  A resumed upload replays the staged
 * bytes into a new builder and the device sends the rest.  The file holds
 * at most cap bytes (past it the body goes on unstaged); it is locked while
 * in use and expires like a WHOLE state (content_expire.c).
 * bstage_open: the durable bytes held under token for this id in *held (0:
 * a new stage; one staged for another id is started over), -EBUSY while
 * another upload holds it.  bstage_append writes (not yet durable);
 * bstage_sync makes everything appended durable and records it (call it
 * every few MiB and when the connection is cut).  bstage_close(forget):
 * the stage is removed (the version is stored, or the body was refused). */
struct bstage_id {
	uint8_t kind;             /* PUT_DELTA or PUT_RANGES */
	uint64_t base_version, size;
	uint8_t root[32];         /* the new version's tree root */
};
struct bstage;
int  bstage_open(struct store *st, const struct devkey *key, const uint8_t token[16],
		 const struct bstage_id *id, uint64_t cap, struct bstage **out, uint64_t *held);
ssize_t bstage_pread(struct bstage *sg, void *buf, size_t n, uint64_t off);
int  bstage_append(struct bstage *sg, const void *p, size_t n);
int  bstage_sync(struct bstage *sg);
void bstage_close(struct bstage *sg, bool forget);   /* NULL-safe */

/* Abandoned uploads (issue 10, finding 1.6).  An upload state untouched
 * (no checkpoint) for UPLOAD_EXPIRE_S is abandoned: a device resumes within
 * minutes of reconnecting, and one offline for a day sends the file again
 * at the cost of one upload, while a device that never comes back would
 * otherwise hold its partial uploads' chunks forever.  VIGIL_UPLOAD_EXPIRE_S
 * in the environment shortens it (a test hook, not a setting).  Resuming an
 * expired token starts over (vbuild_resume: -ENOENT).  vbuild_expire
 * removes every expired state not in use, with its provisional chunks
 * (store_owner_collect); vbuild_forget collects them too. */
#define UPLOAD_EXPIRE_S (24 * 3600)
struct upload_expired {
	uint64_t uploads, records, bytes;   /* states removed; records given back */
};
int64_t upload_expire_s(void);
int  vbuild_expire(struct store *st, int64_t now_ns, struct upload_expired *out);
/* A thread running vbuild_expire at start and every quarter of the expiry
 * (at most hourly), logging what it gave back.  NULL on failure. */
struct upload_gc;
struct upload_gc *upload_gc_start(struct store *st);
void upload_gc_stop(struct upload_gc *gc);   /* NULL-safe; joins */

/* ---- sweeping (content_sweep.c; docs/store-format.md, "Sweeping
 * unreferenced chunks") ----
 * Marks, for the running sweep (store_sweep_begin), the tree of root (its
 * pages and chunks, ids by mac: the device's key) and adds the pages it
 * read to *pages.  -ENOENT / -EIO / -EBADMSG when a page is missing or
 * damaged: what lies below it is not marked. */
int  content_mark_tree(struct store *st, struct store_idmac *mac, const uint8_t root[32],
		       uint64_t size, uint64_t *pages);
/* Marks the chunks named by every WHOLE upload state of the devices whose
 * keys are given; adds the states read to *states.  0 or -errno. */
int  content_mark_uploads(struct store *st, const struct devkey *keys, size_t nkeys,
			  uint64_t *states);

/* ---- reading ---- */
struct vreader;
/* -ENOENT if the root page is not in the store. */
int  vreader_open(struct store *st, const struct devkey *key, const struct content_ref *ref,
		  struct vreader **out);
/* Up to n bytes at off (short only at the end; 0 at or past the end), or
 * -errno (-EIO: damaged chunk, -EBADMSG: damaged tree).  Any offset, any
 * order; decoded pages and the last chunk are cached (bounded). */
ssize_t vreader_pread(struct vreader *vr, void *buf, size_t n, uint64_t off);
uint64_t vreader_size(const struct vreader *vr);
void vreader_free(struct vreader *vr);   /* NULL-safe */
/* A verified reader's caller checks every byte it reads against the
 * version's sha256 or tree root (`vigil get` does, controller/cverify.c):
 * each chunk's record is then checked by its CRC-32, which a damaged
 * record fails (-EIO), instead of hashing the chunk with sha256 (a record
 * forged with a matching CRC-32 is left to the caller's check).  Pages
 * are always checked against their sha256.  Off by default. */
void vreader_set_verified(struct vreader *vr, bool on);
/* What a reader did so far: chunks loaded, of which hashed with sha256,
 * and decoded straight into the caller's buffer. */
struct vreader_counts {
	uint64_t chunks, chunks_hashed, chunks_direct;
	uint64_t relocated;   /* chunks read again from where the index says now (compaction) */
	uint64_t lookups;     /* chunk ids looked up in the store's index */
};
void vreader_get_counts(const struct vreader *vr, struct vreader_counts *out);
/* sha256 of the whole content (reads it all). */
int  content_sha256(struct vreader *vr, uint8_t out[32]);

/* ---- librsync ---- */
typedef int (*content_out_fn)(void *arg, const void *p, size_t n);
/* Streams the librsync signature of vr's content (parameters in
 * common/rsync_params.h) to out, in pieces of at most 64 KiB.  0, -errno,
 * or out's non-zero return. */
int  content_signature(struct vreader *vr, content_out_fn out, void *arg);
/* The same over the bytes [off, off+len) only (clipped to the content):
 * reads only the chunks that cover them. */
int  content_signature_range(struct vreader *vr, uint64_t off, uint64_t len,
			     content_out_fn out, void *arg);
/* Streams the content's chunk list to out: for each chunk in order, its
 * sha256[32] and u32 length (big-endian), in pieces of at most 64 KiB,
 * from the tree's leaf pages (no chunk is read).  0, -errno, or out's
 * non-zero return. */
#define CONTENT_CHUNK_ENTRY 36
int  content_chunk_list(struct vreader *vr, content_out_fn out, void *arg);

/* Applies a librsync delta (RS_DELTA_MAGIC format), fed in pieces of any
 * size, to base (size 0 base allowed).  COPY commands reuse base chunks.
 * vpatch_feed/finish: -EBADMSG on a malformed delta (bad magic, unknown
 * command, COPY outside base, data after END, missing END); -EFBIG as soon
 * as the output would pass max_size (the size the device announced, so a
 * small delta cannot COPY the base over and over into a huge build);
 * -ECANCELED once gone (may be NULL) returns true. */
struct vpatch;
int  vpatch_new(struct store *st, const struct devkey *key, const struct content_ref *base,
		uint64_t max_size, struct vpatch **out);
void vpatch_set_cancel(struct vpatch *vp, content_cancel_fn gone, void *arg);
int  vpatch_feed(struct vpatch *vp, const void *p, size_t n);
int  vpatch_finish(struct vpatch *vp, struct content_ref *out);
int  vpatch_sha256(const struct vpatch *vp, uint8_t out[32]);   /* after finish */
/* Before the first feed: no sha256 (the caller has one it trusts), so the
 * base's reused chunks are not read back; vpatch_sha256 then fails. */
void vpatch_skip_sha(struct vpatch *vp);
void vpatch_free(struct vpatch *vp);   /* NULL-safe */

/* ---- ranges (PUT_RANGES) ----
 * The body is a sequence of records {u64 off, u32 len, len bytes}, integers
 * big-endian (as common/wire.h), len <= VRANGES_LEN_MAX, in increasing
 * offset order without overlap (off >= previous off + len), off + len <=
 * new_size.  The result is base with each record's bytes written at its
 * offset, cut or extended with zeros to new_size.  Untouched base chunks
 * are reused; only the chunks around the records are rebuilt.  Any record
 * breaking the rules -> -EBADMSG. */
#define VRANGES_LEN_MAX (1u << 20)
struct vranges;
int  vranges_new(struct store *st, const struct devkey *key, const struct content_ref *base,
		 uint64_t new_size, struct vranges **out);
int  vranges_feed(struct vranges *vg, const void *p, size_t n);
int  vranges_finish(struct vranges *vg, struct content_ref *out);
void vranges_set_cancel(struct vranges *vg, content_cancel_fn gone, void *arg);
void vranges_free(struct vranges *vg);   /* NULL-safe */

#endif
