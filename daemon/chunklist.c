/* chunklist.c — chunk lists of shipped versions (streamed files) and the
 * re-chunking splice of PUT_RANGES (see chunklist.h).
 *
 * A chunk list is streamed as the file is chunked (36 bytes per ~10 KiB
 * chunk), it does not go through
 * file_write_atomic but keeps its safety: an O_EXCL random temp name in
 * STATE/chunks (0700), renamed over the final name, unsynced (a cache). */
#include "daemon/chunklist.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/byteorder.h"
#include "common/fdio.h"
#include "common/chunker.h"
#include "common/chunktree.h"
#include "common/wire.h"
#include "daemon/pathstate.h"
#include "daemon/statedb.h"

static const char cl_magic[8] = { 'V', 'G', 'C', 'H', 'L', '0', '0', '2' };

#define CL_BUF_MIN 4096

/* ---- the fingerprint secret ---- */

static pthread_mutex_t fp_lock = PTHREAD_MUTEX_INITIALIZER;

static int fp_seed(struct statedb *db, int64_t seed[4])
{
	static const char *const key[4] = { "fp_seed0", "fp_seed1", "fp_seed2", "fp_seed3" };
	int rc = 0, have = 0;

	for (int i = 0; i < 4; i++)
		have += statedb_kv_get(db, key[i], &seed[i]) == 0;
	if (have == 4)
		return 0;
	if (getrandom(seed, 4 * sizeof(seed[0]), 0) != (ssize_t)(4 * sizeof(seed[0])))
		return -EIO;
	for (int i = 0; i < 4 && rc == 0; i++)
		rc = statedb_kv_set(db, key[i], seed[i]);
	return rc;
}

int chunklist_fp_secret(struct statedb *db, uint8_t secret[CHASH_FP_SECRET])
{
	int64_t seed[4];
	int rc;

	pthread_mutex_lock(&fp_lock);
	rc = fp_seed(db, seed);
	pthread_mutex_unlock(&fp_lock);
	return rc < 0 ? rc : chash_fp_secret(secret, seed, sizeof(seed));
}

/* ---- writer ---- */

struct clwriter {
	char state[PATH_MAX];
	char tmp[PATH_MAX];
	int fd;
	uint8_t *buf;
	size_t cap, len;
	uint64_t count, size;
	int err;
	/* clwriter_fill: entries filled, the part of one received so far,
	 * the block of the file in buf (first entry, entries), the tree */
	uint64_t fill_idx, blk_first;
	size_t blk_n, npart;
	uint8_t part[CL_FILL_ENTRY];
	struct ctree_builder *tb;
};

int clwriter_new(const char *statedir, size_t bufsize, struct clwriter **out)
{
	struct clwriter *w;
	char dir[PATH_MAX];
	int rc;

	*out = NULL;
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	w->fd = -1;
	w->cap = bufsize < CL_ENTRY ? CL_ENTRY : bufsize;
	snprintf(w->state, sizeof(w->state), "%s", statedir);
	if (snprintf(dir, sizeof(dir), "%s/" PS_DIR_CHUNKS, statedir) >= (int)sizeof(dir) ||
	    snprintf(w->tmp, sizeof(w->tmp), "%s/.new-XXXXXX", dir) >= (int)sizeof(w->tmp)) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		goto fail;
	}
	if (!(w->buf = malloc(w->cap))) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((w->fd = mkostemp(w->tmp, O_CLOEXEC)) < 0) {
		rc = -errno;
		w->tmp[0] = '\0';
		goto fail;
	}
	if ((rc = clwriter_reset(w)) < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	clwriter_free(w);
	return rc;
}

int clwriter_reset(struct clwriter *w)
{
	ctree_builder_free(w->tb);
	w->tb = NULL;
	w->fill_idx = w->blk_first = 0;
	w->blk_n = w->npart = 0;
	w->len = 0;
	w->count = 0;
	w->size = 0;
	w->err = 0;
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, CL_HDR, SEEK_SET) < 0)
		return w->err = -errno;
	return 0;
}

