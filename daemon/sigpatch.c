/* sigpatch.c — the cached librsync signature kept in step with a RANGES
 * ship, so that the next edit no range set covers (a restart, mmap, a
 * rescan, fanotify) still goes by delta.  Signature records are fixed size
 * (a 4-byte weak sum and VG_RS_STRONG_LEN bytes of strong sum per
 * VG_RS_BLOCK_LEN-byte block, common/rsync_params.h), so the new version's
 * signature is the old one with the records of the blocks the ranges
 * touched summed again from the file, those past the new end cut off, and
 * the key (chunk-tree root) replaced.  The sums are made while the ranges
 * ship has the file open (before its consistency check), held in an
 * anonymous temp file, and written over the cache only once the server
 * holds the version (sigpatch_apply).  The cache is not fsynced (as
 * sigcache.c): the key is zeroed first and written last, and a signature
 * that is wrong anyway could only cost a delta the server refuses (tree
 * root check), then a WHOLE. */
#include "daemon/sigcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/fdio.h"
#include "common/rsync_params.h"
#include "common/stage.h"
#include "daemon/pathstate.h"

#define B          VG_RS_BLOCK_LEN
#define ENT        (4 + VG_RS_STRONG_LEN)
#define SIGHDR     12
#define CACHEHDR   32
#define BUF        (64 * 1024)

struct sp_run {
	uint64_t first, n;       /* blocks */
};

struct sigpatch {
	int fd;                  /* the runs' records, in order */
	struct sp_run *run;
	size_t nrun;
	uint64_t new_size, bytes_read, skip;
	struct stage st;         /* in front of fd */
	uint8_t *buf;            /* BUF: reads of the file, then the stage's */
};

static uint64_t nblocks(uint64_t size)
{
	return (size + B - 1) / B;
}

void sigpatch_free(struct sigpatch *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	free(p->run);
	free(p->st.buf);
	free(p->buf);
	free(p);
}

uint64_t sigpatch_bytes_read(const struct sigpatch *p)
{
	return p ? p->bytes_read : 0;
}

/* Adds blocks [first, end) to the runs (kept sorted and merged). */
static int add_run(struct sigpatch *p, uint64_t first, uint64_t end)
{
	struct sp_run *last = p->nrun ? &p->run[p->nrun - 1] : NULL;

	if (first >= end)
		return 0;
	if (last && first < last->first)
		return -EINVAL;              /* ranges out of order */
	if (last && first <= last->first + last->n) {
		if (end > last->first + last->n)
			last->n = end - last->first;
		return 0;
	}
	p->run[p->nrun++] = (struct sp_run){ first, end - first };
	return 0;
}

static int to_fd(void *arg, const void *q, size_t n)
{
	return fd_write_all(*(int *)arg, q, n);
}

/* sig job output: its 12-byte header dropped, the records kept */
static int job_out(void *arg, const void *q, size_t n)
{
	struct sigpatch *p = arg;
	const uint8_t *c = q;
	size_t k = n < p->skip ? n : (size_t)p->skip;

	p->skip -= k;
	return n > k ? stage_put(&p->st, c + k, n - k) : 0;
}

/* Sums run r's blocks from the file. */
static int sum_run(struct sigpatch *p, int fd, const struct sp_run *r)
{
	uint64_t off = r->first * B, end = (r->first + r->n) * B;
	struct rsstream *s;
	int rc = 0;

	if (end > p->new_size)
		end = p->new_size;
	p->skip = SIGHDR;
	if (!(s = rsstream_new(rs_sig_begin(B, VG_RS_STRONG_LEN, VG_RS_SIG_MAGIC), 0, job_out, p)))
		return -ENOMEM;
	while (off < end && rc == 0) {
		size_t want = end - off < BUF ? (size_t)(end - off) : BUF;
		ssize_t n = pread(fd, p->buf, want, (off_t)off);

		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		p->bytes_read += (uint64_t)n;
		off += (uint64_t)n;
		rc = rsstream_feed(s, p->buf, (size_t)n);
	}
	if (rc == 0)
		rc = rsstream_finish(s);
	rsstream_free(s);
	return rc;
}

/* The runs: blocks holding a changed byte, and every block from the first
 * byte the size change (or eof_from) touched to the new end. */
