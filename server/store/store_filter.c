/* store_filter.c — "certainly not stored": a Bloom filter over the ids in
 * the chunk index, so that looking up a new chunk (every chunk of a first
 * upload) costs a few bit tests instead of an SQLite statement.
 *
 * Every chunk a build stores is looked up first (store_batch_has: a
 * duplicate is not written again).  For a 1 GiB first upload those are
 * ~100,000 lookups that all miss, 7 % of the server's CPU (issue 11,
 * docs/performance.md "Round 3: the store's per-chunk cost").  A miss in
 * the filter answers "not indexed" at once; a hit (a stored id, or a false
 * positive: ~3 % at the design load) goes to SQLite as before.  The filter
 * never answers "stored", so a false positive costs only the lookup.
 *
 * Layout: blocks of 512 bits; an id (HMAC output, uniform) picks a block
 * with its first 8 bytes and 4 bits in it with the next 36 bits, so a
 * test touches one cache line.  Size: 1 byte per id (8 bits: ~3 % false
 * positives), a power of two from FILTER_MIN to FILTER_MAX bytes — that
 * is, the server's memory grows with the number of chunks stored, by
 * 0.01 % of their bytes, and never past FILTER_MAX.  Past that many ids
 * the filter answers "maybe" more and more often (still correct); past
 * FILTER_GIVEUP ids it is dropped.
 *
 * Life: store_open starts a thread that reads every id from the index
 * (8,192 per hold of the database lock) into a new filter; commits add
 * their ids to it meanwhile (store_filter_add_locked), so when the thread
 * swaps it in it holds every indexed id.  Until then lookups go to SQLite.
 * When the ids added pass its capacity, a filter twice the size is built
 * the same way while the old one keeps answering.  Deleted ids keep their
 * bits (false positives only).  All of it under dbmu; the answering
 * filter also changes under fltmu, so that a batch's lookup tests it
 * without dbmu (store_filter_absent): a 1 GiB upload's checkpoint commits
 * hold dbmu through ~6,500 row inserts and the WAL's fsyncs, and its next
 * chunks are not stored meanwhile otherwise. */
#include "server/store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILTER_MIN     (64u << 10)    /* bytes: 64 Ki ids (~650 MiB of ~10 KiB chunks) */
#define FILTER_MAX     (16u << 20)    /* bytes: 16 Mi ids (~160 GiB) */
#define FILTER_GIVEUP  (64ull << 20)  /* ids: 4 bits each at FILTER_MAX, ~50 % false positives */
#define FILTER_SLICE   8192           /* ids read per hold of dbmu */

struct idfilter {
	uint64_t *w;        /* nbytes / 8 words; blocks of 8 */
	uint64_t nblocks;   /* a power of two */
	uint64_t n;         /* ids added */
};

static uint64_t id_word(const uint8_t *id, int i)
{
	uint64_t v;

	memcpy(&v, id + 8 * i, sizeof(v));
	return v;
}

static struct idfilter *filter_new(size_t nbytes)
{
	struct idfilter *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	if (!(f->w = calloc(nbytes / 8, sizeof(uint64_t)))) {
		free(f);
		return NULL;
	}
	f->nblocks = nbytes / 64;
	return f;
}

static void filter_free(struct idfilter *f)
{
	if (f)
		free(f->w);
	free(f);
}

static size_t filter_bytes(const struct idfilter *f) { return (size_t)f->nblocks * 64; }

/* The block of id and its 4 bits in it (each 0..511) */
static uint64_t *filter_block(const struct idfilter *f, const uint8_t *id, unsigned bit[4])
{
	uint64_t h = id_word(id, 1);

	for (int i = 0; i < 4; i++)
		bit[i] = (unsigned)(h >> (9 * i)) & 511;
	return f->w + 8 * (id_word(id, 0) & (f->nblocks - 1));
}

static void filter_set(struct idfilter *f, const uint8_t *id)
{
	unsigned bit[4];
	uint64_t *b = filter_block(f, id, bit);

	for (int i = 0; i < 4; i++)
		b[bit[i] / 64] |= 1ull << (bit[i] % 64);
	f->n++;
}

static bool filter_test(const struct idfilter *f, const uint8_t *id)
{
	unsigned bit[4];
	const uint64_t *b = filter_block(f, id, bit);

	for (int i = 0; i < 4; i++)
		if (!(b[bit[i] / 64] & (1ull << (bit[i] % 64))))
			return false;
	return true;
}

bool store_filter_maybe_locked(struct store *st, const uint8_t id[STORE_ID_LEN])
{
	if (!st->flt)
		return true;
	if (filter_test(st->flt, id))
		return true;
	__atomic_add_fetch(&st->flt_skipped, 1, __ATOMIC_RELAXED);
	return false;
}

bool store_filter_absent(struct store *st, const uint8_t id[STORE_ID_LEN])
{
	bool absent;

	pthread_mutex_lock(&st->fltmu);
	absent = st->flt && !filter_test(st->flt, id);
	pthread_mutex_unlock(&st->fltmu);
	if (absent)
		__atomic_add_fetch(&st->flt_skipped, 1, __ATOMIC_RELAXED);
	return absent;
}

