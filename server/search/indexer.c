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
#include "server/search/indexer.h"

_Static_assert(INDEXER_SMALL <= EXW_ITEM_MAX, "a small file travels whole in a BATCH");

struct item {
	int64_t device_id;
	char *path;
	uint64_t version;
	int64_t time_ns;
	bool deleted;
	struct content_ref ref;
	uint8_t *bytes;    /* the whole content (ref.size bytes) in a slot; NULL: read the store */
};

struct indexer {
	struct textindex *ti;
	struct store *st;
	struct indexer_ops ops;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake, idle_cv;
	struct item q[INDEXER_QUEUE_MAX];
	int64_t key_dev;         /* the device whose key is in key (worker only) */
	struct devkey key;
	bool key_valid;
	size_t head, len;
	bool pending;      /* the pending table may hold items */
	bool hold;         /* VIGIL_TEST_INDEXER_HOLD: index nothing */
	bool busy;         /* the worker holds an item */
	size_t inhand;     /* queue items the worker holds */
	/* small contents handed over with their commit: slots of
	 * INDEXER_SMALL bytes in one mapping, taken and given back under
	 * lock (malloc'd in the handlers' threads and freed in this one,
	 * they left 16 MiB of holes in the handlers' malloc arenas) */
	uint8_t *slab;
	uint16_t freeslot[INDEXER_SLOTS];
	size_t nfree;
	bool quit;
	/* big contents resting before they are indexed (worker only; nrest is
	 * mirrored into resting under lock for indexer_backlog) */
	struct item rest[INDEXER_REST_MAX];
	int64_t rest_due[INDEXER_REST_MAX];   /* mono_ms */
	size_t nrest, resting;
	uint64_t big;      /* INDEXER_BIG, or VIGIL_TEST_INDEXER_BIG */
	int64_t quiet_ms;  /* INDEXER_QUIET_S, or VIGIL_TEST_INDEXER_QUIET_MS */
};

static ssize_t
vr_pread(void *arg, void *buf, size_t n, uint64_t off)
{
	return vreader_pread(arg, buf, n, off);
}

/* Gives an item's slot back (lock held). */
static void
slot_give_locked(struct indexer *ix, struct item *it)
{
	if (it->bytes == NULL)
		return;
	ix->freeslot[ix->nfree++] = (uint16_t)((it->bytes - ix->slab) / INDEXER_SMALL);
	it->bytes = NULL;
}

/* Gives back an item's path and slot. */
static void
item_free(struct indexer *ix, struct item *it)
{
	free(it->path);
	if (it->bytes != NULL) {
		pthread_mutex_lock(&ix->lock);
		slot_give_locked(ix, it);
		pthread_mutex_unlock(&ix->lock);
	}
}

static int
source_open(struct indexer *ix, const struct item *it, struct ex_source *src)
{
	struct vreader *vr;
	int rc;

	if (ix->ops.open != NULL)
		return ix->ops.open(ix->ops.arg, it->device_id, &it->ref, src);
	if (ix->st == NULL || ix->ops.devkey == NULL)
		return -ENOTSUP;
	/* a run of versions mostly comes from one device: keep its key */
	if (!ix->key_valid || ix->key_dev != it->device_id) {
		ix->key_valid = false;
		if ((rc = ix->ops.devkey(ix->ops.arg, it->device_id, &ix->key)) < 0)
			return rc;
		ix->key_dev = it->device_id;
		ix->key_valid = true;
	}
	rc = vreader_open(ix->st, &ix->key, &it->ref, &vr);
	if (rc < 0)
		return rc;
	src->arg = vr;
	src->size = it->ref.size;
	src->pread = vr_pread;
	return 0;
}

static void
source_close(struct indexer *ix, struct ex_source *src)
{
	if (ix->ops.open != NULL) {
		if (ix->ops.close != NULL)
			ix->ops.close(ix->ops.arg, src);
		return;
	}
	vreader_free(src->arg);
}