static int plan_runs(struct sigpatch *p, uint64_t old_size, const struct sigpatch_range *r,
		     size_t n, uint64_t eof_from)
{
	uint64_t tail = eof_from;
	int rc;

	if (!(p->run = calloc(n + 1, sizeof(*p->run))))
		return -ENOMEM;
	if (old_size != p->new_size && old_size < tail)
		tail = old_size;     /* the old last block changes length */
	for (size_t i = 0; i < n; i++) {
		uint64_t a = r[i].off, z = r[i].end < p->new_size ? r[i].end : p->new_size;

		if (a < z && a < tail && (rc = add_run(p, a / B, (z - 1) / B + 1)) < 0)
			return rc;
	}
	/* from the block holding tail: a shrink off the grid changes the
	 * length of the new last block even with no byte written */
	if (tail != UINT64_MAX)
		return add_run(p, (tail < p->new_size ? tail : p->new_size) / B,
			       nblocks(p->new_size));
	return 0;
}

int sigpatch_build(const char *tmpdir, int fd, uint64_t old_size, uint64_t new_size,
		   const struct sigpatch_range *r, size_t n, uint64_t eof_from,
		   struct sigpatch **out)
{
	struct sigpatch *p = calloc(1, sizeof(*p));
	int rc = -ENOMEM;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->new_size = new_size;
	p->fd = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (p->fd < 0) {
		rc = -errno;
		goto out;
	}
	p->st = (struct stage){ .buf = malloc(BUF), .cap = BUF, .sink = to_fd, .arg = &p->fd };
	if (!p->st.buf || !(p->buf = malloc(BUF)))
		goto out;
	if ((rc = plan_runs(p, old_size, r, n, eof_from)) < 0)
		goto out;
	for (size_t i = 0; i < p->nrun && rc == 0; i++)
		rc = sum_run(p, fd, &p->run[i]);
	if (rc == 0)
		rc = stage_flush(&p->st);
out:
	if (rc < 0)
		sigpatch_free(p);
	else
		*out = p;
	return rc;
}

/* Copies each run's records from the patch into the cache file. */
static int write_runs(const struct sigpatch *p, int cfd)
{
	uint64_t from = 0;

	for (size_t i = 0; i < p->nrun; i++) {
		uint64_t left = p->run[i].n * ENT, at = CACHEHDR + SIGHDR + p->run[i].first * ENT;

		while (left > 0) {
			size_t k = left < BUF / ENT * ENT ? (size_t)left : BUF / ENT * ENT;

			if (pread(p->fd, p->buf, k, (off_t)from) != (ssize_t)k)
				return -EIO;
			if (fd_pwrite_all(cfd, p->buf, k, at) < 0)
				return -EIO;
			from += k;
			at += k;
			left -= k;
		}
	}
	return 0;
}

int sigpatch_apply(const struct sigpatch *p, const char *statedir, const char *path,
		   const uint8_t old_key[32], uint64_t old_size, const uint8_t new_key[32])
{
	static const uint8_t zero[32];
	uint8_t hdr[CACHEHDR + SIGHDR];
	char file[PATH_MAX];
	struct stat st;
	int cfd, rc;

	if ((rc = pathstate_file(statedir, PS_DIR_SIGS, path, file)) < 0)
		return rc;
	if ((cfd = open(file, O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	rc = -EBADMSG;
	if (pread(cfd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    memcmp(hdr, old_key, 32) != 0 || fstat(cfd, &st) < 0 ||
	    hdr[CACHEHDR + 6] != (B >> 8) || hdr[CACHEHDR + 11] != VG_RS_STRONG_LEN ||
	    (uint64_t)st.st_size != sizeof(hdr) + nblocks(old_size) * ENT)
		goto out;
	rc = -EIO;
	if (fd_pwrite_all(cfd, zero, 32, 0) < 0 || write_runs(p, cfd) < 0 ||
	    ftruncate(cfd, (off_t)(sizeof(hdr) + nblocks(p->new_size) * ENT)) < 0 ||
	    fd_pwrite_all(cfd, new_key, 32, 0) < 0)
		goto out;
	rc = 0;
out:
	close(cfd);
	return rc;
}
