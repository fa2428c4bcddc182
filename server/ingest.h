/* ingest.h — device requests: PUT (every body kind), LATEST, SIG, REPORT, SIM.
 *
 * A device reads and writes only its own namespace and sees only latest
 * versions.  A version becomes visible only after its content is durable
 * in the store (vbuild/vpatch/vranges finish) and verified against the
 * tree root (and sha256) the device sent, and the index transaction
 * committed.  Flows and error codes: docs/index.md, "Ingest". */
#ifndef VIGIL_SERVER_INGEST_H
#define VIGIL_SERVER_INGEST_H

#include "server/srv.h"

/* Resumable uploads are made durable every 8 MiB (and when cut): a server
 * crash costs the device at most that much again. */
#define INGEST_CHECKPOINT_BYTES (8u << 20)

/* The handlers of MSG_DEV_* requests (srv.h), ended by {0, NULL}. */
extern const struct srv_handler ingest_handlers[];

#endif
