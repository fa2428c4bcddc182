/* rsstream.c — streaming librsync jobs (rs_job_iter with bounded
 * buffers; the jobs never do I/O), and a signature loaded from bytes as
 * they arrive (a region's signature from the server, chunkdelta.h). */
#include "daemon/rsstream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/rsync_params.h"

struct rsstream {
	rs_job_t *job;
	rss_out_fn out;
	void *arg;
	size_t outcap, inlen;
	uint8_t *in, *ob;
};

struct rsstream *rsstream_new(rs_job_t *job, size_t outcap, rss_out_fn out, void *arg)
{
	struct rsstream *s;

	if (!job)
		return NULL;
	if (!(s = calloc(1, sizeof(*s)))) {
		rs_job_free(job);
		return NULL;
	}
	s->job = job;
	s->out = out;
	s->arg = arg;
	s->outcap = outcap ? outcap : RSS_OUT_DEFAULT;
	if (!(s->in = malloc(RSS_IN_MAX)) || !(s->ob = malloc(s->outcap))) {
		rsstream_free(s);
		return NULL;
	}
	return s;
}

void rsstream_free(struct rsstream *s)
{
	if (!s)
		return;
	if (s->job)
		rs_job_free(s->job);
	free(s->in);
	free(s->ob);
	free(s);
}

/* Iterates until the job wants more input (or is done).  Unconsumed input
 * stays at the front of s->in, as librsync expects. */
static int pump(struct rsstream *s, int eof)
{
	rs_buffers_t b;
	rs_result r;
	size_t produced, consumed;
	int rc;

	for (;;) {
		b.next_in = (char *)s->in;
		b.avail_in = s->inlen;
		b.eof_in = eof;
		b.next_out = (char *)s->ob;
		b.avail_out = s->outcap;
		r = rs_job_iter(s->job, &b);
		produced = s->outcap - b.avail_out;
		consumed = s->inlen - b.avail_in;
		if (consumed) {
			memmove(s->in, s->in + consumed, b.avail_in);
			s->inlen = b.avail_in;
		}
		if (produced && s->out && (rc = s->out(s->arg, s->ob, produced)) != 0)
			return rc;
		if (r == RS_DONE)
			return 1;
		if (r != RS_BLOCKED)
			return r == RS_MEM_ERROR ? -ENOMEM : -EBADMSG;
		if (!produced && !consumed)
			return eof ? -EBADMSG : 0;   /* needs more input */
	}
}

int rsstream_feed(struct rsstream *s, const void *p, size_t n)
{
	const uint8_t *q = p;
	int rc;

	while (n > 0) {
		size_t k = RSS_IN_MAX - s->inlen;

		if (k > n)
			k = n;
		memcpy(s->in + s->inlen, q, k);
		s->inlen += k;
		q += k;
		n -= k;
		if ((rc = pump(s, 0)) < 0)
			return rc;
		if (rc == 1)
			return n ? -EBADMSG : 0;    /* done before its input ended */
		if (s->inlen == RSS_IN_MAX && n)
			return -EBADMSG;           /* job stuck with a full buffer */
	}
	return 0;
}

int rsstream_finish(struct rsstream *s)
{
	int rc = pump(s, 1);

	return rc < 0 ? rc : rc == 1 ? 0 : -EBADMSG;
}

static void rs_log(rs_loglevel level, char const *msg)
{
	log_debug("librsync: %s", msg);
}

void rsstream_quiet_librsync(void)
{
	rs_trace_to(rs_log);
}

/* ---- a signature from bytes ---- */

struct sigload {
	struct rsstream *s;
	rs_signature_t *sig;
};

int sigload_new(struct sigload **out)
{
	struct sigload *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		return -ENOMEM;
	if (!(l->s = rsstream_new(rs_loadsig_begin(&l->sig), 0, NULL, NULL))) {
		free(l);
		return -ENOMEM;
	}
	*out = l;
	return 0;
}

int sigload_feed(void *arg, const void *p, size_t n)
{
	struct sigload *l = arg;

	return rsstream_feed(l->s, p, n);
}

int sigload_empty(struct sigload *l)
{
	uint8_t hdr[12];
	const uint32_t v[3] = { VG_RS_SIG_MAGIC, VG_RS_BLOCK_LEN, VG_RS_STRONG_LEN };

	for (int i = 0; i < 12; i++)
		hdr[i] = (uint8_t)(v[i / 4] >> (8 * (3 - i % 4)));
	return rsstream_feed(l->s, hdr, sizeof(hdr));
}

int sigload_finish(struct sigload *l, rs_signature_t **out)
{
	int rc;

	*out = NULL;
	if ((rc = rsstream_finish(l->s)) < 0)
		return rc;
	if (!l->sig || rs_build_hash_table(l->sig) != RS_DONE)
		return -EBADMSG;
	*out = l->sig;
	l->sig = NULL;
	return 0;
}

void sigload_free(struct sigload *l)
{
	if (!l)
		return;
	rsstream_free(l->s);
	if (l->sig)
		rs_free_sumset(l->sig);
	free(l);
}
