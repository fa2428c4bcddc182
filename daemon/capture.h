/* capture.h — reading one file as one consistent state.
 *
 * A regular file is read with fstat before and after; if its size, mtime or
 * ctime moved meanwhile the read starts over.  A file that never stays still
 * (CAPTURE_TRIES reads all torn, or none tried when the sink says a writer
 * is at it) is copied once into STATE/tmp and shipped from that copy,
 * counted as "unstable" unless it held still during that copy.  An
 * unstable copy is no single state of the file: each byte is what the file
 * held at some instant of the copy's pass (capture_ns to the pass's end).  A SQLite database (16-byte header
 * "SQLite format 3\0") is captured with sqlite3_backup into STATE/tmp, which
 * is one committed state whatever other connections are doing.
 *
 * While reading, every byte goes to the content hash (sha256 of the whole
 * unless the sink says no, FastCDC chunks -> chunk tree root, a chunk's
 * sha256 taken from the sink when it knows the chunk by its fingerprint;
 * or, for a first upload sent as it is read, only an XXH3-128 digest of
 * the whole and the chunks' fingerprints) and to the caller's sink
 * (delta, chunk list, the upload), in one pass. */
#ifndef VIGIL_DAEMON_CAPTURE_H
#define VIGIL_DAEMON_CAPTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/chash.h"   /* the content hash of each pass */

#define CAPTURE_TRIES   3
#define CAPTURE_BUF     (64 * 1024)

struct capture;

/* Where the bytes of a capture pass go besides the hash.  reset: the file
 * moved, everything fed so far is void. */
struct capture_sink {
	void *arg;
	int (*reset)(void *arg);
	int (*data)(void *arg, const uint8_t *p, size_t n);
	/* may be NULL: each chunk of the content, in order (after reset);
	 * fp: its fingerprint (NULL without fp_secret) */
	chash_chunk_fn chunk;
	/* chunk fingerprints (common/chash.h; NULL: none) and, may be NULL,
	 * who knows a chunk's sha256 by its fingerprint and length (then it
	 * is not computed) */
	const uint8_t *fp_secret;
	chash_known_fn known;
	/* no sha256 of the whole (c->sha256 all zeros): the tree root alone */
	bool no_sha256;
	/* no sha256 at all: c->digest (XXH3-128 of the whole) and, with
	 * fp_secret and chunk, each chunk's length and fingerprint (sha NULL);
	 * c->root all zeros (a first upload: the server computes the tree) */
	bool digest;
	/* a writer is at the file right now (the tracker saw it): the reads
	 * that wait for it to hold still are skipped, it is copied at once */
	bool moving;
	/* capture_stream only (may be NULL): called once, before the first
	 * byte, with what will be read (c->st, c->size, c->capture_ns set) */
	int (*begin)(void *arg, const struct capture *c);
	/* capture_stream only (all three or none): the pass reads each piece
	 * into a buffer of CAPTURE_BUF bytes from buf_new and, once hashed,
	 * hands it to data_buf instead of data, which takes it in every case
	 * (a mux frame sent without a copy); buf_free drops one not handed */
	void *(*buf_new)(void *arg);
	void (*buf_free)(void *arg, void *p);
	int (*data_buf)(void *arg, void *p, size_t n);
};

struct capture {
	struct stat st;          /* of the source file; its st_size may differ from
				  * size for a database or an unstable copy */
	uint8_t sha256[32], root[32];   /* sha256: zeros with sink->no_sha256 */
	uint8_t digest[CHASH_DIGEST_LEN];   /* sink->digest: XXH3-128 of the whole */
	uint64_t chunks_sha, chunks_fp; /* chunks sha256-hashed, fingerprinted */
	uint64_t size;           /* bytes captured */
	int64_t capture_ns;      /* when the read started */
	bool unstable;           /* shipped from a copy after torn reads */
	bool sqlite;             /* captured through sqlite3_backup */
	int fd;                  /* open on what was captured (source or copy) */
	char tmp[PATH_MAX];      /* copy to unlink, "" when fd is the source */
};

/* Captures path (a regular file beneath root, reached by rootwalk: no
 * symlink anywhere on the way, a FIFO never blocks).  tmpdir holds copies.
 * sink may be NULL.  0, or -errno (-ENOENT: gone, -ELOOP/-EINVAL: not a
 * regular file any more, -EXDEV: not beneath root).  On success release
 * with capture_release. */
int  capture_file(const char *root, const char *path, const char *tmpdir,
		  const struct capture_sink *sink, struct capture *out);
void capture_release(struct capture *c);
/* capture_file with the root's fd for this walk (rootwalk.h
 * rootwalk_roots; -1: root is opened for this call). */
int  capture_file_at(const char *root, int rootfd, const char *path, const char *tmpdir,
		     const struct capture_sink *sink, struct capture *out);

/* Every this many bytes a streamed pass checks that the file holds still. */
#define CAPTURE_CHECK   (8u << 20)
/* capture_file in one pass only, for bytes sent while they are read: once
 * the source (or its SQLite backup) is open, sink->begin learns its stat
 * and size; exactly that many bytes are read, hashed and given to the
 * sink.  The file must hold still (checked every CAPTURE_CHECK bytes and
 * at the end): -EBUSY as soon as it moved (nothing retried, no copy), or
 * at once when sink->moving says a writer is at it.
 * Other results as capture_file. */
int  capture_stream(const char *root, const char *path, const char *tmpdir,
		    const struct capture_sink *sink, struct capture *out);

/* capture_stream with the root's fd for this walk (as capture_file_at). */
int  capture_stream_at(const char *root, int rootfd, const char *path, const char *tmpdir,
		       const struct capture_sink *sink, struct capture *out);

/* true when the first 16 bytes are the SQLite header. */
bool capture_is_sqlite(int fd);
/* Consistent copy of a SQLite database at src (beneath root; SQLite
 * reaches it, its -wal and -journal only through the directory fd rootwalk
 * opened) into a new file in tmpdir; its path goes to out.  0 or -errno. */
int  capture_sqlite_backup(const char *root, const char *src, const char *tmpdir,
			   char out[PATH_MAX]);

#endif
