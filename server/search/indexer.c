/* indexer.c — the keyword indexer's queue and worker thread (indexer.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/mman.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/search/exwire.h"
#include "server/search/indexer_int.h"

_Static_assert(INDEXER_SMALL <= EXW_ITEM_MAX, "a small file travels whole in a BATCH");

/* Up to INDEXER_GROUP queue items into its, the worker's now (lock
 * held): how many. */
static size_t
take_group_locked(struct indexer *ix, struct item *its)
{
	size_t n;

	for (n = 0; n < INDEXER_GROUP && ix->len > 0; n++) {
		its[n] = ix->q[ix->head];
		ix->head = (ix->head + 1) % INDEXER_QUEUE_MAX;
		ix->len--;
	}
	ix->busy = true;
	ix->inhand = n;
	return n;
}

static void
item_to_pending(const struct item *it, struct ti_pending *p)
{
	memset(p, 0, sizeof(*p));
	p->device_id = it->device_id;
	snprintf(p->path, sizeof(p->path), "%s", it->path);
	p->version = it->version;
	p->time_ns = it->time_ns;
	p->deleted = it->deleted;
	memcpy(p->key, it->ref.root, TI_KEY_LEN);
	p->size = it->ref.size;
}

/* Up to INDEXER_GROUP items from the pending table (p: as many), indexed
 * as a queue take is, in a batch committed before their rows are marked
 * done: true when it took some.  One at a time, each small file went to
 * the extractor and was committed alone. */
static bool
drain_pending(struct indexer *ix, struct ti_pending *p)
{
	struct item its[INDEXER_GROUP];
	bool batch;
	int n, k = 0;

	if ((n = textindex_pending_next(ix->ti, p, INDEXER_GROUP)) <= 0)
		return false;
	/* its[i] is p[i]; the rows from the first path not copied stay */
	for (int i = 0; i < n; i++) {
		struct item *it = &its[k];

		if ((it->path = strdup(p[i].path)) == NULL)
			break;
		it->device_id = p[i].device_id;
		it->version = p[i].version;
		it->time_ns = p[i].time_ns;
		it->deleted = p[i].deleted;
		memcpy(it->ref.root, p[i].key, sizeof(it->ref.root));
		it->ref.size = p[i].size;
		it->bytes = NULL;
		k++;
	}
	batch = textindex_batch_begin(ix->ti) == 0;
	ix_process_group(ix, its, (size_t)k, batch);
	if (batch)
		(void)textindex_batch_end(ix->ti);
	return k > 0 && textindex_pending_done(ix->ti, p[k - 1].id) == 0;
}

/* With the lock held and nothing queued: indexes a resting item that is
 * due, else tells waiters the indexer is idle (resting items do not
 * count) and sleeps until woken or the next one is due. */
static void
idle_or_rest(struct indexer *ix)
{
	struct timespec until;
	int64_t ms;

	ix->busy = true;
	pthread_mutex_unlock(&ix->lock);
	ms = ix_rest_step(ix);
	pthread_mutex_lock(&ix->lock);
	ix->resting = ix->nrest;
	if (ms == 0)
		return;
	ix->busy = false;
	pthread_cond_broadcast(&ix->idle_cv);
	if (ms < 0) {
		pthread_cond_wait(&ix->wake, &ix->lock);
	} else {
		until = deadline_in_ms((long)ms);
		pthread_cond_timedwait(&ix->wake, &ix->lock, &until);
	}
}

/* Queue items are indexed in batches (textindex_batch_begin): one commit
 * per INDEXER_BATCH items or INDEXER_BATCH_MS (waiting for more items
 * until then), and always before the worker idles or turns to the pending
 * table, whose rows are marked done only once what they produced is
 * committed. */
