/* sigcache.c — signature cache of shipped versions and streaming librsync
 * jobs (rs_job_iter with bounded buffers; the jobs never do I/O).
 *
 * A signature is written as it streams out of librsync (it grows with the
 * file: ~0.4% of it), so it cannot go through common/fdio's
 * file_write_atomic, which takes the whole buffer.  It keeps that helper's
 * safety: an O_EXCL random temp name (mkostemp) in STATE/sigs (0700),
 * renamed over the final name; it is not fsynced, being a cache a lost
 * entry of which only costs a whole upload instead of a delta. */
#include "daemon/sigcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/fdio.h"
#include "common/chunktree.h"
#include "common/log.h"
#include "common/rsync_params.h"
#include "daemon/pathstate.h"

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

void sigcache_quiet_librsync(void)
{
	rs_trace_to(rs_log);
}

/* ---- the cache ---- */

static int loadsig_out(void *arg, const void *p, size_t n)
{
	(void)arg; (void)p; (void)n;
	return 0;
}

bool sigcache_has(const char *statedir, const char *path, const uint8_t key[32])
{
	char file[PATH_MAX];
	uint8_t hdr[32];
	bool has;
	int fd;

	if (pathstate_file(statedir, PS_DIR_SIGS, path, file) < 0 ||
	    (fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	has = read(fd, hdr, 32) == 32 && memcmp(hdr, key, 32) == 0;
	close(fd);
	return has;
}

int sigcache_load(const char *statedir, const char *path, const uint8_t key[32],
		  rs_signature_t **out)
{
	char file[PATH_MAX];
	uint8_t hdr[32], buf[65536];
	struct rsstream *s = NULL;
	rs_signature_t *sig = NULL;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	if ((rc = pathstate_file(statedir, PS_DIR_SIGS, path, file)) < 0)
		return rc;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if (read(fd, hdr, 32) != 32 || memcmp(hdr, key, 32) != 0) {
		rc = -ENOENT;
		goto out;
	}
	if (!(s = rsstream_new(rs_loadsig_begin(&sig), 0, loadsig_out, NULL))) {
		rc = -ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if ((rc = rsstream_feed(s, buf, (size_t)n)) < 0)
			goto out;
	if (n < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = rsstream_finish(s)) < 0)
		goto out;
	if (rs_build_hash_table(sig) != RS_DONE) {
		rc = -EBADMSG;
		goto out;
	}
	*out = sig;
	sig = NULL;
out:
	rsstream_free(s);
	if (sig)
		rs_free_sumset(sig);
	close(fd);
	return rc;
}

int sigcache_rekey(const char *statedir, const char *path, const uint8_t old[32],
		   const uint8_t key[32])
{
	char file[PATH_MAX];
	uint8_t hdr[32];
	int fd, rc;

	if ((rc = pathstate_file(statedir, PS_DIR_SIGS, path, file)) < 0)
		return rc;
	if ((fd = open(file, O_RDWR | O_CLOEXEC)) < 0)
		return -ENOENT;
	rc = -ENOENT;
	if (pread(fd, hdr, 32, 0) == 32 && memcmp(hdr, old, 32) == 0)
		rc = pwrite(fd, key, 32, 0) == 32 ? 0 : -EIO;
	close(fd);
	return rc;
}

/* ---- writing signatures ---- */

struct sigwriter {
	char state[PATH_MAX];
	char dir[PATH_MAX];
	char tmp[PATH_MAX];
	int fd;
	struct rsstream *s;
};

static int fd_write(void *arg, const void *p, size_t n)
{
	return fd_write_all(*(int *)arg, p, n);
}

int sigwriter_new(const char *statedir, struct sigwriter **out)
{
	struct sigwriter *w;

	*out = NULL;
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	w->fd = -1;
	snprintf(w->state, sizeof(w->state), "%s", statedir);
	if (snprintf(w->dir, sizeof(w->dir), "%s/" PS_DIR_SIGS, statedir) >= (int)sizeof(w->dir) ||
	    snprintf(w->tmp, sizeof(w->tmp), "%s/.new-XXXXXX", w->dir) >= (int)sizeof(w->tmp)) {
		free(w);
		return -ENAMETOOLONG;
	}
	mkdir(w->dir, 0700);
	if ((w->fd = mkostemp(w->tmp, O_CLOEXEC)) < 0) {
		int rc = -errno;

		free(w);
		return rc;
	}
	*out = w;
	return sigwriter_reset(w);
}

int sigwriter_reset(struct sigwriter *w)
{
	static const uint8_t zero[32];

	rsstream_free(w->s);
	w->s = NULL;
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return -errno;
	if (fd_write(&w->fd, zero, 32) < 0)   /* header, filled at commit */
		return -EIO;
	w->s = rsstream_new(rs_sig_begin(VG_RS_BLOCK_LEN, VG_RS_STRONG_LEN, VG_RS_SIG_MAGIC),
			    0, fd_write, &w->fd);
	return w->s ? 0 : -ENOMEM;
}

int sigwriter_feed(struct sigwriter *w, const void *p, size_t n)
{
	return w->s ? rsstream_feed(w->s, p, n) : -ENOMEM;
}

int sigwriter_feed_raw(struct sigwriter *w, const void *p, size_t n)
{
	return fd_write(&w->fd, p, n);
}

int sigwriter_commit_raw(struct sigwriter *w, const char *path, const uint8_t key[32])
{
	char file[PATH_MAX];
	int rc;

	if (pwrite(w->fd, key, 32, 0) != 32)
		return -errno;
	if ((rc = pathstate_file(w->state, PS_DIR_SIGS, path, file)) < 0)
		return rc;
	if (rename(w->tmp, file) < 0)
		return -errno;
	w->tmp[0] = '\0';
	return 0;
}

int sigwriter_commit(struct sigwriter *w, const char *path, const uint8_t key[32])
{
	int rc;

	if (!w->s)
		return -ENOMEM;
	if ((rc = rsstream_finish(w->s)) < 0)
		return rc;
	return sigwriter_commit_raw(w, path, key);
}

void sigwriter_free(struct sigwriter *w)
{
	if (!w)
		return;
	rsstream_free(w->s);
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp[0])
		unlink(w->tmp);
	free(w);
}

/* ---- deltas ---- */

struct deltawriter {
	rs_signature_t *sig;     /* borrowed */
	size_t outcap;
	char tmp[PATH_MAX];
	int fd;
	uint64_t size;
	struct rsstream *s;
};

static int delta_out(void *arg, const void *p, size_t n)
{
	struct deltawriter *d = arg;

	d->size += n;
	return fd_write(&d->fd, p, n);
}

int deltawriter_new(const char *tmpdir, rs_signature_t *sig, size_t outcap,
		    struct deltawriter **out)
{
	struct deltawriter *d;

	*out = NULL;
	if (!(d = calloc(1, sizeof(*d))))
		return -ENOMEM;
	d->sig = sig;
	d->outcap = outcap;
	if (snprintf(d->tmp, sizeof(d->tmp), "%s/delta-XXXXXX", tmpdir) >= (int)sizeof(d->tmp)) {
		free(d);
		return -ENAMETOOLONG;
	}
	if ((d->fd = mkostemp(d->tmp, O_CLOEXEC)) < 0) {
		int rc = -errno;

		free(d);
		return rc;
	}
	unlink(d->tmp);   /* anonymous: nothing to clean after a crash */
	d->tmp[0] = '\0';
	*out = d;
	return deltawriter_reset(d);
}

int deltawriter_reset(struct deltawriter *d)
{
	rsstream_free(d->s);
	d->size = 0;
	if (ftruncate(d->fd, 0) < 0 || lseek(d->fd, 0, SEEK_SET) < 0)
		return -errno;
	d->s = rsstream_new(rs_delta_begin(d->sig), d->outcap, delta_out, d);
	return d->s ? 0 : -ENOMEM;
}

int deltawriter_feed(struct deltawriter *d, const void *p, size_t n)
{
	return d->s ? rsstream_feed(d->s, p, n) : -ENOMEM;
}

int deltawriter_finish(struct deltawriter *d, int *fd, uint64_t *size)
{
	int rc;

	if (!d->s)
		return -ENOMEM;
	if ((rc = rsstream_finish(d->s)) < 0)
		return rc;
	if (lseek(d->fd, 0, SEEK_SET) < 0)
		return -errno;
	*fd = d->fd;
	*size = d->size;
	return 0;
}

void deltawriter_free(struct deltawriter *d)
{
	if (!d)
		return;
	rsstream_free(d->s);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}
