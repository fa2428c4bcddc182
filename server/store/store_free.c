/* store_free.c — giving space back: provisional rows of resumable uploads
 * (owner column; rules in store.h), holes punched over records nobody
 * indexes, and the freed counters in meta.  docs/store-format.md, "Freeing
 * without a sweep". */
#include "server/store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define COLLECT_STEP 1024   /* rows deleted per transaction */


/* The provisional rows of an upload are listed in prov(owner, pack, off,
 * id), in the order the upload wrote its records, besides the owner column
 * of their chunks row (which only tells a lookup to look there).  So
 * releasing a finished upload deletes one range of prov (its pages in
 * order) instead of updating one chunks row per chunk at random places in
 * the index (6 % of a 1 GiB upload's server CPU, after its last byte).  A
 * chunks row whose owner has no prov row any more is everyone's. */
static const char *prov_schema =
	"CREATE TABLE IF NOT EXISTS prov(owner INTEGER NOT NULL, pack INTEGER NOT NULL,"
	" off INTEGER NOT NULL, id BLOB NOT NULL, PRIMARY KEY(owner, pack, off)) WITHOUT ROWID;";

/* A store from before prov kept the provisional rows as chunks rows with
 * owner != 0 and an index chunks_owner over them: they are listed in prov
 * and the index dropped, in one transaction (a crash leaves the old layout,
 * migrated again at the next open). */
static int prov_migrate(struct store *st)
{
	sqlite3_stmt *q = NULL;
	bool old = false;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT 1 FROM sqlite_master WHERE type='index' AND"
				" name='chunks_owner'", -1, &q, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW)
		old = true;
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_err(st, rc);
	if (!old)
		return sqlite3_exec(st->db, prov_schema, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
	rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(st->db, prov_schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(st->db, "INSERT OR IGNORE INTO prov SELECT owner, pack, off, id FROM"
				  " chunks WHERE owner != 0; DROP INDEX chunks_owner;", NULL, NULL, NULL);
	return store_txn_end(st, rc);
}

int store_owner_migrate(struct store *st)
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	if (sqlite3_prepare_v2(st->db, "SELECT owner FROM chunks LIMIT 0", -1, &q, NULL) != SQLITE_OK &&
	    (rc = sqlite3_exec(st->db, "ALTER TABLE chunks ADD COLUMN owner INTEGER NOT NULL"
			       " DEFAULT 0", NULL, NULL, NULL)) != SQLITE_OK)
		return store_db_err(st, rc);
	sqlite3_finalize(q);
	if ((r = prov_migrate(st)) < 0)
		return r;
	rc = sqlite3_prepare_v2(st->db, "SELECT 1 FROM prov WHERE owner=? AND pack=? AND off=?",
				-1, &st->q_provq, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "DELETE FROM prov WHERE owner=? AND pack=? AND off=?",
					-1, &st->q_claim, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO prov VALUES(?,?,?,?)", -1,
					&st->q_prov, NULL);
	return rc == SQLITE_OK ? 0 : store_db_err(st, rc);
}

/* Binds owner, pack, off of l to q's first three parameters, steps it. */
static int prov_step(sqlite3_stmt *q, const struct store_loc *l)
{
	int rc;

	sqlite3_bind_int64(q, 1, (int64_t)l->owner);
	sqlite3_bind_int64(q, 2, l->pack);
	sqlite3_bind_int64(q, 3, (int64_t)l->off);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc;
}

int store_claim_locked(struct store *st, const struct store_loc *l, uint64_t owner)
{
	int rc;

	if (!l->found || !l->owner || l->owner == owner)
		return 0;
	/* a read first: the row of a finished upload keeps its owner, and
	 * reusing it must not cost a write (a commit) per chunk */
	rc = prov_step(st->q_provq, l);
	if (rc == SQLITE_ROW)
		rc = prov_step(st->q_claim, l);
	return rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
}