static void *
worker(void *arg)
{
	struct indexer *ix = arg;
	struct ti_pending *p = malloc(INDEXER_GROUP * sizeof(*p));
	struct item its[INDEXER_GROUP];
	bool batch = false;
	long batch_start = 0;
	int nbatch = 0;
	size_t n;

	pthread_mutex_lock(&ix->lock);
	while (!ix->quit) {
		if (ix->hold) {
			pthread_cond_wait(&ix->wake, &ix->lock);
		} else if (ix->len > 0) {
			n = take_group_locked(ix, its);
			pthread_mutex_unlock(&ix->lock);
			if (!batch && textindex_batch_begin(ix->ti) == 0) {
				batch = true;
				batch_start = mono_ms();
				nbatch = 0;
			}
			ix_process_group(ix, its, n, batch);
			nbatch += (int)n;
			if (batch && (nbatch >= INDEXER_BATCH ||
				      mono_ms() - batch_start >= INDEXER_BATCH_MS)) {
				(void)textindex_batch_end(ix->ti);
				batch = false;
			}
			pthread_mutex_lock(&ix->lock);
			ix->inhand = 0;
			ix->resting = ix->nrest;
		} else if (batch && mono_ms() - batch_start < INDEXER_BATCH_MS) {
			/* the queue ran dry: give the batch until its time is up */
			struct timespec until = deadline_in_ms(INDEXER_BATCH_MS - (mono_ms() - batch_start));

			pthread_cond_timedwait(&ix->wake, &ix->lock, &until);
		} else if (batch) {
			pthread_mutex_unlock(&ix->lock);
			(void)textindex_batch_end(ix->ti);
			batch = false;
			pthread_mutex_lock(&ix->lock);
		} else if (ix->pending && p != NULL) {
			ix->busy = true;
			pthread_mutex_unlock(&ix->lock);
			bool more = drain_pending(ix, p);
			pthread_mutex_lock(&ix->lock);
			if (!more)
				ix->pending = false;
		} else {
			idle_or_rest(ix);
		}
	}
	pthread_mutex_unlock(&ix->lock);
	if (batch)
		(void)textindex_batch_end(ix->ti);
	pthread_mutex_lock(&ix->lock);
	ix->busy = false;
	pthread_cond_broadcast(&ix->idle_cv);
	pthread_mutex_unlock(&ix->lock);
	free(p);
	return NULL;
}

/* The slot classes' mappings: pages are touched only as slots are used,
 * the lowest first. */
