/* store_int.h — what store.c and store_batch.c share (not a public API).
 *
 * Locking: mu guards the pack state (active pack, tail, fd table, pack
 * errors, the zstd decompression context pool); dbmu guards the SQLite
 * connection and its statements.  Never take mu while holding dbmu. */
#ifndef VIGIL_STORE_INT_H
#define VIGIL_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <zstd.h>

#include <openssl/evp.h>

#include "server/store/store.h"

/* Pack record: magic "VGC2", u8 flags, 3 zero bytes, id[32], u32 plain
 * length, u32 stored length, u32 CRC-32 (zlib's)
 * of header bytes 0..47 and the payload;
 * then the payload.  Integers big-endian. */
#define REC_MAGIC     0x56474332u   /* "VGC2" */
/* An encrypted store's record (store_seal.c): the same header with magic
 * "VGE2", and as payload nonce[12] || AES-256-GCM ciphertext || tag[16];
 * the stored length counts all three. */
#define REC_MAGIC_ENC 0x56474532u   /* "VGE2" */
#define REC_NONCE     12
#define REC_TAG       16
#define REC_SEAL      (REC_NONCE + REC_TAG)
#define STORE_FORMAT  2             /* meta 'format': VGC2 records, CRC-32 */
#define REC_HDR       52
#define REC_F_ZSTD    0x01
#define STORE_FDS     64            /* pack fds kept open */
#define STORE_DCTX    8             /* pooled decompression contexts */
#define STORE_ZLEVEL  3

struct pack_slot {
	uint32_t pack;     /* 0: slot free */
	int fd;
	int refs;          /* batches with pending records + readers + active */
	int err;           /* an fdatasync failed: -errno for every later commit */
	bool gone;         /* its file was unlinked (compaction): closed at refs 0, never handed out */
};

/* One batch waiting for a group commit (below). */
struct gc_wait {
	struct store_batch *b;
	int r;
	bool done;
	struct gc_wait *next;
};

struct store {
	char *dir;
	int packsfd;
	pthread_mutex_t mu;
	uint32_t active;          /* pack being appended to */
	int active_slot;
	uint64_t tail;            /* its size */
	bool need_roll;           /* active pack had an error: start a new one */
	uint64_t records_read;    /* records read by store_get/_at since open */
	struct pack_slot slot[STORE_FDS];
	ZSTD_DCtx *dctx[STORE_DCTX];
	int ndctx;

	pthread_mutex_t dbmu;
	sqlite3 *db;
	sqlite3_stmt *q_get, *q_ins, *q_end;
	sqlite3_stmt *q_claim;    /* a provisional row becomes everyone's (store_free.c) */
	sqlite3_stmt *q_provq;    /* is it still provisional? */
	sqlite3_stmt *q_prov;     /* lists a provisional row */
	int64_t gen;              /* generation stamped on new rows (sweeper) */
	/* ids certainly not indexed (store_filter.c), under dbmu; flt (the
	 * pointer and its bits) changes with fltmu held too, so that a
	 * batch's lookup may test it under fltmu alone (store_filter_absent) */
	pthread_mutex_t fltmu;
	struct idfilter *flt;     /* answering; NULL: none (yet) */
	struct idfilter *flt_next;   /* being built by flt_th, fed by commits too */
	pthread_t flt_th;
	bool flt_running, flt_joinable, flt_stop, flt_giveup;
	uint64_t flt_skipped;     /* lookups it answered (__atomic) */

	/* group commit (store_batch.c): batches committed by concurrent
	 * uploads wait in gc_head; one of them, the leader, makes them all
	 * durable with one fdatasync per pack and one transaction */
	pthread_mutex_t gcmu;
	pthread_cond_t gccv;
	struct gc_wait *gc_head, **gc_tail;
	bool gc_leading;
	uint64_t gc_groups, gc_batches;   /* counters, under gcmu */

