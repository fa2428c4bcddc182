/* stmtcache.c — prepared statements kept per SQL text (see stmtcache.h). */
#include "common/stmtcache.h"

#include <stdlib.h>
#include <string.h>

int stmtcache_get(struct stmtcache *c, sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	int rc, found = -1;

	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->slot[i].sql, sql)) {
			found = (int)i;
			break;
		}
	if (found >= 0 && !c->slot[found].busy) {
		c->slot[found].busy = true;
		*st = c->slot[found].st;
		return SQLITE_OK;
	}
	if ((rc = sqlite3_prepare_v2(db, sql, -1, st, NULL)) != SQLITE_OK)
		return rc;
	if (found < 0 && c->n < STMTCACHE_MAX && (c->slot[c->n].sql = strdup(sql))) {
		c->slot[c->n].st = *st;
		c->slot[c->n++].busy = true;
	}
	return SQLITE_OK;
}

void stmtcache_put(struct stmtcache *c, sqlite3_stmt *st)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->slot[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			c->slot[i].busy = false;
			return;
		}
	sqlite3_finalize(st);
}

void stmtcache_free(struct stmtcache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		sqlite3_finalize(c->slot[i].st);
		free(c->slot[i].sql);
	}
	c->n = 0;
}
