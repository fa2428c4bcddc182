/* cache.c — fixed pool of content blocks with LRU eviction (see
 * cache.h).  One mutex guards the table; fills run outside it.
 *
 * Lists: every slot is on exactly one of free (unused), lru (READY and not
 * held, oldest first) or none (LOADING, or READY and held). */
#include "controller/mount/cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

enum { SLOT_FREE = 0, SLOT_LOADING, SLOT_READY, SLOT_FAILED };

struct mblock {
	struct mcache_key key;
	int state;
	int err;                    /* SLOT_FAILED: -errno for waiters */
	unsigned refs;
	size_t len;
	uint8_t *data;              /* into the pool */
	struct mblock *hnext;       /* hash chain */
	TAILQ_ENTRY(mblock) link;   /* free list or lru */
	bool on_list;
};

TAILQ_HEAD(mlist, mblock);

struct mcache {
	pthread_mutex_t lock;
	pthread_cond_t changed;     /* a load finished or a block was released */
	size_t block_size, nslots, nbuckets;
	uint8_t *pool;
	struct mblock *slots;
	struct mblock **buckets;
	struct mlist free, lru;
	struct mcache_stats st;
};

static void list_del(struct mlist *l, struct mblock *b)
{
	if (!b->on_list)
		return;
	TAILQ_REMOVE(l, b, link);
	b->on_list = false;
}

static void list_add_tail(struct mlist *l, struct mblock *b)
{
	TAILQ_INSERT_TAIL(l, b, link);
	b->on_list = true;
}

static size_t key_hash(const struct mcache *c, const struct mcache_key *k)
{
	uint64_t h;

	memcpy(&h, k->id, sizeof(h));   /* the id is a hash already */
	h ^= k->block * 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	return (size_t)(h % c->nbuckets);
}

static bool key_eq(const struct mcache_key *a, const struct mcache_key *b)
{
	return a->block == b->block && memcmp(a->id, b->id, sizeof(a->id)) == 0;
}

struct mcache *mcache_new(size_t block_size, size_t max_bytes)
{
	struct mcache *c;
	size_t i;

	if (block_size == 0 || block_size > (64u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	if (!(c = calloc(1, sizeof(*c))))
		return NULL;
	c->block_size = block_size;
	c->nslots = max_bytes / block_size < 2 ? 2 : max_bytes / block_size;
	c->nbuckets = c->nslots * 2 + 1;
	c->pool = malloc(c->nslots * block_size);   /* large: mmapped, resident only when touched */
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->pool || !c->slots || !c->buckets) {
		free(c->pool);
		free(c->slots);
		free(c->buckets);
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->changed, NULL);
	TAILQ_INIT(&c->free);
	TAILQ_INIT(&c->lru);
	for (i = 0; i < c->nslots; i++) {
		c->slots[i].data = c->pool + i * block_size;
		list_add_tail(&c->free, &c->slots[i]);
	}
	c->st.nslots = c->nslots;
	return c;
}

void mcache_free(struct mcache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->changed);
	free(c->pool);
	free(c->slots);
	free(c->buckets);
	free(c);
}

size_t mcache_block_size(const struct mcache *c)
{
	return c->block_size;
}

static struct mblock *find(struct mcache *c, const struct mcache_key *k)
{
	struct mblock *b;

	for (b = c->buckets[key_hash(c, k)]; b; b = b->hnext)
		if (key_eq(&b->key, k))
			return b;
	return NULL;
}

static void unhash(struct mcache *c, struct mblock *b)
{
	struct mblock **pp = &c->buckets[key_hash(c, &b->key)];

	while (*pp && *pp != b)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = b->hnext;
	b->hnext = NULL;
}

/* A slot for a new block, evicting the least recently used READY block that
 * nobody holds; NULL when every slot is loading or held.  Lock held. */
static struct mblock *claim(struct mcache *c, const struct mcache_key *k)
{
	struct mblock *b = TAILQ_FIRST(&c->free);