static int cw_flush(struct clwriter *w)
{
	int rc;

	if (w->len && (rc = fd_write_all(w->fd, w->buf, w->len)) < 0)
		return w->err = rc;
	w->len = 0;
	return 0;
}

int clwriter_add(struct clwriter *w, const uint8_t sha[32], uint32_t len,
		 const uint8_t fp[CHASH_FP_LEN])
{
	uint8_t *p;
	int rc;

	if (w->err)
		return w->err;
	if (w->cap - w->len < CL_ENTRY && (rc = cw_flush(w)) < 0)
		return rc;
	p = w->buf + w->len;
	if (sha)
		memcpy(p, sha, 32);
	else
		memset(p, 0, 32);   /* filled in later (clwriter_fill) */
	memcpy(p + 32, fp, CHASH_FP_LEN);
	be32_put(p + 48, len);
	w->len += CL_ENTRY;
	w->count++;
	w->size += len;
	return 0;
}

int clwriter_commit(struct clwriter *w, const char *path, const uint8_t root[32])
{
	uint8_t hdr[CL_HDR];
	char file[PATH_MAX];
	int rc;

	if (w->err)
		return w->err;
	if ((rc = cw_flush(w)) < 0)
		return rc;
	memcpy(hdr, cl_magic, 8);
	memcpy(hdr + 8, root, 32);
	be64_put(hdr + 40, w->size);
	be64_put(hdr + 48, w->count);
	if (pwrite(w->fd, hdr, CL_HDR, 0) != CL_HDR)
		return -EIO;
	if ((rc = pathstate_file(w->state, PS_DIR_CHUNKS, path, file)) < 0)
		return rc;
	if (rename(w->tmp, file) < 0)
		return -errno;
	w->tmp[0] = '\0';
	return 0;
}

void clwriter_free(struct clwriter *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp[0])
		unlink(w->tmp);
	ctree_builder_free(w->tb);
	free(w->buf);
	free(w);
}

/* ---- filling in the sha256s ---- */

/* Writes the block of entries in buf back (fill). */
static int fill_flush(struct clwriter *w)
{
	size_t n = w->blk_n * CL_ENTRY;

	if (w->blk_n && pwrite(w->fd, w->buf, n, (off_t)(CL_HDR + w->blk_first * CL_ENTRY)) !=
	    (ssize_t)n)
		return w->err = errno ? -errno : -EIO;
	w->blk_n = 0;
	return 0;
}

/* The next entry e (sha256[32], u32 len) of the list being filled. */
static int fill_one(struct clwriter *w, const uint8_t *e)
{
	uint32_t len = be32_get(e + 32);
	uint8_t *p;
	int rc;

	if (w->fill_idx >= w->count)
		return w->err = -EBADMSG;   /* more chunks than the read made */
	if (w->fill_idx >= w->blk_first + w->blk_n) {
		size_t k = w->cap / CL_ENTRY;
		ssize_t got;

		if ((rc = fill_flush(w)) < 0)
			return rc;
		if (k > w->count - w->fill_idx)
			k = (size_t)(w->count - w->fill_idx);
		got = pread(w->fd, w->buf, k * CL_ENTRY, (off_t)(CL_HDR + w->fill_idx * CL_ENTRY));
		if (got != (ssize_t)(k * CL_ENTRY))
			return w->err = got < 0 ? -errno : -EIO;
		w->blk_first = w->fill_idx;
		w->blk_n = k;
	}
	p = w->buf + (w->fill_idx - w->blk_first) * CL_ENTRY;
	if (len != be32_get(p + 48))
		return w->err = -EBADMSG;   /* not the chunks the read made */
	memcpy(p, e, 32);
	w->fill_idx++;
	return (rc = ctree_add(w->tb, e, len)) < 0 ? (w->err = rc) : 0;
}

