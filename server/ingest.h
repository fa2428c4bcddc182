/* ingest.h — device requests: PUT (every body kind), LATEST, SIG, REPORT.
 *
 * A device reads and writes only its own namespace and sees only latest
 * versions.  A version becomes visible only after its content is durable
 * in the store (vbuild/vpatch/vranges finish) and verified against the
 * tree root (and sha256) the device sent, and the index transaction
 * committed.  Flows and error codes: docs/index.md, "Ingest". */
#ifndef VIGIL_SERVER_INGEST_H
#define VIGIL_SERVER_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "server/session.h"

#define INGEST_CHECKPOINT_BYTES (8u << 20)   /* resumable WHOLE: checkpoint every 8 MiB */

/* Handles one stream a device opened with a MSG_DEV_* message.  Replies on
 * s itself.  Returns 0, or -EPROTO when the peer broke the protocol (the
 * caller then drops the connection). */
int ingest_handle(struct conn *c, struct mux_stream *s, uint16_t type,
		  const uint8_t *msg, size_t len);

#endif