	/* encryption at rest (store_seal.c); enc false: plain VGC2 records */
	bool enc;
	uint8_t pkey[32];         /* the records' AES-256-GCM key */
	uint8_t nsalt[4];         /* random per open: first 4 bytes of every nonce */
	pthread_mutex_t nmu;      /* the nonce counter (taken before dbmu) */
	uint64_t nonce_next, nonce_lim;   /* next counter; reserved in meta below lim */
	EVP_CIPHER_CTX *dcx[STORE_DCTX];  /* pooled decryption contexts, under mu */
	int ndcx;

	/* sweeping (store_sweep.c) */
	pthread_mutex_t swmu;     /* held by the one running sweep */
	struct store_sweep *sw;   /* the running sweep, NULL: none; under dbmu */
	struct store_pin *pins;   /* open readers' roots, under dbmu */
	pthread_mutex_t gmu;      /* guards: */
	pthread_cond_t gcv;       /* broadcast when one exits */
	uint64_t gseq;
	struct store_guard *ghead, *gtail;   /* oldest first */
};

/* zlib's CRC-32 (a few GB/s) continued from crc (0 to start). */
uint32_t store_crc32(uint32_t crc, const void *p, size_t n);
/* With mu held: a slot holding pack's fd (opened if needed), refs+1. */
int  store_slot_get_locked(struct store *st, uint32_t pack);
void store_slot_put_locked(struct store *st, int slot);
/* Without locks held: SQLite error -> -errno (ENOSPC for a full disk). */
int  store_db_err(struct store *st, int rc);
/* Ends the transaction the caller began: COMMIT when rc (its last SQLite
 * result) is SQLITE_OK, else, or when the COMMIT fails, ROLLBACK.  0 or
 * store_db_err's -errno. */
int  store_txn_end(struct store *st, int rc);
/* With mu held: starts pack active+1 as the active pack. */
int  store_roll_locked(struct store *st);

/* One lookup of id with dbmu held: 1 found (l filled), 0 unknown, -errno. */
int  store_lookup_locked(struct store *st, const uint8_t id[STORE_ID_LEN], struct store_loc *l);

/* store_free.c.  With the database open and no lock held: adds the owner
 * column and the prov table to a store made before them (the provisional
 * rows of a store with the older chunks_owner index are listed in prov),
 * prepares q_claim, q_provq and q_prov. */
int  store_owner_migrate(struct store *st);
/* With dbmu held: the row l found (its owner included), if it is still
 * provisional and not owner's, becomes everyone's (its prov row is
 * deleted).  0 or -errno. */
int  store_claim_locked(struct store *st, const struct store_loc *l, uint64_t owner);
/* With dbmu held, inside the commit's transaction: owner's new row of id
 * at pack/off is provisional.  An SQLite result code. */
int  store_prov_add_locked(struct store *st, uint64_t owner, uint32_t pack, uint64_t off,
			  const uint8_t id[STORE_ID_LEN]);
/* Gives the disk space of a record nobody indexes back (a hole punched in
 * its pack; nothing when the filesystem cannot); no lock held. */
void store_punch(struct store *st, uint32_t pack, uint64_t off, uint64_t len);
/* Adds to the freed counters in meta; no lock held. */
void store_freed_add(struct store *st, uint64_t nrec, uint64_t nbytes);
/* The same with dbmu held, inside or outside a transaction.  0 or -errno. */
int  store_freed_add_locked(struct store *st, uint64_t nrec, uint64_t nbytes);
/* Records nobody indexes: f[0..n) sorted (in place) and punched, merged
 * where they touch so the blocks they share go too.  No lock held. */
struct store_extent { uint32_t pack; uint64_t off, len; };
void store_punch_extents(struct store *st, struct store_extent *f, size_t n);

/* store_compact.c's side of a batch (store_batch.c): stores the plain
 * bytes p[0..n) of id again (sealed anew in an encrypted store) as a
 * *move* of the row that names old: the commit then updates that row (and
 * its prov row) only if it still names old's place; a row gone or moved
 * meanwhile is left as it is and the new record is punched as garbage.
 * 0 or -errno, as store_batch_put. */
