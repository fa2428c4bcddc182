/* chunkdelta.c — a librsync delta that skips librsync over the chunks the
 * shipped version's chunk list proves unchanged (see chunkdelta.h).
 *
 * Chunks are decided as the capture's chunker reports them (a span: a run
 * of bytes that is either old bytes at a known old offset, or changed,
 * with the old offset after the last match before it); bytes are consumed
 * against the decided spans in order, and bytes not yet decided (the
 * chunk the chunker has not cut yet) wait in a bounded hold buffer.
 * Output, in librsync's delta format (content_delta.c): the magic, then
 * COPY commands of our own for matched spans (adjacent ones merged) and,
 * for each segment of a changed run, the commands of a librsync delta
 * job fed only that segment against the signature of the old region
 * around it (its magic and END dropped, its COPY offsets moved by the
 * region's offset), then END. */
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
#include "common/chunker.h"
#include "daemon/chunklist.h"
#include "daemon/rsstream.h"

#define SPANS    128               /* decided, unconsumed spans (one read's chunks) */
#define HOLD     CD_HOLD           /* undecided bytes: < one chunk plus one read */
#define OUTBUF   (64 * 1024)
#define CHANGED  UINT64_MAX        /* span.old_off of a changed run */
#define L        CD_LOOKAHEAD
#define PROBE_FIRST 4              /* misses in a row before the first probe */
/* Entries all probes of one delta may read, per entry of the list: a file
 * rewritten entirely probes log2(count / 4) times, each to the list's end
 * (16: every probe of a list of up to 256 Ki entries, ~2.5 GiB; past that
 * the last ones are skipped); and chunks matching every few (each match
 * restarts the streak) cannot make the probes quadratic. */
#define PROBE_BUDGET 16

struct span {
	uint64_t left;                 /* bytes not consumed yet */
	uint64_t old_off;              /* old offset of the next byte, or CHANGED */
	uint64_t old_at;               /* CHANGED: the old offset its next byte replaces */
};

/* The job's command stream, parsed to move its COPY offsets. */
enum { J_MAGIC, J_CMD, J_PARAM, J_LITERAL, J_END };

struct chunkdelta {
	char statedir[PATH_MAX], path[PATH_MAX];
	uint8_t key[32];
	uint64_t old_size;
	struct clreader *old;
	struct cl_entry win[L];        /* the old list from the cursor on */
	uint64_t win_off[L];
	size_t wh, wn;
	uint64_t old_next;             /* old offset after the window */
	uint64_t old_idx;              /* old entry after the window */
	bool old_eof;
	struct clreader *probe;        /* the same list, read past the window */
	uint64_t miss, next_probe;     /* chunks missed in a row; the next probe's streak */
	uint64_t probes, probe_entries;
	bool no_probe;                 /* the list could not be opened again */
	struct span sp[SPANS];
	size_t sh, sn;
	uint8_t *hold;
	size_t hold_len;
	int fd;                        /* the delta */
	uint64_t size;
	struct stage st;
	uint64_t copy_off, copy_len;   /* a COPY not written yet (to merge) */
	cd_sig_fn get_sig;
	void *sig_arg;
	rs_signature_t *sig;           /* of the job's old region */
	struct rsstream *job;          /* a changed run's segment's librsync job */
	uint64_t job_left;             /* bytes the segment takes still (at most) */
	uint64_t seg_prev;             /* the run's previous segment's length; 0: none */
	uint64_t old_at;               /* old offset of the next chunk told, as it seems */
	uint64_t reg_off, reg_end;     /* the old region sig describes */
	int js;                        /* J_*: where the job's output is */
	uint8_t jop, jpar[16];         /* the command being parsed */
	size_t jpar_n, jpar_want;
	uint64_t jlit_left;
	uint64_t rsync_bytes, sig_regions, sig_region_bytes;
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
		d->old_idx++;
		d->wn++;
	}
	return 0;
}

/* An entry of a list fetched from the server has no fingerprint (zeros):
 * it matches by sha256 only. */
static bool fp_none(const uint8_t fp[16])
{
	static const uint8_t zero[16];

	return !memcmp(fp, zero, 16);
}

