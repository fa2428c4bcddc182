/* shafill.h — the server-wide worker that computes the whole-content
 * sha256 of versions committed with it pending (PUT_RANGES commits as soon
 * as the chunk-tree root verifies; reading a large version back for its
 * sha256 would hold the device's PUT_DONE for seconds).
 *
 * One thread for the whole server, no queue: a kick (after such a commit,
 * and once at start for rows a crash left pending) makes it page through
 * the index's pending rows (index_sha_pending), read each content from the
 * store and store its sha256 (index_sha_done).  A content that cannot be
 * read stays pending and is retried at the next kick or after
 * SHAFILL_RETRY_S.  Never blocks a connection thread.
 * For tests, VIGIL_TEST_SHAFILL_DELAY_MS (read at start) delays each pass
 * until that long after the latest kick,
 * so that a version is seen while its sha256 is pending. */
#ifndef VIGIL_SERVER_SHAFILL_H
#define VIGIL_SERVER_SHAFILL_H

#include "server/index.h"
#include "server/store/store.h"

#define SHAFILL_RETRY_S 60
#define SHAFILL_PAGE    16

struct shafill;

/* Starts the worker (it looks for pending rows at once).  0 or -errno. */
int  shafill_new(struct index *idx, struct store *st, struct shafill **out);
void shafill_kick(struct shafill *sf);   /* NULL-safe */
/* Waits until no pending row is left (or timeout_ms passed): tests.
 * 0, or -ETIMEDOUT. */
int  shafill_wait_idle(struct shafill *sf, int timeout_ms);
void shafill_free(struct shafill *sf);   /* stops (aborting a hash in progress); NULL-safe */

#endif
