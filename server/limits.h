/* limits.h — every bound vigil-server puts on what a peer may hold, in one
 * place, with the argument for each number (docs/protocol.md, "Limits").
 * connlimit.c keeps the books; srv.c and session.c enforce them. */
#ifndef VIGIL_SERVER_LIMITS_H
#define VIGIL_SERVER_LIMITS_H

#include "common/mux.h"

/* Authenticated connections (identity checked, mux running), all peers. */
#define LIM_CONNS 1024
/* Connections still in the TLS handshake, all peers together: a budget of
 * their own, so that idle TCP sockets from anyone never take the slots of
 * enrolled peers.  A handshake on a live link takes a few round trips, so
 * 64 at once serves hundreds of (re)connecting devices per second. */
#define LIM_UNAUTH 64
/* ... of which one source address may hold this many: one host cannot
 * take the whole budget (a vigild reconnecting opens 5 at once). */
#define LIM_UNAUTH_PER_ADDR 16
/* A handshake not complete after this long is dropped (one TLS 1.3
 * exchange: ~2 round trips plus an Ed25519 signature each way). */
#define LIM_HANDSHAKE_MS 3000
/* Authenticated connections per identity: vigild holds SHIP_WORKERS (4)
 * plus its command link; the rest is room for reconnects that overlap a
 * connection the server has not yet seen die, and for controllers running
 * a few commands and a mount at once. */
#define LIM_IDENT_CONNS 16
/* Streams a peer may hold open on one connection (the mux answers an OPEN
 * beyond it with RESET).  Each pins up to its window of receive buffer
 * (MUX_WINDOW_DEVICE, 1 MiB, for a device; MUX_WINDOW, 512 KiB, for a
 * controller), so one device identity would pin 16 x 16 x 1 MiB = 256 MiB
 * and one controller 16 x 64 x 512 KiB = 512 MiB.  A device needs no more
 * streams than its handler share (SRV_DEVICE_SHARE): more would only wait.
 * A controller's `vigil mount` uses all 64. */
#define LIM_DEVICE_STREAMS     16
#define LIM_CONTROLLER_STREAMS MUX_MAX_STREAMS
/* Receive window one identity may pin across all its connections together
 * (finding 1.2): the streams above, times LIM_IDENT_CONNS connections,
 * would let one device pin 256 MiB and one controller 512 MiB.  A stream
 * the peer opens beyond its identity's budget is refused with a reset
 * (vigild retries, as after any reset).  vigild holds one stream per
 * shipping worker (SHIP_WORKERS, 16) plus a few for its command link, so
 * 32 MiB (32 streams of 1 MiB) is about twice what it uses; a
 * controller's `vigil mount` takes 64 streams at once, so it gets room
 * for a whole mount and as many again for the commands run beside it. */
#define LIM_DEVICE_WINDOW      (32u << 20)
#define LIM_CONTROLLER_WINDOW  (64u << 20)
#define LIM_DEVICE_IDENT_STREAMS     (LIM_DEVICE_WINDOW / MUX_WINDOW_DEVICE)  /* 32 */
#define LIM_CONTROLLER_IDENT_STREAMS (LIM_CONTROLLER_WINDOW / MUX_WINDOW)  /* 128 */
/* A refusal of each kind is logged at most once per this many seconds
 * (with the peer's address and how many were refused meanwhile). */
#define LIM_LOG_EVERY_S 10

#endif
