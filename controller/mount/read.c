/* read.c — file reads for the mount (see read.h).
 *
 * A read copies from cached blocks, fetching a missing block in the calling
 * FUSE thread.  When reads of a file look sequential, the blocks after the
 * current one are reserved in the cache and queued for the readahead
 * workers; the window doubles (2 .. MREAD_RA_MAX blocks) while the pattern
 * holds and collapses on a jump.  A reserved block that a reader wants waits
 * for its worker instead of being fetched twice. */
#include "controller/mount/read.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

struct rjob {
	struct mblock *b;            /* reserved, LOADING */
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

static void *worker(void *arg)
{
	struct mread *rd = arg;
	struct rjob j;
	struct fill_ctx fc;

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
		fc = (struct fill_ctx){ .rd = rd, .path = j.path, .version = j.version, .size = j.size };
		mcache_complete(rd->cache, j.b, fill_block(&fc, &j.key, mblock_buf(j.b), rd->block));
		mcache_put(rd->cache, j.b);
		free(j.path);
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
		struct rjob *j = &rd->q[rd->qhead];

		mcache_complete(rd->cache, j->b, -ECANCELED);
		mcache_put(rd->cache, j->b);
		free(j->path);
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

/* Queues block `block` of f for a worker unless it is cached, loading, or
 * the cache or queue is full.  Returns false when nothing more should be
 * queued now. */
static bool prefetch(struct mread *rd, struct mfile *f, uint64_t block)
{
	struct rjob j = { .version = f->version, .size = f->size };
	int r;

	if (block * rd->block >= f->size)
		return false;
	memcpy(j.key.id, f->id, 32);
	j.key.block = block;
	if ((r = mcache_reserve(rd->cache, &j.key, &j.b)) <= 0)
		return r == 0;   /* present: look further; busy: stop */
	if (!(j.path = strdup(f->path))) {
		mcache_complete(rd->cache, j.b, -ENOMEM);
		mcache_put(rd->cache, j.b);
		return false;
	}
	pthread_mutex_lock(&rd->lock);
	if (rd->qlen < MREAD_QUEUE_MAX && rd->nworkers > 0) {
		rd->q[(rd->qhead + rd->qlen) % MREAD_QUEUE_MAX] = j;
		rd->qlen++;
		pthread_cond_signal(&rd->work);
		j.b = NULL;
	}
	pthread_mutex_unlock(&rd->lock);
	if (j.b) {   /* queue full */
		mcache_complete(rd->cache, j.b, -EAGAIN);
		mcache_put(rd->cache, j.b);
		free(j.path);
		return false;
	}
	return true;
}

/* Adjusts the readahead window from where this read starts and queues the
 * blocks after `block`.  The window is per file and racy by design: FUSE
 * threads reading one file concurrently only make the guess coarser. */
static void readahead(struct mread *rd, struct mfile *f, uint64_t off, size_t size, uint64_t block)
{
	uint64_t prev = __atomic_load_n(&f->next_off, __ATOMIC_RELAXED);
	unsigned ra = __atomic_load_n(&f->ra, __ATOMIC_RELAXED);
	uint64_t dist = off > prev ? off - prev : prev - off;
	unsigned i;

	if (off == 0 || dist <= 2 * rd->block)
		ra = ra == 0 ? 2 : ra * 2 > MREAD_RA_MAX ? MREAD_RA_MAX : ra * 2;
	else
		ra = 0;
	__atomic_store_n(&f->ra, ra, __ATOMIC_RELAXED);
	__atomic_store_n(&f->next_off, off + size, __ATOMIC_RELAXED);
	for (i = 1; i <= ra; i++)
		if (!prefetch(rd, f, block + i))
			break;
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
