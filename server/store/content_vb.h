/* content_vb.h — the vbuild structure, shared by content.c and
 * content_upload.c (not a public API). */
#ifndef VIGIL_CONTENT_VB_H
#define VIGIL_CONTENT_VB_H

#include <openssl/evp.h>

#include "server/store/content_int.h"

struct chash;

#define VB_LOG_MAX  (1u << 16)   /* chunk entries kept between checkpoints */

struct vb_entry { uint8_t sha[32]; uint32_t len; };

struct vbuild {
	struct store *st;
	struct devkey key;
	struct store_batch *batch;
	bool shared;           /* batch is the caller's (vbuild_new_shared) */
	struct chunker *ch;
	bool cuts;             /* ch takes the sender's boundaries (vbuild_cuts) */
	struct ctree_builder *tb;
	struct chash *whole;   /* sha256 and XXH3-128 digest of the bytes appended */
	uint64_t size;         /* bytes appended */
	uint64_t emitted;      /* of them, in complete chunks (size == emitted: at a boundary) */
	uint64_t reused;       /* bytes appended as reused base chunks */
	int err;               /* latched */
	bool finished;
	bool no_sha;           /* caller needs no sha256: reused chunks are not read */
	uint8_t sha_out[32];
	struct vreader *base;  /* last base copied from */
	uint32_t base_mode;    /* its chunker mode (chunker_detect of its first bytes) */
	uint8_t *buf;          /* COPY_BUF scratch */
	uint64_t max_size;     /* appending past this fails with -EFBIG */
	content_cancel_fn gone;   /* polled in long loops: true -> -ECANCELED */
	void *gone_arg;
	/* the chunk a run of zeros makes from a chunk boundary (content_zero.c) */
	uint32_t zmode;        /* the chunker mode it was found for (0: none yet) */
	uint32_t zlen;
	uint8_t zsha[32];
	/* checkpointing */
	struct vb_entry *log;  /* entries since the last checkpoint */
	size_t nlog, caplog;
	bool log_overflow;
	int ckpt_fd;           /* open upload state file, or -1 */
	uint8_t ckpt_token[16];
	uint64_t ckpt_len;     /* valid bytes in it */
	uint64_t ckpt_ents;    /* entries in them */
	uint64_t owner;        /* its provisional chunks' owner (store.h), 0: none */
	/* the two-thread path of a big stream (content_pipe.c) */
	struct vpipe *pipe;    /* NULL: serial */
	uint64_t pipe_at;      /* start it once this many bytes were written */
	bool piped;            /* it was started */
	const EVP_MD *md;      /* SHA-256 (content_md_sha256: shared) */
	EVP_MD_CTX *csha;      /* each chunk's sha256 (the writer's thread) */
	struct store_idmac *mac;   /* chunk and page ids (whoever stores them) */
};

/* A stream past CONTENT_PIPE_START bytes goes on two threads
 * (content_pipe.c). */
#define PIPE_START  CONTENT_PIPE_START

#define COPY_BUF  (64 * 1024)

/* content_upload.c / content_expire.c / content_stage.c: upload state files. */
/* dir = DIR/store/uploads/<hex of sha256(key)[0..8]>, file = dir/<tokenhex>
 * (an encrypted store: the hex of HMAC-SHA256(the records' key, token),
 * first 16 bytes, instead of the token's) */
void upload_path(struct store *st, const struct devkey *key, const uint8_t token[16],
		 char *dir, size_t dcap, char *file, size_t fcap);
/* The owner named by the state file's header, 0 when it has none. */
uint64_t upload_owner_fd(int fd);
/* The entries of the WHOLE state file open as fd, in order, plain or
 * sealed (content_upload.c), up to its first torn or damaged record or
 * end bytes (UINT64_MAX: the whole file): each(arg, ents, n) with n
 * entries of CONTENT_CHUNK_ENTRY bytes {sha256[32], u32 len} (len checked:
 * 1..CHUNK_MAX; at most 1,820 a call).  *good: the offset after the last
 * record read, *count: the entries.  0 at end or the file's end, 1 at a
 * torn record, each's error, or -errno. */
typedef int (*upload_each_fn)(void *arg, const uint8_t *ents, size_t n);
int  upload_entries(struct store *st, int fd, uint64_t end, upload_each_fn each, void *arg,
		    uint64_t *good, uint64_t *count);
/* Opens name (relative to dirfd) with oflags, O_NOFOLLOW and an exclusive
 * flock taken without waiting: fd, -EBUSY when another holds it, -ENOENT
 * (also when it was removed meanwhile), or -errno. */
int  upload_lock_open(int dirfd, const char *name, int oflags);
/* true when the state file open as fd was last touched an expiry ago. */
bool upload_expired_fd(int fd, int64_t now_ns);

int  vb_add_entry(struct vbuild *vb, const uint8_t sha[32], uint32_t len);
/* vbuild_write; piped false: serially even when the build has a pipeline
 * (the caller synced it: copies and runs of zeros). */
int  vb_write(struct vbuild *vb, const void *p, size_t n, bool piped);
/* The checkpoint itself (vbuild_checkpoint without its checks of the
 * build's state): *fatal when the build is void after the error. */
int  vb_checkpoint_now(struct vbuild *vb, const uint8_t token[16], bool *fatal);
/* Its two halves: the checks and, for the first, the state file (and the
 * owner stamped on vb->batch), 0 or -errno; after the batch's commit, the
 * n entries of log appended to the state file and made durable, 0 or
 * -errno (*broken: the file's length is unknown, no more checkpoints). */
int  vb_ckpt_begin(struct vbuild *vb, const uint8_t token[16]);
int  vb_ckpt_append(struct vbuild *vb, const struct vb_entry *log, size_t n, bool *broken);

/* content_pipe.c.  vb_pipe_start: the worker runs (vb->pipe set) or
 * -errno (the build stays serial).  vb_pipe_chunk / vb_pipe_ckpt queue a
 * chunk (its bytes are copied) or a checkpoint for the worker, waiting for
 * room: 0 or the worker's error.  vb_pipe_sync waits until the worker has
 * done everything queued and returns its error (latched); then, until
 * the next vb_pipe_chunk, the build may be used as a serial one.
 * vb_pipe_stop drops what is still queued and ends the worker. */
int  vb_pipe_start(struct vbuild *vb);
int  vb_pipe_chunk(struct vbuild *vb, const uint8_t sha[32], const uint8_t *data, size_t len);
int  vb_pipe_ckpt(struct vbuild *vb, const uint8_t token[16]);
int  vb_pipe_sync(struct vbuild *vb);
void vb_pipe_stop(struct vbuild *vb);
void vb_ckpt_close(struct vbuild *vb);
int  vb_latch(struct vbuild *vb, int r);
int  vb_need_buf(struct vbuild *vb);
/* -ECANCELED (latched) when the caller's cancel hook says so, else 0. */
int  vb_check_gone(struct vbuild *vb);

#endif
