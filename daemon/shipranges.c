/* shipranges.c — PUT_RANGES: a file whose every write since its shipped
 * version is known by range.  Reads only the re-chunking windows around
 * the ranges (chunklist_splice), writes the body {u64 off, u32 len, bytes}*
 * to an anonymous temp file on the way, sends the new chunk-tree root in
 * the header; the server rebuilds base + ranges and must reach that root.
 * Anything unusual returns -ENOTSUP and the caller takes the delta path. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/stage.h"
#include "daemon/capture.h"
#include "daemon/chunklist.h"
#include "daemon/rootwalk.h"
#include "daemon/ship_int.h"

#define REC_MAX       (1u << 20)       /* server: VRANGES_LEN_MAX */
#define BODY_BUF      (64 * 1024)

struct rec {
	uint64_t off, len;
};

/* The body writer, fed by the splice with the bytes it reads. */
struct body {
	int fd;
	struct rec *rec;
	size_t nrec, k;
	uint64_t done;               /* bytes of rec[k] written */
	uint64_t size;               /* body bytes */
	struct stage st;             /* in front of fd, BODY_BUF bytes */
	int filefd;                  /* the file, for the splice's reads */
};

static int body_sink(void *arg, const void *p, size_t n)
{
	return fd_write_all(((struct body *)arg)->fd, p, n);
}

static int body_put(struct body *b, const void *p, size_t n)
{
	b->size += n;
	return stage_put(&b->st, p, n);
}

static int body_flush(struct body *b)
{
	int rc = stage_flush(&b->st);

	if (rc < 0)
		return rc;
	return lseek(b->fd, 0, SEEK_SET) < 0 ? -errno : 0;
}

/* Bytes [off, off+n) of the new content pass by (possibly again). */
static int body_bytes(void *arg, uint64_t off, const uint8_t *p, size_t n)
{
	struct body *b = arg;
	int rc;

	while (b->k < b->nrec) {
		const struct rec *r = &b->rec[b->k];
		uint64_t want = r->off + b->done, take;
		uint8_t hdr[12];

		if (want < off || want >= off + n)
			return want < off ? -EIO : 0;
		if (b->done == 0) {
			for (int i = 0; i < 8; i++)
				hdr[i] = (uint8_t)(r->off >> (56 - 8 * i));
			for (int i = 0; i < 4; i++)
				hdr[8 + i] = (uint8_t)(r->len >> (24 - 8 * i));
			if ((rc = body_put(b, hdr, sizeof(hdr))) < 0)
				return rc;
		}
		take = r->off + r->len < off + n ? r->off + r->len - want : off + n - want;
		if ((rc = body_put(b, p + (want - off), (size_t)take)) < 0)
			return rc;
		b->done += take;
		if (b->done == r->len) {
			b->k++;
			b->done = 0;
		}
	}
	return 0;
}

