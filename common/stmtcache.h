/* stmtcache.h — prepared SQLite statements kept for the next call with the
 * same SQL: parsing the SQL again for every call was a fifth of vigild's
 * CPU on many small files, and a good part of the server's commit path.
 * One cache per connection, used under the connection's lock (vigild's
 * state db, the server's index). */
#ifndef VIGIL_STMTCACHE_H
#define VIGIL_STMTCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#define STMTCACHE_MAX 64

struct stmtcache {
	struct {
		char *sql;
		sqlite3_stmt *st;
		bool busy;               /* handed out (a second user prepares its own) */
	} slot[STMTCACHE_MAX];
	size_t n;
};

/* A statement for sql on db: the cached one when free, else a new one,
 * kept while the cache has room.  SQLITE_OK and *st, or SQLite's error
 * (the caller maps and logs it).  Give it back with stmtcache_put. */
int  stmtcache_get(struct stmtcache *c, sqlite3 *db, const char *sql, sqlite3_stmt **st);
/* A cached statement is reset (bindings cleared) for the next user, any
 * other finalized. */
void stmtcache_put(struct stmtcache *c, sqlite3_stmt *st);
/* Finalizes every cached statement (before sqlite3_close). */
void stmtcache_free(struct stmtcache *c);

#endif
