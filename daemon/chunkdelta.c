/* chunkdelta.c — a librsync delta that skips librsync over the chunks the
 * shipped version's chunk list proves unchanged (see chunkdelta.h).
 *
 * Chunks are decided as the capture's chunker reports them (a span: a run
 * of bytes that is either old bytes at a known old offset, or changed);
 * bytes are consumed against the decided spans in order, and bytes not
 * yet decided (the chunk the chunker has not cut yet) wait in a bounded
 * hold buffer.  Output, in librsync's delta format (content_delta.c):
 * the magic, then COPY commands of our own for matched spans (adjacent
 * ones merged) and, for each changed run, the commands of a librsync
 * delta job fed only that run (its magic and END dropped), then END. */
#include "daemon/chunkdelta.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librsync.h>

#include "common/fdio.h"
#include "common/stage.h"
#include "daemon/chunklist.h"
#include "daemon/sigcache.h"

#define SPANS    128               /* decided, unconsumed spans (one read's chunks) */
#define HOLD     CD_HOLD           /* undecided bytes: < one chunk plus one read */
#define OUTBUF   (64 * 1024)
#define CHANGED  UINT64_MAX        /* span.old_off of a changed run */
#define L        CD_LOOKAHEAD

struct span {
	uint64_t left;                 /* bytes not consumed yet */
	uint64_t old_off;              /* old offset of the next byte, or CHANGED */
};

struct chunkdelta {
	char statedir[PATH_MAX], path[PATH_MAX];
	uint8_t key[32];
	uint64_t old_size;
	struct clreader *old;
	struct cl_entry win[L];        /* the old list from the cursor on */
	uint64_t win_off[L];
	size_t wh, wn;
	uint64_t old_next;             /* old offset after the window */
	bool old_eof;
	struct span sp[SPANS];
	size_t sh, sn;
	uint8_t *hold;
	size_t hold_len;
	int fd;                        /* the delta */
	uint64_t size;
	struct stage st;
	uint64_t copy_off, copy_len;   /* a COPY not written yet (to merge) */
	rs_signature_t *sig;           /* loaded at the first changed run */
	struct rsstream *job;          /* the changed run's librsync job */
	size_t job_skip;               /* magic bytes of its output to drop */
	bool job_held;
	uint8_t job_last;              /* its last byte so far (END at the end) */
	uint64_t rsync_bytes;
	int err;
};

static int latch(struct chunkdelta *d, int rc)
{
	if (rc < 0 && !d->err)
		d->err = rc;
	return rc;
}

/* ---- the old list: a cursor and the entries after it ---- */

static int win_fill(struct chunkdelta *d)
{
	struct cl_entry e;
	int rc;

	while (d->wn < L && !d->old_eof) {
		if ((rc = clreader_next(d->old, &e)) < 0)
			return rc;
		if (rc == 0) {
			d->old_eof = true;
			break;
		}
		size_t i = (d->wh + d->wn) % L;

		d->win[i] = e;
		d->win_off[i] = d->old_next;
		d->old_next += e.len;
		d->wn++;
	}
	return 0;
}

/* The window index of the first old chunk at or after the cursor with
 * (fp, len) (fp NULL: sha, len), or -1. */
static ssize_t old_match(const struct chunkdelta *d, const uint8_t *sha, const uint8_t *fp,
			 uint32_t len, size_t *skipped)
{
	for (size_t i = 0; i < d->wn; i++) {
		size_t j = (d->wh + i) % L;

		if (d->win[j].len != len ||
		    (fp ? memcmp(d->win[j].fp, fp, 16) : memcmp(d->win[j].sha, sha, 32)) != 0)
			continue;
		*skipped = i;
		return (ssize_t)j;
	}
	return -1;
}

int chunkdelta_known(struct chunkdelta *d, const uint8_t fp[16], uint32_t len, uint8_t sha[32])
{
	size_t i;
	ssize_t j;

	if (d->err || (j = old_match(d, NULL, fp, len, &i)) < 0)
		return 0;
	memcpy(sha, d->win[j].sha, 32);
	return 1;
}

/* The old offset of a chunk (sha, len, fp) at or after the cursor, which
 * then moves past it: 1; 0: not found (changed). */
static int old_find(struct chunkdelta *d, const uint8_t sha[32], const uint8_t *fp, uint32_t len,
		    uint64_t *off)
{
	size_t i;
	ssize_t k = old_match(d, sha, fp, len, &i);

	if (k >= 0) {
		size_t j = (size_t)k;

		*off = d->win_off[j];
		d->wh = (j + 1) % L;
		d->wn -= i + 1;
		return win_fill(d) < 0 ? -EBADMSG : 1;
	}
	return 0;
}