/* Indexes an unreadable content as path only, with the reason. */
static int
content_unreadable(struct indexer *ix, const struct item *it, int err)
{
	struct ti_content *c;
	char why[128];
	int rc;

	snprintf(why, sizeof(why), "cannot read content: %s", strerror(-err));
	log_warnx("search index: device %lld %s version %llu: %s", (long long)it->device_id,
		  it->path, (unsigned long long)it->version, why);
	if ((rc = textindex_content_begin(ix->ti, it->ref.root, &c)) < 0)
		return rc == -EEXIST ? 0 : rc;
	return textindex_content_end(c, TI_MALFORMED, "unreadable", why);
}

/* Ends content c after its extraction returned rc with res. */
static int
content_finish(struct indexer *ix, const struct item *it, struct ti_content *c, int rc,
	       const struct ex_result *res)
{
	enum ti_status status;

	if (rc < 0) {
		textindex_content_abort(c);
		return rc == -EIO || rc == -EBADMSG || rc == -ENOENT ? content_unreadable(ix, it, rc) : rc;
	}
	status = res->malformed ? TI_MALFORMED : res->kind == EX_BINARY ? TI_PATH_ONLY : TI_TEXT;
	if (res->malformed || res->truncated)
		log_warnx("search index: device %lld %s version %llu (%s): %s%s",
			  (long long)it->device_id, it->path, (unsigned long long)it->version,
			  ex_kind_name(res->kind), res->reason, res->malformed ? "" : " (text cut)");
	return textindex_content_end(c, status, ex_kind_name(res->kind),
				     res->reason[0] ? res->reason : NULL);
}

static int
index_content(struct indexer *ix, const struct item *it)
{
	struct ex_source src;
	struct ex_result res;
	struct ti_content *c;
	int rc;

	if ((rc = source_open(ix, it, &src)) < 0)
		return content_unreadable(ix, it, rc);
	if ((rc = textindex_content_begin(ix->ti, it->ref.root, &c)) < 0) {
		source_close(ix, &src);
		return rc == -EEXIST ? 0 : rc;
	}
	if (ix->ops.extract != NULL)
		rc = ix->ops.extract(ix->ops.xarg, it->path, &src, NULL, textindex_content_text, c,
				     &res);
	else
		rc = extract(it->path, &src, NULL, textindex_content_text, c, &res);
	source_close(ix, &src);
	return content_finish(ix, it, c, rc, &res);
}

static void
process(struct indexer *ix, const struct item *it)
{
	int rc = 0;

	if (!it->deleted && (rc = textindex_has_content(ix->ti, it->ref.root)) == 0)
		rc = index_content(ix, it);
	if (rc >= 0)
		rc = textindex_add_version(ix->ti, it->device_id, it->path, it->version, it->time_ns,
					   it->deleted ? NULL : it->ref.root);
	if (rc < 0)
		log_errno(rc, "search index: device %lld %s version %llu not indexed",
			  (long long)it->device_id, it->path, (unsigned long long)it->version);
}

/* A big version changed again before it rested: indexed by path only,
 * its text never read. */
static void
supersede(struct indexer *ix, const struct item *it)
{
	struct ti_content *c;
	int rc = textindex_has_content(ix->ti, it->ref.root);

	if (rc == 0 && (rc = textindex_content_begin(ix->ti, it->ref.root, &c)) == 0)
		rc = textindex_content_end(c, TI_PATH_ONLY, "unindexed",
					   "changed again before it rested");
	if (rc == -EEXIST || rc > 0)
		rc = 0;
	if (rc == 0)
		rc = textindex_add_version(ix->ti, it->device_id, it->path, it->version, it->time_ns,
					   it->ref.root);
	if (rc < 0)
		log_errno(rc, "search index: device %lld %s version %llu not indexed",
			  (long long)it->device_id, it->path, (unsigned long long)it->version);
}

static void
rest_remove(struct indexer *ix, size_t i)
{
	free(ix->rest[i].path);
	ix->nrest--;
	ix->rest[i] = ix->rest[ix->nrest];
	ix->rest_due[i] = ix->rest_due[ix->nrest];
}

/* The resting item due first, or -1 when none rests. */
static ssize_t
rest_first(const struct indexer *ix)
{
	ssize_t f = -1;

	for (size_t i = 0; i < ix->nrest; i++)
		if (f < 0 || ix->rest_due[i] < ix->rest_due[f])
			f = (ssize_t)i;
	return f;
}

