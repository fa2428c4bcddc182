/* search.h — the server's answer to MSG_CTL_SEARCH: decodes the request,
 * runs textindex_search and sends MSG_HITS batches (each message <= 60 KiB)
 * then END, or MSG_ERROR.  In default mode each hit is checked against the
 * metadata index (index_latest), because search.db catches up in the
 * background and does not see implicit deletions (a deleted directory's
 * files, a rename's source): only a path's current, live version is sent. */
#ifndef VIGIL_SERVER_SEARCH_H
#define VIGIL_SERVER_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/mux.h"
#include "common/wire.h"
#include "server/index.h"
#include "server/store/store.h"
#include "server/search/textindex.h"

struct srv;
struct conn;

/* The MSG_CTL_SEARCH handler (srv.h): wr is positioned after the message
 * type: {str dev, u8 all_versions, u32 n, str word * n}.  Returns 0 (a
 * reply was sent), or -EPROTO for a malformed request (the caller drops
 * the connection). */
int search_handle(struct conn *c, struct mux_stream *s, struct wire_reader *wr);

/* Opens DIR/search.db and starts the background indexer, hooked to the
 * server's on_commit so every committed version is queued for indexing.
 * Logs and returns -errno on failure.  search_stop() undoes it (NULL-safe
 * members): queued items are saved to the durable pending table. */
int search_start(struct srv *srv);
void search_stop(struct srv *srv);

/* The index part of `vigil status` for device_id (st->index_*).  0 or
 * -errno (logged by textindex). */
int search_status(struct srv *srv, int64_t device_id, struct vg_status *st);

/* indexer_ops.devkey over the metadata index: arg is the struct index. */
int search_devkey(void *idx, int64_t device_id, struct devkey *out);

#endif
