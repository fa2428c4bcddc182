/* cmdsend.c — sign, number, queue and follow one command (cmdsend.h). */
#include "controller/cmdsend.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/sign.h"
#include "controller/jsonout.h"
#include "controller/seqfile.h"
#include "controller/signkey.h"

/* One MSG_CTL_CMDWAIT asks the server to hold the reply this long at most:
 * well under CTL_REPLY_MS, so a live server always answers in time. */
#define WAIT_CALL_MS  30000
/* Between two asks, at least this long: a server answering at once with a
 * state that is not final must not make `vigil` spin. */
#define WAIT_PAUSE_MS 100

int cmdsend_check_key(struct ctl *c)
{
	char err[PATH_MAX * 2 + 256];

	if (c->sign_key)
		return 0;
	if (ctl_load_bundle(c) < 0)
		return CTL_FAIL;
	if (signkey_load(c->b, c->bundle_file, c->sign_key_path, getenv("VIGIL_SIGN_KEY"),
			 &c->sign_key, err, sizeof(err)) < 0) {
		log_warnx("%s; nothing was sent", err);
		return CTL_FAIL;
	}
	return 0;
}

/* The request: the envelope {id 0, body, signature}. */
static int build_request(struct ctl *c, const struct vg_command *cmd, struct buf *req)
{
	uint8_t sig[SIGN_SIG_LEN];
	struct buf body;
	int r;

	buf_init(&body, CMD_BODY_MAX);
	r = command_encode(cmd, &body);
	if (!r)
		r = command_sign(c->sign_key, body.data, body.len, sig);
	if (!r)
		command_put_envelope(req, 0, body.data, body.len, sig);
	if (!r && wire_buf_error(req))
		r = -EMSGSIZE;
	buf_free(&body);
	if (r)
		log_errno(r, "cannot sign the command");
	return r;
}

int cmdsend_prepare(struct ctl *c, struct vg_command *cmd, int64_t expire_ns,
		    struct seqfile *sf, struct buf *req)
{
	char path[PATH_MAX + 8];
	int r;

	sf->fd = -1;
	cmd->format = CMD_FORMAT;
	snprintf(cmd->controller, sizeof(cmd->controller), "%s", c->b->name);
	cmd->issued_ns = real_ns();
	cmd->expires_ns = cmd->issued_ns + expire_ns;
	if ((size_t)snprintf(path, sizeof(path), "%s.seq", c->bundle_file) >= sizeof(path)) {
		log_warnx("%s: name too long", c->bundle_file);
		return -ENAMETOOLONG;
	}
	if ((r = seqfile_lock(sf, path)) < 0) {
		log_errno(r, "%s", path);
		return r;
	}
	if ((r = seqfile_next(sf, &cmd->seq)) == -EBADMSG)
		log_warnx("%s: does not hold a sequence number; nothing was sent", path);
	else if (r < 0)
		log_errno(r, "%s; nothing was sent", path);
	else
		r = build_request(c, cmd, req);
	if (r < 0)
		seqfile_unlock(sf);
	return r;
}

/* MSG_CTL_COMMAND -> MSG_CMD_QUEUED {u64 id}, holding `<bundle>.seq` until
 * the answer, so the server queues this controller's commands in the
 * order of their numbers. */
static int queue(struct ctl *c, struct vg_command *cmd, int64_t expire_ns, uint64_t *id)
{
	struct buf req, msg;
	struct wire_reader rd;
	struct seqfile sf;
	int r;

	buf_init(&req, VG_MSG_MAX);
	buf_init(&msg, VG_MSG_MAX);
	if ((r = cmdsend_prepare(c, cmd, expire_ns, &sf, &req)) == 0 &&
	    (r = ctl_call(c, MSG_CTL_COMMAND, &req, MSG_CMD_QUEUED, cmd->device, &msg)) == 0) {
		wire_reader_init(&rd, msg.data, msg.len);
		*id = wire_get_u64(&rd);
		if ((r = wire_done(&rd)) < 0)
			log_warnx("server: malformed reply");
	}
	seqfile_unlock(&sf);
	buf_free(&req);
	buf_free(&msg);
	return r;
}