	if (b) {
		list_del(&c->free, b);
	} else if ((b = TAILQ_FIRST(&c->lru))) {
		list_del(&c->lru, b);
		unhash(c, b);
		c->st.evictions++;
		c->st.ready--;
	} else {
		return NULL;
	}
	b->key = *k;
	b->state = SLOT_LOADING;
	b->err = 0;
	b->refs = 1;
	b->len = 0;
	b->hnext = c->buckets[key_hash(c, k)];
	c->buckets[key_hash(c, k)] = b;
	c->st.loading++;
	c->st.held++;
	return b;
}

/* Drops one reference.  Lock held. */
static void release(struct mcache *c, struct mblock *b)
{
	if (--b->refs > 0)
		return;
	c->st.held--;
	if (b->state == SLOT_READY) {
		list_add_tail(&c->lru, b);
	} else {   /* a failed load leaves nothing behind */
		b->state = SLOT_FREE;
		list_add_tail(&c->free, b);
	}
	pthread_cond_broadcast(&c->changed);
}

static void hold(struct mcache *c, struct mblock *b)
{
	if (b->refs++ == 0) {
		list_del(&c->lru, b);
		c->st.held++;
	}
}

/* Marks a LOADING block READY with n bytes, or failed (n < 0: forgotten,
 * waiters get n).  Lock held. */
static void finish(struct mcache *c, struct mblock *b, ssize_t n)
{
	c->st.loading--;
	if (n < 0 || n > (ssize_t)c->block_size) {
		b->state = SLOT_FAILED;
		b->err = n < 0 ? (int)n : -EIO;
		unhash(c, b);
		c->st.fills_failed++;
	} else {
		b->state = SLOT_READY;
		b->len = (size_t)n;
		c->st.ready++;
	}
	pthread_cond_broadcast(&c->changed);
}

/* Lock held on entry and exit; loads b (claimed, LOADING) through fill. */
static int load(struct mcache *c, struct mblock *b, mcache_fill_fn fill, void *arg)
{
	struct mcache_key k = b->key;
	ssize_t n;

	c->st.misses++;
	pthread_mutex_unlock(&c->lock);
	n = fill(arg, &k, b->data, c->block_size);
	pthread_mutex_lock(&c->lock);
	finish(c, b, n);
	return b->state == SLOT_READY ? 0 : b->err;
}

int mcache_get(struct mcache *c, const struct mcache_key *k, mcache_fill_fn fill, void *arg,
	       struct mblock **out)
{
	struct mblock *b;
	int r, others_failed = 0;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		if ((b = find(c, k))) {
			hold(c, b);
			while (b->state == SLOT_LOADING) {
				c->st.waits++;
				pthread_cond_wait(&c->changed, &c->lock);
			}
			if (b->state == SLOT_READY) {
				c->st.hits++;
				*out = b;
				pthread_mutex_unlock(&c->lock);
				return 0;
			}
			/* the load we waited for failed (maybe a readahead that was
			 * cancelled): load it ourselves, a few times at most */
			r = b->err;
			release(c, b);
			if (++others_failed >= 3) {
				pthread_mutex_unlock(&c->lock);
				return r;
			}
			continue;
		}
		if ((b = claim(c, k)))
			break;
		c->st.waits++;
		pthread_cond_wait(&c->changed, &c->lock);   /* every slot held: wait for a release */
	}
	r = load(c, b, fill, arg);
	if (r < 0)
		release(c, b);
	else
		*out = b;
	pthread_mutex_unlock(&c->lock);
	return r;
}

int mcache_reserve(struct mcache *c, const struct mcache_key *k, struct mblock **out)
{
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (!find(c, k)) {
		*out = claim(c, k);
		r = *out ? 1 : -EBUSY;
		if (r == 1)
			c->st.misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

uint8_t *mblock_buf(struct mblock *b)
{
	return b->data;
}

void mcache_complete(struct mcache *c, struct mblock *b, ssize_t result)
{
	pthread_mutex_lock(&c->lock);
	finish(c, b, result);
	pthread_mutex_unlock(&c->lock);
}

const uint8_t *mblock_data(const struct mblock *b, size_t *len)
{
	*len = b->len;
	return b->data;
}

void mcache_put(struct mcache *c, struct mblock *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&c->lock);
	release(c, b);
	pthread_mutex_unlock(&c->lock);
}

void mcache_get_stats(struct mcache *c, struct mcache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	pthread_mutex_unlock(&c->lock);
}
