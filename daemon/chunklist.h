/* chunklist.h — the chunk list of a shipped version, and re-chunking around
 * changed byte ranges (PUT_RANGES).
 *
 * STATE/chunks/<hex sha256(path)> holds, for each shipped regular file big
 * enough to be worth it, the list of its FastCDC chunks (where it lives,
 * and when it moves or goes, is pathstate.h's):
 *   header  "VGCHL002", root[32], u64 size, u64 count     (56 bytes)
 *   entries sha256[32], fp[16], u32 len                   (52 bytes each)
 * integers big-endian; fp is the chunk's keyed fingerprint (common/chash.h,
 * XXH3-128 with the state's secret, chunklist_fp_secret), which lets the
 * next capture take an unchanged chunk's sha256 from the list instead of
 * computing it.  A list of another format (VGCHL001: no fingerprints) is
 * not read (-EBADMSG), as if there were none.  The root is the chunk-tree root of the content the
 * list describes; a list whose root is not the shipped version's is ignored.
 * Lists are streamed (read and written in buffered pieces), never loaded.
 *
 * chunklist_splice re-chunks only around the changed ranges: from the old
 * chunk boundary before each range until the chunker cuts at an old
 * boundary after every changed byte seen so far (then the old chunks from
 * there on are the same).  It writes the new list and computes the new
 * tree root, reading only those windows of the file. */
#ifndef VIGIL_DAEMON_CHUNKLIST_H
#define VIGIL_DAEMON_CHUNKLIST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CL_HDR      56
#define CL_ENTRY    52
#define CL_BUF      (32 * 1024)   /* default read size of lists and file windows */

#include "common/chash.h"

struct cl_entry {
	uint8_t sha[32];
	uint8_t fp[CHASH_FP_LEN];
	uint32_t len;
};

/* The fingerprint secret of the state db (kv fp_seed0..3: 32 random bytes
 * made at the first call, under a process-wide lock so that every shipper
 * gets the same).  0 or -errno. */
struct statedb;
int chunklist_fp_secret(struct statedb *db, uint8_t secret[CHASH_FP_SECRET]);

/* ---- writing a list (streamed to a temp file, renamed into place) ---- */
struct clwriter;
int  clwriter_new(const char *statedir, size_t bufsize, struct clwriter **out);
int  clwriter_reset(struct clwriter *w);          /* start over (torn read) */
/* sha NULL: not known yet (a first upload's read computes none), zeros
 * until clwriter_fill fills it in. */
int  clwriter_add(struct clwriter *w, const uint8_t sha[32], uint32_t len,
		  const uint8_t fp[CHASH_FP_LEN]);
/* The sha256s of a list added without them, from the server's chunk list
 * of the version (MSG_PUT_STORED: entries sha256[32], u32 len big-endian,
 * in order, split anywhere), each entry's length checked against the one
 * added.  clwriter_fill_end checks that every entry was filled and gives
 * the tree root of the list, which the caller compares with the version's
 * before it commits.  0 or -errno (-EBADMSG: not the same chunks). */
#define CL_FILL_ENTRY 36
int  clwriter_fill(struct clwriter *w, const void *p, size_t n);
int  clwriter_fill_end(struct clwriter *w, uint8_t root[32]);
/* Writes the header and renames into place for path. */
int  clwriter_commit(struct clwriter *w, const char *path, const uint8_t root[32]);
void clwriter_free(struct clwriter *w);           /* NULL-safe; drops an uncommitted list */

/* ---- reading a list ---- */
struct clreader;
/* Opens path's list if its root is root.  0 | -ENOENT | -EBADMSG. */
int  clreader_open(const char *statedir, const char *path, const uint8_t root[32],
		   size_t bufsize, struct clreader **out);
/* Reads from an open fd positioned anywhere (tests); checks the header. */
int  clreader_fdopen(int fd, size_t bufsize, struct clreader **out);
uint64_t clreader_size(const struct clreader *r);
uint64_t clreader_count(const struct clreader *r);
/* The next entry: 1, 0 at the end, -EBADMSG (truncated, len 0, sizes do
 * not add up) or -errno. */
int  clreader_next(struct clreader *r, struct cl_entry *e);
/* Moves to entry index (0 .. count), whose offset in the content is off
 * (the lengths before it, as read by another reader of the same list):
 * the next clreader_next reads it.  0, -EINVAL or -errno. */
int  clreader_seek(struct clreader *r, uint64_t index, uint64_t off);
void clreader_free(struct clreader *r);           /* NULL-safe; closes its fd */

/* ---- splicing ---- */
/* A changed region [off, end) of the new content; end may equal off (a
 * truncation point).  Regions are sorted and do not overlap. */
struct cl_region {
	uint64_t off, end;
};

/* Reads n bytes of the new content at off into buf: bytes read (short only
 * at its end) or -errno. */
typedef ssize_t (*cl_pread_fn)(void *arg, void *buf, size_t n, uint64_t off);
/* Receives the bytes of the new content as they are read: (off, p, n). */
typedef int (*cl_bytes_fn)(void *arg, uint64_t off, const uint8_t *p, size_t n);

struct cl_splice {
	struct clreader *old;        /* the shipped version's list (consumed) */
	uint64_t new_size;
	const struct cl_region *reg; /* changed regions, within [0, new_size] */
	size_t nreg;
	/* Everything from eof_from on is rewritten (size changed, truncation):
	 * no resync after it, read to the end.  UINT64_MAX: none. */
	uint64_t eof_from;
	cl_pread_fn pread;
	cl_bytes_fn bytes;           /* may be NULL */
	void *arg;                   /* for pread and bytes */
	size_t bufsize;              /* read size (0: CL_BUF) */
	const uint8_t *fp_secret;    /* fingerprints the re-chunked chunks */
	/* out */
	uint8_t root[32];
	uint64_t bytes_read;         /* of the new content */
	uint64_t chunks_new;         /* chunks produced by re-chunking */
};

/* Writes the new list to w (may be NULL) and sets s->root.  0, -EBADMSG
 * (old list inconsistent), -EAGAIN (the content ended early: it changed
 * while being read) or -errno. */
int chunklist_splice(struct cl_splice *s, struct clwriter *w);

#endif
