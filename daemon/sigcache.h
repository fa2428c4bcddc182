/* sigcache.h — librsync signatures of shipped versions, and streaming
 * librsync jobs with bounded buffers.
 *
 * STATE/sigs/<hex sha256(path)> holds, for each shipped regular file, a
 * 32-byte header (the key: the chunk-tree root of the content it
 * describes, which every kind of ship knows, RANGES included, unlike the
 * sha256) and the librsync signature of that content (parameters:
 * common/rsync_params.h); where it lives, and when it moves or goes, is
 * pathstate.h's.  An edit then ships a delta computed locally against it;
 * a header that does not match the shipped root counts as no signature.
 * State directories from before keyed it by the sha256: sigcache_rekey. */
#ifndef VIGIL_DAEMON_SIGCACHE_H
#define VIGIL_DAEMON_SIGCACHE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librsync.h>

/* A librsync job driven by pushing input; output goes to out() in pieces
 * of at most outcap bytes.  Input is staged in a buffer of at most
 * RSS_IN_MAX bytes, so memory stays bounded whatever is fed. */
#define RSS_IN_MAX   (256 * 1024)
#define RSS_OUT_DEFAULT (64 * 1024)
typedef int (*rss_out_fn)(void *arg, const void *p, size_t n);
struct rsstream;
/* Takes ownership of job.  outcap 0: RSS_OUT_DEFAULT. */
struct rsstream *rsstream_new(rs_job_t *job, size_t outcap, rss_out_fn out, void *arg);
int  rsstream_feed(struct rsstream *s, const void *p, size_t n);   /* 0 | -EBADMSG | out's error */
int  rsstream_finish(struct rsstream *s);                           /* eof; runs to RS_DONE */
void rsstream_free(struct rsstream *s);

/* Routes librsync's own messages to log_debug (they would go to stderr). */
void sigcache_quiet_librsync(void);

/* Whether a signature of path with header key is cached (its body is
 * checked by sigcache_load). */
bool sigcache_has(const char *statedir, const char *path, const uint8_t key[32]);
/* A cached signature of path whose header is old (an older state
 * directory's sha256) gets the header key.  0 | -ENOENT (none with old). */
int sigcache_rekey(const char *statedir, const char *path, const uint8_t old[32],
		   const uint8_t key[32]);
/* Loads the signature of path if its header matches key; ready for
 * rs_delta_begin (hash table built).  0 | -ENOENT | -EBADMSG. */
int sigcache_load(const char *statedir, const char *path, const uint8_t key[32],
		  rs_signature_t **out);

/* Writes a new signature while content streams by (rs_sig_begin). */
struct sigwriter;
int  sigwriter_new(const char *statedir, struct sigwriter **out);
int  sigwriter_reset(struct sigwriter *w);                  /* start over (torn read) */
int  sigwriter_feed(struct sigwriter *w, const void *p, size_t n);
/* Finishes and renames into place for path with header key. */
int  sigwriter_commit(struct sigwriter *w, const char *path, const uint8_t key[32]);
/* Stores a signature received from the server (raw librsync bytes). */
int  sigwriter_feed_raw(struct sigwriter *w, const void *p, size_t n);
int  sigwriter_commit_raw(struct sigwriter *w, const char *path, const uint8_t key[32]);
void sigwriter_free(struct sigwriter *w);   /* unlinks an uncommitted temp file */

/* sigderive.c: the signature of a new version (new_size bytes readable at
 * newfd, key new_key) from path's cached signature of the old version
 * (old_key, old_size) and the delta between them (dsize bytes at deltafd):
 * blocks copied block-aligned keep their sums, the others are re-read and
 * summed.  Committed for path under new_key.  *bytes_read: bytes of newfd
 * read.  0, -EBADMSG (cache or delta not as expected) or -errno. */
int sigcache_derive(const char *statedir, const char *path, const uint8_t old_key[32],
		    uint64_t old_size, int deltafd, uint64_t dsize, int newfd, uint64_t new_size,
		    const uint8_t new_key[32], uint64_t *bytes_read);

/* sigpatch.c: the records of path's cached signature a RANGES ship
 * changes.  sigpatch_build sums, from fd (the file, new_size bytes), every
 * block holding a byte of r[0..n) (sorted byte ranges [off, end)) and every
 * block from eof_from (UINT64_MAX: none) or, when the size changed, from
 * old_size to the end; the sums wait in a temp file in tmpdir.  0, -EINVAL
 * (ranges out of order) or -errno. */
struct sigpatch;
struct sigpatch_range {
	uint64_t off, end;
};
int sigpatch_build(const char *tmpdir, int fd, uint64_t old_size, uint64_t new_size,
		   const struct sigpatch_range *r, size_t n, uint64_t eof_from,
		   struct sigpatch **out);
uint64_t sigpatch_bytes_read(const struct sigpatch *p);   /* of fd */
/* Once the new version is recorded: path's cached signature, keyed
 * old_key and of old_size bytes, gets the patch's records, the new length
 * and the key new_key.  0, -EBADMSG (no such cache file) or -errno (the
 * cache is then no signature of either version: drop it). */
int sigpatch_apply(const struct sigpatch *p, const char *statedir, const char *path,
		   const uint8_t old_key[32], uint64_t old_size, const uint8_t new_key[32]);
void sigpatch_free(struct sigpatch *p);

/* A delta against a loaded signature, written to a temp file. */
struct deltawriter;
int  deltawriter_new(const char *tmpdir, rs_signature_t *sig, size_t outcap,
		     struct deltawriter **out);
int  deltawriter_reset(struct deltawriter *d);
int  deltawriter_feed(struct deltawriter *d, const void *p, size_t n);
/* Finishes; *fd is the delta file (rewound), *size its length. Owned by d. */
int  deltawriter_finish(struct deltawriter *d, int *fd, uint64_t *size);
void deltawriter_free(struct deltawriter *d);

#endif
