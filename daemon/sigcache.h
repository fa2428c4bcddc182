/* sigcache.h — librsync signatures of shipped versions, and streaming
 * librsync jobs with bounded buffers.
 *
 * STATE/sigs/<hex sha256(path)> holds, for each shipped regular file, a
 * 32-byte header (sha256 of the content it describes) and the librsync
 * signature of that content (parameters: common/rsync_params.h); where it
 * lives, and when it moves or goes, is pathstate.h's.  An edit
 * then ships a delta computed locally against it; a header that does not
 * match the shipped sha256 counts as no signature. */
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

/* Whether a signature of path with header sha256 is cached (its body is
 * checked by sigcache_load). */
bool sigcache_has(const char *statedir, const char *path, const uint8_t sha256[32]);
/* Loads the signature of path if its header matches sha256; ready for
 * rs_delta_begin (hash table built).  0 | -ENOENT | -EBADMSG. */
int sigcache_load(const char *statedir, const char *path, const uint8_t sha256[32],
		  rs_signature_t **out);

/* Writes a new signature while content streams by (rs_sig_begin). */
struct sigwriter;
int  sigwriter_new(const char *statedir, struct sigwriter **out);
int  sigwriter_reset(struct sigwriter *w);                  /* start over (torn read) */
int  sigwriter_feed(struct sigwriter *w, const void *p, size_t n);
/* Finishes and renames into place for path with header sha256. */
int  sigwriter_commit(struct sigwriter *w, const char *path, const uint8_t sha256[32]);
/* Stores a signature received from the server (raw librsync bytes). */
int  sigwriter_feed_raw(struct sigwriter *w, const void *p, size_t n);
int  sigwriter_commit_raw(struct sigwriter *w, const char *path, const uint8_t sha256[32]);
void sigwriter_free(struct sigwriter *w);   /* unlinks an uncommitted temp file */

/* sigderive.c: the signature of a new version (new_size bytes readable at
 * newfd, sha256 new_sha) from path's cached signature of the old version
 * (old_sha, old_size) and the delta between them (dsize bytes at deltafd):
 * blocks copied block-aligned keep their sums, the others are re-read and
 * summed.  Committed for path under new_sha.  *bytes_read: bytes of newfd
 * read.  0, -EBADMSG (cache or delta not as expected) or -errno. */
int sigcache_derive(const char *statedir, const char *path, const uint8_t old_sha[32],
		    uint64_t old_size, int deltafd, uint64_t dsize, int newfd, uint64_t new_size,
		    const uint8_t new_sha[32], uint64_t *bytes_read);

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