/* ---- output ---- */

static int out_sink(void *arg, const void *p, size_t n)
{
	return fd_write_all(*(int *)arg, p, n);
}

static int out_put(struct chunkdelta *d, const void *p, size_t n)
{
	d->size += n;
	return stage_put(&d->st, p, n);
}

static unsigned width_log2(uint64_t v)
{
	return v <= UINT8_MAX ? 0 : v <= UINT16_MAX ? 1 : v <= UINT32_MAX ? 2 : 3;
}

static int flush_copy(struct chunkdelta *d)
{
	unsigned a = width_log2(d->copy_off), b = width_log2(d->copy_len);
	size_t wa = (size_t)1 << a, wb = (size_t)1 << b, k = 0;
	uint8_t cmd[17];

	if (!d->copy_len)
		return 0;
	cmd[k++] = (uint8_t)(0x45 + 4 * a + b);
	for (size_t i = 0; i < wa; i++)
		cmd[k++] = (uint8_t)(d->copy_off >> (8 * (wa - 1 - i)));
	for (size_t i = 0; i < wb; i++)
		cmd[k++] = (uint8_t)(d->copy_len >> (8 * (wb - 1 - i)));
	d->copy_len = 0;
	return out_put(d, cmd, k);
}

static int emit_copy(struct chunkdelta *d, uint64_t off, uint64_t len)
{
	int rc;

	if (d->copy_len && d->copy_off + d->copy_len == off) {
		d->copy_len += len;
		return 0;
	}
	if ((rc = flush_copy(d)) < 0)
		return rc;
	d->copy_off = off;
	d->copy_len = len;
	return 0;
}

/* A job's output: its magic dropped, its last byte held back (the END,
 * once the job is done). */
static int job_out(void *arg, const void *p, size_t n)
{
	struct chunkdelta *d = arg;
	const uint8_t *q = p;
	size_t k = n < d->job_skip ? n : d->job_skip;
	int rc;

	d->job_skip -= k;
	q += k;
	n -= k;
	if (!n)
		return 0;
	if (d->job_held && (rc = out_put(d, &d->job_last, 1)) < 0)
		return rc;
	if (n > 1 && (rc = out_put(d, q, n - 1)) < 0)
		return rc;
	d->job_last = q[n - 1];
	d->job_held = true;
	return 0;
}

static int job_start(struct chunkdelta *d)
{
	int rc;

	if (!d->sig && (rc = sigcache_load(d->statedir, d->path, d->key, &d->sig)) < 0)
		return rc;
	if ((rc = flush_copy(d)) < 0)
		return rc;
	d->job_skip = 4;
	d->job_held = false;
	d->job = rsstream_new(rs_delta_begin(d->sig), 0, job_out, d);
	return d->job ? 0 : -ENOMEM;
}

static int job_end(struct chunkdelta *d)
{
	int rc;

	if (!d->job)
		return 0;
	rc = rsstream_finish(d->job);
	rsstream_free(d->job);
	d->job = NULL;
	if (rc == 0 && (!d->job_held || d->job_last != 0))
		rc = -EBADMSG;   /* a librsync delta ends with END */
	return rc;
}

/* ---- spans ---- */

/* Consumes a prefix of p[0..n) against the decided spans: bytes used. */
static ssize_t consume(struct chunkdelta *d, const uint8_t *p, size_t n)
{
	size_t used = 0;
	int rc;

	while (used < n && d->sn) {
		struct span *s = &d->sp[d->sh];
		size_t k = n - used < s->left ? n - used : (size_t)s->left;

		if (s->old_off == CHANGED) {
			if ((!d->job && (rc = job_start(d)) < 0) ||
			    (rc = rsstream_feed(d->job, p + used, k)) < 0)
				return rc;
			d->rsync_bytes += k;
		} else {
			if ((rc = job_end(d)) < 0 || (rc = emit_copy(d, s->old_off, k)) < 0)
				return rc;
			s->old_off += k;
		}
		s->left -= k;
		used += k;
		if (!s->left) {
			d->sh = (d->sh + 1) % SPANS;
			d->sn--;
		}
	}
	return (ssize_t)used;
}

/* Consumes what the hold buffer can give now. */
static int drain(struct chunkdelta *d)
{
	ssize_t k;

	if (!d->hold_len)
		return 0;
	if ((k = consume(d, d->hold, d->hold_len)) < 0)
		return (int)k;
	memmove(d->hold, d->hold + k, d->hold_len - (size_t)k);
	d->hold_len -= (size_t)k;
	return 0;
}

