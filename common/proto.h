/* proto.h — vigil's application messages, carried on mux streams.
 *
 * Every request opens a stream whose first message names the operation;
 * replies come back on the same stream.  Field order and limits are in
 * docs/protocol.md; encode/decode live in proto.c so both ends share them.
 * All times are int64 nanoseconds since the Unix epoch (UTC). */
#ifndef VIGIL_PROTO_H
#define VIGIL_PROTO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/wire.h"

#define VG_NAME_MAX     64        /* device/controller names incl. NUL */
#define VG_XATTR_MAX    16384     /* encoded xattrs of one entry */
#define VG_MSG_MAX      65536     /* == MUX_FRAME_MAX */
#define VG_ERRMSG_MAX   256

/* Replies (and generic messages). */
enum {
	MSG_OK         = 0x0001,  /* {} */
	MSG_ERROR      = 0x0002,  /* {u32 code (positive errno), str text} */
	MSG_ENTRY      = 0x0003,  /* {entry} */
	MSG_ENTRIES    = 0x0004,  /* {u32 n, entry * n}; several per stream, then END */
	MSG_PUT_READY  = 0x0005,  /* {u64 resume_offset}: send body from there */
	MSG_PUT_DONE   = 0x0006,  /* {u64 version} */
	MSG_DEVICES    = 0x0007,  /* {u32 n, device * n} */
	MSG_STATUS     = 0x0008,  /* {status} */
	MSG_HITS       = 0x0009,  /* {u32 n, hit * n} (search) */
	MSG_CMD_QUEUED = 0x000A,  /* {u64 id}: the command is durably queued */
	MSG_CMD_STATE  = 0x000B,  /* {cmdstate} (common/command.h) */
	MSG_PUTBATCH_DONE = 0x000C, /* {u32 n, {u64 version, u32 err, u8 adopted} * n} */
	/* a WHOLE sent as it is read is stored: {put_stored}, then (n_chunks
	 * > 0) DATA (entries sha256[32], u32 len)..., END */
	MSG_PUT_STORED = 0x000D,
};

/* Device requests: only the device's own namespace, only latest versions. */
enum {
	MSG_DEV_LATEST = 0x0101,  /* {str path} -> ENTRY | ERROR(ENOENT) */
	/* 0x0102 reserved: MSG_DEV_SIG, the whole version's signature, asked
	 * by no vigild since mux version 3 */
	MSG_DEV_PUT    = 0x0103,  /* {put} -> PUT_READY, <- DATA... END, -> PUT_DONE | ERROR */
	MSG_DEV_REPORT = 0x0104,  /* {report} -> OK */
	MSG_DEV_CMDLINK = 0x0105, /* {} -> OK: commands for this device come on this connection */
	MSG_DEV_CMD_STATE = 0x0106, /* {cmdstate} -> OK: progress/result of a command */
	MSG_DEV_FETCH  = 0x0107,  /* {u64 id}, then ENTRY, DATA..., per item, END -> OK | ERROR */
	MSG_DEV_SIM    = 0x0108,  /* {sim} -> OK: the SIM as vigil-simfs read it (struct vg_sim) */
	/* inside a MSG_DEV_PUT stream, after a WHOLE body announced with zero
	 * sha256 and tree_root: {put_trailer}, then END; answered by
	 * PUT_STORED instead of PUT_DONE */
	MSG_PUT_TRAILER = 0x0109,
	/* many small new files on one stream (docs/protocol.md "Batched puts"):
	 * {} then per item PUTBATCH_ITEM{batch_item} and exactly e.size bytes
	 * of DATA, then END -> PUTBATCH_DONE once every stored item is durable */
	MSG_DEV_PUTBATCH = 0x010A,
	MSG_PUTBATCH_ITEM = 0x010B,
	/* inside a MSG_DEV_PUT stream of a WHOLE sent as it is read, to a
	 * server whose HELLO offers MUX_FEAT_CUTS: {put_cuts}, the lengths of
	 * the next chunks, before the DATA that ends them */
	MSG_PUT_CUTS = 0x010C,
	/* the librsync signature of the old bytes [off, off+len) of version
	 * (the latest) of path; len <= VG_RSIG_MAX, else ERROR(EINVAL):
	 * {str path, u64 version, u64 off, u64 len} -> OK, DATA (librsync sig)..., END */
	MSG_DEV_RSIG   = 0x0110,
	/* the chunk list of version (the latest) of path: {str path, u64
	 * version} -> OK, DATA (entries sha256[32], u32 len)..., END */
	MSG_DEV_CHUNKS = 0x0111,
};

