/* read.c — file reads for the mount (see read.h).
 *
 * A read copies from cached blocks, fetching a missing block in the calling
 * FUSE thread.  When reads of a file look sequential, the blocks after the
 * current one are reserved in the cache and queued for the readahead
 * workers, consecutive ones in runs of up to MREAD_RUN blocks that one
 * request fetches (fewer requests, so less of the server's per-request
 * work: the version's lookup and tree descent); the window doubles
 * (2 .. MREAD_RA_MAX blocks) while the pattern holds and collapses on a
 * jump.  A reserved block that a reader wants waits for its worker instead
 * of being fetched twice. */
#include "controller/mount/read.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "common/log.h"

struct rjob {
	struct mblock *b[MREAD_RUN]; /* reserved, LOADING: blocks key.block, key.block + 1... */
	unsigned nb;
	struct mcache_key key;
	char *path;
	uint64_t version, size;
};

struct mread {
	struct mconn *mc;
	const char *dev;
	struct mcache *cache;
	size_t block;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct rjob q[MREAD_QUEUE_MAX];
	size_t qhead, qlen;
	bool stop;
	int nworkers;
	pthread_t *workers;
};

struct fill_ctx {
	struct mread *rd;
	const char *path;
	uint64_t version, size;
};

/* mcache_fill_fn: one MSG_CTL_READ for the whole block. */
static ssize_t fill_block(void *arg, const struct mcache_key *k, uint8_t *dst, size_t cap)
{
	struct fill_ctx *fc = arg;
	uint64_t off = k->block * fc->rd->block;
	size_t want;
	ssize_t n;

	if (off >= fc->size)
		return 0;
	want = fc->size - off < cap ? (size_t)(fc->size - off) : cap;
	n = mconn_read(fc->rd->mc, fc->rd->dev, fc->path, fc->version, off, want, dst);
	if (n >= 0 && (size_t)n != want)
		n = -EIO;   /* the server's content is shorter than its listing said */
	return n;
}

/* Bytes of block `block` of a file of `size` bytes. */
static size_t block_len(const struct mread *rd, uint64_t size, uint64_t block)
{
	uint64_t off = block * rd->block;

	return off >= size ? 0 : size - off < rd->block ? (size_t)(size - off) : rd->block;
}

struct run_ctx {
	struct mread *rd;
	struct rjob *j;
	const struct iovec *iov;
	unsigned ndone;              /* blocks completed and released */
};

/* mconn_readv's `full`: block i of the run arrived whole: readers may
 * have it now (blocks fill in order). */
static void run_block_full(void *arg, int i)
{
	struct run_ctx *rc = arg;

	mcache_complete(rc->rd->cache, rc->j->b[i], (ssize_t)rc->iov[i].iov_len);
	mcache_put(rc->rd->cache, rc->j->b[i]);
	rc->ndone = (unsigned)i + 1;
}

/* Loads a run of blocks with one request; each block is completed and
 * released as soon as it is whole, the rest fail when the read fails. */
static void run_job(struct mread *rd, struct rjob *j)
{
	struct iovec iov[MREAD_RUN];
	struct run_ctx rc = { .rd = rd, .j = j, .iov = iov };
	size_t want = 0;
	ssize_t n;
	unsigned i;

	for (i = 0; i < j->nb; i++) {
		iov[i].iov_base = mblock_buf(j->b[i]);
		iov[i].iov_len = block_len(rd, j->size, j->key.block + i);
		want += iov[i].iov_len;
	}
	n = mconn_readv(rd->mc, rd->dev, j->path, j->version, j->key.block * rd->block, iov,
			(int)j->nb, run_block_full, &rc);
	if (n >= 0 && (size_t)n != want)
		n = -EIO;   /* the server's content is shorter than its listing said */
	for (i = rc.ndone; i < j->nb; i++) {
		mcache_complete(rd->cache, j->b[i], n < 0 ? n : -EIO);
		mcache_put(rd->cache, j->b[i]);
	}
	free(j->path);
}