int chunkdelta_chunk(struct chunkdelta *d, const uint8_t sha[32], uint32_t len,
		     const uint8_t *fp)
{
	uint64_t off = CHANGED;
	struct span *t;
	int rc;

	if (d->err)
		return d->err;
	if (!len)
		return 0;
	if ((rc = old_find(d, sha, fp, len, &off)) < 0)
		return latch(d, rc);
	t = d->sn ? &d->sp[(d->sh + d->sn - 1) % SPANS] : NULL;
	if (t && ((off == CHANGED && t->old_off == CHANGED) ||
		  (off != CHANGED && t->old_off != CHANGED && t->old_off + t->left == off))) {
		t->left += len;
	} else if (d->sn == SPANS) {
		return latch(d, -EOVERFLOW);
	} else {
		d->sp[(d->sh + d->sn++) % SPANS] = (struct span){ len, off };
	}
	return latch(d, drain(d));
}

int chunkdelta_data(struct chunkdelta *d, const uint8_t *p, size_t n)
{
	ssize_t k = 0;

	if (d->err)
		return d->err;
	if (!d->hold_len && (k = consume(d, p, n)) < 0)
		return latch(d, (int)k);
	p += k;
	n -= (size_t)k;
	if (n > HOLD - d->hold_len)
		return latch(d, -EOVERFLOW);
	memcpy(d->hold + d->hold_len, p, n);
	d->hold_len += n;
	return latch(d, drain(d));
}

/* ---- life cycle ---- */

int chunkdelta_reset(struct chunkdelta *d)
{
	static const uint8_t magic[4] = { 0x72, 0x73, 0x02, 0x36 };   /* RS_DELTA_MAGIC */
	int rc;

	clreader_free(d->old);
	d->old = NULL;
	rsstream_free(d->job);
	d->job = NULL;
	d->wh = d->wn = d->sh = d->sn = d->hold_len = 0;
	d->old_next = d->size = d->copy_len = d->rsync_bytes = 0;
	d->old_eof = false;
	d->st.len = 0;
	d->err = 0;
	if ((rc = clreader_open(d->statedir, d->path, d->key, CL_BUF, &d->old)) < 0)
		return latch(d, rc == -EBADMSG ? -ENOENT : rc);
	if (clreader_size(d->old) != d->old_size)
		return latch(d, -ENOENT);
	if (ftruncate(d->fd, 0) < 0 || lseek(d->fd, 0, SEEK_SET) < 0)
		return latch(d, -errno);
	if ((rc = win_fill(d)) < 0 || (rc = out_put(d, magic, sizeof(magic))) < 0)
		return latch(d, rc);
	return 0;
}

int chunkdelta_new(const char *statedir, const char *tmpdir, const char *path,
		   const uint8_t key[32], uint64_t old_size, struct chunkdelta **out)
{
	struct chunkdelta *d = calloc(1, sizeof(*d));
	int rc = -ENOMEM;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->fd = -1;
	if (snprintf(d->statedir, sizeof(d->statedir), "%s", statedir) >= (int)sizeof(d->statedir) ||
	    snprintf(d->path, sizeof(d->path), "%s", path) >= (int)sizeof(d->path)) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	memcpy(d->key, key, 32);
	d->old_size = old_size;
	d->st = (struct stage){ .buf = malloc(OUTBUF), .cap = OUTBUF, .sink = out_sink,
				.arg = &d->fd };
	if (!d->st.buf || !(d->hold = malloc(HOLD)))
		goto fail;
	if ((d->fd = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = chunkdelta_reset(d)) < 0)
		goto fail;
	*out = d;
	return 0;
fail:
	chunkdelta_free(d);
	return rc;
}

int chunkdelta_finish(struct chunkdelta *d, int *fd, uint64_t *size)
{
	static const uint8_t end = 0;
	int rc;

	if (d->err)
		return d->err;
	if (d->hold_len || d->sn)
		return latch(d, -EBADMSG);   /* bytes and chunks do not add up */
	if ((rc = job_end(d)) < 0 || (rc = flush_copy(d)) < 0 || (rc = out_put(d, &end, 1)) < 0 ||
	    (rc = stage_flush(&d->st)) < 0)
		return latch(d, rc);
	if (lseek(d->fd, 0, SEEK_SET) < 0)
		return latch(d, -errno);
	*fd = d->fd;
	*size = d->size;
	return 0;
}

uint64_t chunkdelta_rsync_bytes(const struct chunkdelta *d)
{
	return d ? d->rsync_bytes : 0;
}

void chunkdelta_free(struct chunkdelta *d)
{
	if (!d)
		return;
	clreader_free(d->old);
	rsstream_free(d->job);
	if (d->sig)
		rs_free_sumset(d->sig);
	if (d->fd >= 0)
		close(d->fd);
	free(d->hold);
	free(d->st.buf);
	free(d);
}