/* Every new version of a path supersedes its resting one.  A big content
 * not indexed yet then rests itself (true: the item is taken) and is
 * indexed once no newer version came for quiet_ms (rest_step), so a file
 * edited again and again costs one extraction, not one per version.
 * When INDEXER_REST_MAX items rest, the one due first is indexed now. */
static bool
park(struct indexer *ix, struct item *it)
{
	ssize_t f;

	for (size_t i = 0; i < ix->nrest; i++)
		if (ix->rest[i].device_id == it->device_id && !strcmp(ix->rest[i].path, it->path)) {
			supersede(ix, &ix->rest[i]);
			rest_remove(ix, i);
			break;
		}
	if (it->deleted || it->ref.size <= ix->big || textindex_has_content(ix->ti, it->ref.root) != 0)
		return false;
	if (ix->nrest == INDEXER_REST_MAX && (f = rest_first(ix)) >= 0) {
		process(ix, &ix->rest[f]);
		rest_remove(ix, (size_t)f);
	}
	if (it->bytes != NULL) {   /* a big content rests: it will be read back */
		pthread_mutex_lock(&ix->lock);
		slot_give_locked(ix, it);
		pthread_mutex_unlock(&ix->lock);
	}
	ix->rest[ix->nrest] = *it;
	ix->rest_due[ix->nrest++] = mono_ms() + ix->quiet_ms;
	return true;
}

/* Indexes the resting item due first if it is due.  Returns the ms until
 * the next one is due (0: one was indexed), -1 when none rests. */
static int64_t
rest_step(struct indexer *ix)
{
	ssize_t f = rest_first(ix);

	if (f < 0)
		return -1;
	if (ix->rest_due[f] > mono_ms())
		return ix->rest_due[f] - mono_ms();
	process(ix, &ix->rest[f]);
	rest_remove(ix, (size_t)f);
	return 0;
}

/* ---- small files in groups ---- */

struct group {
	struct ex_item ex[INDEXER_GROUP];
	struct ti_content *c[INDEXER_GROUP];
	uint8_t *read[INDEXER_GROUP];  /* bytes read back from the store */
	size_t map[INDEXER_GROUP];     /* ex[k] is its[map[k]] */
	size_t k;
};

/* A small content not held: read whole from the store into *out. */
static int
read_small(struct indexer *ix, const struct item *it, uint8_t **out)
{
	struct ex_source src;
	uint8_t *p = malloc(it->ref.size ? it->ref.size : 1);
	ssize_t n = -ENOMEM;
	int rc;

	if (p == NULL)
		return -ENOMEM;
	if ((rc = source_open(ix, it, &src)) < 0) {
		free(p);
		return rc;
	}
	n = it->ref.size ? src.pread(src.arg, p, it->ref.size, 0) : 0;
	source_close(ix, &src);
	if (n < 0 || (uint64_t)n != it->ref.size) {
		free(p);
		return n < 0 ? (int)n : -EIO;
	}
	*out = p;
	return 0;
}

/* Whether its[i] goes into the group's extraction: a small file whose
 * content is new (not indexed, not earlier in the group) and readable;
 * then its content is begun and ex[k] set up. */
static bool
group_add(struct indexer *ix, struct group *g, const struct item *its, size_t i)
{
	const struct item *it = &its[i];
	struct ex_item *x = &g->ex[g->k];
	const uint8_t *bytes = it->bytes;

	if (it->deleted || it->ref.size > INDEXER_SMALL ||
	    textindex_has_content(ix->ti, it->ref.root) != 0)
		return false;
	for (size_t j = 0; j < g->k; j++)
		if (!memcmp(its[g->map[j]].ref.root, it->ref.root, TI_KEY_LEN))
			return false;
	g->read[g->k] = NULL;
	if (bytes == NULL && read_small(ix, it, &g->read[g->k]) < 0)
		return false;   /* process() says why */
	if (textindex_content_begin(ix->ti, it->ref.root, &g->c[g->k]) < 0) {
		free(g->read[g->k]);
		return false;
	}
	*x = (struct ex_item){ .path = it->path, .bytes = bytes ? bytes : g->read[g->k],
			       .size = it->ref.size, .emit = textindex_content_text,
			       .arg = g->c[g->k] };
	g->map[g->k++] = i;
	return true;
}