/* Whether old entry e is the chunk (fp, len) (fp NULL, or e has none:
 * sha, len; sha NULL: only by fingerprint). */
static bool entry_is(const struct cl_entry *e, const uint8_t *sha, const uint8_t *fp, uint32_t len)
{
	if (e->len != len)
		return false;
	if (fp && !fp_none(e->fp))
		return !memcmp(e->fp, fp, 16);
	return sha && !memcmp(e->sha, sha, 32);
}

/* The window index of the first old chunk at or after the cursor that is
 * (sha, fp, len), or -1. */
static ssize_t old_match(const struct chunkdelta *d, const uint8_t *sha, const uint8_t *fp,
			 uint32_t len, size_t *skipped)
{
	for (size_t i = 0; i < d->wn; i++) {
		size_t j = (d->wh + i) % L;

		if (!entry_is(&d->win[j], sha, fp, len))
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

/* Resynchronises the cursor past a deletion longer than the window: the
 * old list after the window is read (a second reader, streamed) for the
 * chunk (sha, fp, len); found, that reader becomes the cursor's, just
 * past it (the entries skipped count as deleted), *off its old offset: 1.
 * 0: not there. */
static int probe(struct chunkdelta *d, const uint8_t sha[32], const uint8_t *fp, uint32_t len,
		 uint64_t *off)
{
	uint64_t at = d->old_next, idx = d->old_idx;
	struct cl_entry e;
	int rc;

	/* a probe only saves bytes: a list replaced since (or no fd left)
	 * leaves the delta as it would have been without */
	if (!d->probe && clreader_open(d->statedir, d->path, d->key, CL_BUF, &d->probe) < 0) {
		d->no_probe = true;
		return 0;
	}
	if ((rc = clreader_seek(d->probe, idx, at)) < 0)
		return rc;
	d->probes++;
	while ((rc = clreader_next(d->probe, &e)) == 1) {
		d->probe_entries++;
		if (entry_is(&e, sha, fp, len)) {
			struct clreader *t = d->old;

			d->old = d->probe;
			d->probe = t;         /* kept to be moved by the next probe */
			d->wh = d->wn = 0;
			d->old_idx = idx + 1;
			d->old_next = at + e.len;
			*off = at;
			return win_fill(d) < 0 ? -EBADMSG : 1;
		}
		at += e.len;
		idx++;
	}
	return rc;   /* 0: the list ended without it */
}

/* The old offset of a chunk (sha, len, fp) at or after the cursor, which
 * then moves past it: 1; 0: not found (changed).  Misses in a row while
 * the list goes on past the window probe it (probe()) at streaks of
 * PROBE_FIRST, twice that, four times, ...: a deletion longer than the
 * window costs one probe, a file rewritten entirely O(log n). */
static int old_find(struct chunkdelta *d, const uint8_t sha[32], const uint8_t *fp, uint32_t len,
		    uint64_t *off)
{
	size_t i;
	ssize_t k = old_match(d, sha, fp, len, &i);
	int rc;

	if (k >= 0) {
		size_t j = (size_t)k;

		*off = d->win_off[j];
		d->wh = (j + 1) % L;
		d->wn -= i + 1;
		d->miss = 0;
		d->next_probe = PROBE_FIRST;
		return win_fill(d) < 0 ? -EBADMSG : 1;
	}
	if (d->old_eof || d->no_probe || ++d->miss < d->next_probe ||
	    d->probe_entries >= PROBE_BUDGET * clreader_count(d->old))
		return 0;
	d->next_probe *= 2;
	if ((rc = probe(d, sha, fp, len, off)) != 1)
		return rc;
	d->miss = 0;
	d->next_probe = PROBE_FIRST;
	return 1;
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

static uint64_t be_n(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* A command's parameters are in: a COPY goes out moved into old offsets
 * (merged with its neighbours), a LITERAL's header as it came. */
static int job_cmd(struct chunkdelta *d)
{
	uint8_t op = d->jop;
	int rc;

	if (op >= 0x45) {
		size_t w1 = (size_t)1 << ((op - 0x45) / 4);
		uint64_t off = be_n(d->jpar, w1), len = be_n(d->jpar + w1, d->jpar_n - w1);

		d->js = J_CMD;
		return emit_copy(d, d->reg_off + off, len);
	}
	d->jlit_left = op <= 0x40 ? op : be_n(d->jpar, d->jpar_n);
	d->js = d->jlit_left ? J_LITERAL : J_CMD;
	if ((rc = flush_copy(d)) < 0 || (rc = out_put(d, &op, 1)) < 0)
		return rc;
	return d->jpar_n ? out_put(d, d->jpar, d->jpar_n) : 0;
}

/* The next command byte of a job's output. */
static int job_op(struct chunkdelta *d, uint8_t op)
{
	d->jop = op;
	d->jpar_n = 0;
	if (op == 0) {
		d->js = J_END;
		return 0;
	}
	if (op > 0x54)
		return -EBADMSG;
	d->jpar_want = op <= 0x40 ? 0 : op <= 0x44 ? (size_t)1 << (op - 0x41) :
		       ((size_t)1 << ((op - 0x45) / 4)) + ((size_t)1 << ((op - 0x45) % 4));
	d->js = J_PARAM;
	return d->jpar_want ? 0 : job_cmd(d);
}

/* A job's output: its magic dropped, its commands parsed (job_cmd), its
 * END kept back. */
static int job_out(void *arg, const void *p, size_t n)
{
	struct chunkdelta *d = arg;
	const uint8_t *q = p, *e = q + n;
	int rc = 0;

	while (q < e && rc == 0) {
		size_t k;

		switch (d->js) {
		case J_MAGIC:
			k = (size_t)(e - q) < 4 - d->jpar_n ? (size_t)(e - q) : 4 - d->jpar_n;
			d->jpar_n += k;
			q += k;
			if (d->jpar_n == 4)
				d->js = J_CMD;
			break;
		case J_CMD:
			rc = job_op(d, *q++);
			break;
		case J_PARAM:
			d->jpar[d->jpar_n++] = *q++;
			if (d->jpar_n == d->jpar_want)
				rc = job_cmd(d);
			break;
		case J_LITERAL:
			k = (uint64_t)(e - q) < d->jlit_left ? (size_t)(e - q) : (size_t)d->jlit_left;
			rc = out_put(d, q, k);
			q += k;
			if (!(d->jlit_left -= k))
				d->js = J_CMD;
			break;
		default:
			return -EBADMSG;   /* output after END */
		}
	}
	return rc;
}

/* The signature of an old region holding [lo, hi): the one loaded when
 * it does, else one of at least CD_REGION_MIN bytes from lo (edits close
 * together then share one request). */
static int region(struct chunkdelta *d, uint64_t lo, uint64_t hi)
{
	int rc;

	if (d->sig && lo >= d->reg_off && hi <= d->reg_end)
		return 0;
	if (hi - lo < CD_REGION_MIN)
		hi = lo + CD_REGION_MIN;
	if (hi > d->old_size)
		hi = d->old_size;
	if (d->sig)
		rs_free_sumset(d->sig);
	d->sig = NULL;
	if ((rc = d->get_sig(d->sig_arg, lo, hi - lo, &d->sig)) < 0)
		return rc;
	d->sig_regions++;
	d->sig_region_bytes += hi - lo;
	d->reg_off = lo;
	d->reg_end = hi;
	return 0;
}

/* A job for the next len bytes of a changed run whose first byte replaces
 * old offset at: against the signature of an old region around [at, at +
 * len), a chunk wider each side so moved data nearby is found. */
static int job_start(struct chunkdelta *d, uint64_t at, uint64_t len)
{
	uint64_t lo = at > CHUNK_MAX ? at - CHUNK_MAX : 0;
	uint64_t hi = at + len + CHUNK_MAX;
	int rc;

	if (lo > d->old_size)
		lo = d->old_size;
	if (hi > d->old_size)
		hi = d->old_size;
	if ((rc = region(d, lo, hi)) < 0)
		return rc;
	d->job_left = len;
	d->js = J_MAGIC;
	d->jpar_n = 0;
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
	if (rc == 0 && d->js != J_END)
		rc = -EBADMSG;   /* a librsync delta ends with END */
	return rc;
}

/* Feeds k bytes of the changed span s, a segment at a time: the first as
 * long as the chunks told so far, each next one (the run went on) at
 * least twice the last, at most CD_SEGMENT; a match ends the segment
 * early (consume).  So a small edit asks for the signature of about its
 * own chunks, and a long run for a few regions, not one per read. */
static int changed(struct chunkdelta *d, struct span *s, const uint8_t *p, size_t k)
{
	uint64_t fed = 0;
	int rc;

	while (k) {
		size_t n;

		if (!d->job) {
			uint64_t rest = s->left - fed;
			uint64_t len = rest > 2 * d->seg_prev ? rest : 2 * d->seg_prev;

			if (len > CD_SEGMENT)
				len = CD_SEGMENT;
			d->seg_prev = len;

			if ((rc = job_start(d, s->old_at, len)) < 0)
				return rc;
			s->old_at += len;
		}
		n = k < d->job_left ? k : (size_t)d->job_left;
		if ((rc = rsstream_feed(d->job, p, n)) < 0)
			return rc;
		d->rsync_bytes += n;
		d->job_left -= n;
		fed += n;
		p += n;
		k -= n;
		if (!d->job_left && (rc = job_end(d)) < 0)
			return rc;
	}
	return 0;
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
			if ((rc = changed(d, s, p + used, k)) < 0)
				return rc;
		} else {
			if ((rc = job_end(d)) < 0 || (rc = emit_copy(d, s->old_off, k)) < 0)
				return rc;
			d->seg_prev = 0;
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
	uint64_t off = CHANGED, at = d->old_at;
	struct span *t;
	int rc;

	if (d->err)
		return d->err;
	if (!len)
		return 0;
	if ((rc = old_find(d, sha, fp, len, &off)) < 0)
		return latch(d, rc);
	/* the old offset of the next byte: after a match, the matched
	 * chunk's end; after a changed chunk, as far on as it is long (a
	 * run's later chunks and spans continue where it left off) */
	d->old_at = off == CHANGED ? at + len : off + len;
	t = d->sn ? &d->sp[(d->sh + d->sn - 1) % SPANS] : NULL;
	if (t && ((off == CHANGED && t->old_off == CHANGED) ||
		  (off != CHANGED && t->old_off != CHANGED && t->old_off + t->left == off))) {
		t->left += len;
	} else if (d->sn == SPANS) {
		return latch(d, -EOVERFLOW);
	} else {
		d->sp[(d->sh + d->sn++) % SPANS] = (struct span){ len, off, at };
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
	clreader_free(d->probe);
	d->probe = NULL;
	rsstream_free(d->job);
	d->job = NULL;
	if (d->sig)
		rs_free_sumset(d->sig);
	d->sig = NULL;
	d->wh = d->wn = d->sh = d->sn = d->hold_len = 0;
	d->old_next = d->size = d->copy_len = d->rsync_bytes = 0;
	d->sig_regions = d->sig_region_bytes = d->seg_prev = d->old_at = 0;
	d->old_idx = d->miss = d->probes = d->probe_entries = 0;
	d->next_probe = PROBE_FIRST;
	d->old_eof = d->no_probe = false;
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
		   const uint8_t key[32], uint64_t old_size, cd_sig_fn get_sig, void *sig_arg,
		   struct chunkdelta **out)
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
	d->get_sig = get_sig;
	d->sig_arg = sig_arg;
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

uint64_t chunkdelta_sig_regions(const struct chunkdelta *d, uint64_t *bytes)
{
	*bytes = d ? d->sig_region_bytes : 0;
	return d ? d->sig_regions : 0;
}

uint64_t chunkdelta_probes(const struct chunkdelta *d, uint64_t *entries)
{
	*entries = d ? d->probe_entries : 0;
	return d ? d->probes : 0;
}

void chunkdelta_free(struct chunkdelta *d)
{
	if (!d)
		return;
	clreader_free(d->old);
	clreader_free(d->probe);
	rsstream_free(d->job);
	if (d->sig)
		rs_free_sumset(d->sig);
	if (d->fd >= 0)
		close(d->fd);
	free(d->hold);
	free(d->st.buf);
	free(d);
}
