/* store_batch.c — appending chunks to the active pack and committing them
 * to the index in batches (fdatasync first, then one transaction).
 *
 * Records are built into the batch's write buffer and written, whole and
 * several at once (up to BATCH_WBUF bytes: one pwrite, not one per ~10 KiB
 * chunk), under the store lock at the pack tail when the buffer is full
 * and before every commit; if the write fails (ENOSPC...) the pack is
 * truncated back to where it began, so the tail never holds a torn record
 * while the server runs.  An
 * fdatasync failure poisons that pack (every batch with records in it fails;
 * the kernel reports a writeback error only once) and the next append starts
 * a new pack. */
#include "common/byteorder.h"
#include "common/fdio.h"
#include "server/store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_AUTO    8192        /* commit by itself beyond this many rows (~64 MiB) */
#define BATCH_PACKS   8
#define BATCH_WBUF    (256u << 10) /* records written at once (a larger one alone) */
#define DROP_LAG      (4u << 20)   /* a big upload's pages dropped this far behind its tail */
#define DROP_STEP     (2u << 20)   /* ... this many at a time */

struct pend {
	uint8_t id[STORE_ID_LEN];
	uint32_t pack;              /* 0: still in the write buffer, at off there */
	uint64_t off;
	uint32_t clen, rlen;
	bool dup;                   /* its insert was ignored: the record is garbage */
	uint32_t mv_pack;           /* a move (store_batch_move): the row's old place; 0: none */
	uint64_t mv_off;
};

struct store_batch {
	struct store *st;
	ZSTD_CCtx *cctx;
	EVP_CIPHER_CTX *ecx;        /* an encrypted store's (store_seal.c), else NULL */
	uint8_t *rec;               /* write buffer: records not written yet (p[wfirst..n)) */
	size_t reccap, wlen;        /* grown up to BATCH_WBUF, or one record's bound */
	size_t wfirst;
	struct pend *p;
	size_t n, pcap;             /* p[] grown by doubling up to BATCH_AUTO */
	uint64_t owner;             /* stamped on committed rows (store.h) */
	uint32_t *hash;             /* open addressing over p[]: index+1, 0 empty */
	size_t hcap;                /* power of two, >= 2 * pcap */
	int slots[BATCH_PACKS];     /* pack slots holding our uncommitted records */
	int nslots;
	/* chunks in a row that did not shrink (rec_build) */
	uint32_t raw_run;
	/* our latest run of adjacent uncommitted records, to cut on failure */
	uint32_t run_pack;          /* 0: none */
	uint64_t run_start, run_end;
	/* drop-behind of a big upload's written bytes (batch_drop_behind) */
	uint32_t drop_pack;         /* 0: none yet */
	uint64_t drop_from;         /* of drop_pack: bytes before it are dropped */
	struct store_guard guard;   /* a sweep waits for batches older than itself */
	uint64_t moved, move_gone;  /* moves committed: rows moved, rows found gone */
};

static size_t hslot(const uint8_t *id, size_t cap)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));    /* ids are HMAC output: uniform */
	return (size_t)h & (cap - 1);
}

static bool pending(struct store_batch *b, const uint8_t *id)
{
	size_t i = hslot(id, b->hcap);

	while (b->hash[i]) {
		if (!memcmp(b->p[b->hash[i] - 1].id, id, STORE_ID_LEN))
			return true;
		i = (i + 1) & (b->hcap - 1);
	}
	return false;
}

int store_batch_new(struct store *st, struct store_batch **out)
{
	struct store_batch *b = calloc(1, sizeof(*b));

	*out = NULL;
	if (!b)
		return -ENOMEM;
	b->st = st;
	store_guard_enter(st, &b->guard);
	/* rec and p grow with what the batch holds (batch_reserve): an upload
	 * of a few small chunks does not take megabytes */
	b->hcap = 128;
	b->cctx = ZSTD_createCCtx();
	b->hash = calloc(b->hcap, sizeof(*b->hash));
	if (st->enc)
		b->ecx = store_seal_ctx(st);
	if (!b->cctx || !b->hash || (st->enc && !b->ecx)) {
		store_batch_free(b);
		return -ENOMEM;
	}
	*out = b;
	return 0;
}

