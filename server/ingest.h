/* ingest.h — device requests: PUT (every body kind), LATEST, REPORT, SIM
 * (SIG, RSIG, CHUNKS: devsig.h).
 *
 * A device reads and writes only its own namespace and sees only latest
 * versions.  A version becomes visible only after its content is durable
 * in the store (vbuild/vpatch/vranges finish) and verified against the
 * tree root (and sha256) the device sent, and the index transaction
 * committed.  Flows and error codes: docs/index.md, "Ingest". */
#ifndef VIGIL_SERVER_INGEST_H
#define VIGIL_SERVER_INGEST_H

#include "server/srv.h"

/* Resumable uploads are made durable every 64 MiB, or every 5 s once
 * 1 MiB has arrived since the last time (a slow link), and when the
 * connection is cut: a cut costs the device nothing it sent, a server
 * crash at most 64 MiB or 5 s of sending again.  (Each checkpoint is an
 * fdatasync and an index transaction whose size grows with the store,
 * not with the bytes: every 8 MiB they were a quarter of the server's
 * CPU for a big upload.) */
#define INGEST_CHECKPOINT_BYTES (64u << 20)
#define INGEST_CHECKPOINT_MIN   (1u << 20)
#define INGEST_CHECKPOINT_NS    (5 * 1000000000ll)

/* MSG_DEV_PUTBATCH (ingest_batch.c). */
int ingest_putbatch(struct conn *c, struct mux_stream *s, struct wire_reader *wr);

/* The handlers of MSG_DEV_* requests (srv.h), ended by {0, NULL}. */
extern const struct srv_handler ingest_handlers[];

#endif
