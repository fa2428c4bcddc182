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

struct freed { uint32_t pack; uint64_t off, len; };

int store_owner_migrate(struct store *st)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT owner FROM chunks LIMIT 0", -1, &q, NULL) != SQLITE_OK &&
	    (rc = sqlite3_exec(st->db, "ALTER TABLE chunks ADD COLUMN owner INTEGER NOT NULL"
			       " DEFAULT 0", NULL, NULL, NULL)) != SQLITE_OK)
		return store_db_err(st, rc);
	sqlite3_finalize(q);
	/* in pack order, so a collection step deletes neighbouring records
	 * and punches them as one range */
	rc = sqlite3_exec(st->db, "CREATE INDEX IF NOT EXISTS chunks_owner ON chunks(owner, pack,"
			  " off) WHERE owner != 0", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "UPDATE chunks SET owner=0 WHERE id=?1 AND"
					" owner!=0 AND owner!=?2", -1, &st->q_claim, NULL);
	return rc == SQLITE_OK ? 0 : store_db_err(st, rc);
}

int store_claim_locked(struct store *st, const uint8_t id[STORE_ID_LEN], uint64_t owner)
{
	int rc;

	sqlite3_bind_blob(st->q_claim, 1, id, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st->q_claim, 2, (int64_t)owner);
	rc = sqlite3_step(st->q_claim);
	sqlite3_reset(st->q_claim);
	sqlite3_clear_bindings(st->q_claim);
	return rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
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
	const struct freed *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Punches f[0..n), sorted and merged where records touch. */
static void punch_merged(struct store *st, struct freed *f, size_t n)
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

/* With dbmu held, inside or outside a transaction. */
static int freed_add_locked(struct store *st, uint64_t nrec, uint64_t nbytes)
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
	(void)freed_add_locked(st, nrec, nbytes);   /* a counter: best effort */
	pthread_mutex_unlock(&st->dbmu);
}

int store_owner_release(struct store *st, uint64_t owner)
{
	sqlite3_stmt *q;
	int rc;

	pthread_mutex_lock(&st->dbmu);
	rc = sqlite3_prepare_v2(st->db, "UPDATE chunks SET owner=0 WHERE owner=?", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, (int64_t)owner);
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	rc = rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
	pthread_mutex_unlock(&st->dbmu);
	return rc;
}

/* One transaction: deletes up to COLLECT_STEP of owner's rows into f[];
 * *n = how many.  With dbmu held. */
static int collect_step_locked(struct store *st, uint64_t owner, struct freed *f, size_t *n)
{
	sqlite3_stmt *q = NULL;
	uint64_t bytes = 0;
	int rc;

	*n = 0;
	rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "DELETE FROM chunks WHERE id IN (SELECT id FROM chunks"
					" WHERE owner=?1 ORDER BY pack, off LIMIT ?2)"
					" RETURNING pack, off, clen",
					-1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, (int64_t)owner);
		sqlite3_bind_int(q, 2, COLLECT_STEP);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW && *n < COLLECT_STEP) {
			f[*n].pack = (uint32_t)sqlite3_column_int64(q, 0);
			f[*n].off = (uint64_t)sqlite3_column_int64(q, 1);
			f[*n].len = REC_HDR + (uint64_t)sqlite3_column_int64(q, 2);
			bytes += f[(*n)++].len;
		}
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_OK && *n)
		rc = freed_add_locked(st, *n, bytes) == 0 ? SQLITE_OK : SQLITE_IOERR;
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int r = store_db_err(st, rc);

		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		*n = 0;
		return r;
	}
	return 0;
}

int store_owner_collect(struct store *st, uint64_t owner, uint64_t *nrec, uint64_t *nbytes)
{
	struct freed *f;
	size_t n, i;
	int r;

	if (!owner)
		return -EINVAL;   /* 0 is everyone's */
	if (!(f = malloc(COLLECT_STEP * sizeof(*f))))
		return -ENOMEM;
	do {
		pthread_mutex_lock(&st->dbmu);
		r = collect_step_locked(st, owner, f, &n);
		pthread_mutex_unlock(&st->dbmu);
		for (i = 0; i < n && nbytes; i++)
			*nbytes += f[i].len;
		punch_merged(st, f, n);   /* after the commit: no row names them now */
		if (nrec)
			*nrec += n;
	} while (r == 0 && n == COLLECT_STEP);
	free(f);
	return r;
}
