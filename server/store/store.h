/* store.h — the server's content-addressed chunk store (pack files + index).
 *
 * Chunks (file chunks and chunk-tree pages alike) are zstd-compressed and
 * appended to DIR/store/packs/NNNNNNNN.pack as self-describing records; an
 * SQLite index (DIR/store/chunks.db, WAL) maps a chunk id to its record.
 * A chunk's id is HMAC-SHA256(devkey, sha256(plain)): deduplication is per
 * device and an id tells nothing about another device's content.
 *
 * Writers go through a batch: store_batch_put() appends a record (nothing is
 * indexed yet), store_batch_commit() makes the batch durable — fdatasync of
 * every pack it touched, then one SQLite transaction adding its index rows.
 * Batches committed at the same time by concurrent uploads are made durable
 * together (group commit: one fdatasync per pack, one transaction).
 * A crash or a failure before the commit leaves only unindexed records,
 * which store_open() truncates from pack tails or a later sweep reclaims.
 * ENOSPC from any write returns -ENOSPC, truncates the failed record away
 * and leaves everything committed intact; later writes work again once
 * space returns.  The format and the sweeper design are in
 * docs/store-format.md, "Pack store".
 *
 * Thread-safe: one store is shared by all connections; each builder uses a
 * batch of its own. */
#ifndef VIGIL_STORE_H
#define VIGIL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STORE_ID_LEN     32
#define STORE_CHUNK_MAX  (1u << 20)          /* largest plain chunk or page accepted */
#define STORE_PACK_ROLL  (64ull << 20)       /* start a new pack beyond this size */

struct devkey { uint8_t k[32]; };   /* per-device secret (server index holds it) */

struct store;
struct store_batch;

/* Opens (creating when missing) the store directory dir, normally DIR/store:
 * dir/packs/, dir/chunks.db, dir/uploads/.  0 or -errno. */
int  store_open(const char *dir, struct store **out);
/* The same for an encrypted store (key: its data key, storekey.h), or a
 * new store that is to be encrypted; key NULL is store_open.  Also
 * -ENOKEY (encrypted, no key), -EKEYREJECTED (another store's key),
 * -EINVAL (a key for a store that holds plain chunks), each logged once.
 * Records are then sealed with AES-256-GCM (docs/store-format.md,
 * "Encryption at rest"); nothing else of the API changes. */
struct store_key;
int  store_open_key(const char *dir, const struct store_key *key, struct store **out);
bool store_encrypted(const struct store *st);
void store_close(struct store *st);              /* NULL-safe; no batch may be live */

/* The directory the store was opened on (for uploads/ state). */
const char *store_dir(const struct store *st);

/* id = HMAC-SHA256(key, sha256 of the plain bytes) */
void store_chunk_id(const struct devkey *key, const uint8_t sha[32], uint8_t id[STORE_ID_LEN]);
/* The same with the key set up once (a build's every chunk and page:
 * OpenSSL's one-shot HMAC fetches SHA-256 and derives the key's pads on
 * each call).  One thread at a time.  new: NULL on failure. */
struct store_idmac;
struct store_idmac *store_idmac_new(const struct devkey *key);
int  store_idmac(struct store_idmac *m, const uint8_t sha[32], uint8_t id[STORE_ID_LEN]);
void store_idmac_free(struct store_idmac *m);   /* NULL-safe */

/* 1 when the id is indexed (committed), 0 when not, or -errno. */
int  store_has(struct store *st, const uint8_t id[STORE_ID_LEN]);
/* Reads and decompresses a committed chunk into buf (cap bytes);
 * *n = its plain length.  -ENOENT unknown, -EIO on a damaged record
 * (bad crc, wrong id, bad zstd frame), -EMSGSIZE when cap is too small. */
int  store_get(struct store *st, const uint8_t id[STORE_ID_LEN], void *buf, size_t cap, size_t *n);

