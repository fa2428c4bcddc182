/* devsig.h — device requests about the version a delta is computed
 * against: MSG_DEV_RSIG (the signature of a region), MSG_DEV_CHUNKS (the
 * chunk list).
 * docs/protocol.md. */
#ifndef VIGIL_SERVER_DEVSIG_H
#define VIGIL_SERVER_DEVSIG_H

#include "server/srv.h"

extern const struct srv_handler devsig_handlers[];

#endif
