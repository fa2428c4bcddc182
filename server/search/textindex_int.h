/* textindex_int.h — what textindex.c and textindex_query.c share. */
#ifndef VIGIL_TEXTINDEX_INT_H
#define VIGIL_TEXTINDEX_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <sqlite3.h>

#include "server/search/textindex.h"

#define TI_WSTMTS 24     /* prepared statements kept for the writer */

struct textindex {
	int country;
	sqlite3 *w;             /* writer: contents, pieces, versions */
	struct { const char *sql; sqlite3_stmt *st; } wst[TI_WSTMTS];   /* under wlock */
	bool batch;             /* a batch transaction is open on w (under wlock) */
	bool was_clean;         /* the previous run saved its queue and stopped */
	sqlite3 *r;             /* searches and stats */
	sqlite3 *q;             /* the pending queue (called from ingest threads) */
	pthread_mutex_t wlock, rlock, qlock;
	char path[4096];
};

int ti_exec(sqlite3 *db, const char *sql);          /* logs; 0 or -EIO */
int ti_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st);
int ti_fail(sqlite3 *db, const char *what);        /* logs; -EIO */

#endif
