/* store_check.c — `vigil-server check`'s pass over the chunk index: every
 * row's record must lie in an existing pack, within the pack's committed
 * end and its size, and its header must parse and agree with the row
 * (docs/store-format.md, "Checking the store").  The index is read in
 * pages of CHECK_PAGE rows, each under the database lock alone, so
 * ingest's lookups and commits go on between them. */
#include "server/store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/byteorder.h"

#define CHECK_PAGE 1024

struct crow {
	uint8_t id[STORE_ID_LEN];
	struct store_loc l;
	uint64_t end;        /* the pack's committed end when the row was read */
};

/* Up to CHECK_PAGE rows with id > after (from the first when NULL), under
 * dbmu.  Returns the count or -errno. */
static int rows_page(struct store *st, const uint8_t *after, struct crow *out)
{
	static const char sql[] =
		"SELECT c.id, c.pack, c.off, c.clen, c.rlen, coalesce(p.committed_end, -1)"
		" FROM chunks c LEFT JOIN packs p ON p.pack = c.pack"
		" WHERE c.id > ?1 ORDER BY c.id LIMIT 1024";   /* CHECK_PAGE */
	sqlite3_stmt *q;
	int n = 0, rc;

	pthread_mutex_lock(&st->dbmu);
	rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
	if (rc == SQLITE_OK) {
		if (after)
			sqlite3_bind_blob(q, 1, after, STORE_ID_LEN, SQLITE_STATIC);
		else
			sqlite3_bind_zeroblob(q, 1, 0);   /* below every id */
		while (n < CHECK_PAGE && (rc = sqlite3_step(q)) == SQLITE_ROW) {
			struct crow *c = &out[n];

			if (sqlite3_column_bytes(q, 0) != STORE_ID_LEN)
				continue;
			memcpy(c->id, sqlite3_column_blob(q, 0), STORE_ID_LEN);
			c->l = (struct store_loc){
				.pack = (uint32_t)sqlite3_column_int64(q, 1),
				.off = (uint64_t)sqlite3_column_int64(q, 2),
				.clen = (uint32_t)sqlite3_column_int64(q, 3),
				.rlen = (uint32_t)sqlite3_column_int64(q, 4),
				.found = true,
			};
			c->end = (uint64_t)sqlite3_column_int64(q, 5);
			n++;
		}
		if (rc == SQLITE_DONE || rc == SQLITE_ROW)
			rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->dbmu);
	return rc == SQLITE_OK ? n : store_db_err(st, rc);
}

/* What is wrong with c's record, or NULL; *size caches the pack's size
 * (pack 0: none cached). */
static const char *row_fault(struct store *st, const struct crow *c, uint32_t *spack,
			     int64_t *size)
{
	uint8_t h[REC_HDR];
	char name[32];
	struct stat sb;
	uint64_t rend = c->l.off + REC_HDR + (uint64_t)c->l.clen;

	if (*spack != c->l.pack) {
		snprintf(name, sizeof(name), "%08u.pack", c->l.pack);
		*size = fstatat(st->packsfd, name, &sb, 0) < 0 ? -1 : (int64_t)sb.st_size;
		*spack = c->l.pack;
	}
	if (*size < 0)
		return "pack missing";
	if (c->l.rlen > STORE_CHUNK_MAX || c->l.clen > STORE_CHUNK_MAX + 1024)
		return "row names an impossible length";
	if (c->end == UINT64_MAX || rend > c->end)
		return "record beyond the pack's committed end";
	if (rend > (uint64_t)*size)
		return "record beyond the pack's end (truncated)";
	if (store_read_span(st, c->l.pack, c->l.off, REC_HDR, h) < 0)
		return "record unreadable";
	/* an encrypted store's records: VGE2, the seal counted in clen */
	if (be32_get(h) != (st->enc ? REC_MAGIC_ENC : REC_MAGIC) || (h[4] & ~REC_F_ZSTD) ||
	    h[5] || h[6] || h[7] || memcmp(h + 8, c->id, STORE_ID_LEN) ||
	    be32_get(h + 40) != c->l.rlen || be32_get(h + 44) != c->l.clen ||
	    (st->enc && c->l.clen < REC_SEAL) ||
	    (!(h[4] & REC_F_ZSTD) && c->l.clen != c->l.rlen + (st->enc ? REC_SEAL : 0)))
		return "bad record header";
	return NULL;
}

/* A fault seen on a row read earlier stands only if the row is still the
 * same (a sweep or compaction may have moved or dropped it meanwhile). */
static bool row_unchanged(struct store *st, const struct crow *c)
{
	struct store_loc now;
	int r;

	pthread_mutex_lock(&st->dbmu);
	r = store_lookup_locked(st, c->id, &now);
	pthread_mutex_unlock(&st->dbmu);
	return r == 1 && now.pack == c->l.pack && now.off == c->l.off &&
	       now.clen == c->l.clen && now.rlen == c->l.rlen;
}

int store_check_rows(struct store *st, store_check_bad_fn bad, void *arg,
		     const volatile int *quit, struct store_check_stats *out)
{
	struct crow *rows = malloc(CHECK_PAGE * sizeof(*rows));
	uint8_t after[STORE_ID_LEN];
	bool have_after = false;
	uint32_t spack = 0;
	int64_t size = -1;
	int n, r = 0;

	memset(out, 0, sizeof(*out));
	if (!rows)
		return -ENOMEM;
	while ((n = rows_page(st, have_after ? after : NULL, rows)) > 0) {
		for (int i = 0; i < n && r == 0; i++) {
			const char *why;

			if (quit && *quit) {
				r = -ECANCELED;
				break;
			}
			why = row_fault(st, &rows[i], &spack, &size);
			out->rows++;
			out->bytes += REC_HDR + (uint64_t)rows[i].l.clen;
			if (!why || !row_unchanged(st, &rows[i]))
				continue;
			out->bad++;
			r = bad(arg, rows[i].id, &rows[i].l, why);
		}
		memcpy(after, rows[n - 1].id, STORE_ID_LEN);
		have_after = true;
		spack = 0;   /* a pack may have grown or gone between pages */
		if (r != 0 || n < CHECK_PAGE)
			break;
	}
	free(rows);
	if (n < 0)
		return n;
	return r;
}