/* A failed or abandoned batch: if its last records are still the active
 * pack's tail (nobody appended after them), cut them off so a full disk
 * gets its space back at once.  Returns true when it cut: that run's
 * offsets may hold another batch's records from now on. */
static bool batch_cut_tail(struct store_batch *b)
{
	struct store *st = b->st;
	bool cut = false;

	if (!b->run_pack)
		return false;
	pthread_mutex_lock(&st->mu);
	if (b->run_pack == st->active && b->run_end == st->tail &&
	    ftruncate(st->slot[st->active_slot].fd, (off_t)b->run_start) == 0) {
		st->tail = b->run_start;
		cut = true;
	}
	pthread_mutex_unlock(&st->mu);
	return cut;
}

/* Gives back the records in p[] (all of them, or only the dups): a hole
 * where the tail cut did not take them, adjacent records (p[] is in
 * append order) as one range so their shared blocks go too.  After a cut
 * (cut: true) the run's records are gone and never punched: another batch
 * may append there at once.  No lock held. */
static void batch_punch(struct store_batch *b, bool dups_only, bool cut)
{
	uint64_t nrec = 0, nbytes = 0, start = 0, end = 0;
	uint32_t pack = 0;
	size_t i;

	for (i = 0; i < b->n; i++) {
		struct pend *e = &b->p[i];
		uint64_t len = REC_HDR + (uint64_t)e->clen;

		if ((dups_only && !e->dup) || !e->pack)
			continue;   /* (never written: nothing to give back) */
		nrec++;
		nbytes += len;
		if (cut && e->pack == b->run_pack && e->off >= b->run_start)
			continue;   /* later records of a pack lie at higher offsets */
		if (pack == e->pack && end == e->off) {
			end += len;
			continue;
		}
		if (pack)
			store_punch(b->st, pack, start, end - start);
		pack = e->pack;
		start = e->off;
		end = e->off + len;
	}
	if (pack)
		store_punch(b->st, pack, start, end - start);
	store_freed_add(b->st, nrec, nbytes);
}

void store_batch_set_owner(struct store_batch *b, uint64_t owner) { b->owner = owner; }

static void batch_release(struct store_batch *b)
{
	int i;

	b->run_pack = 0;
	pthread_mutex_lock(&b->st->mu);
	for (i = 0; i < b->nslots; i++)
		store_slot_put_locked(b->st, b->slots[i]);
	pthread_mutex_unlock(&b->st->mu);
	b->nslots = 0;
	b->n = 0;
	b->wfirst = 0;
	b->wlen = 0;
	memset(b->hash, 0, b->hcap * sizeof(*b->hash));
}

void store_batch_free(struct store_batch *b)
{
	if (!b)
		return;
	if (b->n)
		batch_punch(b, false, batch_cut_tail(b));
	if (b->hash)
		batch_release(b);
	ZSTD_freeCCtx(b->cctx);
	EVP_CIPHER_CTX_free(b->ecx);
	store_guard_exit(b->st, &b->guard);
	free(b->rec);
	free(b->p);
	free(b->hash);
	free(b);
}

int store_batch_has(struct store_batch *b, const uint8_t id[STORE_ID_LEN])
{
	struct store *st = b->st;
	struct store_loc l;
	int r;

	if (pending(b, id))
		return 1;
	if (store_filter_absent(st, id))
		return 0;   /* (most new chunks: without waiting for dbmu) */
	pthread_mutex_lock(&st->dbmu);
	r = store_lookup_locked(st, id, &l);
	if (r == 1)   /* a dedup hit: a running sweep must keep it */
		store_sweep_touch_locked(st, id);
	/* reused from now on: another upload's provisional chunk is no longer
	 * its own to collect (store.h) */
	if (r == 1 && l.owner && l.owner != b->owner)
		r = store_claim_locked(st, &l, b->owner) ?: 1;
	pthread_mutex_unlock(&st->dbmu);
	return r;
}

