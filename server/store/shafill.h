/* shafill.h — the server-wide worker that computes the whole-content
 * sha256 of versions committed with it pending (PUT_RANGES commits as soon
 * as the chunk-tree root verifies: the device never reads the whole file
 * for a ranges edit, and reading a large version back for its sha256 costs
 * the server CPU in proportion to the file, not to the edit).
 *
 * The sha256 is a user-facing fingerprint (verification end to end is the
 * chunk-tree root), so the worker computes it only for content that rests:
 * a pending version is hashed once its content is still its path's latest
 * SHAFILL_QUIET_S after it was committed; a version superseded before that
 * is marked "not computed" (index_sha_superseded) and never read.  A file
 * edited many times in a burst costs one hash, after the burst.  Hashing
 * reads the content at most SHAFILL_RATE bytes a second (sleeping between
 * reads), so a 1 GiB version takes at least 16 s of a core's background
 * time, spread out.
 *
 * One thread for the whole server, no queue: a kick (after such a commit)
 * only makes sure a pass comes SHAFILL_QUIET_S later; a pass pages through
 * the index's pending rows (index_sha_pending), marks the superseded ones,
 * hashes the due ones and stores their sha256 (index_sha_done), and sleeps
 * until the next row is due.  At start a pass looks for what a previous
 * run left.  A content that cannot be read stays pending and is retried
 * after SHAFILL_RETRY_S.  Never blocks a connection thread.
 * For tests, VIGIL_TEST_SHAFILL_QUIET_MS (read at start) replaces the
 * quiet period (0 or more milliseconds). */
#ifndef VIGIL_SERVER_SHAFILL_H
#define VIGIL_SERVER_SHAFILL_H

#include "server/index.h"
#include "server/store/store.h"

#define SHAFILL_RETRY_S 60
#define SHAFILL_QUIET_S 600                   /* content unchanged this long: hash it */
#define SHAFILL_RATE    (64ull << 20)         /* bytes hashed per second, at most */
#define SHAFILL_PAGE    16

struct shafill;

/* Starts the worker (it looks for due rows at once).  0 or -errno. */
int  shafill_new(struct index *idx, struct store *st, struct shafill **out);
void shafill_kick(struct shafill *sf);   /* NULL-safe */
/* Waits until a pass found no row left to hash or retry, only rows not
 * due yet (or timeout_ms passed): tests.  0, or -ETIMEDOUT. */
int  shafill_wait_idle(struct shafill *sf, int timeout_ms);
void shafill_free(struct shafill *sf);   /* stops (aborting a hash in progress); NULL-safe */

#endif