int clwriter_fill(struct clwriter *w, const void *p, size_t n)
{
	const uint8_t *q = p;
	int rc;

	if (w->err)
		return w->err;
	if (!w->tb) {   /* the first piece: what was added goes to the file first */
		if ((rc = cw_flush(w)) < 0)
			return rc;
		if (!(w->tb = ctree_builder_new(NULL, NULL)))
			return w->err = -ENOMEM;
	}
	while (n) {
		size_t k = n < CL_FILL_ENTRY - w->npart ? n : CL_FILL_ENTRY - w->npart;

		memcpy(w->part + w->npart, q, k);
		w->npart += k;
		q += k;
		n -= k;
		if (w->npart < CL_FILL_ENTRY)
			break;
		w->npart = 0;
		if ((rc = fill_one(w, w->part)) < 0)
			return rc;
	}
	return 0;
}

int clwriter_fill_end(struct clwriter *w, uint8_t root[32])
{
	uint64_t size = 0;
	int rc;

	if (w->err)
		return w->err;
	if (!w->tb || w->npart || w->fill_idx != w->count)
		return w->err = -EBADMSG;
	if ((rc = fill_flush(w)) < 0)
		return rc;
	if ((rc = ctree_finish(w->tb, root, &size)) < 0)
		return w->err = rc;
	return size == w->size ? 0 : (w->err = -EBADMSG);
}

/* ---- reader ---- */

struct clreader {
	int fd;
	uint8_t *buf;
	size_t cap, len, pos;
	uint64_t size, count, seen, sum;
	uint8_t root[32];
};

int clreader_fdopen(int fd, size_t bufsize, struct clreader **out)
{
	struct clreader *r;
	uint8_t hdr[CL_HDR];
	ssize_t n;

	*out = NULL;
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	r->fd = fd;
	r->cap = bufsize < CL_ENTRY ? CL_ENTRY : bufsize;
	if (!(r->buf = malloc(r->cap))) {
		free(r);
		return -ENOMEM;
	}
	n = pread(fd, hdr, CL_HDR, 0);
	if (n != CL_HDR || memcmp(hdr, cl_magic, 8) != 0 || lseek(fd, CL_HDR, SEEK_SET) < 0) {
		free(r->buf);
		free(r);
		return -EBADMSG;
	}
	memcpy(r->root, hdr + 8, 32);
	r->size = be64_get(hdr + 40);
	r->count = be64_get(hdr + 48);
	*out = r;
	return 0;
}

int clreader_open(const char *statedir, const char *path, const uint8_t root[32],
		  size_t bufsize, struct clreader **out)
{
	char file[PATH_MAX];
	int fd, rc;

	*out = NULL;
	if ((rc = pathstate_file(statedir, PS_DIR_CHUNKS, path, file)) < 0)
		return rc;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if ((rc = clreader_fdopen(fd, bufsize, out)) < 0) {
		close(fd);
		return rc;
	}
	if (memcmp((*out)->root, root, 32) != 0) {
		clreader_free(*out);
		*out = NULL;
		return -ENOENT;
	}
	return 0;
}

uint64_t clreader_size(const struct clreader *r)
{
	return r->size;
}

uint64_t clreader_count(const struct clreader *r)
{
	return r->count;
}

int clreader_next(struct clreader *r, struct cl_entry *e)
{
	const uint8_t *p;

	if (r->seen == r->count)
		return r->sum == r->size ? 0 : -EBADMSG;
	if (r->len - r->pos < CL_ENTRY) {
		size_t keep = r->len - r->pos;
		ssize_t n;

		memmove(r->buf, r->buf + r->pos, keep);
		r->len = keep;
		r->pos = 0;
		while (r->len < CL_ENTRY) {
			n = read(r->fd, r->buf + r->len, r->cap - r->len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				return -EBADMSG;
			r->len += (size_t)n;
		}
	}
	p = r->buf + r->pos;
	memcpy(e->sha, p, 32);
	memcpy(e->fp, p + 32, CHASH_FP_LEN);
	e->len = be32_get(p + 48);
	r->pos += CL_ENTRY;
	r->seen++;
	if (e->len == 0 || e->len > CHUNK_MAX || r->sum + e->len > r->size)
		return -EBADMSG;
	r->sum += e->len;
	return 1;
}

int clreader_seek(struct clreader *r, uint64_t index, uint64_t off)
{
	if (index > r->count || off > r->size || index > (UINT64_MAX - CL_HDR) / CL_ENTRY)
		return -EINVAL;
	if (lseek(r->fd, (off_t)(CL_HDR + index * CL_ENTRY), SEEK_SET) < 0)
		return -errno;
	r->len = r->pos = 0;
	r->seen = index;
	r->sum = off;
	return 0;
}

void clreader_free(struct clreader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r);
}