/* Enters p[k] in the open-addressing table h of cap slots. */
static void hash_put(uint32_t *h, size_t cap, const uint8_t *id, size_t k)
{
	size_t i;

	for (i = hslot(id, cap); h[i]; i = (i + 1) & (cap - 1))
		;
	h[i] = (uint32_t)(k + 1);
}

/* The table rebuilt with cap slots.  0 or -ENOMEM (unchanged). */
static int hash_grow(struct store_batch *b, size_t cap)
{
	uint32_t *h = calloc(cap, sizeof(*h));
	size_t k;

	if (!h)
		return -ENOMEM;
	for (k = 0; k < b->n; k++)
		hash_put(h, cap, b->p[k].id, k);
	free(b->hash);
	b->hash = h;
	b->hcap = cap;
	return 0;
}

/* Room in the write buffer after its wlen bytes for a record of an n-byte
 * chunk and in b->p for one more entry.  0 or -ENOMEM (the batch is
 * unchanged). */
static int batch_reserve(struct store_batch *b, size_t n)
{
	size_t need = b->wlen + REC_HDR + REC_SEAL + ZSTD_compressBound(n), pc;
	void *q;
	int r;

	if (need > b->reccap) {
		/* doubling up to BATCH_WBUF (a batch of a few small chunks
		 * stays small), or exactly what one large record needs */
		pc = b->reccap ? 2 * b->reccap : 64 * 1024;
		pc = pc > BATCH_WBUF ? BATCH_WBUF : pc;
		pc = pc < need ? need : pc;
		if (!(q = realloc(b->rec, pc)))
			return -ENOMEM;
		b->rec = q;
		b->reccap = pc;
	}
	if (b->n < b->pcap)
		return 0;
	pc = b->pcap ? 2 * b->pcap : 64;
	if (pc > BATCH_AUTO)
		pc = BATCH_AUTO;
	if (2 * pc > b->hcap && (r = hash_grow(b, 2 * pc)) < 0)
		return r;
	if (!(q = realloc(b->p, pc * sizeof(*b->p))))
		return -ENOMEM;
	b->p = q;
	b->pcap = pc;
	return 0;
}

/* Incompressible content (media, archives, encrypted files: most of a
 * phone's large files) costs zstd as much CPU as any other and saves
 * nothing: after BATCH_RAW_RUN chunks in a row that did not shrink, only
 * every 16th is tried, and once the run is longer (256 chunks, ~2.5 MiB;
 * then 1,024) every 64th, then every 256th: probing every 16th of a 1 GiB
 * random file still cost 3 % of the server's CPU.  A chunk that shrinks
 * ends the run, so compressible bytes after a long random stretch are
 * stored raw for at most ~2.5 MiB.  Stored records are the same either
 * way: raw when zstd would not help. */
#define BATCH_RAW_RUN    8

static bool rec_try_zstd(uint32_t run)
{
	uint32_t every = run < 256 ? 16 : run < 1024 ? 64 : 256;

	return run < BATCH_RAW_RUN || run % every == 0;
}

/* Builds the record for p[0..n) at the end of the write buffer
 * (batch_reserve made room); *len: its length.  An encrypted store's
 * payload is sealed (the compressed bytes in place, a raw chunk straight
 * from p).  0 or -errno. */
static int rec_build(struct store_batch *b, const uint8_t *id, const void *p, size_t n,
		     size_t *len)
{
	bool try = rec_try_zstd(b->raw_run);
	uint8_t *rec = b->rec + b->wlen, *pl = rec + REC_HDR + (b->ecx ? REC_NONCE : 0);
	size_t c = try ? ZSTD_compressCCtx(b->cctx, pl, b->reccap - b->wlen - REC_HDR - REC_SEAL,
					   p, n, STORE_ZLEVEL) : n;
	const void *src = pl;
	uint8_t flags = REC_F_ZSTD;
	int r;

	if (ZSTD_isError(c) || c >= n) {
		if (!b->ecx)
			memcpy(pl, p, n);
		src = p;
		c = n;
		flags = 0;
		b->raw_run++;
	} else {
		b->raw_run = 0;
	}
	if (b->ecx)
		c += REC_SEAL;
	be32_put(rec, b->ecx ? REC_MAGIC_ENC : REC_MAGIC);
	rec[4] = flags;
	rec[5] = rec[6] = rec[7] = 0;
	memcpy(rec + 8, id, STORE_ID_LEN);
	be32_put(rec + 40, (uint32_t)n);
	be32_put(rec + 44, (uint32_t)c);
	if (b->ecx && (r = store_seal(b->st, b->ecx, rec, src, c - REC_SEAL)) < 0)
		return r;
	be32_put(rec + 48, store_crc32(store_crc32(0, rec, 48), rec + REC_HDR, c));
	*len = REC_HDR + c;
	return 0;
}