int store_prov_add_locked(struct store *st, uint64_t owner, uint32_t pack, uint64_t off,
			  const uint8_t id[STORE_ID_LEN])
{
	sqlite3_stmt *q = st->q_prov;
	int rc;

	sqlite3_bind_int64(q, 1, (int64_t)owner);
	sqlite3_bind_int64(q, 2, pack);
	sqlite3_bind_int64(q, 3, (int64_t)off);
	sqlite3_bind_blob(q, 4, id, STORE_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc;
}

void store_punch(struct store *st, uint32_t pack, uint64_t off, uint64_t len)
{
	int slot;

	pthread_mutex_lock(&st->mu);
	slot = store_slot_get_locked(st, pack);
	pthread_mutex_unlock(&st->mu);
	if (slot < 0)
		return;
	/* the bytes read back as zeros: never a valid record, and no reader
	 * is sent there (no row names it).  Only whole blocks are freed, so
	 * callers merge adjacent records into one range first. */
	(void)fallocate(st->slot[slot].fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			(off_t)off, (off_t)len);
	pthread_mutex_lock(&st->mu);
	store_slot_put_locked(st, slot);
	pthread_mutex_unlock(&st->mu);
}

static int freed_cmp(const void *a, const void *b)
{
	const struct store_extent *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

void store_punch_extents(struct store *st, struct store_extent *f, size_t n)
{
	size_t i, j;

	qsort(f, n, sizeof(*f), freed_cmp);
	for (i = 0; i < n; i = j) {
		uint64_t end = f[i].off + f[i].len;

		for (j = i + 1; j < n && f[j].pack == f[i].pack && f[j].off == end; j++)
			end += f[j].len;
		store_punch(st, f[i].pack, f[i].off, end - f[i].off);
	}
}

int store_freed_add_locked(struct store *st, uint64_t nrec, uint64_t nbytes)
{
	sqlite3_stmt *q;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "UPDATE meta SET v = v + CASE k WHEN 'freed_records'"
				" THEN ?1 ELSE ?2 END WHERE k IN ('freed_records', 'freed_bytes')",
				-1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, (int64_t)nrec);
		sqlite3_bind_int64(q, 2, (int64_t)nbytes);
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
}

void store_freed_add(struct store *st, uint64_t nrec, uint64_t nbytes)
{
	if (!nrec)
		return;
	pthread_mutex_lock(&st->dbmu);
	(void)store_freed_add_locked(st, nrec, nbytes);   /* a counter: best effort */
	pthread_mutex_unlock(&st->dbmu);
}

int store_owner_release(struct store *st, uint64_t owner)
{
	sqlite3_stmt *q;
	int rc;

	pthread_mutex_lock(&st->dbmu);
	rc = sqlite3_prepare_v2(st->db, "DELETE FROM prov WHERE owner=?", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, (int64_t)owner);
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	rc = rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
	pthread_mutex_unlock(&st->dbmu);
	return rc;
}

/* Reads up to COLLECT_STEP of owner's prov rows (in pack order) into f
 * and ids, deleting them; *n = how many.  Inside a transaction. */
static int prov_take_locked(struct store *st, uint64_t owner, struct store_extent *f, uint8_t *ids,
			    size_t *n)
{
	sqlite3_stmt *q = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "DELETE FROM prov WHERE (owner, pack, off) IN (SELECT owner,"
				" pack, off FROM prov WHERE owner=?1 ORDER BY pack, off LIMIT ?2)"
				" RETURNING pack, off, id", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, (int64_t)owner);
		sqlite3_bind_int(q, 2, COLLECT_STEP);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW && *n < COLLECT_STEP) {
			if (sqlite3_column_bytes(q, 2) != STORE_ID_LEN)
				continue;
			f[*n].pack = (uint32_t)sqlite3_column_int64(q, 0);
			f[*n].off = (uint64_t)sqlite3_column_int64(q, 1);
			memcpy(ids + *n * STORE_ID_LEN, sqlite3_column_blob(q, 2), STORE_ID_LEN);
			(*n)++;
		}
		rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
	}
	sqlite3_finalize(q);
	return rc;
}

/* Deletes the chunks rows naming the records in f[0..k) (the id at that
 * very place: a row is deleted only with the record it names), keeps in f
 * the ones deleted, with their record's length; *n = how many. */
static int chunks_drop_locked(struct store *st, struct store_extent *f, const uint8_t *ids, size_t k,
			      size_t *n)
{
	sqlite3_stmt *q = NULL;
	size_t i;
	int rc;

	*n = 0;
	rc = sqlite3_prepare_v2(st->db, "DELETE FROM chunks WHERE id=? AND pack=? AND off=?"
				" RETURNING clen", -1, &q, NULL);
	for (i = 0; i < k && rc == SQLITE_OK; i++) {
		sqlite3_bind_blob(q, 1, ids + i * STORE_ID_LEN, STORE_ID_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, f[i].pack);
		sqlite3_bind_int64(q, 3, (int64_t)f[i].off);
		if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			f[*n] = f[i];
			f[(*n)++].len = REC_HDR + (uint64_t)sqlite3_column_int64(q, 0);
			rc = sqlite3_step(q);
		}
		sqlite3_reset(q);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(q);
	return rc;
}

/* One transaction: deletes up to COLLECT_STEP of owner's provisional rows;
 * f[0..*n) = the records no row names any more, *taken = the prov rows
 * it went through.  With dbmu held. */
static int collect_step_locked(struct store *st, uint64_t owner, struct store_extent *f, uint8_t *ids,
			       size_t *n, size_t *taken)
{
	uint64_t bytes = 0;
	size_t i;
	int rc, r;

	*n = *taken = 0;
	rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = prov_take_locked(st, owner, f, ids, taken);
	if (rc == SQLITE_OK)
		rc = chunks_drop_locked(st, f, ids, *taken, n);
	for (i = 0; i < *n; i++)
		bytes += f[i].len;
	if (rc == SQLITE_OK && *n)
		rc = store_freed_add_locked(st, *n, bytes) == 0 ? SQLITE_OK : SQLITE_IOERR;
	if ((r = store_txn_end(st, rc)) < 0)
		*n = *taken = 0;
	return r;
}

int store_owner_collect(struct store *st, uint64_t owner, uint64_t *nrec, uint64_t *nbytes)
{
	struct store_extent *f;
	uint8_t *ids;
	size_t n, i, taken;
	int r;

	if (!owner)
		return -EINVAL;   /* 0 is everyone's */
	f = malloc(COLLECT_STEP * sizeof(*f));
	ids = malloc(COLLECT_STEP * STORE_ID_LEN);
	if (!f || !ids) {
		free(f);
		free(ids);
		return -ENOMEM;
	}
	do {
		pthread_mutex_lock(&st->dbmu);
		r = collect_step_locked(st, owner, f, ids, &n, &taken);
		pthread_mutex_unlock(&st->dbmu);
		for (i = 0; i < n && nbytes; i++)
			*nbytes += f[i].len;
		store_punch_extents(st, f, n);   /* after the commit: no row names them now */
		if (nrec)
			*nrec += n;
	} while (r == 0 && taken == COLLECT_STEP);
	free(ids);
	free(f);
	return r;
}