static ssize_t file_pread(void *arg, void *buf, size_t n, uint64_t off)
{
	struct body *b = arg;
	ssize_t r;

	do
		r = pread(b->filefd, buf, n, (off_t)off);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/* Regions to re-chunk (clipped to the new size) and the body's records
 * (regions plus the rewritten tail, cut to REC_MAX).  Returns the bytes
 * the records carry, or -ENOMEM. */
static int64_t plan_regions(const struct rangeset *rs, uint64_t new_size, uint64_t eof_from,
			    struct cl_region *reg, size_t *nreg, struct rec **recp, size_t *nrec)
{
	uint64_t total = 0, n = 0;
	struct rec *rec;
	size_t k = 0;

	*nreg = 0;
	for (size_t i = 0; i < rs->n; i++) {
		uint64_t a = rs->r[i].off, z = a + rs->r[i].len;

		if (a >= new_size)
			break;
		reg[(*nreg)++] = (struct cl_region){ a, z < new_size ? z : new_size };
	}
	for (size_t i = 0; i < *nreg; i++)
		n += (reg[i].end - reg[i].off) / REC_MAX + 1;
	if (eof_from < new_size)
		n += (new_size - eof_from) / REC_MAX + 1;
	if (n > (1u << 20) || !(rec = malloc((n + 1) * sizeof(*rec))))
		return -ENOMEM;
	for (size_t i = 0; i < *nreg; i++) {
		uint64_t a = reg[i].off, z = reg[i].end < eof_from ? reg[i].end : eof_from;

		for (; a < z; a += REC_MAX) {
			rec[k] = (struct rec){ a, z - a < REC_MAX ? z - a : REC_MAX };
			total += rec[k++].len;
		}
	}
	for (uint64_t a = eof_from; a < new_size; a += REC_MAX) {
		rec[k] = (struct rec){ a, new_size - a < REC_MAX ? new_size - a : REC_MAX };
		total += rec[k++].len;
	}
	*recp = rec;
	*nrec = k;
	return (int64_t)total;
}

static bool same_state(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_ino == b->st_ino &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

struct rship {
	struct cl_splice s;
	struct body b;
	struct clwriter *w;
	struct clreader *old;
	struct cl_region reg[RANGETAB_RANGES];
	size_t nreg;
	uint64_t eof_from;
	struct stat before, after;
	int64_t capture_ns;
};

/* Reads the windows, builds the body and the new list.  0 or -ENOTSUP. */
static int rs_build(struct shipper *sh, const char *path, const struct shipped *cur,
		    const struct rangeset *rs, struct rship *x)
{
	uint64_t new_size = (uint64_t)x->before.st_size, eof_from = UINT64_MAX, t;
	int64_t carried;
	int rc;

	if (!sh->fp_ok || clreader_open(sh->o.statedir, path, cur->root, CL_BUF, &x->old) < 0 ||
	    clreader_size(x->old) != cur->size)
		return -ENOTSUP;
	t = rs->min_size < cur->size ? rs->min_size : cur->size;
	if (new_size < t)
		t = new_size;
	if (t < cur->size || new_size != cur->size)
		eof_from = t;
	x->eof_from = eof_from;
	carried = plan_regions(rs, new_size, eof_from, x->reg, &x->nreg, &x->b.rec, &x->b.nrec);
	if (carried < 0)
		return -ENOTSUP;
	/* a near rewrite is cheaper as a delta than read through windows */
	if ((uint64_t)carried > new_size / 2 + CL_BUF)
		return -ENOTSUP;
	x->b.st = (struct stage){ .buf = malloc(BODY_BUF), .cap = BODY_BUF, .sink = body_sink,
				  .arg = &x->b };
	if (!x->b.st.buf || clwriter_new(sh->o.statedir, CL_BUF, &x->w) < 0)
		return -ENOTSUP;
	if ((x->b.fd = open(sh->tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0)
		return -ENOTSUP;
	x->s = (struct cl_splice){ .old = x->old, .new_size = new_size, .reg = x->reg,
				   .nreg = x->nreg, .eof_from = eof_from, .pread = file_pread,
				   .bytes = body_bytes, .arg = &x->b, .fp_secret = sh->fp_secret };
	x->capture_ns = real_ns();
	rc = chunklist_splice(&x->s, x->w);
	ctr_add(sh->o.ctr, CTR_BYTES_READ, x->s.bytes_read);
	if (rc < 0 || x->b.k != x->b.nrec || body_flush(&x->b) < 0) {
		log_debug("%s: ranges: %s; taking the delta path", path,
			  rc < 0 ? strerror(-rc) : "body incomplete");
		return -ENOTSUP;
	}
	if (fstat(x->b.filefd, &x->after) < 0 || !same_state(&x->before, &x->after))
		return -ENOTSUP;   /* written meanwhile: the capture path copes */
	log_debug("%s: ranges: %zu region(s), read %llu bytes, %llu new chunks, body %llu",
		  path, x->nreg, (unsigned long long)x->s.bytes_read,
		  (unsigned long long)x->s.chunks_new, (unsigned long long)x->b.size);
	return 0;
}

/* After PUT_DONE: the server's sha256 of the version, which we could not
 * compute.  The server computes it in the background (docs/index.md), so
 * it is usually still pending: all zeros, kept as such; the capture path
 * then compares by chunk-tree root (shipcontent.c same_content), so an
 * unchanged file is never shipped again for want of a sha256. */
static void learn_sha(struct shipper *sh, const char *path, uint64_t version)
{
	struct vg_entry *e = malloc(sizeof(*e));

	if (e && putio_latest(sh->mux, path, e, 10000) == 0 && e->version == version)
		memcpy(sh->put->e.sha256, e->sha256, 32);
	free(e);
}

int ship_ranges(struct shipper *sh, const struct qitem *q, const struct stat *st,
		const struct shipped *cur, const struct rangeset *rs)
{
	struct rship *x = calloc(1, sizeof(*x));
	struct put_body body;
	struct ship_read r;
	enum ship_kind kind;
	struct vg_put *p = sh->put;
	uint64_t version = 0;
	int rc = -ENOTSUP;

	if (!x)
		return -ENOTSUP;
	x->b.fd = -1;
	x->b.filefd = ship_root_of(sh, q->path) ?
		      rootwalk_open(ship_root_of(sh, q->path), q->path, O_RDONLY, RW_REG) : -EXDEV;
	if (x->b.filefd < 0 || fstat(x->b.filefd, &x->before) < 0 ||
	    !S_ISREG(x->before.st_mode) || x->before.st_ino != cur->ino ||
	    x->before.st_dev != cur->dev || capture_is_sqlite(x->b.filefd))
		goto out;
	if ((rc = rs_build(sh, q->path, cur, rs, x)) < 0)
		goto out;
	/* the read computed no sha256: size and root tell the same content;
	 * a moved ctime alone never ships here (xattrs: false) */
	r = (struct ship_read){ .st = &x->after, .size = (uint64_t)x->after.st_size,
				.root = x->s.root, .built = SHIP_RANGES };
	if ((kind = ship_plan_read(cur, &r)) == SHIP_NONE) {
		rc = ship_keep(sh, q, &x->after, cur, x->capture_ns);
		goto out;
	}
	memset(p, 0, sizeof(*p));
	ship_entry_from_stat(&p->e, q->path, &x->after);
	memcpy(p->e.tree_root, x->s.root, 32);
	p->e.capture_ns = ship_next_capture(sh, x->capture_ns);
	p->base_version = cur->version;
	if (kind == SHIP_META)
		memcpy(p->e.sha256, cur->sha256, 32);
	/* RANGES: sha256 unknown, zero: the server computes it */
	p->body = kind == SHIP_META ? PUT_META : PUT_RANGES;
	body = (struct put_body){ .fd = p->body == PUT_RANGES ? x->b.fd : -1, .size = x->b.size };
	if ((rc = ship_send_put(sh, &body, &version)) < 0) {
		rc = ship_finish_put(sh, rc, q->path);
		goto out;
	}
	if (p->body == PUT_RANGES)
		learn_sha(sh, q->path, version);
	if ((rc = ship_commit(sh, q, &x->after, version)) < 0)
		goto out;
	/* the list now describes the new version (a META leaves the
	 * content, hence the list, as it was) */
	if (clwriter_commit(x->w, q->path, x->s.root) < 0)
		pathstate_drop(&sh->ps, q->path, PS_CHUNKS);
out:
	if (x->b.filefd >= 0)
		close(x->b.filefd);
	if (x->b.fd >= 0)
		close(x->b.fd);
	clreader_free(x->old);
	clwriter_free(x->w);
	free(x->b.rec);
	free(x->b.st.buf);
	free(x);
	return rc;
}
