/* cmdlink.h — vigild's command link: one connection kept open to the
 * server (a phone behind a carrier's NAT cannot be dialled), declared with
 * MSG_DEV_CMDLINK, on which the server pushes signed commands
 * (MSG_SRV_COMMAND).  Received envelopes wait in a bounded queue for the
 * executor (cmdexec.h); reports go back on the same connection and are
 * kept, newest per command, until the server has them.  The device's own
 * report (MSG_DEV_REPORT: backlog, counters) goes on it too: only the
 * newest is kept, so reports made faster than the link sends coalesce.
 *
 * One thread connects, reconnects with backoff, and resends reports; the
 * mux's stream threads queue pushed commands. */
#ifndef VIGIL_DAEMON_CMDLINK_H
#define VIGIL_DAEMON_CMDLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bundle.h"
#include "common/command.h"
#include "common/mux.h"
#include "daemon/counters.h"

#define CMDLINK_QUEUE_MAX   16   /* commands received, not yet taken */
#define CMDLINK_REPORTS_MAX 32   /* reports not yet acknowledged */
#define CMDLINK_REPLY_MS    10000

struct cmdlink;

/* A command as the server relayed it (nothing checked yet). */
struct cmd_env {
	uint64_t id;
	size_t len;
	uint8_t body[CMD_BODY_MAX];
	uint8_t sig[SIGN_SIG_LEN];
};

/* Starts the link thread (server: NULL for the bundle's); each attempt to
 * connect counts in ctr's CTR_LINK_CONNECTS.  0 or -errno. */
int cmdlink_start(const struct bundle *b, const char *server, struct counters *ctr,
		  struct cmdlink **out);
/* The network changed (daemon/netwatch.c): while disconnected, the link
 * connects again now instead of at the end of its backoff.  NULL: no-op. */
void cmdlink_retry_now(struct cmdlink *l);
/* fn(arg) runs on the link thread when it connects after a failed
 * attempt (vigild_reachable: the shippers waiting to connect try now). */
void cmdlink_on_up(struct cmdlink *l, void (*fn)(void *), void *arg);
/* When the link tries next after a failed attempt (mono_ms), 0 while
 * connected; *linked: connected and declared (MSG_DEV_CMDLINK). */
int64_t cmdlink_retry_at(struct cmdlink *l, bool *linked);
/* Makes every wait on l return -ECANCELED and drops the connection
 * (the thread ends); cmdlink_stop then joins and frees.  NULL: no-op. */
void cmdlink_cancel(struct cmdlink *l);
void cmdlink_stop(struct cmdlink *l);

/* The next received command: 0, -ETIMEDOUT, or -ECANCELED once stopping
 * (timeout_ms < 0: no timeout). */
int cmdlink_next(struct cmdlink *l, struct cmd_env *out, int timeout_ms);
/* Keeps st (replacing an older report of the same command) and wakes the
 * link thread, which sends the kept reports in order whenever connected.
 * Never waits on the network, so the erase's progress callback may call it. */
void cmdlink_report(struct cmdlink *l, const struct vg_cmdstate *st);
/* Waits until every report so far has reached the server: 0, -ETIMEDOUT,
 * or -ECANCELED. */
int cmdlink_wait_reported(struct cmdlink *l, int timeout_ms);

/* The device report's maker (devreport.h), called by the link thread
 * while linked, without the link's lock: true with *rep filled when one is
 * due (force: one now); *wait_ms: when to ask again at the latest. */
typedef bool (*cmdlink_reporter)(void *arg, bool force, struct vg_report *rep, int *wait_ms);
void cmdlink_set_reporter(struct cmdlink *l, cmdlink_reporter fn, void *arg);
/* The figures may have moved (force: report now, whatever moved): wakes
 * the link thread, which asks the reporter.  Never waits on the network. */
void cmdlink_dev_poke(struct cmdlink *l, bool force);
/* Waits until a forced report has been made and the kept device report
 * has reached the server: 0, -ETIMEDOUT, or -ECANCELED. */
int cmdlink_wait_dev_reported(struct cmdlink *l, int timeout_ms);

/* Opens a stream on the link (direct fetch), holding the connection until
 * cmdlink_close_stream.  NULL with errno (ENOTCONN when not connected). */
struct mux_stream *cmdlink_open_stream(struct cmdlink *l, uint16_t type, const void *msg,
				       size_t len);
void cmdlink_close_stream(struct cmdlink *l, struct mux_stream *s);

#endif