/* Appends b->rec[0..len) (whole records) to the active pack; pack and off
 * say where, fd is the pack's (valid while the batch holds its slot). */
static int rec_append(struct store_batch *b, size_t len, uint32_t *pack, uint64_t *off, int *fd_out)
{
	struct store *st = b->st;
	int r = 0, i, fd;

	pthread_mutex_lock(&st->mu);
	if (st->need_roll || (st->tail > 0 && st->tail + len > STORE_PACK_ROLL))
		r = store_roll_locked(st);
	if (r < 0)
		goto out;
	for (i = 0; i < b->nslots && b->slots[i] != st->active_slot; i++)
		;
	if (i == b->nslots) {
		if (b->nslots == BATCH_PACKS) {
			r = -EAGAIN;    /* caller commits and retries */
			goto out;
		}
		st->slot[st->active_slot].refs++;
		b->slots[b->nslots++] = st->active_slot;
	}
	fd = st->slot[st->active_slot].fd;
	r = fd_pwrite_all(fd, b->rec, len, st->tail);
	if (r < 0) {
		/* nothing after us: cut the partial record away */
		if (ftruncate(fd, (off_t)st->tail) < 0)
			st->need_roll = true;
		goto out;
	}
	*pack = st->active;
	*off = st->tail;
	*fd_out = fd;
	if (b->run_pack == st->active && b->run_end == st->tail) {
		b->run_end += len;
	} else {
		b->run_pack = st->active;
		b->run_start = st->tail;
		b->run_end = st->tail + len;
	}
	st->tail += len;
out:
	pthread_mutex_unlock(&st->mu);
	return r;
}

/* Drop-behind: a big upload's records, once their writeback (started by
 * batch_flush) is done, leave the page cache DROP_LAG behind the pack
 * tail (clean pages only: what is still dirty or under writeback after
 * the wait stays cached).  A backup's bytes are not read again soon, and
 * each new page-cache page costs far more than a reused one: on these VMs
 * a page the guest freed goes back to the host after ~2 s and the next
 * write into it faults (1.5 s of sys per GiB written, against 0.14 s
 * into recycled pages: docs/performance.md, round 4, srvb).  Dropping
 * behind keeps the writer on the same few MiB of pages.  Durability is
 * untouched: the commit's fdatasync still orders everything. */
static void batch_drop_behind(struct store_batch *b, uint32_t pack, int fd, uint64_t end)
{
	uint64_t upto;

	if (b->drop_pack != pack || b->drop_from > end) {
		b->drop_pack = pack;
		b->drop_from = end > DROP_LAG ? end - DROP_LAG : 0;
		return;
	}
	if (end < b->drop_from + DROP_LAG + DROP_STEP)
		return;
	upto = end - DROP_LAG;
	(void)sync_file_range(fd, (off_t)b->drop_from, (off_t)(upto - b->drop_from),
			      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			      SYNC_FILE_RANGE_WAIT_AFTER);
	(void)posix_fadvise(fd, (off_t)b->drop_from, (off_t)(upto - b->drop_from),
			    POSIX_FADV_DONTNEED);
	b->drop_from = upto;
}

static int group_commit(struct store_batch *b);

/* Commits the written records p[0..wfirst) and keeps the buffered ones
 * (now p[0..]) for after: the batch holds records in BATCH_PACKS packs and
 * the active pack is another. */
