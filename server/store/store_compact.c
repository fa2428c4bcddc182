/* store_compact.c — step 5 of a sweep, compaction: packs below A0 that
 * hold no live record are removed, and packs whose unused bytes pass a
 * threshold (like restic's --max-unused) are rewritten — each row still
 * at its place is moved to the active pack through a batch of moves
 * (store_batch_move: the row is updated only if it still names the old
 * place), then the pack file is unlinked and its packs row deleted.  A
 * cancel flag (a stopping server) ends it between two records: the moves
 * made are committed, the pack being rewritten stays.
 * Design and argument: docs/store-format.md, "Compaction". */
#include "server/store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/vec.h"

#define ROWS_STEP 512   /* chunks rows read per page (dbmu held for one) */

struct cpack {
	uint32_t pack;
	uint64_t live, disk;   /* live record bytes; bytes the file takes on disk */
	bool gone;             /* its file is missing (a crash after its unlink) */
};

struct crow {
	uint8_t id[STORE_ID_LEN];
	uint32_t pack, clen, rlen;
	uint64_t off;
};

/* What rewriting the pack would give back: its disk usage less its live
 * bytes, less the one block its tail may hold part of anyway. */
static uint64_t unused_of(const struct cpack *c)
{
	return c->disk > c->live + 4096 ? c->disk - c->live - 4096 : 0;
}

/* The packs rows below a0 with their live bytes and disk usage: *out,
 * *n.  A missing file is listed (gone) only when it held nothing live. */
static int packs_list(struct store *st, const uint64_t *live, uint32_t a0, struct cpack **out,
		      size_t *n)
{
	sqlite3_stmt *q = NULL;
	struct vec c = VEC_INIT(struct cpack);
	struct cpack *e;
	int rc;

	pthread_mutex_lock(&st->dbmu);
	rc = sqlite3_prepare_v2(st->db, "SELECT pack FROM packs WHERE pack < ? ORDER BY pack", -1,
				&q, NULL);
	if (rc == SQLITE_OK)
		sqlite3_bind_int64(q, 1, a0);
	while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		uint32_t p = (uint32_t)sqlite3_column_int64(q, 0);
		char name[32];
		struct stat sb;
		bool gone;

		snprintf(name, sizeof(name), "%08u.pack", p);
		gone = fstatat(st->packsfd, name, &sb, 0) < 0;
		if (p == 0 || p >= a0 || (gone && (errno != ENOENT || live[p])))
			continue;
		if (!(e = vec_add(&c))) {
			rc = SQLITE_NOMEM;
			break;
		}
		*e = (struct cpack){ .pack = p, .live = live[p], .gone = gone,
				     .disk = gone ? 0 : (uint64_t)sb.st_blocks * 512 };
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->dbmu);
	*out = c.p;
	*n = c.n;
	return rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
}

/* Most unused share first (the cheapest bytes back per byte copied). */
static int share_cmp(const void *a, const void *b)
{
	const struct cpack *x = a, *y = b;
	/* unused/disk compared without division: x.u * y.d vs y.u * x.d */
	__uint128_t l = (__uint128_t)unused_of(x) * (y->disk ? y->disk : 1);
	__uint128_t r = (__uint128_t)unused_of(y) * (x->disk ? x->disk : 1);

	return l > r ? -1 : l < r;
}

/* Orders c[0..n) so that the packs to compact come first; returns how
 * many: every pack without live bytes, then, while the unused bytes left
 * in the others are more than max_unused percent of what they take
 * (restic's --max-unused), the one with the largest unused share. */
static size_t packs_choose(struct cpack *c, size_t n, int max_unused)
{
	uint64_t live = 0, unused = 0, allowed;
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		live += c[i].live;
		if (c[i].live == 0) {   /* dead: removed, nothing to copy */
			struct cpack t = c[k];

			c[k++] = c[i];
			c[i] = t;
		}
	}
	for (i = k; i < n; i++)
		unused += unused_of(&c[i]);
	qsort(c + k, n - k, sizeof(*c), share_cmp);
	/* restic's rule: unused / (live + unused) <= max_unused % */
	allowed = max_unused >= 100 ? UINT64_MAX :
		  (uint64_t)((__uint128_t)live * (uint64_t)max_unused / (uint64_t)(100 - max_unused));
	while (k < n && unused > allowed && unused_of(&c[k]) > 0)
		unused -= unused_of(&c[k++]);
	return k;
}