/* Server requests to a device (on its command link; docs/commands.md). */
enum {
	MSG_SRV_COMMAND = 0x0301, /* {envelope} -> OK (delivered) */
};

/* Controller requests. */
enum {
	MSG_CTL_DEVICES = 0x0201, /* {} -> DEVICES..., END */
	MSG_CTL_LS      = 0x0202, /* {str dev, str path, i64 at, u8 recursive} -> ENTRIES..., END | ERROR */
	MSG_CTL_LOG     = 0x0203, /* {str dev, str path} -> ENTRIES..., END | ERROR */
	MSG_CTL_STAT    = 0x0204, /* {str dev, str path, u64 version, i64 at} -> ENTRY | ERROR */
	MSG_CTL_READ    = 0x0205, /* {str dev, str path, u64 version, u64 off, u64 len} -> OK, DATA..., END | ERROR */
	MSG_CTL_STATUS  = 0x0206, /* {str dev} -> STATUS | ERROR */
	MSG_CTL_SEARCH  = 0x0207, /* {str dev, u8 all_versions, u32 n, str word * n} -> HITS..., END */
	MSG_CTL_COMMAND = 0x0208, /* {envelope, id 0} -> CMD_QUEUED | ERROR */
	MSG_CTL_CMDWAIT = 0x0209, /* {u64 id, u32 timeout_ms} -> CMD_STATE (final, or as it is at timeout) */
	MSG_CTL_FETCH   = 0x020A, /* {envelope, id 0} -> CMD_QUEUED, then the device's ENTRY, DATA... relayed, END | ERROR */
};

enum vg_type { VG_FILE = 1, VG_DIR = 2, VG_SYMLINK = 3 };

/* One version of one path.  Large (PATH_MAX strings): allocate on the heap. */
struct vg_entry {
	char path[PATH_MAX];       /* absolute device path */
	uint8_t type;              /* enum vg_type */
	uint8_t deleted;
	uint32_t mode;             /* permission bits (07777) */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime_ns;
	uint64_t version;          /* server-assigned, per path, increasing */
	int64_t capture_ns;        /* when the device captured it (monotonic per device) */
	int64_t recv_ns;           /* when the server stored it */
	uint8_t sha256[32];        /* of the whole content (files) */
	uint8_t tree_root[32];     /* root of the chunk tree (files) */
	/* XXH3-128 of the whole content (CHASH_DIGEST) as the server verified
	 * it on a WHOLE sent as it is read, kept while its sha256 is pending
	 * so that `vigil get` can check the bytes end to end at a fraction of
	 * the tree's cost (controller/cverify.c); zeros otherwise.  Ignored in
	 * a PUT (the trailer carries the device's). */
	uint8_t digest[16];
	char link[PATH_MAX];       /* symlink target */
	uint32_t xattr_len;        /* encoded: {str name, blob value}* */
	uint8_t xattrs[VG_XATTR_MAX];
};

enum vg_put_body {
	PUT_WHOLE  = 1,   /* DATA = whole content; resumable by token */
	PUT_DELTA  = 2,   /* DATA = librsync delta against base_version */
	PUT_RANGES = 3,   /* DATA = {u64 off, u32 len, bytes}*: base with ranges overlaid, cut to e.size; verified by tree_root */
	PUT_META   = 4,   /* no DATA: content of base_version, new metadata */
	PUT_DELETE = 5,   /* no DATA: a deleted version */
	PUT_RENAME = 6,   /* no DATA: content of from's latest version at e.path; from gets a deleted version */
};

struct vg_put {
	struct vg_entry e;        /* new version's metadata; version/recv_ns ignored */
	uint8_t body;             /* enum vg_put_body */
	uint64_t base_version;    /* DELTA, RANGES, META: must be the server's latest of e.path */
	uint8_t token[16];        /* WHOLE: identifies an upload to resume */
	char from[PATH_MAX];      /* RENAME source */
};