/* MSG_CTL_CMDWAIT {u64 id, u32 timeout_ms} -> MSG_CMD_STATE. */
static int ask_state(struct ctl *c, uint64_t id, int timeout_ms, struct vg_cmdstate *st)
{
	struct buf req, msg;
	struct wire_reader rd;
	int r;

	buf_init(&req, 64);
	buf_init(&msg, VG_MSG_MAX);
	wire_put_u64(&req, id);
	wire_put_u32(&req, (uint32_t)timeout_ms);
	if ((r = ctl_call(c, MSG_CTL_CMDWAIT, &req, MSG_CMD_STATE, NULL, &msg)) == 0) {
		wire_reader_init(&rd, msg.data, msg.len);
		command_get_state(&rd, st);
		if ((r = wire_done(&rd)) < 0 || st->id != id) {
			log_warnx("server: malformed reply");
			r = -EBADMSG;
		}
	}
	buf_free(&req);
	buf_free(&msg);
	return r;
}

static bool state_final(const char *s)
{
	return !strcmp(s, "done") || !strcmp(s, "failed") || !strcmp(s, "refused") ||
	       !strcmp(s, "expired");
}

/* The device's words are escaped for the terminal. */
static int report_final(uint8_t action, const struct vg_cmdstate *st)
{
	char *why = text_escape(st->reason, true);
	const char *sep = st->reason[0] ? ": " : "";

	if (strcmp(st->state, "done")) {
		log_warnx("command %" PRIu64 ": %s%s%s", st->id, st->state, sep, why ? why : "");
		free(why);
		return CTL_FAIL;
	}
	printf("command %" PRIu64 ": done%s%s\n", st->id, sep, why ? why : "");
	if (action == CMD_ERASE)
		printf("  files overwritten %" PRIu64 ", bytes %" PRIu64 ", unlinked only %" PRIu64
		       ", fitrim %s, luks key slots destroyed %" PRIu32 "\n", st->files, st->bytes,
		       st->unlinked_only, st->fitrim ? "yes" : "no", st->luks_slots);
	free(why);
	return CTL_OK;
}

static int wait_for(struct ctl *c, uint8_t action, uint64_t id, long long wait_s)
{
	int64_t deadline = mono_ms() + wait_s * 1000, left, t0;
	struct vg_cmdstate st = { .id = id, .state = "pending" };

	while ((left = deadline - mono_ms()) > 0) {
		t0 = mono_ms();
		if (ask_state(c, id, left > WAIT_CALL_MS ? WAIT_CALL_MS : (int)left, &st) < 0)
			return CTL_FAIL;
		if (state_final(st.state))
			return report_final(action, &st);
		if (ctl_quit) {
			log_warnx("interrupted; command %" PRIu64 " is %s", id, st.state);
			return CTL_FAIL;
		}
		if (mono_ms() - t0 < WAIT_PAUSE_MS)
			usleep(WAIT_PAUSE_MS * 1000);
	}
	log_warnx("command %" PRIu64 ": still %s after %lld s", id, st.state, wait_s);
	return CTL_WAIT;
}

int cmdsend_run(struct ctl *c, struct vg_command *cmd, int64_t expire_ns, long long wait_s)
{
	uint64_t id = 0;
	int r;

	if ((r = cmdsend_check_key(c)) != 0)
		return r;
	if (ctl_connect(c) < 0 || queue(c, cmd, expire_ns, &id) < 0)
		return CTL_FAIL;
	printf("command %" PRIu64 ": queued\n", id);
	fflush(stdout);
	return wait_s ? wait_for(c, cmd->action, id, wait_s) : CTL_OK;
}