/* Where a committed chunk's record lies. */
struct store_loc {
	uint32_t pack, clen, rlen;
	uint64_t off;
	uint64_t owner;      /* 0, or the upload that stored it (provisional while
			      * prov lists it: store_free.c) */
	bool found;          /* false: the id is not indexed */
};
/* Locates n chunks in one pass over the index (a sequential reader asks
 * for the chunks ahead of it at once).  0 or -errno. */
int  store_locate(struct store *st, const uint8_t (*ids)[STORE_ID_LEN], size_t n,
		  struct store_loc *out);
/* store_get of a chunk store_locate found; the same checks and errors. */
int  store_get_at(struct store *st, const uint8_t id[STORE_ID_LEN], const struct store_loc *l,
		  void *buf, size_t cap, size_t *n);
/* For a reader of many records that lie back to back (a file's chunks as
 * one upload wrote them): one pread of [off, off+n) of a pack into buf,
 * then store_decode of each record in it.  store_rec_bytes is the size of
 * l's record on disk (it starts at l->off).  The header is checked against
 * the index as by store_get_at.  check_crc false is for a caller that
 * checks every chunk it decodes against the sha256 naming it (the
 * vreader): that check covers the payload, so the record's CRC-32 is not
 * computed again; true checks the CRC-32 as store_get_at does, for a
 * reader whose caller verifies the whole content end to end (`vigil get`)
 * and so does not hash each chunk (content.h, vreader_set_verified).
 * 0 or -errno, as store_get_at. */
int  store_read_span(struct store *st, uint32_t pack, uint64_t off, size_t n, void *buf);
/* The same, up to max bytes: fewer at the pack's end.  The count or -errno
 * (-EIO: the pack is gone). */
ssize_t store_read_upto(struct store *st, uint32_t pack, uint64_t off, size_t max, void *buf);
size_t store_rec_bytes(const struct store_loc *l);
/* The most bytes on disk a record of rlen plain bytes takes. */
size_t store_rec_max(uint64_t rlen);
/* Whether the avail bytes at rec begin a whole record of this store that
 * names id and holds rlen plain bytes; then *l gets its lengths (found,
 * owner 0; the caller sets pack and off).  A sequential reader finds the
 * next chunks of a file this way, after the records it located (content_
 * read.c); what it decodes is checked as ever, and the index is asked when
 * that fails. */
bool store_rec_named(struct store *st, const void *rec, size_t avail,
		     const uint8_t id[STORE_ID_LEN], uint32_t rlen, struct store_loc *l);
int  store_decode(struct store *st, const uint8_t id[STORE_ID_LEN], const struct store_loc *l,
		  const void *rec, bool check_crc, void *buf, size_t cap, size_t *n);

int  store_batch_new(struct store *st, struct store_batch **out);
/* Stores a chunk unless already committed or already in this batch.
 * n <= STORE_CHUNK_MAX.  0 or -errno (-ENOSPC: nothing of it remains). */
int  store_batch_put(struct store_batch *b, const uint8_t id[STORE_ID_LEN], const void *p, size_t n);
/* 1 if the id is committed or pending in this batch, 0 if not, -errno. */
int  store_batch_has(struct store_batch *b, const uint8_t id[STORE_ID_LEN]);
/* Durable once it returns 0; the batch is then empty and reusable. */
int  store_batch_commit(struct store_batch *b);
/* Frees; uncommitted records are given back (cut from the pack tail, or a
 * hole punched over them).  NULL-safe. */
void store_batch_free(struct store_batch *b);
/* Writes b's buffered records and moves all of b's uncommitted records
 * into to (an empty batch of the same store), with b's owner: another
 * thread may then store_batch_commit(to) while b takes more chunks.  b
 * keeps its write buffer and its drop-behind (a big upload's checkpoints,
 * content_pipe.c).  A chunk stored again into b before to's commit is
 * looked up as not stored: its second record is garbage, given back when
 * b commits (the dup path of a concurrent batch).  0 or -errno (on a
 * failed write both batches still hold their records). */