static int batch_commit_written(struct store_batch *b)
{
	size_t keep = b->n - b->wfirst, wlen = b->wlen, k;
	struct pend *tail = NULL;
	int r;

	if (keep && !(tail = malloc(keep * sizeof(*tail))))
		return -ENOMEM;
	if (keep)
		memcpy(tail, b->p + b->wfirst, keep * sizeof(*tail));
	b->n = b->wfirst;
	r = b->n ? group_commit(b) : 0;
	batch_punch(b, r == 0, r < 0 && batch_cut_tail(b));
	batch_release(b);   /* (resets wlen: the buffer itself is kept) */
	for (k = 0; k < keep; k++) {
		b->p[k] = tail[k];
		hash_put(b->hash, b->hcap, tail[k].id, k);
	}
	b->n = keep;
	b->wlen = wlen;
	free(tail);
	return r;
}

/* Writes the buffered records at the pack tail, in one pwrite.  A full
 * buffer (a big upload: more follows) also starts the kernel's writeback
 * of what it wrote, so the next commit's fdatasync waits for little more
 * than the last buffers instead of all the batch wrote (the disk works
 * while the stream goes on). */
static int batch_flush(struct store_batch *b, bool full)
{
	uint32_t pack = 0;
	uint64_t off = 0;
	size_t i, len = b->wlen;
	int r, fd = -1;

	if (b->wlen == 0)
		return 0;
	r = rec_append(b, b->wlen, &pack, &off, &fd);
	if (r == -EAGAIN && (r = batch_commit_written(b)) == 0)
		r = rec_append(b, b->wlen, &pack, &off, &fd);
	if (r < 0)
		return r;
	if (full) {
		(void)sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
		batch_drop_behind(b, pack, fd, off + len);
	}
	for (i = b->wfirst; i < b->n; i++) {
		b->p[i].pack = pack;
		b->p[i].off += off;
	}
	b->wfirst = b->n;
	b->wlen = 0;
	return 0;
}

/* Builds id's record into the write buffer and enters it in p[]; the
 * entry is returned through *out.  0 or -errno. */
static int batch_add(struct store_batch *b, const uint8_t id[STORE_ID_LEN], const void *p, size_t n,
		     struct pend **out)
{
	struct pend *e;
	size_t len;
	int r;

	if (b->n == BATCH_AUTO && (r = store_batch_commit(b)) < 0)
		return r;
	if (b->wlen && b->wlen + REC_HDR + REC_SEAL + ZSTD_compressBound(n) > BATCH_WBUF &&
	    (r = batch_flush(b, true)) < 0)
		return r;
	if ((r = batch_reserve(b, n)) < 0)
		return r;
	if ((r = rec_build(b, id, p, n, &len)) < 0)
		return r;
	e = &b->p[b->n];
	memcpy(e->id, id, STORE_ID_LEN);
	e->pack = 0;
	e->off = b->wlen;
	e->clen = (uint32_t)(len - REC_HDR);
	e->rlen = (uint32_t)n;
	e->dup = false;
	e->mv_pack = 0;
	e->mv_off = 0;
	b->wlen += len;
	hash_put(b->hash, b->hcap, id, b->n);
	b->n++;
	*out = e;
	return 0;
}

int store_batch_put(struct store_batch *b, const uint8_t id[STORE_ID_LEN], const void *p, size_t n)
{
	struct pend *e;
	int r;

	if (n > STORE_CHUNK_MAX)
		return -EMSGSIZE;
	r = store_batch_has(b, id);
	if (r != 0)
		return r < 0 ? r : 0;
	return batch_add(b, id, p, n, &e);
}

int store_batch_move(struct store_batch *b, const uint8_t id[STORE_ID_LEN],
		     const struct store_loc *old, const void *p, size_t n)
{
	struct pend *e;
	int r;

	if (n > STORE_CHUNK_MAX)
		return -EMSGSIZE;
	if (!old->found || !old->pack || (b->n && !b->p[0].mv_pack))
		return -EINVAL;   /* (moves and new chunks never share a batch) */
	if (pending(b, id))
		return 0;   /* (a row is moved once) */
	if ((r = batch_add(b, id, p, n, &e)) < 0)
		return r;
	e->mv_pack = old->pack;
	e->mv_off = old->off;
	return 0;
}

