/* sigderive.c — the librsync signature of a new version from the old
 * signature and the delta just computed, instead of hashing every block of
 * the file again.  A new block lying wholly inside one COPY of the delta,
 * at a block-aligned old offset and with the old block's length, has the
 * old block's bytes, hence its sums; every other block is re-read from the
 * capture and summed by librsync itself (runs of blocks through one sig
 * job).  A small edit thus costs a few blocks, not a BLAKE2 pass over the
 * file.  Delta format: server/store/content_delta.c; signature: 12-byte header
 * (magic, block length, strong length, big-endian), then per block a
 * 4-byte weak sum and VG_RS_STRONG_LEN bytes of strong sum. */
#include "daemon/sigcache.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/rsync_params.h"
#include "common/stage.h"
#include "daemon/pathstate.h"

#define B          VG_RS_BLOCK_LEN
#define ENT        (4 + VG_RS_STRONG_LEN)
#define SIGHDR     12
#define CACHEHDR   32
#define WIN        (64 * 1024)
#define RUN_MAX    (256 * 1024)   /* bytes summed per sig job read */

struct rd {                        /* buffered sequential reader of an fd */
	int fd;
	uint64_t off, end;
	uint8_t buf[WIN];
	size_t len, pos;
};

static int rd_get(struct rd *r, void *out, size_t n)
{
	uint8_t *o = out;

	while (n > 0) {
		if (r->pos == r->len) {
			size_t want = r->end - r->off < WIN ? (size_t)(r->end - r->off) : WIN;
			ssize_t k = want ? pread(r->fd, r->buf, want, (off_t)r->off) : 0;

			if (k <= 0)
				return k < 0 ? -errno : -EBADMSG;
			r->off += (uint64_t)k;
			r->len = (size_t)k;
			r->pos = 0;
		}
		size_t k = r->len - r->pos < n ? r->len - r->pos : n;

		memcpy(o, r->buf + r->pos, k);
		r->pos += k;
		o += k;
		n -= k;
	}
	return 0;
}

static int rd_uint(struct rd *r, size_t w, uint64_t *v)
{
	uint8_t b[8];
	int rc;

	if ((rc = rd_get(r, b, w)) < 0)
		return rc;
	*v = 0;
	for (size_t i = 0; i < w; i++)
		*v = *v << 8 | b[i];
	return 0;
}

struct der {
	int oldfd;                    /* old cache file */
	uint64_t old_size, old_blocks;
	uint8_t win[WIN];             /* window of old entries */
	uint64_t win_first, win_n;
	int newfd;
	uint64_t new_size;
	struct sigwriter *w;
	uint8_t out[WIN];
	struct stage st;              /* out, in front of w */
	uint64_t k;                   /* next new block to emit */
	uint64_t run0;                /* first block of a pending recompute run */
	bool in_run;
	uint8_t *rbuf;
	uint64_t bytes_read;
	size_t hdr_left;
};

static int to_sigwriter(void *arg, const void *p, size_t n)
{
	return sigwriter_feed_raw(arg, p, n);
}

static int out_put(struct der *d, const void *p, size_t n)
{
	return stage_put(&d->st, p, n);
}

static int old_entry(struct der *d, uint64_t j, const uint8_t **e)
{
	if (j < d->win_first || j >= d->win_first + d->win_n) {
		ssize_t k = pread(d->oldfd, d->win, WIN / ENT * ENT,
				  (off_t)(CACHEHDR + SIGHDR + j * ENT));

		if (k < ENT)
			return k < 0 ? -errno : -EBADMSG;
		d->win_first = j;
		d->win_n = (uint64_t)k / ENT;
	}
	*e = d->win + (j - d->win_first) * ENT;
	return 0;
}

static uint64_t blen(uint64_t size, uint64_t j)
{
	return size - j * B < B ? size - j * B : B;
}

/* sig job output: drop its 12-byte header, keep the entries */
static int job_out(void *arg, const void *p, size_t n)
{
	struct der *d = arg;
	const uint8_t *q = p;

	if (d->hdr_left) {
		size_t k = n < d->hdr_left ? n : d->hdr_left;

		d->hdr_left -= k;
		q += k;
		n -= k;
	}
	return n ? out_put(d, q, n) : 0;
}

/* Sums blocks [run0, k) from the new content. */
static int flush_run(struct der *d)
{
	uint64_t off = d->run0 * B, end = d->k * B < d->new_size ? d->k * B : d->new_size;
	struct rsstream *s;
	int rc = 0;

	if (!d->in_run)
		return 0;
	d->in_run = false;
	d->hdr_left = SIGHDR;
	if (!(s = rsstream_new(rs_sig_begin(B, VG_RS_STRONG_LEN, VG_RS_SIG_MAGIC), 0, job_out, d)))
		return -ENOMEM;
	while (off < end && rc == 0) {
		size_t want = end - off < RUN_MAX ? (size_t)(end - off) : RUN_MAX;
		ssize_t n = pread(d->newfd, d->rbuf, want, (off_t)off);

		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		d->bytes_read += (uint64_t)n;
		rc = rsstream_feed(s, d->rbuf, (size_t)n);
		off += (uint64_t)n;
	}
	if (rc == 0)
		rc = rsstream_finish(s);
	rsstream_free(s);
	return rc;
}

