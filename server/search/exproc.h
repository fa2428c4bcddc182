/* exproc.h — text extraction in a separate, sandboxed process.
 *
 * The indexer parses hostile files (SQLite databases, vCards, XML); it
 * does so through exproc_extract(), which hands the work to an extractor
 * child (exchild.h) started by re-executing the server binary: the child
 * holds nothing but a socketpair, runs as nobody with no_new_privs,
 * Landlock (no filesystem at all) and a seccomp filter (sandbox.h), and
 * reads the content back through the parent in bounded pieces
 * (exwire.h) — the SQLite extractor's read-only VFS reads the same way,
 * so no file, memfd or in-memory copy of a database is needed.
 *
 * A child that crashes, breaks the protocol or runs past the per-file
 * time limit (EXPROC_BASE_MS plus one second per EXPROC_RATE bytes) is
 * killed; that file's result is malformed ("unparsed" in the index's
 * counters) and the next file gets a new child, started after a backoff
 * (EXPROC_BACKOFF_MIN_MS doubling to EXPROC_BACKOFF_MAX_MS, reset by a
 * file that completes).  One exproc serves one thread at a time. */
#ifndef VIGIL_EXPROC_H
#define VIGIL_EXPROC_H

#include <stdint.h>
#include <sys/types.h>

#include "server/search/extract.h"

#define EXPROC_BASE_MS        60000
#define EXPROC_RATE           (4u << 20)   /* bytes a second: a slow disk, a big database */
#define EXPROC_HELLO_MS       10000
#define EXPROC_BACKOFF_MIN_MS 100
#define EXPROC_BACKOFF_MAX_MS 10000

struct exproc;

struct exproc_stats {
	uint64_t started;     /* children started */
	uint64_t failed;      /* files whose child crashed, hung or misbehaved */
	uint64_t batches;     /* BATCH messages sent (exproc_extract_batch) */
	pid_t pid;            /* the current child, 0 when none */
};

/* exe: the server binary to re-execute as `exe extractor`.  No child is
 * started until the first file.  Test hooks, read here:
 * VIGIL_TEST_EXTRACT_MS replaces the per-file time limit;
 * VIGIL_TEST_EXTRACT_HOOK is passed on to the child (exchild.h). */
int  exproc_new(const char *exe, struct exproc **out);
void exproc_free(struct exproc *ep);   /* kills the child; NULL-safe */
void exproc_stats(struct exproc *ep, struct exproc_stats *out);

/* Like extract() (lim NULL: defaults).  A child's failure is not an
 * error: 0 with res->malformed and the reason.  -errno when the source
 * could not be read, or emit's non-zero value. */
int  exproc_extract(void *ep, const char *path, const struct ex_source *src,
		    const struct ex_limits *lim, ex_emit_fn emit, void *arg,
		    struct ex_result *res);

/* Several small files (each size <= EXW_ITEM_MAX, exwire.h) through the
 * child, as many as fit in one BATCH per round trip.  Each item's result
 * is as exproc_extract's: a crash or hang costs that item alone (killed
 * at its own time limit; the items after it go to a new child).  Returns
 * 0, or -ENOMEM; the items' own values are in items[i].rc. */
int  exproc_extract_batch(void *ep, struct ex_item *items, size_t n,
			  const struct ex_limits *lim);

#endif