int  store_batch_move(struct store_batch *b, const uint8_t id[STORE_ID_LEN],
		      const struct store_loc *old, const void *p, size_t n);
/* Rows the batch's commits moved, and moves that found their row gone. */
void store_batch_move_counts(const struct store_batch *b, uint64_t *moved, uint64_t *gone);
/* store.c.  Unlinks pack's file; a slot holding its fd is closed now, or
 * by its last reader (a reader that located a record there before gets
 * -EIO and locates it again).  0 or -errno (-ENOENT: already gone). */
int  store_pack_remove(struct store *st, uint32_t pack);

/* store_sweep.c.  The running sweep's A0 (packs below it get no new
 * records) and the live record bytes its deletion step counted in each
 * pack below A0 (live[0..a0), NULL before that step).  NULL sw: none. */
const uint64_t *store_sweep_live(struct store *st, uint32_t *a0);
/* The running sweep's counters (compaction adds to them); NULL: none. */
struct store_sweep_stats *store_sweep_statsp(struct store *st);
/* A crash point of the sweep (VIGIL_SWEEP_CRASH_AT, a test hook). */
void store_sweep_crash_point(void);
/* store_sweep.c.  With dbmu held: a batch reuses id's committed row (a
 * dedup hit or its duplicate insert ignored): a running sweep keeps it. */
void store_sweep_touch_locked(struct store *st, const uint8_t id[STORE_ID_LEN]);
/* At open: the meta gen and the sweep_punch table; close frees. */
int  store_sweep_open(struct store *st);
void store_sweep_close(struct store *st);

/* store_filter.c.  With dbmu held: false when id is certainly not
 * indexed (no lookup needed), true when it may be. */
bool store_filter_maybe_locked(struct store *st, const uint8_t id[STORE_ID_LEN]);
/* true when id is certainly not indexed, without dbmu: a batch's lookup
 * does not wait for another batch's commit (which holds dbmu through its
 * transaction and fsyncs).  An id a commit in progress adds may be
 * answered absent: its second record is then a duplicate at our commit,
 * as when two builders store a chunk at once. */
bool store_filter_absent(struct store *st, const uint8_t id[STORE_ID_LEN]);
/* With dbmu held: id was indexed (a commit's row). */
void store_filter_add_locked(struct store *st, const uint8_t id[STORE_ID_LEN]);
/* At open, no lock held: starts building the filter from the index;
 * lookups go to SQLite until it is ready. */
void store_filter_start(struct store *st);
/* At close: ends the builder, frees the filter. */
void store_filter_stop(struct store *st);
struct store_filter_stats {
	bool ready;               /* lookups are answered by it */
	uint64_t bytes, ids;      /* its size, ids in it */
	uint64_t skipped;         /* lookups it answered "not indexed" since open */
};
void store_filter_stats(struct store *st, struct store_filter_stats *out);

/* store_seal.c.  At open, with the database open and no lock held: reads
 * or (a new store) records whether the store is encrypted and, with a
 * key, checks that it is this store's.  0; -ENOKEY: encrypted and no key;
 * -EKEYREJECTED: another key; -EINVAL: a key for a plain store that holds
 * chunks already; -errno. */
struct store_key;
int  store_seal_open(struct store *st, const struct store_key *key);
void store_seal_close(struct store *st);
/* An encryption context for one batch (NULL on failure). */
EVP_CIPHER_CTX *store_seal_ctx(struct store *st);
/* Seals the n bytes at in into the record rec (header bytes 0..47 filled,
 * the additional data) : rec+REC_HDR gets the nonce, then n bytes of
 * ciphertext (in may be that very place) and the tag.  0 or -errno. */
int  store_seal(struct store *st, EVP_CIPHER_CTX *c, uint8_t *rec, const void *in, size_t n);
/* Opens the sealed payload of rec (clen stored bytes) into out (clen -
 * REC_SEAL bytes).  0, or -EIO when the tag does not match. */
int  store_unseal(struct store *st, const uint8_t *rec, size_t clen, void *out);

#endif
