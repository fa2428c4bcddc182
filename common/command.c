/* command.c — a controller's signed command: canonical body encoding,
 * Ed25519 signature over "vigil-command-v1" NUL body, the progress record
 * and the relay envelope (command.h; format in docs/commands.md). */
#include "common/command.h"

#include <errno.h>
#include <string.h>

#include "common/names.h"

static const char *const action_names[] = {
	[CMD_FREEZE] = "freeze",       [CMD_THAW] = "thaw",
	[CMD_ERASE] = "erase",         [CMD_TRUST_ADD] = "trust-add",
	[CMD_TRUST_REVOKE] = "trust-revoke", [CMD_FETCH] = "fetch",
};

static const char *const state_names[] = {
	"pending", "delivered", "running", "done", "failed", "refused", "expired",
};

const char *command_action_name(uint8_t action)
{
	if (action < CMD_FREEZE || action > CMD_FETCH)
		return "?";
	return action_names[action];
}

static bool action_valid(uint8_t action) { return action >= CMD_FREEZE && action <= CMD_FETCH; }

/* The fields a body carries are valid: the same rules for encode (-EINVAL)
 * and decode (-EBADMSG), so whatever one accepts the other does too. */
static bool command_valid(const struct vg_command *c)
{
	if (c->format != CMD_FORMAT || !action_valid(c->action) ||
	    !name_valid(c->device) || !name_valid(c->controller))
		return false;
	if ((c->action == CMD_TRUST_ADD || c->action == CMD_TRUST_REVOKE) &&
	    !name_valid(c->trust_name))
		return false;
	if (c->action == CMD_FETCH && !path_valid(c->path))
		return false;
	return true;
}

int command_encode(const struct vg_command *c, struct buf *body)
{
	struct vg_command v = *c;
	size_t start = body->len;

	if (!v.format)
		v.format = CMD_FORMAT;
	if (!command_valid(&v))
		return -EINVAL;
	wire_put_u8(body, v.format);
	wire_put_u8(body, c->action);
	wire_put_str(body, c->device);
	wire_put_str(body, c->controller);
	wire_put_u64(body, c->seq);
	wire_put_i64(body, c->issued_ns);
	wire_put_i64(body, c->expires_ns);
	if (c->action == CMD_TRUST_ADD || c->action == CMD_TRUST_REVOKE)
		wire_put_str(body, c->trust_name);
	if (c->action == CMD_TRUST_ADD)
		wire_put_bytes(body, c->trust_pub, SIGN_PUB_LEN);
	if (c->action == CMD_FETCH)
		wire_put_str(body, c->path);
	if (wire_buf_error(body) < 0)
		return -EMSGSIZE;
	if (body->len - start > CMD_BODY_MAX)
		return -EMSGSIZE;
	return 0;
}

int command_decode(const uint8_t *body, size_t len, struct vg_command *c)
{
	struct wire_reader r;

	memset(c, 0, sizeof(*c));
	if (len > CMD_BODY_MAX)
		return -EBADMSG;
	wire_reader_init(&r, body, len);
	c->format = wire_get_u8(&r);
	c->action = wire_get_u8(&r);
	/* stop before the action-specific fields when the header is wrong */
	if (c->format != CMD_FORMAT || !action_valid(c->action))
		goto bad;
	wire_get_str(&r, c->device, sizeof(c->device));
	wire_get_str(&r, c->controller, sizeof(c->controller));
	c->seq = wire_get_u64(&r);
	c->issued_ns = wire_get_i64(&r);
	c->expires_ns = wire_get_i64(&r);
	if (c->action == CMD_TRUST_ADD || c->action == CMD_TRUST_REVOKE)
		wire_get_str(&r, c->trust_name, sizeof(c->trust_name));
	if (c->action == CMD_TRUST_ADD)
		wire_get_bytes(&r, c->trust_pub, SIGN_PUB_LEN);
	if (c->action == CMD_FETCH)
		wire_get_str(&r, c->path, sizeof(c->path));
	if (wire_done(&r) < 0 || !command_valid(c))
		goto bad;
	return 0;
bad:
	memset(c, 0, sizeof(*c));
	return -EBADMSG;
}

