/* shipplan.h — what to send for one queued path, decided apart from its
 * I/O (the model is adopt.h).  The shipper gathers the facts (lstat, the
 * shipped row, a rename candidate, the written ranges, whether a signature
 * is cached), ship_plan picks the kind of PUT to try, and the shipper
 * carries it out; after reading the file, ship_plan_read says what the
 * bytes read leave to send.  Pure functions: tests/unit/test_shipplan.c
 * checks every rule from a table.
 *
 *   a SQLite companion (-wal, -journal, -shm) -> COMPANION: never shipped,
 *                     its database is queued instead
 *   gone            -> GONE: PUT_RENAME when the same dev+ino appeared at
 *                      another queued path, else PUT_DELETE
 *   dir / symlink   -> EMPTY: PUT_WHOLE with empty content (nothing when
 *                      its stat matches the row; ADOPT without a row)
 *   new at a path, same dev+ino+size+mtime as a vanished shipped file
 *                   -> RENAME: PUT_RENAME, no content sent
 *   stat as shipped -> NONE, unless "racy": queued racy or closed, or
 *                      written ranges pending (same time tick)
 *   same size, mtime, inode; a version, not racy -> META
 *   no shipped row  -> ADOPT: ask the server (shipadopt.c, adopt.h)
 *   edited, every write since known by range, chunk list kept -> RANGES
 *   edited, server version known, >= SIG_MIN_SIZE -> DELTA
 *   else            -> WHOLE with a deterministic token (resumable)
 * A RANGES or DELTA that cannot be built falls back to the next one down;
 * after the read, content equal to the shipped version sends META or
 * nothing, and a delta no smaller than the file goes WHOLE. */
#ifndef VIGIL_DAEMON_SHIPPLAN_H
#define VIGIL_DAEMON_SHIPPLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "daemon/rangetab.h"
#include "daemon/statedb.h"

/* Below this a delta cannot beat sending the bytes (2 KiB blocks plus
 * headers), so no chunk list is kept for the next edit. */
#define SIG_MIN_SIZE (16 * 1024)
/* Below this reading the whole file costs less than keeping its chunk
 * list and ranges: no PUT_RANGES. */
#define RANGES_MIN_SIZE (256 * 1024)

enum ship_kind {
	SHIP_NONE,        /* nothing to send: the queue entry is done */
	SHIP_COMPANION,   /* a SQLite companion: look at its database */
	SHIP_GONE,        /* vanished: PUT_RENAME to where it went, or PUT_DELETE */
	SHIP_RENAME,      /* a vanished shipped file is here: PUT_RENAME */
	SHIP_ADOPT,       /* no shipped row: the server may hold it already */
	SHIP_EMPTY,       /* directory or symlink: PUT_WHOLE, empty content */
	SHIP_META,        /* same content, other metadata: PUT_META */
	SHIP_RANGES,      /* PUT_RANGES from the written ranges */
	SHIP_DELTA,       /* read it, PUT_DELTA against the shipped version */
	SHIP_WHOLE,       /* read it, PUT_WHOLE */
};

extern const char *const ship_kind_names[];

struct ship_facts {
	bool excluded;                /* scan_excluded(): a SQLite companion */
	const struct stat *st;        /* lstat now; NULL: gone, or a kind never shipped */
	const struct shipped *row;    /* the shipped version; NULL: none */
	/* A shipped regular file with st's dev+ino at another path (NULL:
	 * none), and whether that path no longer holds it. */
	const struct shipped *moved;
	bool moved_gone;
	bool queued_racy;             /* queued "racy" or "closed": read the content */
	const struct rangeset *rs;    /* written ranges (a look, not taken); NULL: no tracker */
	/* row's content can be a delta's base: a version of at least
	 * SIG_MIN_SIZE bytes (its chunk list kept, or asked of the server) */
	bool delta_base;
};

enum ship_kind ship_plan(const struct ship_facts *f);

/* A regular file whose content may have changed, against base (its
 * shipped version, or the server's when adopting; NULL: none): RANGES,
 * DELTA or WHOLE.  rs: the ranges taken (NULL: none). */
enum ship_kind ship_plan_content(const struct shipped *base, const struct stat *st,
				 const struct rangeset *rs, bool delta_base);

/* What a read of the file found, and what it built. */
struct ship_read {
	const struct stat *st;        /* of what was read */
	uint64_t size;
	const uint8_t *root;          /* chunk-tree root: with size, decides "same content" */
	bool xattrs;                  /* the file has xattrs: a moved ctime may be new ones */
	enum ship_kind built;         /* SHIP_RANGES, SHIP_DELTA or SHIP_WHOLE */
	uint64_t delta_size;          /* SHIP_DELTA: the delta's bytes */
};

/* After the read, against base (NULL: none): NONE (same content and
 * metadata), META, or what was built (a DELTA no smaller than the file
 * becomes WHOLE). */
enum ship_kind ship_plan_read(const struct shipped *base, const struct ship_read *r);

#endif