/* ---- splice ---- */

#define SP_RESYNC 1   /* emit's return: the new cut fell on an old boundary */

struct sp {
	struct cl_splice *s;
	struct clwriter *w;
	struct ctree_builder *tb;
	struct cl_entry cur;         /* next old entry not yet copied or skipped */
	uint64_t cur_off;            /* its offset */
	bool have_cur;
	uint64_t old_size;
	uint64_t b;                  /* end of the last chunk put out */
	const struct cl_region *reg; /* s->reg clipped, plus the tail region */
	size_t nreg;
	size_t ri;                   /* first region not yet reached */
	uint64_t dirty_end;          /* end of every region reached */
};

static int sp_out(struct sp *p, const uint8_t sha[32], uint32_t len, const uint8_t fp[CHASH_FP_LEN])
{
	int rc;

	if (p->w && (rc = clwriter_add(p->w, sha, len, fp)) < 0)
		return rc;
	if ((rc = ctree_add(p->tb, sha, len)) < 0)
		return rc;
	p->b += len;
	return 0;
}

static int sp_advance(struct sp *p)
{
	int rc;

	p->cur_off += p->have_cur ? p->cur.len : 0;
	rc = clreader_next(p->s->old, &p->cur);
	p->have_cur = rc == 1;
	return rc < 0 ? rc : 0;
}

/* A new chunk cut by re-chunking. */
static int sp_emit(void *arg, const uint8_t *data, size_t len)
{
	struct sp *p = arg;
	struct cl_splice *s = p->s;
	uint8_t sha[32], fp[CHASH_FP_LEN] = { 0 };
	bool match = false;
	int rc;

	if (s->fp_secret)
		chash_fingerprint(s->fp_secret, data, len, fp);
	if ((rc = ctree_sha256(data, len, sha)) < 0 || (rc = sp_out(p, sha, (uint32_t)len, fp)) < 0)
		return rc;
	s->chunks_new++;
	while (p->ri < p->nreg && p->reg[p->ri].off < p->b) {
		if (p->reg[p->ri].end > p->dirty_end)
			p->dirty_end = p->reg[p->ri].end;
		p->ri++;
	}
	/* From an old boundary past every changed byte, old and new content
	 * are equal up to the next region: so are their chunks. */
	if (p->b < p->dirty_end || p->b >= s->eof_from || p->b >= s->new_size ||
	    p->b >= p->old_size)
		return 0;
	while (p->have_cur && p->cur_off + p->cur.len <= p->b) {
		match = p->cur_off + p->cur.len == p->b;
		if ((rc = sp_advance(p)) < 0)
			return rc;
	}
	return match ? SP_RESYNC : 0;
}

/* Re-chunks from p->cur_off until a resync or the end of the content. */
static int sp_run(struct sp *p, struct chunker *ck, uint8_t *buf, size_t cap)
{
	struct cl_splice *s = p->s;
	uint64_t pos = p->cur_off;
	int rc;

	chunker_reset(ck);
	if (pos > 0) {
		/* Resuming mid-stream: the stream's first bytes decide how it
		 * is cut (FastCDC, or SQLite pages), as on the server. */
		uint8_t head[CHUNK_DETECT_LEN];
		ssize_t h = s->pread(s->arg, head, sizeof(head), 0);

		if (h < 0)
			return (int)h;
		/* not in bytes_read: that counts the bytes handed to s->bytes */
		if ((rc = chunker_set_mode(ck, chunker_detect(head, (size_t)h))) < 0)
			return rc;
	}
	p->b = pos;
	p->dirty_end = pos;
	while (pos < s->new_size) {
		size_t want = s->new_size - pos < cap ? (size_t)(s->new_size - pos) : cap;
		ssize_t n = s->pread(s->arg, buf, want, pos);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EAGAIN;   /* shorter than when we looked: changed */
		s->bytes_read += (uint64_t)n;
		if (s->bytes && (rc = s->bytes(s->arg, pos, buf, (size_t)n)) < 0)
			return rc;
		pos += (uint64_t)n;
		rc = chunker_feed(ck, buf, (size_t)n, sp_emit, p);
		if (rc == SP_RESYNC)
			return 0;
		if (rc)
			return rc;
	}
	if ((rc = chunker_flush(ck, sp_emit, p)) < 0)
		return rc;
	/* the end: nothing of the old list follows */
	p->have_cur = false;
	p->ri = p->nreg;
	return 1;
}

