/* pathstate.h — the one owner of what vigild keeps about a path it ships.
 *
 * A shipped path has three pieces of state that describe one version and
 * must change together:
 *   row     its row in the shipped table (statedb.h), and its queue entry;
 *   chunks  STATE/chunks/<h>: the chunk list of that version (chunklist.h);
 *   ranges  the byte ranges written since (rangetab.h, in memory);
 * where <h> is the hex sha256 of the path (pathstate_file).  The shipper
 * changes them only through the operations below: forget (the path is
 * gone, or the server's latest is not what we thought), move (a rename
 * shipped without content), commit (a version the server acknowledged)
 * and drop (one piece no longer describes the version: a delta or a
 * chunk list the server refused).  chunklist.c owns the format of its
 * files; where the files live is decided here.  (No signature is kept:
 * a delta asks the server for those of the regions it needs,
 * chunkdelta.h; an older state directory's STATE/sigs is removed at
 * start.)
 *
 * Errors of the file and range parts are not reported: a piece that could
 * not be dropped is still checked against the row's root before use (a
 * stale list counts as none). */
#ifndef VIGIL_DAEMON_PATHSTATE_H
#define VIGIL_DAEMON_PATHSTATE_H

#include <limits.h>
#include <stdint.h>

#include "daemon/rangetab.h"
#include "daemon/statedb.h"

#define PS_DIR_CHUNKS  "chunks"

enum ps_part {
	PS_ROW    = 1 << 0,
	PS_CHUNKS = 1 << 2,
	PS_RANGES = 1 << 3,
};
/* what describes the row's content: goes when the content is not the row's */
#define PS_CONTENT (PS_CHUNKS | PS_RANGES)
#define PS_ALL (PS_ROW | PS_CONTENT)

struct pathstate {
	struct statedb *db;
	const char *statedir;
	struct rangetab *rt;          /* NULL: no range tracking (`once`) */
};

/* <statedir>/<sub>/<hex sha256(path)>: 0 or -ENAMETOOLONG. */
int pathstate_file(const char *statedir, const char *sub, const char *path,
		   char out[PATH_MAX]);

/* Forgets the given parts of path's state.  0, or the row's -errno. */
int pathstate_drop(const struct pathstate *ps, const char *path, unsigned parts);
/* Everything: the next look at path starts from nothing (adoption). */
int pathstate_forget(const struct pathstate *ps, const char *path);

/* Records row as path's shipped version and, when q is not NULL, clears
 * q's queue entry (unless it was queued again since: q->gen). */
int pathstate_commit(const struct pathstate *ps, const struct shipped *row,
		     const struct qitem *q);

/* A rename shipped without content: from's chunk list now
 * describe row (at row->path), from's ranges and row are forgotten, from's
 * queue entry goes, and row->path's is cleared unless queued again since
 * newgen. */
int pathstate_move(const struct pathstate *ps, const char *from, const struct shipped *row,
		   uint64_t newgen);

#endif
