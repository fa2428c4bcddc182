/* query.h — controller requests: DEVICES, LS, LOG, STAT, READ, STATUS
 * (SEARCH answers ENOSYS until the keyword index exists).
 *
 * Listings are sent as MSG_ENTRIES batches of at most QUERY_BATCH_BYTES,
 * then END; the index is read page by page so no lock is held while a
 * batch waits for the peer's credit. */
#ifndef VIGIL_SERVER_QUERY_H
#define VIGIL_SERVER_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "server/session.h"

#define QUERY_BATCH_BYTES (60 * 1024)

/* Handles one stream a controller opened with a MSG_CTL_* message.
 * Returns 0, or -EPROTO when the peer broke the protocol. */
int query_handle(struct conn *c, struct mux_stream *s, uint16_t type,
		 const uint8_t *msg, size_t len);

#endif
