/* textindex_prune.c — deleting search.db's version rows of versions that
 * are gone from the server's index (retention dropped them): a page of
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

/* Deletes rows ids[0..n) (inside the indexer's batch when one is open). */
static int page_delete(struct textindex *ti, const int64_t *ids, size_t n)
{
	sqlite3_stmt *st = NULL;
	bool own;
	int r;

	pthread_mutex_lock(&ti->wlock);
	own = !ti->batch;
	if ((own && (r = ti_exec(ti->w, "BEGIN IMMEDIATE")) < 0) ||
	    (r = ti_prepare(ti->w, "DELETE FROM versions WHERE id = ?1", &st)) < 0)
		goto out;
	for (size_t i = 0; i < n && r == 0; i++) {
		sqlite3_bind_int64(st, 1, ids[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = ti_fail(ti->w, "prune: delete");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (own)
		r = r == 0 ? ti_exec(ti->w, "COMMIT") : (ti_exec(ti->w, "ROLLBACK"), r);
out:
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