/* Reads the ids after *last (all when !*have) into f: how many, or -errno. */
static int scan_slice(struct store *st, sqlite3_stmt *q, struct idfilter *f, uint8_t last[STORE_ID_LEN],
		      bool *have)
{
	int rc, n = 0;

	sqlite3_bind_blob(q, 1, last, *have ? STORE_ID_LEN : 0, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, FILTER_SLICE);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const void *id = sqlite3_column_blob(q, 0);

		if (sqlite3_column_bytes(q, 0) != STORE_ID_LEN)
			continue;   /* (never written so; not a chunk id) */
		filter_set(f, id);
		memcpy(last, id, STORE_ID_LEN);
		*have = true;
		n++;
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? n : store_db_err(st, rc);
}

/* The builder thread: every indexed id into st->flt_next, then swapped in. */
static void *filter_build(void *arg)
{
	struct store *st = arg;
	struct idfilter *old = NULL, *f;
	sqlite3_stmt *q = NULL;
	uint8_t last[STORE_ID_LEN];
	bool have = false;
	int n = FILTER_SLICE;

	pthread_mutex_lock(&st->dbmu);
	f = st->flt_next;
	if (sqlite3_prepare_v2(st->db, "SELECT id FROM chunks WHERE id > ?1 ORDER BY id LIMIT ?2",
			       -1, &q, NULL) != SQLITE_OK)
		n = -1;
	while (n == FILTER_SLICE && !st->flt_stop && f->n <= FILTER_GIVEUP) {
		n = scan_slice(st, q, f, last, &have);
		pthread_mutex_unlock(&st->dbmu);
		pthread_mutex_lock(&st->dbmu);   /* (lets a lookup or a commit in between) */
	}
	sqlite3_finalize(q);
	pthread_mutex_lock(&st->fltmu);
	if (n >= 0 && n < FILTER_SLICE && !st->flt_stop) {
		old = st->flt;
		st->flt = f;              /* holds every id: scanned, or added since */
	} else {
		old = f;                  /* failed, stopped, or too many ids: none */
		if (f->n > FILTER_GIVEUP) {
			st->flt_giveup = true;
			old = st->flt, st->flt = NULL;
			filter_free(f);
		}
	}
	pthread_mutex_unlock(&st->fltmu);
	st->flt_next = NULL;
	st->flt_running = false;
	pthread_mutex_unlock(&st->dbmu);
	filter_free(old);
	return NULL;
}

/* With dbmu held: starts building a filter of nbytes unless one is being
 * built.  Without a thread the store simply has no (new) filter. */
static void filter_start_locked(struct store *st, size_t nbytes)
{
	if (st->flt_running || st->flt_giveup || st->flt_stop)
		return;
	if (st->flt_joinable) {
		pthread_join(st->flt_th, NULL);   /* finished: it only had to return */
		st->flt_joinable = false;
	}
	if (!(st->flt_next = filter_new(nbytes)))
		return;
	if (pthread_create(&st->flt_th, NULL, filter_build, st) != 0) {
		filter_free(st->flt_next);
		st->flt_next = NULL;
		return;
	}
	st->flt_running = true;
	st->flt_joinable = true;
}

void store_filter_add_locked(struct store *st, const uint8_t id[STORE_ID_LEN])
{
	if (st->flt_next)
		filter_set(st->flt_next, id);
	if (!st->flt)
		return;
	pthread_mutex_lock(&st->fltmu);
	filter_set(st->flt, id);
	pthread_mutex_unlock(&st->fltmu);
	/* past 8 bits per id: twice the size, while this one keeps answering */
	if (st->flt->n > filter_bytes(st->flt) && filter_bytes(st->flt) < FILTER_MAX)
		filter_start_locked(st, 2 * filter_bytes(st->flt));
}

void store_filter_start(struct store *st)
{
	char path[4200];
	struct stat sb;
	uint64_t est = 0;
	size_t nbytes = FILTER_MIN;

	/* rows from the index's size (a row and its share of the B-tree
	 * take ~60 bytes; the WAL may hold pages not yet in the file) */
	snprintf(path, sizeof(path), "%s/chunks.db", st->dir);
	if (stat(path, &sb) == 0)
		est += (uint64_t)sb.st_size / 48;
	snprintf(path, sizeof(path), "%s/chunks.db-wal", st->dir);
	if (stat(path, &sb) == 0)
		est += (uint64_t)sb.st_size / 48;
	while (nbytes < FILTER_MAX && nbytes < 2 * est)
		nbytes *= 2;
	pthread_mutex_lock(&st->dbmu);
	filter_start_locked(st, nbytes);
	pthread_mutex_unlock(&st->dbmu);
}

void store_filter_stop(struct store *st)
{
	pthread_mutex_lock(&st->dbmu);
	st->flt_stop = true;
	pthread_mutex_unlock(&st->dbmu);
	if (st->flt_joinable)
		pthread_join(st->flt_th, NULL);
	st->flt_joinable = false;
	filter_free(st->flt);
	filter_free(st->flt_next);   /* (the thread freed its own) */
	st->flt = st->flt_next = NULL;
}

void store_filter_stats(struct store *st, struct store_filter_stats *out)
{
	pthread_mutex_lock(&st->dbmu);
	out->ready = st->flt != NULL;
	out->bytes = st->flt ? filter_bytes(st->flt) : 0;
	out->ids = st->flt ? st->flt->n : 0;
	out->skipped = __atomic_load_n(&st->flt_skipped, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&st->dbmu);
}