static int sp_body(struct sp *p, struct chunker *ck, uint8_t *buf, size_t cap)
{
	int rc;

	if ((rc = sp_advance(p)) < 0)
		return rc;
	while (p->ri < p->nreg) {
		uint64_t start = p->reg[p->ri].off;

		/* copy the old chunks wholly before the region; the last old
		 * chunk ended at a flush, not a cut: it is always re-chunked */
		while (p->have_cur && p->cur_off + p->cur.len <= start &&
		       p->cur_off + p->cur.len < p->old_size) {
			if ((rc = sp_out(p, p->cur.sha, p->cur.len, p->cur.fp)) < 0 || (rc = sp_advance(p)) < 0)
				return rc;
		}
		if ((rc = sp_run(p, ck, buf, cap)) < 0)
			return rc;
		if (rc == 1)
			return 0;
	}
	while (p->have_cur) {
		if ((rc = sp_out(p, p->cur.sha, p->cur.len, p->cur.fp)) < 0 || (rc = sp_advance(p)) < 0)
			return rc;
	}
	return 0;
}

/* The regions to re-chunk around: the caller's, cut at eof_from, then
 * [eof_from, new_size) (read to the end, no resync). */
static struct cl_region *sp_regions(const struct cl_splice *s, size_t *n)
{
	struct cl_region *r = malloc((s->nreg + 1) * sizeof(*r));
	size_t k = 0;

	if (!r)
		return NULL;
	for (size_t i = 0; i < s->nreg && s->reg[i].off < s->eof_from; i++) {
		r[k] = s->reg[i];
		if (r[k].end > s->eof_from)
			r[k].end = s->eof_from;
		k++;
	}
	if (s->eof_from != UINT64_MAX)
		r[k++] = (struct cl_region){ s->eof_from, s->new_size };
	*n = k;
	return r;
}

int chunklist_splice(struct cl_splice *s, struct clwriter *w)
{
	struct sp p = { .s = s, .w = w };
	size_t cap = s->bufsize ? s->bufsize : CL_BUF;
	struct cl_region *reg = NULL;
	struct chunker *ck = NULL;
	uint8_t *buf = NULL;
	uint64_t total = 0;
	int rc;

	s->bytes_read = 0;
	s->chunks_new = 0;
	p.old_size = clreader_size(s->old);
	if (s->new_size != p.old_size) {
		uint64_t m = s->new_size < p.old_size ? s->new_size : p.old_size;

		if (m < s->eof_from)
			s->eof_from = m;
	}
	if (s->eof_from != UINT64_MAX && s->eof_from > s->new_size)
		return -EINVAL;
	for (size_t i = 0; i < s->nreg; i++)
		if (s->reg[i].end < s->reg[i].off || s->reg[i].end > s->new_size ||
		    (i && s->reg[i].off < s->reg[i - 1].end))
			return -EINVAL;
	if (!(reg = sp_regions(s, &p.nreg)) || !(ck = chunker_new()) || !(buf = malloc(cap)) ||
	    !(p.tb = ctree_builder_new(NULL, NULL))) {
		rc = -ENOMEM;
		goto out;
	}
	p.reg = reg;
	if ((rc = sp_body(&p, ck, buf, cap)) < 0)
		goto out;
	if ((rc = ctree_finish(p.tb, s->root, &total)) < 0)
		goto out;
	if (total != s->new_size)
		rc = -EBADMSG;
out:
	ctree_builder_free(p.tb);
	chunker_free(ck);
	free(buf);
	free(reg);
	return rc;
}