static void
group_extract(struct indexer *ix, struct group *g)
{
	struct ex_item *x;
	struct ex_source src;
	struct ex_mem m;
	int rc;

	if (ix->ops.extract_batch != NULL) {
		if ((rc = ix->ops.extract_batch(ix->ops.xarg, g->ex, g->k, NULL)) < 0)
			for (size_t j = 0; j < g->k; j++)
				g->ex[j].rc = rc;
		return;
	}
	for (size_t j = 0; j < g->k; j++) {
		x = &g->ex[j];
		src = ex_source_mem(&m, x->bytes, x->size);
		if (ix->ops.extract != NULL)
			x->rc = ix->ops.extract(ix->ops.xarg, x->path, &src, NULL, x->emit, x->arg,
						&x->res);
		else
			x->rc = extract(x->path, &src, NULL, x->emit, x->arg, &x->res);
	}
}

/* Items taken from the queue together: the small new contents among them
 * extracted in one go (in a text-index batch only, where several
 * contents may be open at once), then each item as process() does it (a
 * content indexed here costs it one row); every item is freed. */
static void
process_group(struct indexer *ix, struct item *its, size_t n, bool batch)
{
	struct group *g = calloc(1, sizeof(*g));
	int rc;

	/* a resting item takes the path's ownership: NULL here */
	for (size_t i = 0; i < n; i++)
		if (park(ix, &its[i]))
			its[i].path = NULL;
	for (size_t i = 0; i < n && batch && g != NULL; i++)
		if (its[i].path != NULL)
			(void)group_add(ix, g, its, i);
	if (g != NULL && g->k > 0)
		group_extract(ix, g);
	for (size_t j = 0; g != NULL && j < g->k; j++) {
		rc = content_finish(ix, &its[g->map[j]], g->c[j], g->ex[j].rc, &g->ex[j].res);
		if (rc < 0)
			log_errno(rc, "search index: %s", its[g->map[j]].path);
		free(g->read[j]);
	}
	for (size_t i = 0; i < n; i++)
		if (its[i].path != NULL) {
			process(ix, &its[i]);
			item_free(ix, &its[i]);
		}
	free(g);
}

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

/* One item from the pending table: 1 done, 0 none left. */
static int
drain_one_pending(struct indexer *ix, struct ti_pending *p)
{
	struct item it;
	int rc;

	if ((rc = textindex_pending_next(ix->ti, p)) <= 0)
		return 0;
	it.device_id = p->device_id;
	it.path = p->path;
	it.version = p->version;
	it.time_ns = p->time_ns;
	it.deleted = p->deleted;
	memcpy(it.ref.root, p->key, sizeof(it.ref.root));
	it.ref.size = p->size;
	it.bytes = NULL;
	process(ix, &it);
	return textindex_pending_done(ix->ti, p->id) == 0;
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
	ms = rest_step(ix);
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
	struct ti_pending *p = malloc(sizeof(*p));
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
			process_group(ix, its, n, batch);
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
			bool more = drain_one_pending(ix, p);
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

int
indexer_new(struct textindex *ti, struct store *st, const struct indexer_ops *ops,
	    struct indexer **out)
{
	struct indexer *ix;
	const char *env;
	int rc;

	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return -ENOMEM;
	/* pages are touched only as slots are used: the lowest first */
	ix->slab = mmap(NULL, (size_t)INDEXER_SLOTS * INDEXER_SMALL, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ix->slab == MAP_FAILED) {
		free(ix);
		return -ENOMEM;
	}
	for (ix->nfree = 0; ix->nfree < INDEXER_SLOTS; ix->nfree++)
		ix->freeslot[ix->nfree] = (uint16_t)(INDEXER_SLOTS - 1 - ix->nfree);
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
		munmap(ix->slab, (size_t)INDEXER_SLOTS * INDEXER_SMALL);
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
	it->bytes = NULL;   /* the slab goes with the indexer */
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
	munmap(ix->slab, (size_t)INDEXER_SLOTS * INDEXER_SMALL);
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
		    ix->nfree > 0) {
			it.bytes = ix->slab + (size_t)ix->freeslot[--ix->nfree] * INDEXER_SMALL;
			memcpy(it.bytes, bytes, ref->size);
		}
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