int  store_batch_handoff(struct store_batch *b, struct store_batch *to);

/* ---- provisional chunks (abandoned uploads, issue 10 finding 1.6) ----
 * A resumable upload's batch stamps the rows it commits with the upload's
 * owner id (random, non-zero, kept in its state file).  Such a row is
 * provisional: no version references it yet.  It becomes everyone's (owner
 * 0) when another batch finds it already stored and reuses it, when another
 * batch's insert of the same id is ignored, or when the upload finishes
 * (store_owner_release).  So store_owner_collect can delete the rows still
 * provisional and punch their records without looking at any version: no
 * version and no other live build can use them.  The provisional rows are
 * listed in a table of their own, in the upload's append order, so a
 * release deletes one range of it (store_free.c). */
void store_batch_set_owner(struct store_batch *b, uint64_t owner);
/* 0 or -errno. */
int  store_owner_release(struct store *st, uint64_t owner);
/* Deletes owner's provisional rows and gives their records' space back;
 * adds to *nrec and *nbytes (may be NULL).  0 or -errno. */
int  store_owner_collect(struct store *st, uint64_t owner, uint64_t *nrec, uint64_t *nbytes);

/* ---- checking (store_check.c; `vigil-server check`) ----
 * Every index row in id order: its pack must exist, its record must lie
 * within the pack's committed end and size, and the record's header must
 * parse and agree with the row.  bad() hears each damaged row (a fault on a
 * row that changed meanwhile, by a sweep, is not one); its non-zero return
 * stops the pass and is returned.  Only the header is read: payloads are
 * verified by reading versions (server/check.c).  The database lock is
 * held for one page of rows at a time.  quit (NULL: none) is polled before
 * each row: once non-zero the pass stops there with -ECANCELED (a server
 * that stops does not wait for the rest).  0 or -errno. */
struct store_check_stats {
	uint64_t rows, bytes, bad;   /* rows seen, their record bytes, damaged */
};
typedef int (*store_check_bad_fn)(void *arg, const uint8_t id[STORE_ID_LEN],
				  const struct store_loc *l, const char *why);
int  store_check_rows(struct store *st, store_check_bad_fn bad, void *arg,
		      const volatile int *quit, struct store_check_stats *out);

/* ---- sweeping (store_sweep.c; docs/store-format.md, "Sweeping
 * unreferenced chunks": the steps and why nothing live is deleted) ----
 *
 * A guard: held by whatever may make the store's rows part of a version
 * (an ingest request from before it builds until after its index commit;
 * every batch while it lives).  A sweep waits, before it marks, for the
 * guards that entered before it began.  The caller owns the struct. */
struct store_guard {
	uint64_t seq;
	struct store_guard *prev, *next;
};
void store_guard_enter(struct store *st, struct store_guard *g);
void store_guard_exit(struct store *st, struct store_guard *g);   /* once per enter */

/* A pin: a root being read (a vreader), marked by a running sweep.  id is
 * the root page's store id.  -ENOENT when a sweep is deleting and did not
 * mark it (the version was dropped: its tree may be partly gone). */
struct store_pin {
	struct devkey key;
	uint8_t root[32], id[STORE_ID_LEN];
	uint64_t size;
	bool on;
	struct store_pin *prev, *next;
};
int  store_pin(struct store *st, struct store_pin *p, const struct devkey *key,
	       const uint8_t root[32], const uint8_t id[STORE_ID_LEN], uint64_t size);
void store_unpin(struct store *st, struct store_pin *p);   /* NULL-safe, idempotent */