/* A job that will not run: its blocks fail with r and are released. */
static void drop_job(struct mread *rd, struct rjob *j, int r)
{
	unsigned i;

	for (i = 0; i < j->nb; i++) {
		mcache_complete(rd->cache, j->b[i], r);
		mcache_put(rd->cache, j->b[i]);
	}
	free(j->path);
}

static void *worker(void *arg)
{
	struct mread *rd = arg;
	struct rjob j;

	pthread_mutex_lock(&rd->lock);
	for (;;) {
		while (!rd->stop && rd->qlen == 0)
			pthread_cond_wait(&rd->work, &rd->lock);
		if (rd->stop)
			break;
		j = rd->q[rd->qhead];
		rd->qhead = (rd->qhead + 1) % MREAD_QUEUE_MAX;
		rd->qlen--;
		pthread_mutex_unlock(&rd->lock);
		run_job(rd, &j);
		pthread_mutex_lock(&rd->lock);
	}
	pthread_mutex_unlock(&rd->lock);
	return NULL;
}

struct mread *mread_new(struct mconn *mc, const char *dev, size_t block, size_t cache_bytes,
			int workers)
{
	struct mread *rd = calloc(1, sizeof(*rd));
	int i;

	if (!rd)
		return NULL;
	rd->mc = mc;
	rd->dev = dev;
	rd->block = block;
	pthread_mutex_init(&rd->lock, NULL);
	pthread_cond_init(&rd->work, NULL);
	if (!(rd->cache = mcache_new(block, cache_bytes)) ||
	    !(rd->workers = calloc((size_t)workers, sizeof(pthread_t)))) {
		mread_free(rd);
		return NULL;
	}
	for (i = 0; i < workers; i++) {
		if (pthread_create(&rd->workers[i], NULL, worker, rd) != 0)
			break;
		rd->nworkers++;
	}
	return rd;
}

void mread_free(struct mread *rd)
{
	int i;

	if (!rd)
		return;
	pthread_mutex_lock(&rd->lock);
	rd->stop = true;
	pthread_cond_broadcast(&rd->work);
	pthread_mutex_unlock(&rd->lock);
	for (i = 0; i < rd->nworkers; i++)
		pthread_join(rd->workers[i], NULL);
	while (rd->qlen > 0) {   /* jobs never started: release their blocks */
		drop_job(rd, &rd->q[rd->qhead], -ECANCELED);
		rd->qhead = (rd->qhead + 1) % MREAD_QUEUE_MAX;
		rd->qlen--;
	}
	free(rd->workers);
	mcache_free(rd->cache);
	pthread_mutex_destroy(&rd->lock);
	pthread_cond_destroy(&rd->work);
	free(rd);
}

struct mfile *mfile_new(const char *path, uint64_t version, uint64_t size, const uint8_t id[32])
{
	struct mfile *f = calloc(1, sizeof(*f));

	if (!f || !(f->path = strdup(path))) {
		free(f);
		return NULL;
	}
	f->version = version;
	f->size = size;
	memcpy(f->id, id, 32);
	return f;
}

void mfile_free(struct mfile *f)
{
	if (!f)
		return;
	free(f->path);
	free(f);
}

/* Queues j (j->nb blocks reserved) for a worker: false when the queue is
 * full or there is no worker (the blocks are then released). */
static bool queue_job(struct mread *rd, struct mfile *f, struct rjob *j)
{
	bool queued = false;

	if (!(j->path = strdup(f->path))) {
		drop_job(rd, j, -ENOMEM);
		return false;
	}
	pthread_mutex_lock(&rd->lock);
	if (rd->qlen < MREAD_QUEUE_MAX && rd->nworkers > 0) {
		rd->q[(rd->qhead + rd->qlen) % MREAD_QUEUE_MAX] = *j;
		rd->qlen++;
		pthread_cond_signal(&rd->work);
		queued = true;
	}
	pthread_mutex_unlock(&rd->lock);
	if (!queued)
		drop_job(rd, j, -EAGAIN);
	j->nb = 0;
	return queued;
}

