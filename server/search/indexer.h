/* indexer.h — background indexing of committed versions into the keyword
 * index (server/search/textindex.h).
 *
 * indexer_enqueue() is called by ingest after a version commits; it never
 * blocks on indexing work: items go to a bounded in-memory queue
 * (INDEXER_QUEUE_MAX) and, when that is full, to the durable "pending"
 * table of search.db, which the worker drains after the queue (and at the
 * next start, after a crash or a stop).  One worker thread reads each new
 * content through a vreader (server/store/content.h), extracts its text in
 * bounded pieces (server/search/extract.h) and indexes it once per content root:
 * a version whose root is already indexed costs one row.  Memory stays
 * bounded whatever the file sizes.  Files that cannot be parsed are
 * indexed by path, logged once (per content) and counted
 * (textindex_stats).
 *
 * Small files (INDEXER_SMALL) are taken INDEXER_GROUP at a time and
 * extracted together (ops->extract_batch: one round trip to the
 * extractor child for many); their bytes come with the commit when the
 * ingest had them (indexer_enqueue_bytes: INDEXER_SLOTS_4K contents of
 * up to 4 KiB and INDEXER_SLOTS_16K larger ones held), else they are read
 * back from the store. */
#ifndef VIGIL_INDEXER_H
#define VIGIL_INDEXER_H

#include <stdbool.h>
#include <stdint.h>

#include "server/store/content.h"
#include "server/search/extract.h"
#include "server/store/store.h"
#include "server/search/textindex.h"

/* A first backup of 20,000 small files outruns the indexer by thousands
 * of items on 2 CPUs; at 1024 most of them went to the pending table (a
 * transaction each, waiting for the indexer's batch to commit) and were
 * read back from the store.  An item is 88 bytes and its path. */
#define INDEXER_QUEUE_MAX 4096
#define INDEXER_BATCH     256     /* queue items per index transaction at most */
#define INDEXER_BATCH_MS  200     /* ... and milliseconds */
#define INDEXER_GROUP     32      /* queue items taken at once */
#define INDEXER_SMALL     16384   /* extracted in groups (<= exwire.h's EXW_ITEM_MAX) */
/* Small contents held in the queue: most small files fit 4 KiB, so most
 * slots are of that size (4 MiB, and 1 MiB of 16 KiB slots) */
#define INDEXER_SLOT_4K   4096
#define INDEXER_SLOTS_4K  1024
#define INDEXER_SLOTS_16K 64
/* A content over INDEXER_BIG is indexed only once its path had no newer
 * version for INDEXER_QUIET_S; a version superseded before that is indexed
 * by path only ("unindexed"), its text never read.  A 4 KiB edit of a big
 * text file or database would otherwise cost a full extraction.  At most
 * INDEXER_REST_MAX contents rest; more: the one due first is indexed. */
#define INDEXER_BIG       (16ull << 20)
#define INDEXER_QUIET_S   600
#define INDEXER_REST_MAX  64

struct indexer_ops {
	void *arg;
	/* The device's content key, for vreader_open.  0 or -errno (the item
	 * is then indexed by path only). */
	int (*devkey)(void *arg, int64_t device_id, struct devkey *out);
	/* Optional (tests): open a content some other way than a vreader over
	 * the store; close is called after extraction. */
	int (*open)(void *arg, int64_t device_id, const struct content_ref *ref,
		    struct ex_source *src);
	void (*close)(void *arg, struct ex_source *src);
	/* Optional: extract some other way than extract() in this process
	 * (the server: exproc_extract, in a sandboxed child), with xarg. */
	int (*extract)(void *xarg, const char *path, const struct ex_source *src,
		       const struct ex_limits *lim, ex_emit_fn emit, void *arg,
		       struct ex_result *res);
	/* Optional: several small files at once (the server:
	 * exproc_extract_batch), with xarg; without it, extract or
	 * extract() per file. */
	int (*extract_batch)(void *xarg, struct ex_item *items, size_t n,
			     const struct ex_limits *lim);
	void *xarg;
};

struct indexer;

/* Starts the worker.  ti and st stay owned by the caller and must outlive
 * the indexer; st may be NULL when ops->open is given. */
int  indexer_new(struct textindex *ti, struct store *st, const struct indexer_ops *ops,
		 struct indexer **out);
/* Stops the worker after the item in hand; queued items are saved to the
 * pending table so the next start indexes them.  Returns how many could
 * not be saved (logged; 0 normally).  NULL-safe.
 * Resting items (INDEXER_BIG) are saved too, before the queued ones.
 * For tests, VIGIL_TEST_INDEXER_HOLD (read at start) keeps the worker from
 * indexing anything, so a crash can find items only in the queue;
 * VIGIL_TEST_INDEXER_BIG and VIGIL_TEST_INDEXER_QUIET_MS replace
 * INDEXER_BIG and the quiet period. */
int  indexer_free(struct indexer *ix);

/* A version was committed: ref is its content, NULL for a deleted version.
 * Copies what it needs.  0, or -errno only when the item could be neither
 * queued nor saved (logged). */
int  indexer_enqueue(struct indexer *ix, int64_t device_id, const char *path, uint64_t version,
		     int64_t time_ns, const struct content_ref *ref);
/* The same with the content's bytes (ref->size of them, NULL: none),
 * copied when the content is small and a slot is free, so the worker need
 * not read them back from the store.  They must be what ref names (the
 * ingest verified them against its root). */
int  indexer_enqueue_bytes(struct indexer *ix, int64_t device_id, const char *path,
			   uint64_t version, int64_t time_ns, const struct content_ref *ref,
			   const void *bytes);

/* Versions accepted but not yet indexed: the in-memory queue plus the
 * one in hand (the pending table is counted by textindex_stats). */
uint64_t indexer_backlog(struct indexer *ix);

/* Waits until the queue and the pending table are empty and the worker is
 * idle: 0, or -ETIMEDOUT.  For tests and orderly shutdown. */
int  indexer_wait_idle(struct indexer *ix, int timeout_ms);

#endif