static int pack_cmp(const void *a, const void *b)
{
	const struct cpack *x = a, *y = b;

	return x->pack < y->pack ? -1 : x->pack > y->pack;
}

static int crow_cmp(const void *a, const void *b)
{
	const struct crow *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* One page of rows after *after whose pack is in want[] (indexed by pack,
 * below a0) appended to rw (struct crow).  *more: a full page was read. */
static int rows_page(struct store *st, const uint8_t *want, uint32_t a0, uint8_t *after,
		     bool first, struct vec *rw, bool *more)
{
	sqlite3_stmt *q = NULL;
	struct crow *w;
	size_t seen = 0;
	int rc;

	pthread_mutex_lock(&st->dbmu);
	rc = sqlite3_prepare_v2(st->db, "SELECT id, pack, off, clen, rlen FROM chunks WHERE id > ?"
				" ORDER BY id LIMIT ?", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(q, 1, after, first ? 0 : STORE_ID_LEN, SQLITE_TRANSIENT);
		sqlite3_bind_int(q, 2, ROWS_STEP);
	}
	while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		uint32_t p = (uint32_t)sqlite3_column_int64(q, 1);

		rc = SQLITE_OK;
		if (sqlite3_column_bytes(q, 0) != STORE_ID_LEN)
			continue;
		memcpy(after, sqlite3_column_blob(q, 0), STORE_ID_LEN);
		seen++;
		if (p >= a0 || !want[p])
			continue;
		if (!(w = vec_add(rw))) {
			rc = SQLITE_NOMEM;
			break;
		}
		memcpy(w->id, after, STORE_ID_LEN);
		w->pack = p;
		w->off = (uint64_t)sqlite3_column_int64(q, 2);
		w->clen = (uint32_t)sqlite3_column_int64(q, 3);
		w->rlen = (uint32_t)sqlite3_column_int64(q, 4);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->dbmu);
	*more = seen == ROWS_STEP;
	return rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
}

/* Every row in a pack of want[], sorted by pack and offset.  No row is
 * added below A0 any more, and only compaction moves rows: a row of those
 * packs that exists after this scan was seen by it. */
static bool cancelled(const volatile int *cancel) { return cancel && *cancel; }

static int rows_collect(struct store *st, const uint8_t *want, uint32_t a0, struct crow **rw,
			size_t *n, const volatile int *cancel)
{
	uint8_t after[STORE_ID_LEN] = { 0 };
	struct vec v = VEC_INIT(struct crow);
	bool more = true, first = true;
	int r = 0;

	while (r == 0 && more) {
		r = cancelled(cancel) ? -ECANCELED :
		    rows_page(st, want, a0, after, first, &v, &more);
		first = false;
	}
	if (r == 0 && v.n)
		qsort(v.p, v.n, v.size, crow_cmp);
	*rw = v.p;   /* the caller's, even on failure */
	*n = v.n;
	return r;
}

/* Whether id's row still names r's place (a read that failed there is
 * damage only then: a row deleted or punched meanwhile is not). */
static bool row_still_there(struct store *st, const struct crow *r)
{
	struct store_loc l;

	if (store_locate(st, (const uint8_t (*)[STORE_ID_LEN])r->id, 1, &l) < 0)
		return true;
	return l.found && l.pack == r->pack && l.off == r->off;
}

/* Moves the rows rw[0..n) of one pack to the active pack, one batch of
 * moves committed (durable) before returning.  *whole: every row was
 * moved or is gone, so the pack holds nothing indexed any more.  Once
 * *cancel is set, the rows not read yet stay (-ECANCELED after the
 * commit of those moved). */
static int pack_move(struct store *st, const struct crow *rw, size_t n, uint8_t *buf,
		     struct store_sweep_stats *s, bool *whole, const volatile int *cancel)
{
	struct store_batch *b;
	uint64_t moved, gone;
	size_t i, got;
	int r;