/* One root to mark (a copy of a pin). */
struct store_root {
	struct devkey key;
	uint8_t root[32];
	uint64_t size;
};
struct store_sweep_stats {
	int64_t gen;
	uint64_t marked;           /* ids in the mark set */
	uint64_t touched;          /* ids reused by ingest while it ran */
	uint64_t rows;             /* index rows looked at */
	uint64_t deleted, deleted_bytes;   /* rows deleted, their records' bytes */
	uint64_t kept_touched;     /* unmarked rows kept because ingest reused them */
	uint64_t packs;            /* packs looked at */
	uint64_t live_bytes;       /* bytes of indexed records after the sweep */
	/* compaction (store_sweep_compact) */
	uint64_t packs_rewritten;  /* partly live packs whose rows were moved */
	uint64_t packs_removed;    /* pack files unlinked (rewritten ones, and dead ones) */
	uint64_t moved, moved_bytes;   /* rows moved, their new records' bytes */
	uint64_t reclaimed_bytes;  /* disk space of the removed packs, less moved_bytes */
	uint64_t unreadable;       /* rows whose record could not be read: their pack stays */
};
/* Step 1: a new generation, the touched set.  -EBUSY when a sweep runs. */
int  store_sweep_begin(struct store *st);
/* Step 2: waits until every guard older than the sweep has exited;
 * -ETIMEDOUT after timeout_ms (the sweep must then end undone). */
int  store_sweep_wait(struct store *st, int timeout_ms);
/* Step 3: 1 when id is newly marked, 0 when it was, -ENOMEM. */
int  store_sweep_mark(struct store *st, const uint8_t id[STORE_ID_LEN]);
bool store_sweep_marked(struct store *st, const uint8_t id[STORE_ID_LEN]);
/* The pins to mark: every pin held at store_sweep_begin or made since,
 * not returned before, as a malloc'd array (*n may be 0; free it).  With
 * finish, when there are none left, the sweep moves on to deleting
 * (*deleting true), atomically with that check.  0 or -errno. */
int  store_sweep_pins(struct store *st, struct store_root **out, size_t *n, bool finish,
		      bool *deleting);
/* Step 4: deletes the rows that are neither marked nor touched and older
 * than the sweep; punches their records.  0 or -errno (what was deleted
 * stays deleted: it was garbage). */
int  store_sweep_delete(struct store *st, struct store_sweep_stats *out);
/* Step 5, compaction (store_compact.c), after a whole step 4: the packs
 * below A0 (the active pack when the sweep began, rolled then) that hold
 * no live row are removed, and while the unused bytes of those packs (disk
 * usage less live record bytes) are more than max_unused percent of their
 * disk usage (restic's --max-unused; 100: no limit), the packs with the
 * largest unused share are rewritten: each row
 * still there is moved to the active pack through a batch of moves
 * (store_batch_move), then the pack's file is unlinked and its packs row
 * deleted.  Readers that located a record in a removed pack locate it
 * again (store_get, the vreader).  max_unused < 0: no compaction.  Adds
 * to the sweep's stats.  cancel (NULL: none) is polled before each page
 * of the row scan, each pack and each record: once it is nonzero the
 * moves made so far are committed and -ECANCELED returned (the pack being
 * rewritten stays, whole; the next sweep goes on).  0 or -errno. */
#define STORE_MAX_UNUSED_DEFAULT 5
int  store_sweep_compact(struct store *st, int max_unused, const volatile int *cancel);
/* Step 6; also when a step failed.  NULL-safe for stats. */
void store_sweep_end(struct store *st, struct store_sweep_stats *out);
struct store_stats {
	uint64_t chunks;        /* indexed chunks */
	uint64_t pack_bytes;    /* bytes in pack files (records incl. garbage) */
	uint64_t pack_disk;     /* bytes the pack files take on disk (holes excluded) */
	uint64_t packs;
	uint64_t freed_records; /* records given back since the store was made */
	uint64_t freed_bytes;   /* their bytes */
	uint64_t records_read;  /* chunk and page records read since store_open */
};
int  store_stats(struct store *st, struct store_stats *out);
/* Group commits made since open, and the batches they made durable. */
void store_group_stats(struct store *st, uint64_t *groups, uint64_t *batches);

#endif
