/* indexer_int.h — the keyword indexer's state, shared by its files:
 * indexer.c (queue, worker, start and stop), indexer_item.c (one item read
 * and indexed), indexer_rest.c (big contents resting until quiet),
 * indexer_group.c (small contents extracted in groups). */
#ifndef VIGIL_INDEXER_INT_H
#define VIGIL_INDEXER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/search/indexer.h"

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
	 * INDEXER_SLOT_4K (class 0) and INDEXER_SMALL bytes (class 1), each
	 * class in one mapping, taken and given back under lock (malloc'd in
	 * the handlers' threads and freed in this one, they left 16 MiB of
	 * holes in the handlers' malloc arenas) */
	struct slots {
		uint8_t *slab;
		size_t size, count, nfree;
		uint16_t *free;
	} slots[2];
	bool quit;
	/* big contents resting before they are indexed (worker only; nrest is
	 * mirrored into resting under lock for indexer_backlog) */
	struct item rest[INDEXER_REST_MAX];
	int64_t rest_due[INDEXER_REST_MAX];   /* mono_ms */
	size_t nrest, resting;
	uint64_t big;      /* INDEXER_BIG, or VIGIL_TEST_INDEXER_BIG */
	int64_t quiet_ms;  /* INDEXER_QUIET_S, or VIGIL_TEST_INDEXER_QUIET_MS */
};

/* Gives an item's slot back (lock held). */
void ix_slot_give_locked(struct indexer *ix, struct item *it);
/* Gives back an item's path and slot. */
void ix_item_free(struct indexer *ix, struct item *it);
/* The item's content as a source: the test's ops, or a vreader. */
int ix_source_open(struct indexer *ix, const struct item *it, struct ex_source *src);
void ix_source_close(struct indexer *ix, struct ex_source *src);
/* Ends content c after its extraction returned rc with res. */
int ix_content_finish(struct indexer *ix, const struct item *it, struct ti_content *c, int rc,
		      const struct ex_result *res);
/* Indexes one item: its content if new (indexed: known to be indexed
 * already, not looked up), then its version. */
void ix_process(struct indexer *ix, const struct item *it, bool indexed);
/* A big content rests instead of being indexed now: true when it took it. */
bool ix_park(struct indexer *ix, struct item *it);
/* Indexes the resting item due first if due: ms until the next is due
 * (0: one was indexed), -1 when none rests. */
int64_t ix_rest_step(struct indexer *ix);
/* Items taken together, small new contents extracted in one go; every item
 * is freed. */
void ix_process_group(struct indexer *ix, struct item *its, size_t n, bool batch);

#endif