/* Reserves block `block` of f into run j, queueing j when it is full or
 * the block is not next to it.  1: go on, 0: the block is cached or
 * loading already (go on after it: j was queued), -1: stop (past the end,
 * cache or queue full). */
static int prefetch(struct mread *rd, struct mfile *f, uint64_t block, struct rjob *j)
{
	struct mcache_key k;
	struct mblock *b;
	int r;

	if (block * rd->block >= f->size)
		return -1;
	memcpy(k.id, f->id, 32);
	k.block = block;
	if ((r = mcache_reserve(rd->cache, &k, &b)) <= 0)
		return r == 0 && (j->nb == 0 || queue_job(rd, f, j)) ? 0 : -1;
	if (j->nb == 0) {
		j->key = k;
		j->version = f->version;
		j->size = f->size;
	}
	j->b[j->nb++] = b;
	if (j->nb == MREAD_RUN && !queue_job(rd, f, j))
		return -1;
	return 1;
}

/* Adjusts the readahead window from where this read starts and queues the
 * blocks after `block`.  The window is per file and racy by design: FUSE
 * threads reading one file concurrently only make the guess coarser. */
static void readahead(struct mread *rd, struct mfile *f, uint64_t off, size_t size, uint64_t block)
{
	uint64_t prev = __atomic_load_n(&f->next_off, __ATOMIC_RELAXED);
	unsigned ra = __atomic_load_n(&f->ra, __ATOMIC_RELAXED);
	uint64_t dist = off > prev ? off - prev : prev - off;
	struct rjob j = { .nb = 0 };
	unsigned i;

	if (off == 0 || dist <= 2 * rd->block)
		ra = ra == 0 ? 2 : ra * 2 > MREAD_RA_MAX ? MREAD_RA_MAX : ra * 2;
	else
		ra = 0;
	__atomic_store_n(&f->ra, ra, __ATOMIC_RELAXED);
	__atomic_store_n(&f->next_off, off + size, __ATOMIC_RELAXED);
	for (i = 1; i <= ra; i++)
		if (prefetch(rd, f, block + i, &j) < 0)
			break;
	if (j.nb > 0)
		queue_job(rd, f, &j);
}

ssize_t mread_read(struct mread *rd, struct mfile *f, char *buf, size_t size, uint64_t off)
{
	struct fill_ctx fc = { .rd = rd, .path = f->path, .version = f->version, .size = f->size };
	struct mcache_key k;
	struct mblock *b;
	size_t done = 0, len;
	const uint8_t *p;
	int r;

	if (off >= f->size || size == 0)
		return 0;
	if (size > f->size - off)
		size = (size_t)(f->size - off);
	memcpy(k.id, f->id, 32);
	k.block = off / rd->block;
	readahead(rd, f, off, size, (off + size - 1) / rd->block);
	while (done < size) {
		uint64_t pos = off + done, boff;

		k.block = pos / rd->block;
		boff = pos - k.block * rd->block;
		if ((r = mcache_get(rd->cache, &k, fill_block, &fc, &b)) < 0)
			return done > 0 ? (ssize_t)done : r;
		p = mblock_data(b, &len);
		if (boff >= len) {   /* cannot happen with an honest server: fill checks lengths */
			mcache_put(rd->cache, b);
			return done > 0 ? (ssize_t)done : -EIO;
		}
		len -= (size_t)boff;
		if (len > size - done)
			len = size - done;
		memcpy(buf + done, p + boff, len);
		done += len;
		mcache_put(rd->cache, b);
	}
	return (ssize_t)done;
}

void mread_stats(struct mread *rd, struct mcache_stats *st)
{
	mcache_get_stats(rd->cache, st);
}