static int
slots_init(struct indexer *ix)
{
	static const size_t size[2] = { INDEXER_SLOT_4K, INDEXER_SMALL };
	static const size_t count[2] = { INDEXER_SLOTS_4K, INDEXER_SLOTS_16K };
	struct slots *c;

	for (int k = 0; k < 2; k++) {
		c = &ix->slots[k];
		c->size = size[k];
		c->count = count[k];
		c->slab = mmap(NULL, c->size * c->count, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (c->slab == MAP_FAILED) {
			c->slab = NULL;
			return -ENOMEM;
		}
		if ((c->free = malloc(c->count * sizeof(*c->free))) == NULL)
			return -ENOMEM;
		for (c->nfree = 0; c->nfree < c->count; c->nfree++)
			c->free[c->nfree] = (uint16_t)(c->count - 1 - c->nfree);
	}
	return 0;
}

static void
slots_fini(struct indexer *ix)
{
	for (int k = 0; k < 2; k++) {
		if (ix->slots[k].slab != NULL)
			munmap(ix->slots[k].slab, ix->slots[k].size * ix->slots[k].count);
		free(ix->slots[k].free);
	}
}

/* A free slot for size bytes (lock held): the smallest class that has
 * one, NULL when none. */
static uint8_t *
slot_take_locked(struct indexer *ix, uint64_t size)
{
	struct slots *c;

	for (int k = 0; k < 2; k++) {
		c = &ix->slots[k];
		if (size <= c->size && c->nfree > 0)
			return c->slab + (size_t)c->free[--c->nfree] * c->size;
	}
	return NULL;
}

int
indexer_new(struct textindex *ti, struct store *st, const struct indexer_ops *ops,
	    struct indexer **out)
{
	struct indexer *ix;
	const char *env;
	int rc;

	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return -ENOMEM;
	if (slots_init(ix) < 0) {
		slots_fini(ix);
		free(ix);
		return -ENOMEM;
	}
	ix->ti = ti;
	ix->st = st;
	if (ops != NULL)
		ix->ops = *ops;
	ix->pending = true;   /* whatever a previous run left */
	ix->hold = getenv("VIGIL_TEST_INDEXER_HOLD") != NULL;
	ix->big = INDEXER_BIG;
	ix->quiet_ms = INDEXER_QUIET_S * 1000L;
	if ((env = getenv("VIGIL_TEST_INDEXER_BIG")) != NULL)
		ix->big = strtoull(env, NULL, 10);
	if ((env = getenv("VIGIL_TEST_INDEXER_QUIET_MS")) != NULL && strtol(env, NULL, 10) >= 0)
		ix->quiet_ms = strtol(env, NULL, 10);
	pthread_mutex_init(&ix->lock, NULL);
	pthread_cond_init(&ix->wake, NULL);
	pthread_cond_init(&ix->idle_cv, NULL);
	if ((rc = pthread_create(&ix->thread, NULL, worker, ix)) != 0) {
		log_errno(-rc, "search index: cannot start the indexer");
		pthread_mutex_destroy(&ix->lock);
		pthread_cond_destroy(&ix->wake);
		pthread_cond_destroy(&ix->idle_cv);
		slots_fini(ix);
		free(ix);
		return -rc;
	}
	*out = ix;
	return 0;
}

/* An item still queued at shutdown, into the pending table (p: scratch,
 * NULL when it could not be had) for the next start; frees its path.
 * 1 when it is lost, else 0. */
static int
park_item(struct indexer *ix, struct ti_pending *p, struct item *it)
{
	int lost = 0;

	if (p != NULL)
		item_to_pending(it, p);
	if (p == NULL || textindex_pending_add(ix->ti, p) < 0) {
		log_warnx("search index: %s version %llu lost from the queue", it->path,
			  (unsigned long long)it->version);
		lost = 1;
	}
	free(it->path);
	it->bytes = NULL;   /* the slots go with the indexer */
	return lost;
}

int
indexer_free(struct indexer *ix)
{
	struct ti_pending *p;
	int lost = 0;

	if (ix == NULL)
		return 0;
	pthread_mutex_lock(&ix->lock);
	ix->quit = true;
	pthread_cond_signal(&ix->wake);
	pthread_mutex_unlock(&ix->lock);
	pthread_join(ix->thread, NULL);
	p = malloc(sizeof(*p));
	/* resting items first (older than what is queued): the next start
	 * indexes them from the pending table */
	for (; ix->nrest > 0; ix->nrest--)
		lost += park_item(ix, p, &ix->rest[ix->nrest - 1]);
	for (; ix->len > 0; ix->len--, ix->head = (ix->head + 1) % INDEXER_QUEUE_MAX)
		lost += park_item(ix, p, &ix->q[ix->head]);
	free(p);
	pthread_mutex_destroy(&ix->lock);
	pthread_cond_destroy(&ix->wake);
	pthread_cond_destroy(&ix->idle_cv);
	memset(&ix->key, 0, sizeof(ix->key));
	slots_fini(ix);
	free(ix);
	return lost;
}

int
indexer_enqueue(struct indexer *ix, int64_t device_id, const char *path, uint64_t version,
		int64_t time_ns, const struct content_ref *ref)
{
	return indexer_enqueue_bytes(ix, device_id, path, version, time_ns, ref, NULL);
}

int
indexer_enqueue_bytes(struct indexer *ix, int64_t device_id, const char *path,
		      uint64_t version, int64_t time_ns, const struct content_ref *ref,
		      const void *bytes)
{
	struct item it = { device_id, NULL, version, time_ns, ref == NULL, { { 0 }, 0 }, NULL };
	struct ti_pending *p;
	int rc;

	if (ref != NULL)
		it.ref = *ref;
	pthread_mutex_lock(&ix->lock);
	if (ix->len < INDEXER_QUEUE_MAX && (it.path = strdup(path)) != NULL) {
		/* with a free slot the bytes come along; else read back later */
		if (ref != NULL && bytes != NULL && ref->size > 0 && ref->size <= INDEXER_SMALL &&
		    (it.bytes = slot_take_locked(ix, ref->size)) != NULL)
			memcpy(it.bytes, bytes, ref->size);
		ix->q[(ix->head + ix->len) % INDEXER_QUEUE_MAX] = it;
		ix->len++;
		pthread_cond_signal(&ix->wake);
		pthread_mutex_unlock(&ix->lock);
		return 0;
	}
	pthread_mutex_unlock(&ix->lock);
	/* full: to the durable table, outside the queue's lock */
	if ((p = malloc(sizeof(*p))) == NULL)
		return -ENOMEM;
	it.path = (char *)path;
	item_to_pending(&it, p);
	rc = textindex_pending_add(ix->ti, p);
	free(p);
	if (rc < 0) {
		log_errno(rc, "search index: %s version %llu not queued", path,
			  (unsigned long long)version);
		return rc;
	}
	pthread_mutex_lock(&ix->lock);
	ix->pending = true;
	pthread_cond_signal(&ix->wake);
	pthread_mutex_unlock(&ix->lock);
	return 0;
}

uint64_t
indexer_backlog(struct indexer *ix)
{
	uint64_t n;

	pthread_mutex_lock(&ix->lock);
	n = ix->len + (ix->inhand > 0 ? ix->inhand : ix->busy ? 1 : 0) + ix->resting;
	pthread_mutex_unlock(&ix->lock);
	return n;
}

int
indexer_wait_idle(struct indexer *ix, int timeout_ms)
{
	struct timespec until = deadline_in_ms(timeout_ms);
	int rc = 0;

	pthread_mutex_lock(&ix->lock);
	while ((ix->len > 0 || ix->pending || ix->busy) && !ix->quit && rc == 0)
		rc = pthread_cond_timedwait(&ix->idle_cv, &ix->lock, &until);
	pthread_mutex_unlock(&ix->lock);
	return rc == 0 ? 0 : -ETIMEDOUT;
}