void store_batch_move_counts(const struct store_batch *b, uint64_t *moved, uint64_t *gone)
{
	*moved = b->moved;
	*gone = b->move_gone;
}

/* fdatasync of every pack the group's batches wrote to, each pack once;
 * a batch whose pack failed gets the error. */
static void group_sync(struct store *st, struct gc_wait *list)
{
	int res[STORE_FDS] = { 0 }, s, err, fd;
	bool done[STORE_FDS] = { false };

	for (struct gc_wait *w = list; w; w = w->next)
		for (int i = 0; i < w->b->nslots && w->r == 0; i++) {
			s = w->b->slots[i];
			if (!done[s]) {
				pthread_mutex_lock(&st->mu);
				fd = st->slot[s].fd;
				err = st->slot[s].err;
				pthread_mutex_unlock(&st->mu);
				if (!err && fdatasync(fd) < 0) {
					err = -errno;
					pthread_mutex_lock(&st->mu);
					st->slot[s].err = err;
					if (s == st->active_slot)
						st->need_roll = true;
					pthread_mutex_unlock(&st->mu);
				}
				res[s] = err;
				done[s] = true;
			}
			w->r = res[s];
		}
}

/* The new committed_end of each pack the batch wrote to (its records are
 * in append order, so each pack's last one ends furthest): one statement
 * per pack, not per row. */