/* domain, NUL, body in one buffer: sign_data/sign_verify are one-shot
 * (Ed25519 has no streaming form).  msg holds sizeof(CMD_SIG_DOMAIN) +
 * CMD_BODY_MAX bytes. */
static size_t signed_bytes(uint8_t *msg, const uint8_t *body, size_t len)
{
	memcpy(msg, CMD_SIG_DOMAIN, sizeof(CMD_SIG_DOMAIN));   /* with its NUL */
	memcpy(msg + sizeof(CMD_SIG_DOMAIN), body, len);
	return sizeof(CMD_SIG_DOMAIN) + len;
}

int command_sign(EVP_PKEY *key, const uint8_t *body, size_t len, uint8_t sig[SIGN_SIG_LEN])
{
	uint8_t msg[sizeof(CMD_SIG_DOMAIN) + CMD_BODY_MAX];

	if (len > CMD_BODY_MAX)
		return -EMSGSIZE;
	return sign_data(key, msg, signed_bytes(msg, body, len), sig);
}

int command_verify(EVP_PKEY *pub, const uint8_t *body, size_t len, const uint8_t sig[SIGN_SIG_LEN])
{
	uint8_t msg[sizeof(CMD_SIG_DOMAIN) + CMD_BODY_MAX];

	if (len > CMD_BODY_MAX || !pub)
		return -EBADMSG;
	return sign_verify(pub, msg, signed_bytes(msg, body, len), sig) == 0 ? 0 : -EBADMSG;
}

static bool state_known(const char *s)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(s, state_names[i]) == 0)
			return true;
	return false;
}

void command_put_state(struct buf *b, const struct vg_cmdstate *st)
{
	wire_put_u64(b, st->id);
	wire_put_str(b, st->state);
	wire_put_str(b, st->reason);
	wire_put_u64(b, st->files);
	wire_put_u64(b, st->bytes);
	wire_put_u64(b, st->unlinked_only);
	wire_put_u8(b, st->fitrim);
	wire_put_u32(b, st->luks_slots);
	wire_put_i64(b, st->updated_ns);
}

/* An unknown state name or a fitrim other than 0/1 marks r bad. */
void command_get_state(struct wire_reader *r, struct vg_cmdstate *st)
{
	memset(st, 0, sizeof(*st));
	st->id = wire_get_u64(r);
	wire_get_str(r, st->state, sizeof(st->state));
	wire_get_str(r, st->reason, sizeof(st->reason));
	st->files = wire_get_u64(r);
	st->bytes = wire_get_u64(r);
	st->unlinked_only = wire_get_u64(r);
	st->fitrim = wire_get_u8(r);
	st->luks_slots = wire_get_u32(r);
	st->updated_ns = wire_get_i64(r);
	if (!r->err && (!state_known(st->state) || st->fitrim > 1))
		r->err = -EBADMSG;
}

void command_put_envelope(struct buf *b, uint64_t id, const uint8_t *body, size_t len,
			  const uint8_t sig[SIGN_SIG_LEN])
{
	wire_put_u64(b, id);
	wire_put_blob(b, body, len);
	wire_put_bytes(b, sig, SIGN_SIG_LEN);
}

int command_get_envelope(struct wire_reader *r, uint64_t *id, const uint8_t **body,
			 size_t *len, uint8_t sig[SIGN_SIG_LEN])
{
	*id = wire_get_u64(r);
	*body = wire_get_blob(r, CMD_BODY_MAX, len);
	wire_get_bytes(r, sig, SIGN_SIG_LEN);
	if (wire_ok(r) < 0) {
		*body = NULL;
		*len = 0;
		return -EBADMSG;
	}
	return 0;
}
