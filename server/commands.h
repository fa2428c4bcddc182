/* commands.h — the server's durable command queue and audit trail, kept
 * in index.db (tables `commands` and `events`, docs/index.md).
 *
 * The server keeps a controller's signed command exactly as it came (body
 * and signature, never re-encoded: it cannot sign), relays it, and records
 * what the device reports.  Every state change appends an event in the
 * same transaction.  Nothing here (or anywhere in the server) edits or
 * deletes a command's request or an event: the trail is append-only.
 *
 * States: pending -> delivered -> running -> done | failed | refused, and
 * pending | delivered -> expired.  done, failed, refused and expired are
 * final.  The device's reports may overtake the relay's `delivered` (they
 * travel on other streams), so any forward move is allowed (pending ->
 * running, pending -> refused, ...); a backward or sideways move is not.
 *
 * Thread-safe like the rest of the index: every call holds the index's
 * mutex for one short transaction; commands_wait sleeps on a condition
 * variable that every change broadcasts.  Functions return 0 (or a count)
 * or -errno. */
#ifndef VIGIL_SERVER_COMMANDS_H
#define VIGIL_SERVER_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/command.h"
#include "server/index.h"

#define CMD_ACTION_MAX 16

/* A command admitted for queueing (the fields the admission check decoded
 * from the body, plus the body and signature to relay untouched). */
struct cmd_new {
	const char *controller;         /* the signer: the connection's identity */
	const char *action;             /* command_action_name() */
	uint64_t seq;                   /* >= 1, per controller */
	int64_t issued_ns, expires_ns;
	const uint8_t *body;            /* 1..CMD_BODY_MAX bytes */
	size_t body_len;
	const uint8_t *sig;             /* SIGN_SIG_LEN bytes */
};

/* One command as stored.  Large (a body): keep it off small stacks. */
struct cmd_row {
	struct vg_cmdstate st;          /* id, state, reason, figures; updated_ns
					 * = server time of the last change */
	int64_t dev;                    /* identities.id of the device */
	char controller[VG_NAME_MAX];
	char action[CMD_ACTION_MAX];
	uint64_t seq;
	int64_t issued_ns, expires_ns;  /* as signed by the controller */
	int64_t queued_ns, delivered_ns;/* server times; delivered 0 = not yet */
	uint8_t body[CMD_BODY_MAX];
	size_t body_len;
	uint8_t sig[SIGN_SIG_LEN];
};

/* What the command history says about a device (vigil status). */
struct cmd_flags {
	bool frozen;                    /* the newest done freeze/thaw is a freeze */
	char erase_state[16];           /* none | pending | running | done | failed */
	uint64_t erase_files, erase_bytes;
	bool on_hold;                   /* a freeze or an erase was ever queued, or
					 * a SIM swap seen (server/simstate.h):
					 * retention must not prune this device */
};

/* Fills n from an admitted command (server/cmdadmit.h) and the body and
 * signature it came in; n points into c, body and sig. */
void commands_new_from(struct cmd_new *n, const struct vg_command *c, const uint8_t *body,
		       size_t len, const uint8_t *sig);

/* Inserts the command (pending) and the event "<controller> queued <action>
 * #id" in one transaction, durable (synchronous=FULL) before it returns.
 * A command already queued with the same controller and seq and the same
 * body and signature gives its existing id (a controller retrying after a
 * lost reply does not queue twice); with another body, -EEXIST.
 * -EINVAL for an empty name, seq 0 or a body out of range. */
int commands_queue(struct index *idx, int64_t dev, const struct cmd_new *n, int64_t now_ns,
		   uint64_t *id);

/* The relay's next command for dev: the oldest (by queue id) with id >
 * after that is pending or delivered and not expired.  delivered is
 * included so that a command whose device lost the connection before it
 * reported `running` is pushed again when the device reconnects (the
 * device runs a command once: same controller and seq gets the result it
 * already has); the relay passes the last id it pushed on this connection
 * as `after`, 0 on a new connection.  Commands past expiry become expired
 * first (with their event) and are never returned.  1 found, 0 none. */
int commands_next(struct index *idx, int64_t dev, uint64_t after, int64_t now_ns,
		  struct cmd_row *out);

/* Marks every pending or delivered command of dev (0: of all devices)
 * whose expires_ns <= now as expired, each with an event.  Returns how
 * many. */
int commands_expire(struct index *idx, int64_t dev, int64_t now_ns);

/* Applies a state change to command st->id of device dev: "delivered"
 * (from the relay) or "running", "done", "failed", "refused" (from the
 * device; reason and figures stored with it).  Returns 1 when stored (an
 * event appended), 0 when nothing changed (the same report again, e.g. a
 * redelivered result), -ENOENT (no such command for this device), -EINVAL
 * (not a state one may set), -EALREADY (the command is final, or already
 * past that state).  A report for a command the server had already
 * expired is refused too, but leaves an event saying so.  `running`
 * again with new figures updates them without an event (progress). */
int commands_set_state(struct index *idx, int64_t dev, const struct vg_cmdstate *st,
		       int64_t now_ns);

int commands_get(struct index *idx, uint64_t id, struct cmd_row *out);   /* -ENOENT */

/* Calls cb with the device's newest max commands, oldest first.  Returns
 * the count.  cb runs under the index lock: copy, do not call the index. */
int commands_list(struct index *idx, int64_t dev, size_t max,
		  void (*cb)(void *arg, const struct cmd_row *c), void *arg);

int commands_flags(struct index *idx, int64_t dev, struct cmd_flags *out);

/* Blocks until command id's state differs from `from` (NULL: until it is
 * final) or timeout_ms passed; a command whose expiry passes meanwhile is
 * expired here.  out holds the command as it is on return.  0 when the
 * state changed (or is final), -ETIMEDOUT, -ENOENT. */
int commands_wait(struct index *idx, uint64_t id, const char *from, long timeout_ms,
		  struct cmd_row *out);

/* "done", "failed", "refused", "expired". */
bool commands_state_final(const char *state);

#endif