/* The end of a WHOLE body read and sent in one pass (the device knows
 * its digest only at the end): the PUT announced zero sha256 and
 * tree_root, the body is e.size bytes, this follows it.  abandon: the file
 * changed under the read; the server drops the upload (its resume state
 * too).  digest: XXH3-128 of the body (common/chash.h CHASH_DIGEST), which
 * the server checks against the bytes it built; flags: VG_TRAILER_LIST
 * asks for the version's chunk list after PUT_STORED. */
#define VG_DIGEST_LEN    16
#define VG_TRAILER_LIST  0x01
struct vg_put_trailer {
	uint8_t abandon;          /* 0 or 1 */
	uint8_t flags;            /* VG_TRAILER_LIST, nothing else */
	uint8_t digest[VG_DIGEST_LEN];
};

/* MSG_PUT_CUTS: the lengths of the body's next n chunks, in order, as the
 * device's chunker cut them (common/chunker.h); the stream's last chunk is
 * never announced.  A 64 KiB piece of the read ends at most 32 chunks. */
#define VG_CUTS_MAX 64
struct vg_put_cuts {
	uint32_t n;                 /* 1 .. VG_CUTS_MAX */
	uint32_t len[VG_CUTS_MAX];  /* each 1 .. CHUNK_MAX */
};

/* MSG_PUT_STORED: the version of a WHOLE sent as it is read, the tree root
 * and sha256 the server computed of it, and how many chunk entries follow
 * as DATA (0: none asked, or the server could not give them). */
struct vg_put_stored {
	uint64_t version;
	uint8_t tree_root[32];
	uint8_t sha256[32];
	uint64_t n_chunks;
};

/* Batched puts (MSG_DEV_PUTBATCH): small WHOLE files with their hashes
 * up front.  At most PUTBATCH_ITEMS_MAX items per stream, each body at
 * most PUTBATCH_BODY_MAX bytes. */
#define PUTBATCH_ITEMS_MAX 256
#define PUTBATCH_BODY_MAX  (64 * 1024)
#define PUTBATCH_NEW_PATH  0x01   /* the device has never shipped this path:
				   * the server adopts a latest version with
				   * the same content and metadata */
struct vg_batch_item {
	struct vg_put put;        /* body PUT_WHOLE, a regular file, zero token */
	uint8_t flags;            /* PUTBATCH_NEW_PATH */
};
/* One item's answer, in item order: version (stored or adopted), or err
 * (a positive errno) with version 0. */
struct vg_batch_result {
	uint64_t version;
	uint32_t err;
	uint8_t adopted;          /* 1: the server already held it; nothing stored */
};

struct vg_device {
	char name[VG_NAME_MAX];
	uint8_t online;
	int64_t last_seen_ns;
	uint64_t files;
	uint64_t bytes;
};

/* A device's own report of what it has not shipped yet, and its counters. */
#define VG_COUNTERS_MAX 32
struct vg_report {
	uint64_t backlog_files;
	int64_t backlog_oldest_ns;   /* 0: none */
	char tracker[16];
	uint32_t ncounters;
	struct { char name[32]; uint64_t value; } counters[VG_COUNTERS_MAX];
	int64_t at_ns;               /* the device's wall clock when the figures were read (last) */
};

/* The SIM in the device, as vigil-simfs reads it (fuse/), relayed by vigild
 * (MSG_DEV_SIM).  The server compares it with the last one it stored and
 * appends the events: sim-swap (another ICCID, unless allowed), sim-removed,
 * sim-inserted (docs/simfs.md).  allowed: the ICCID is on simfs's allow-list
 * (--allow-iccid), so a change to it is no alarm. */
struct vg_sim {
	int64_t time_ns;             /* when simfs read it */
	uint8_t present;             /* 0: no SIM answers */
	uint8_t allowed;
	char iccid[32], imsi[32];    /* "" when unknown (or absent) */
	char operator_name[64];
};