/* Emits every new block ending at or before pos + len of a command that
 * starts at pos; copy_off is the old offset of pos (UINT64_MAX: literal). */
static int emit_blocks(struct der *d, uint64_t pos, uint64_t len, uint64_t copy_off)
{
	const uint8_t *e = NULL;
	int rc;

	while (d->k * B < d->new_size && d->k * B + blen(d->new_size, d->k) <= pos + len) {
		uint64_t s = d->k * B, n = blen(d->new_size, d->k), o = 0;
		bool reuse = false;

		if (copy_off != UINT64_MAX && s >= pos) {
			o = copy_off + (s - pos);
			reuse = o % B == 0 && o / B < d->old_blocks && blen(d->old_size, o / B) == n;
		}
		if (reuse) {
			if ((rc = flush_run(d)) < 0 || (rc = old_entry(d, o / B, &e)) < 0 ||
			    (rc = out_put(d, e, ENT)) < 0)
				return rc;
		} else if (!d->in_run) {
			d->in_run = true;
			d->run0 = d->k;
		}
		d->k++;
	}
	return 0;
}

static int walk_delta(struct der *d, struct rd *r)
{
	uint64_t pos = 0, a, b, magic;
	uint8_t op;
	int rc;

	if ((rc = rd_uint(r, 4, &magic)) < 0)
		return rc;
	if (magic != RS_DELTA_MAGIC)
		return -EBADMSG;
	for (;;) {
		if ((rc = rd_get(r, &op, 1)) < 0)
			return rc;
		if (op == 0)
			break;
		if (op <= 0x44) {
			if (op <= 0x40)
				a = op;
			else if ((rc = rd_uint(r, (size_t)1 << (op - 0x41), &a)) < 0)
				return rc;
			/* skip the literal bytes */
			while (a > 0) {
				uint8_t tmp[4096];
				size_t k = a < sizeof(tmp) ? (size_t)a : sizeof(tmp);

				if ((rc = rd_get(r, tmp, k)) < 0)
					return rc;
				a -= k;
				if ((rc = emit_blocks(d, pos, k, UINT64_MAX)) < 0)
					return rc;
				pos += k;
			}
			continue;
		}
		if (op > 0x54)
			return -EBADMSG;
		if ((rc = rd_uint(r, (size_t)1 << ((op - 0x45) / 4), &a)) < 0 ||
		    (rc = rd_uint(r, (size_t)1 << ((op - 0x45) % 4), &b)) < 0)
			return rc;
		if (b > d->new_size - pos)
			return -EBADMSG;
		if ((rc = emit_blocks(d, pos, b, a)) < 0)
			return rc;
		pos += b;
	}
	return pos == d->new_size ? 0 : -EBADMSG;
}

int sigcache_derive(const char *statedir, const char *path, const uint8_t old_key[32],
		    uint64_t old_size, int deltafd, uint64_t dsize, int newfd, uint64_t new_size,
		    const uint8_t new_key[32], uint64_t *bytes_read)
{
	struct der *d = calloc(1, sizeof(*d));
	struct rd *r = calloc(1, sizeof(*r));
	uint8_t hdr[CACHEHDR + SIGHDR];
	char file[PATH_MAX];
	struct stat st;
	int rc = -EBADMSG;

	if (!d || !r || !(d->rbuf = malloc(RUN_MAX))) {
		rc = -ENOMEM;
		goto out;
	}
	d->oldfd = -1;
	if ((rc = pathstate_file(statedir, PS_DIR_SIGS, path, file)) < 0)
		goto out;
	if ((d->oldfd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		goto out;
	}
	rc = -EBADMSG;
	if (pread(d->oldfd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    memcmp(hdr, old_key, 32) != 0 || fstat(d->oldfd, &st) < 0 ||
	    hdr[CACHEHDR + 6] != (B >> 8) || hdr[CACHEHDR + 11] != VG_RS_STRONG_LEN)
		goto out;
	d->old_size = old_size;
	d->old_blocks = ((uint64_t)st.st_size - sizeof(hdr)) / ENT;
	if (d->old_blocks != (old_size + B - 1) / B)
		goto out;
	d->newfd = newfd;
	d->new_size = new_size;
	if ((rc = sigwriter_new(statedir, &d->w)) < 0)
		goto out;
	d->st = (struct stage){ .buf = d->out, .cap = WIN, .sink = to_sigwriter, .arg = d->w };
	if ((rc = out_put(d, hdr + CACHEHDR, SIGHDR)) < 0)
		goto out;
	*r = (struct rd){ .fd = deltafd, .end = dsize };
	if ((rc = walk_delta(d, r)) < 0)
		goto out;
	if (d->k * B < new_size) {   /* the short last block */
		if (!d->in_run) {
			d->in_run = true;
			d->run0 = d->k;
		}
		d->k++;
	}
	if ((rc = flush_run(d)) < 0)
		goto out;
	if ((rc = stage_flush(&d->st)) < 0)
		goto out;
	rc = sigwriter_commit_raw(d->w, path, new_key);
out:
	if (d) {
		if (bytes_read)
			*bytes_read = d->bytes_read;
		if (d->oldfd >= 0)
			close(d->oldfd);
		sigwriter_free(d->w);
		free(d->rbuf);
	}
	free(d);
	free(r);
	return rc;
}