static int batch_ends(struct store_batch *b)
{
	struct store *st = b->st;
	uint32_t pk[BATCH_PACKS];
	uint64_t end[BATCH_PACKS];
	size_t i;
	int n = 0, k, rc = SQLITE_DONE;

	for (i = 0; i < b->n; i++) {
		struct pend *e = &b->p[i];

		for (k = 0; k < n && pk[k] != e->pack; k++)
			;
		if (k == n) {
			if (n == BATCH_PACKS)
				return SQLITE_INTERNAL;   /* a batch writes to at most that many */
			pk[n++] = e->pack;
			end[k] = 0;
		}
		if (e->off + REC_HDR + e->clen > end[k])
			end[k] = e->off + REC_HDR + e->clen;
	}
	for (k = 0; k < n && rc == SQLITE_DONE; k++) {
		sqlite3_stmt *q = st->q_end;

		sqlite3_bind_int64(q, 1, pk[k]);
		sqlite3_bind_int64(q, 2, (int64_t)end[k]);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Our insert of id was ignored: the row another batch committed is used
 * by us now, so it is no longer provisional (store.h).  0 or -errno. */
static int claim_dup(struct store *st, const uint8_t *id, uint64_t owner)
{
	struct store_loc l;
	int r = store_lookup_locked(st, id, &l);

	if (r == 1)
		store_sweep_touch_locked(st, id);
	return r < 0 ? r : store_claim_locked(st, &l, owner);
}

/* A resumable upload's new rows are listed as provisional, in append
 * order (prov's key is (owner, pack, off): each batch adds at the end of
 * its owner's range). */
static int batch_prov(struct store_batch *b)
{
	int rc = SQLITE_DONE;
	size_t i;

	for (i = 0; b->owner && i < b->n && rc == SQLITE_DONE; i++)
		if (!b->p[i].dup)
			rc = store_prov_add_locked(b->st, b->owner, b->p[i].pack, b->p[i].off,
						   b->p[i].id);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* A move's row: updated to e's new place if it still names the old one
 * (and its prov row with it); else e's record is garbage (dup).  The
 * statements q[0..2) are prepared by the caller.  An SQLite result. */
static int row_move(struct store_batch *b, sqlite3_stmt *const q[2], struct pend *e)
{
	int64_t owner = -1;
	int rc;

	sqlite3_bind_int64(q[0], 1, e->pack);
	sqlite3_bind_int64(q[0], 2, (int64_t)e->off);
	sqlite3_bind_int64(q[0], 3, e->clen);
	sqlite3_bind_int64(q[0], 4, e->rlen);
	sqlite3_bind_blob(q[0], 5, e->id, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(q[0], 6, e->mv_pack);
	sqlite3_bind_int64(q[0], 7, (int64_t)e->mv_off);
	if ((rc = sqlite3_step(q[0])) == SQLITE_ROW) {
		owner = sqlite3_column_int64(q[0], 0);
		rc = sqlite3_step(q[0]);
	}
	sqlite3_reset(q[0]);
	e->dup = rc == SQLITE_DONE && owner < 0;
	b->moved += rc == SQLITE_DONE && owner >= 0;
	b->move_gone += e->dup;
	if (rc != SQLITE_DONE || owner <= 0)
		return rc == SQLITE_DONE ? SQLITE_OK : rc;
	sqlite3_bind_int64(q[1], 1, e->pack);
	sqlite3_bind_int64(q[1], 2, (int64_t)e->off);
	sqlite3_bind_int64(q[1], 3, owner);
	sqlite3_bind_int64(q[1], 4, e->mv_pack);
	sqlite3_bind_int64(q[1], 5, (int64_t)e->mv_off);
	rc = sqlite3_step(q[1]);
	sqlite3_reset(q[1]);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The rows of a batch of moves (compaction), inside the group's
 * transaction, then the committed ends of the packs they went to. */
static int batch_moves(struct store_batch *b)
{
	static const char *const sql[2] = {
		"UPDATE chunks SET pack=?, off=?, clen=?, rlen=? WHERE id=? AND pack=? AND off=?"
		" RETURNING owner",
		"UPDATE prov SET pack=?, off=? WHERE owner=? AND pack=? AND off=?",
	};
	sqlite3_stmt *q[2] = { NULL, NULL };
	size_t i;
	int rc = SQLITE_OK, j;

	for (j = 0; j < 2 && rc == SQLITE_OK; j++)
		rc = sqlite3_prepare_v2(b->st->db, sql[j], -1, &q[j], NULL);
	for (i = 0; i < b->n && rc == SQLITE_OK; i++)
		rc = b->p[i].mv_pack ? row_move(b, q, &b->p[i]) : SQLITE_INTERNAL;
	for (j = 0; j < 2; j++)
		sqlite3_finalize(q[j]);
	return rc == SQLITE_OK ? batch_ends(b) : rc;
}

static int pend_cmp(const void *a, const void *b, void *arg)
{
	const struct pend *p = arg;

	return memcmp(p[*(const uint32_t *)a].id, p[*(const uint32_t *)b].id, STORE_ID_LEN);
}

/* The rows of one batch, inside the group's transaction (dbmu held), in
 * id order: the index's B-tree is walked once from left to right instead
 * of descended at random for every row (the ids are HMAC output).  A
 * batch that cannot get the order array inserts in append order. */
static int batch_rows(struct store_batch *b)
{
	struct store *st = b->st;
	uint32_t *ord = b->n > 1 ? malloc(b->n * sizeof(*ord)) : NULL;
	int rc = SQLITE_OK;
	size_t i;

	if (b->n && b->p[0].mv_pack) {   /* a batch of moves holds nothing else */
		free(ord);
		return batch_moves(b);
	}
	for (i = 0; ord && i < b->n; i++)
		ord[i] = (uint32_t)i;
	if (ord)
		qsort_r(ord, b->n, sizeof(*ord), pend_cmp, b->p);
	for (i = 0; i < b->n && rc == SQLITE_OK; i++) {
		struct pend *e = &b->p[ord ? ord[i] : i];
		sqlite3_stmt *q = st->q_ins;

		sqlite3_bind_blob(q, 1, e->id, STORE_ID_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, e->pack);
		sqlite3_bind_int64(q, 3, (int64_t)e->off);
		sqlite3_bind_int64(q, 4, e->clen);
		sqlite3_bind_int64(q, 5, e->rlen);
		sqlite3_bind_int64(q, 6, st->gen);
		sqlite3_bind_int64(q, 7, (int64_t)b->owner);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc == SQLITE_DONE)
			store_filter_add_locked(st, e->id);
		e->dup = rc == SQLITE_DONE && sqlite3_changes(st->db) == 0;
		if (e->dup)   /* stored by another batch first: ours is garbage, theirs used */
			rc = claim_dup(st, e->id, b->owner) ? SQLITE_IOERR : SQLITE_DONE;
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	free(ord);
	if (rc == SQLITE_OK)
		rc = batch_prov(b);
	return rc == SQLITE_OK ? batch_ends(b) : rc;
}

/* One transaction indexes the records of every synced batch of the group;
 * if it fails, every one of them fails. */
static void group_index(struct store *st, struct gc_wait *list)
{
	struct gc_wait *w;
	int rc, r;

	pthread_mutex_lock(&st->dbmu);
	rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (w = list; w && rc == SQLITE_OK; w = w->next)
		if (w->r == 0)
			rc = batch_rows(w->b);
	r = store_txn_end(st, rc);
	pthread_mutex_unlock(&st->dbmu);
	for (w = list; w && r < 0; w = w->next)
		if (w->r == 0)
			w->r = r;
}

/* Group commit: b joins the waiting batches; the first to find no leader
 * commits all that wait (sync, then index) while newcomers gather for the
 * next group.  Returns b's result once its group is durable. */
static int group_commit(struct store_batch *b)
{
	struct store *st = b->st;
	struct gc_wait me = { .b = b }, *list, *w, *next;

	pthread_mutex_lock(&st->gcmu);
	*st->gc_tail = &me;
	st->gc_tail = &me.next;
	while (!me.done) {
		if (st->gc_leading) {
			pthread_cond_wait(&st->gccv, &st->gcmu);
			continue;
		}
		st->gc_leading = true;
		list = st->gc_head;
		st->gc_head = NULL;
		st->gc_tail = &st->gc_head;
		pthread_mutex_unlock(&st->gcmu);
		group_sync(st, list);
		group_index(st, list);
		pthread_mutex_lock(&st->gcmu);
		st->gc_groups++;
		for (w = list; w; w = next) {
			next = w->next;
			st->gc_batches++;
			w->done = true;
		}
		st->gc_leading = false;
		pthread_cond_broadcast(&st->gccv);
	}
	pthread_mutex_unlock(&st->gcmu);
	return me.r;
}

void store_group_stats(struct store *st, uint64_t *groups, uint64_t *batches)
{
	pthread_mutex_lock(&st->gcmu);
	*groups = st->gc_groups;
	*batches = st->gc_batches;
	pthread_mutex_unlock(&st->gcmu);
}

#define SWAP(t, x, y) do { t tmp_ = (x); (x) = (y); (y) = tmp_; } while (0)

int store_batch_handoff(struct store_batch *b, struct store_batch *to)
{
	int r;

	if (to->st != b->st || to->n || to->nslots || to->wlen)
		return -EINVAL;
	if ((r = batch_flush(b, false)) < 0)
		return r;
	/* to's empty arrays (and its hash of the same size or smaller,
	 * zeroed by its last release) become b's */
	SWAP(struct pend *, b->p, to->p);
	SWAP(size_t, b->pcap, to->pcap);
	SWAP(uint32_t *, b->hash, to->hash);
	SWAP(size_t, b->hcap, to->hcap);
	SWAP(size_t, b->n, to->n);
	memcpy(to->slots, b->slots, sizeof(b->slots));
	to->nslots = b->nslots;
	b->nslots = 0;
	to->run_pack = b->run_pack;
	to->run_start = b->run_start;
	to->run_end = b->run_end;
	b->run_pack = 0;
	to->wfirst = to->n;
	b->wfirst = 0;
	to->owner = b->owner;
	return 0;
}

int store_batch_commit(struct store_batch *b)
{
	int r = batch_flush(b, false);

	if (r == 0 && b->n > 0)
		r = group_commit(b);
	/* on failure the records are unindexed garbage, cut when at the tail,
	 * else punched: the batch starts over */
	batch_punch(b, r == 0, r < 0 && batch_cut_tail(b));
	batch_release(b);
	return r;
}