#define VG_STATUS_LIST_MAX 32
struct vg_status {
	char device[VG_NAME_MAX];
	uint8_t online;
	int64_t last_seen_ns;
	uint64_t backlog_files;
	int64_t backlog_oldest_ns;
	uint8_t frozen;
	char erase_state[16];        /* "none" until a command changes it */
	uint64_t erase_files, erase_bytes;
	char sim_iccid[32], sim_imsi[32];
	int64_t sim_changed_ns;
	uint32_t ncommands;
	struct { uint64_t id; char action[16]; char by[VG_NAME_MAX]; char state[16];
		 int64_t issued_ns, updated_ns; } commands[VG_STATUS_LIST_MAX];
	uint32_t nevents;
	struct { int64_t time_ns; char kind[32]; char detail[256]; } events[VG_STATUS_LIST_MAX];
	/* the keyword index (encoded after the events): this device's indexed
	 * files (paths) and versions, versions whose content could not be
	 * parsed (indexed by path only, counted), binary versions (path only
	 * by design), and versions of all devices waiting to be indexed */
	uint64_t index_files, index_versions, index_unparsed, index_path_only, index_pending;
	/* some version of the device carries extended attributes */
	uint8_t has_xattrs;
	/* the backlog's report: the device's instant of its figures (its
	 * clock) and when the server received it (the server's); 0: none */
	int64_t backlog_at_ns, report_ns;
	/* its quota (0: none) and what it holds against it: the bytes of its
	 * latest live regular files (docs/index.md, "quotas") (last) */
	uint64_t quota_bytes, quota_used;
	/* retention of the device: its last pass (0: none yet) and the
	 * versions passes dropped so far; the store's last sweep (0: none
	 * yet) and what it freed (docs/store-format.md, "When it runs") */
	int64_t retain_pass_ns;
	uint64_t retain_dropped;
	int64_t sweep_at_ns;
	uint64_t sweep_deleted, sweep_deleted_bytes;
};

/* Request bodies: one struct per request message, encoded by the client and
 * decoded by the server with the same functions below.  The decoders check
 * every bound and that paths are valid (path_valid), so a handler sees only
 * well-formed fields; a device name is copied as sent (the server answers an
 * invalid one with EINVAL, not as a malformed request).  MSG_CTL_DEVICES has
 * an empty body, MSG_DEV_PUT is struct vg_put, MSG_DEV_REPORT struct vg_report. */
#define VG_SEARCH_WORDS_MAX 32      /* words of one search on the wire */
#define VG_SEARCH_WORD_MAX  1024    /* bytes of one word incl. NUL */

struct vg_ls_req {                 /* MSG_CTL_LS */
	char dev[VG_NAME_MAX];
	char path[PATH_MAX];
	int64_t at;                /* 0: latest */
	uint8_t recursive;
};

struct vg_log_req {                /* MSG_CTL_LOG */
	char dev[VG_NAME_MAX];
	char path[PATH_MAX];
};

struct vg_stat_req {               /* MSG_CTL_STAT */
	char dev[VG_NAME_MAX];
	char path[PATH_MAX];
	uint64_t version;          /* 0: the newest at `at` */
	int64_t at;                /* 0: latest */
};

struct vg_read_req {               /* MSG_CTL_READ */
	char dev[VG_NAME_MAX];
	char path[PATH_MAX];
	uint64_t version;          /* 0: latest */
	uint64_t off, len;         /* len 0: to the end */
	uint32_t flags;            /* VG_READ_* */
};
/* The reader checks all it reads against the version's sha256 or tree
 * root (`vigil get`): the server checks each chunk's record by its CRC-32
 * instead of hashing the chunk (docs/protocol.md). */
#define VG_READ_VERIFIED 0x1u

struct vg_status_req {             /* MSG_CTL_STATUS */
	char dev[VG_NAME_MAX];
};

struct vg_search_req {             /* MSG_CTL_SEARCH; ~32 KiB: allocate on the heap */
	char dev[VG_NAME_MAX];
	uint8_t all_versions;
	uint32_t nwords;           /* 0..VG_SEARCH_WORDS_MAX on the wire; the server wants >= 1 */
	char words[VG_SEARCH_WORDS_MAX][VG_SEARCH_WORD_MAX];
};

struct vg_latest_req {             /* MSG_DEV_LATEST */
	char path[PATH_MAX];
};

struct vg_sig_req {                /* MSG_DEV_RSIG, MSG_DEV_CHUNKS */
	char path[PATH_MAX];
	uint64_t version;          /* must be the server's latest of path */
	uint64_t off, len;         /* MSG_DEV_RSIG only: the old bytes summed */
};
#define VG_RSIG_MAX (64ull << 20)   /* MSG_DEV_RSIG: most bytes of one region */

