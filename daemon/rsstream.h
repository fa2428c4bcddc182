/* rsstream.h — streaming librsync jobs with bounded buffers, and a
 * librsync signature loaded from bytes as they arrive. */
#ifndef VIGIL_DAEMON_RSSTREAM_H
#define VIGIL_DAEMON_RSSTREAM_H

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
/* Takes ownership of job.  outcap 0: RSS_OUT_DEFAULT; out NULL: output
 * dropped. */
struct rsstream *rsstream_new(rs_job_t *job, size_t outcap, rss_out_fn out, void *arg);
int  rsstream_feed(struct rsstream *s, const void *p, size_t n);   /* 0 | -EBADMSG | out's error */
int  rsstream_finish(struct rsstream *s);                           /* eof; runs to RS_DONE */
void rsstream_free(struct rsstream *s);

/* Routes librsync's own messages to log_debug (they would go to stderr). */
void rsstream_quiet_librsync(void);

/* A signature (librsync's format, common/rsync_params.h) loaded from its
 * bytes fed in pieces of any size (sigload_feed fits rpc sinks: arg is
 * the sigload); sigload_empty feeds the signature of no bytes.
 * sigload_finish: ready for rs_delta_begin (hash table built), owned by
 * the caller (rs_free_sumset).  0 | -EBADMSG | -ENOMEM. */
struct sigload;
int  sigload_new(struct sigload **out);
int  sigload_feed(void *arg, const void *p, size_t n);
int  sigload_empty(struct sigload *l);
int  sigload_finish(struct sigload *l, rs_signature_t **out);
void sigload_free(struct sigload *l);   /* NULL-safe */

#endif