	*whole = true;
	if ((r = store_batch_new(st, &b)) < 0)
		return r;
	for (i = 0; i < n && r == 0 && !cancelled(cancel); i++) {
		struct store_loc l = { .pack = rw[i].pack, .off = rw[i].off, .clen = rw[i].clen,
				       .rlen = rw[i].rlen, .found = true };

		r = store_get_at(st, rw[i].id, &l, buf, STORE_CHUNK_MAX, &got);
		if (r < 0 && r != -ENOMEM) {
			if (row_still_there(st, &rw[i])) {
				s->unreadable++;
				*whole = false;
			}
			r = 0;
			continue;
		}
		if (r == 0)
			r = store_batch_move(b, rw[i].id, &l, buf, got);
		if (r == 0)
			s->moved_bytes += REC_HDR + (uint64_t)rw[i].clen;
	}
	store_sweep_crash_point();   /* (records written, not indexed) */
	if (r == 0)
		r = store_batch_commit(b);
	store_batch_move_counts(b, &moved, &gone);
	s->moved += moved;
	store_batch_free(b);
	if (r == 0 && i < n)
		r = -ECANCELED;
	if (r < 0)
		*whole = false;
	return r;
}

/* The pack's file unlinked, then its packs row deleted.  A crash between
 * the two leaves a packs row without a file, dropped by the next sweep. */
static int pack_drop(struct store *st, uint32_t pack)
{
	sqlite3_stmt *q = NULL;
	int r, rc;

	store_sweep_crash_point();
	if ((r = store_pack_remove(st, pack)) < 0 && r != -ENOENT)
		return r;
	store_sweep_crash_point();
	pthread_mutex_lock(&st->dbmu);
	rc = sqlite3_prepare_v2(st->db, "DELETE FROM packs WHERE pack=?", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, pack);
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->dbmu);
	return rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
}

/* Rewrites (when they hold live rows) and removes the packs c[0..k). */
static int packs_compact(struct store *st, const struct cpack *c, size_t k, uint32_t a0,
			 struct store_sweep_stats *s, const volatile int *cancel)
{
	uint8_t *want = calloc(a0, 1), *buf = NULL;
	uint64_t disk = 0, moved0 = s->moved_bytes, moved;
	struct crow *rw = NULL;
	size_t n = 0, i, j = 0;
	bool any = false;
	int r = want ? 0 : -ENOMEM;

	for (i = 0; i < k && r == 0; i++) {   /* c[] is in pack order, as rw[] will be */
		want[c[i].pack] = c[i].live > 0;
		any |= c[i].live > 0;
	}
	if (r == 0 && any && !(buf = malloc(STORE_CHUNK_MAX)))
		r = -ENOMEM;
	if (r == 0 && any)   /* some hold live rows: find them */
		r = rows_collect(st, want, a0, &rw, &n, cancel);
	for (i = 0; i < k && r == 0; i++) {
		size_t m = j;
		bool whole = true;

		while (m < n && rw[m].pack == c[i].pack)
			m++;
		if (cancelled(cancel))
			r = -ECANCELED;
		else if (m > j)
			r = pack_move(st, rw + j, m - j, buf, s, &whole, cancel);
		s->packs_rewritten += m > j && whole;
		if (r == 0 && whole && (r = pack_drop(st, c[i].pack)) == 0) {
			s->packs_removed++;
			disk += c[i].disk;
		}
		j = m;
	}
	moved = s->moved_bytes - moved0;
	s->reclaimed_bytes += disk > moved ? disk - moved : 0;
	free(rw);
	free(buf);
	free(want);
	return r;
}

int store_sweep_compact(struct store *st, int max_unused, const volatile int *cancel)
{
	struct store_sweep_stats *s = store_sweep_statsp(st);
	const uint64_t *live;
	struct cpack *c = NULL;
	uint32_t a0;
	size_t n = 0, k;
	int r;

	if (max_unused < 0)
		return 0;
	if (!s || !(live = store_sweep_live(st, &a0)))
		return -EINVAL;   /* only after a whole step 4 */
	if ((r = packs_list(st, live, a0, &c, &n)) == 0 && n) {
		k = packs_choose(c, n, max_unused > 100 ? 100 : max_unused);
		qsort(c, k, sizeof(*c), pack_cmp);   /* the row scan's order */
		r = packs_compact(st, c, k, a0, s, cancel);
	}
	free(c);
	return r;
}