struct vg_hit {
	char path[PATH_MAX];
	uint64_t version;
	int64_t time_ns;
	char snippet[256];
};

/* Encoders append to b (check wire_buf_error(b) once at the end);
 * decoders read from r (check wire_ok/wire_done). */
void proto_put_entry(struct buf *b, const struct vg_entry *e);
void proto_get_entry(struct wire_reader *r, struct vg_entry *e);
void proto_put_put(struct buf *b, const struct vg_put *p);
void proto_get_put(struct wire_reader *r, struct vg_put *p);
void proto_put_put_trailer(struct buf *b, const struct vg_put_trailer *t);
void proto_get_put_trailer(struct wire_reader *r, struct vg_put_trailer *t);
void proto_put_put_cuts(struct buf *b, const struct vg_put_cuts *t);
void proto_get_put_cuts(struct wire_reader *r, struct vg_put_cuts *t);
void proto_put_put_stored(struct buf *b, const struct vg_put_stored *t);
void proto_get_put_stored(struct wire_reader *r, struct vg_put_stored *t);
/* A batch item: decodes only WHOLE regular files with a zero token, a
 * size up to PUTBATCH_BODY_MAX and known flags (else -EBADMSG). */
void proto_put_batch_item(struct buf *b, const struct vg_put *put, uint8_t flags);
void proto_get_batch_item(struct wire_reader *r, struct vg_batch_item *it);
/* MSG_PUTBATCH_DONE: n results (n <= PUTBATCH_ITEMS_MAX); get fills up to
 * max and sets *n (more than max on the wire is -EBADMSG). */
void proto_put_batch_done(struct buf *b, const struct vg_batch_result *res, uint32_t n);
void proto_get_batch_done(struct wire_reader *r, struct vg_batch_result *res, uint32_t max,
			  uint32_t *n);
void proto_put_device(struct buf *b, const struct vg_device *d);
void proto_get_device(struct wire_reader *r, struct vg_device *d);
void proto_put_report(struct buf *b, const struct vg_report *rep);
void proto_get_report(struct wire_reader *r, struct vg_report *rep);
void proto_put_sim(struct buf *b, const struct vg_sim *s);
void proto_get_sim(struct wire_reader *r, struct vg_sim *s);
void proto_put_status(struct buf *b, const struct vg_status *s);
void proto_get_status(struct wire_reader *r, struct vg_status *s);
void proto_put_hit(struct buf *b, const struct vg_hit *h);
void proto_get_hit(struct wire_reader *r, struct vg_hit *h);

void proto_put_ls_req(struct buf *b, const struct vg_ls_req *q);
void proto_get_ls_req(struct wire_reader *r, struct vg_ls_req *q);
void proto_put_log_req(struct buf *b, const struct vg_log_req *q);
void proto_get_log_req(struct wire_reader *r, struct vg_log_req *q);
void proto_put_stat_req(struct buf *b, const struct vg_stat_req *q);
void proto_get_stat_req(struct wire_reader *r, struct vg_stat_req *q);
void proto_put_read_req(struct buf *b, const struct vg_read_req *q);
void proto_get_read_req(struct wire_reader *r, struct vg_read_req *q);
void proto_put_status_req(struct buf *b, const struct vg_status_req *q);
void proto_get_status_req(struct wire_reader *r, struct vg_status_req *q);
void proto_put_search_req(struct buf *b, const struct vg_search_req *q);
void proto_get_search_req(struct wire_reader *r, struct vg_search_req *q);
void proto_put_latest_req(struct buf *b, const struct vg_latest_req *q);
void proto_get_latest_req(struct wire_reader *r, struct vg_latest_req *q);
void proto_put_sig_req(struct buf *b, const struct vg_sig_req *q);
void proto_get_sig_req(struct wire_reader *r, struct vg_sig_req *q);
void proto_put_rsig_req(struct buf *b, const struct vg_sig_req *q);   /* MSG_DEV_RSIG */
void proto_get_rsig_req(struct wire_reader *r, struct vg_sig_req *q);

/* MSG_ERROR: build, and parse into (code, text). */
void proto_put_error(struct buf *b, int code, const char *text);
int proto_get_error(const uint8_t *msg, size_t len, char *text, size_t cap); /* returns positive code */

#endif
