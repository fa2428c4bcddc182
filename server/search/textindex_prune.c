/* textindex_prune.c — deleting search.db's version rows of versions that
 * are gone from the server's index (retention dropped them), with the
 * contents and pieces (their text) nothing refers to any more: a page of
 * rows read on the query connection, each looked up through the caller,
 * the gone ones deleted in one short writer transaction per page, so the
 * indexer (the other writer) waits at most one page (textindex.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/search/textindex_int.h"

struct prow { int64_t id, dev; uint64_t version; char *path; };

/* Up to TI_PRUNE_PAGE rows with id > after, in id order, into p. */
static int page_read(struct textindex *ti, int64_t after, struct prow *p, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	*n = 0;
	pthread_mutex_lock(&ti->rlock);
	if ((r = ti_prepare(ti->r, "SELECT id, device, path, version FROM versions"
			    " WHERE id > ?1 ORDER BY id LIMIT ?2", &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, TI_PRUNE_PAGE);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(st, 2);

		p[*n] = (struct prow){ sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
				       (uint64_t)sqlite3_column_int64(st, 3),
				       strdup(path ? path : "") };
		if (!p[(*n)++].path) {
			r = -ENOMEM;
			break;
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = ti_fail(ti->r, "prune: versions");
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&ti->rlock);
	return r;
}

/* The contents and pieces that the version rows deleted from versions left
 * unreferenced (gc_c, gc_p: in-memory temporary tables, temp_store) go
 * too: a content no version refers to, its content_pieces rows, and every
 * piece, its text in fts included, that no content and no version's path
 * refers to any more.  Under wlock, in the transaction that deleted the
 * rows: the indexer takes a piece (piece_put) and inserts what refers to
 * it in one hold of wlock, so a piece it found is never collected under
 * it; a content it found (textindex_has_content) before this collected it
 * is indexed again (ix_process). */
static const char gc_collect[] =
	"DELETE FROM gc_c WHERE EXISTS (SELECT 1 FROM versions WHERE content = gc_c.id);"
	"INSERT OR IGNORE INTO gc_p SELECT piece FROM content_pieces"
	" WHERE content IN (SELECT id FROM gc_c);"
	"DELETE FROM content_pieces WHERE content IN (SELECT id FROM gc_c);"
	"DELETE FROM contents WHERE id IN (SELECT id FROM gc_c);"
	"DELETE FROM gc_p WHERE EXISTS (SELECT 1 FROM content_pieces WHERE piece = gc_p.id)"
	" OR EXISTS (SELECT 1 FROM versions WHERE path_piece = gc_p.id);"
	"DELETE FROM fts WHERE rowid IN (SELECT id FROM gc_p);"
	"DELETE FROM pieces WHERE id IN (SELECT id FROM gc_p);"
	"DELETE FROM gc_c; DELETE FROM gc_p;";

/* Deletes rows ids[0..n) and what only they referred to (inside the
 * indexer's batch when one is open). */
static int page_delete(struct textindex *ti, const int64_t *ids, size_t n)
{
	static const char *const per_row[] = {
		"INSERT OR IGNORE INTO gc_c SELECT content FROM versions"
		" WHERE id = ?1 AND content IS NOT NULL",
		"INSERT OR IGNORE INTO gc_p SELECT path_piece FROM versions WHERE id = ?1",
		"DELETE FROM versions WHERE id = ?1",
	};
	sqlite3_stmt *st[3] = { NULL };
	bool own;
	int r;

	pthread_mutex_lock(&ti->wlock);
	own = !ti->batch;
	if ((own && (r = ti_exec(ti->w, "BEGIN IMMEDIATE")) < 0) ||
	    (r = ti_exec(ti->w, "CREATE TEMP TABLE IF NOT EXISTS gc_c(id INTEGER PRIMARY KEY);"
			 " CREATE TEMP TABLE IF NOT EXISTS gc_p(id INTEGER PRIMARY KEY)")) < 0)
		goto out;
	for (size_t k = 0; k < 3 && r == 0; k++)
		r = ti_prepare(ti->w, per_row[k], &st[k]);
	for (size_t i = 0; i < n && r == 0; i++) {
		for (size_t k = 0; k < 3 && r == 0; k++) {
			sqlite3_bind_int64(st[k], 1, ids[i]);
			if (sqlite3_step(st[k]) != SQLITE_DONE)
				r = ti_fail(ti->w, "prune: delete");
			sqlite3_reset(st[k]);
		}
	}
	if (r == 0)
		r = ti_exec(ti->w, gc_collect);
	if (own)
		r = r == 0 ? ti_exec(ti->w, "COMMIT") : (ti_exec(ti->w, "ROLLBACK"), r);
out:
	for (size_t k = 0; k < 3; k++)
		sqlite3_finalize(st[k]);
	pthread_mutex_unlock(&ti->wlock);
	return r;
}

int64_t textindex_prune(struct textindex *ti, textindex_exists_fn *exists, void *arg,
			const volatile int *cancel)
{
	struct prow *p = calloc(TI_PRUNE_PAGE, sizeof(*p));
	int64_t *gone = calloc(TI_PRUNE_PAGE, sizeof(*gone)), after = 0, total = 0;
	size_t n = 0, ng;
	int r = p && gone ? 0 : -ENOMEM;

	while (r == 0 && !(cancel && *cancel)) {
		if ((r = page_read(ti, after, p, &n)) < 0 || n == 0)
			break;
		ng = 0;
		for (size_t i = 0; i < n; i++) {
			int e = r == 0 ? exists(arg, p[i].dev, p[i].path, p[i].version) : 1;

			if (e == 0)
				gone[ng++] = p[i].id;
			else if (e < 0)
				r = e;
			free(p[i].path);
			p[i].path = NULL;
		}
		after = p[n - 1].id;
		if (r == 0 && ng && (r = page_delete(ti, gone, ng)) == 0)
			total += (int64_t)ng;
		if (n < TI_PRUNE_PAGE)
			break;
	}
	for (size_t i = 0; p && i < n; i++)   /* what a failed read left */
		free(p[i].path);
	free(p);
	free(gone);
	return r < 0 ? r : total;
}
