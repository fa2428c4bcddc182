/* query.h — controller requests: DEVICES, LS, LOG, STAT, READ, STATUS, and
 * SEARCH (server/search/search.c).
 *
 * Listings are sent as counted batches (reply.h: MSG_ENTRIES, MSG_DEVICES,
 * MSG_HITS of at most REPLY_BATCH_BYTES each), then END; the index is read
 * page by page so no lock is held while a batch waits for the peer's
 * credit. */
#ifndef VIGIL_SERVER_QUERY_H
#define VIGIL_SERVER_QUERY_H

#include "server/srv.h"

/* The handlers of MSG_CTL_* requests (srv.h), ended by {0, NULL}. */
extern const struct srv_handler query_handlers[];

#endif
