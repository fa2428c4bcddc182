/* relay.h — the server's part in signed commands (docs/commands.md): it
 * admits a controller's command into the durable queue, pushes queued
 * commands to a device over the connection the device declared as its
 * command link, records what the device reports, pairs a controller's
 * direct fetch with the device's answering stream, and ends the live
 * connections of identities revoked meanwhile (by `vigil-server revoke` or
 * by an erase's final report).
 *
 * One relay thread delivers and sweeps; the handlers run in the
 * connections' stream threads.  The relay never signs or alters a command. */
#ifndef VIGIL_SERVER_RELAY_H
#define VIGIL_SERVER_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "common/mux.h"
#include "server/srv.h"

struct relay;

#define RELAY_PUSH_MS     5000    /* a device has this long to acknowledge a push */
#define RELAY_SWEEP_MS    1000    /* revoked identities, expiries, missed kicks */
#define RELAY_WAIT_MAX_MS 60000   /* one CMDWAIT blocks at most this long */
#define RELAY_FETCH_MS    300000  /* a direct fetch waits this long for the device */
#define RELAY_KICKS_MAX   1024    /* devices waiting for delivery (then: next sweep) */

/* Starts the relay thread; 0 or -errno.  relay_stop ends it (handlers
 * still running see it stopping and return); relay_free, once no
 * connection is left, frees it.  Both take NULL. */
int relay_start(struct srv *srv, struct relay **out);
void relay_stop(struct relay *r);
void relay_free(struct relay *r);
/* Something for dev may be deliverable now (queued, or its link came up). */
void relay_kick(struct relay *r, int64_t dev);

/* Handlers (srv.h) for what a device sends: MSG_DEV_CMDLINK,
 * MSG_DEV_CMD_STATE, MSG_DEV_FETCH; and a controller: MSG_CTL_COMMAND,
 * MSG_CTL_CMDWAIT, MSG_CTL_FETCH. */
extern const struct srv_handler relay_dev_handlers[];
extern const struct srv_handler relay_ctl_handlers[];

#endif
