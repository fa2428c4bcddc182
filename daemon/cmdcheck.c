/* cmdcheck.c — the device's decision on a command: obey, report again, or
 * refuse with a reason (cmdcheck.h gives the order and why). */
#include "daemon/cmdcheck.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

static const char *const refusal_names[] = {
	[CMDREF_NONE] = "none",           [CMDREF_FORMAT] = "bad format",
	[CMDREF_SIGNER] = "unknown signer", [CMDREF_SIGNATURE] = "bad signature",
	[CMDREF_DEVICE] = "another device", [CMDREF_EXPIRED] = "expired",
	[CMDREF_REPLAY] = "replay",
};

const char *cmdcheck_refusal_name(enum cmdcheck_refusal why)
{
	return (unsigned)why < sizeof(refusal_names) / sizeof(refusal_names[0]) ?
	       refusal_names[why] : "?";
}

static enum cmdcheck_verdict refuse(struct cmdcheck_result *res, enum cmdcheck_refusal why,
				    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static enum cmdcheck_verdict refuse(struct cmdcheck_result *res, enum cmdcheck_refusal why,
				    const char *fmt, ...)
{
	size_t n;
	va_list ap;

	n = (size_t)snprintf(res->reason, sizeof(res->reason), "%s", cmdcheck_refusal_name(why));
	if (fmt && n + 2 < sizeof(res->reason)) {
		memcpy(res->reason + n, ": ", 3);
		va_start(ap, fmt);
		vsnprintf(res->reason + n + 2, sizeof(res->reason) - n - 2, fmt, ap);
		va_end(ap);
	}
	res->why = why;
	return res->verdict = CMDCHECK_REFUSE;
}

/* Checks 1-4 of cmdcheck.h: format, signer, signature, device. */
static bool authentic(const uint8_t *body, size_t len, const uint8_t sig[SIGN_SIG_LEN],
		      const struct bundle *trust, const char *device,
		      struct cmdcheck_result *res)
{
	const struct vg_command *c = &res->cmd;
	EVP_PKEY *pub;

	if (command_decode(body, len, &res->cmd) < 0) {
		refuse(res, CMDREF_FORMAT, "%zu-byte body does not decode", len);
		return false;
	}
	if (!(pub = bundle_find_trust(trust, c->controller))) {
		refuse(res, CMDREF_SIGNER, "%s is not a trusted controller", c->controller);
		return false;
	}
	if (command_verify(pub, body, len, sig) < 0) {
		refuse(res, CMDREF_SIGNATURE, "not signed by %s's key", c->controller);
		return false;
	}
	if (strcmp(c->device, device) != 0) {
		refuse(res, CMDREF_DEVICE, "addressed to %s, this is %s", c->device, device);
		return false;
	}
	return true;
}

enum cmdcheck_verdict cmdcheck_decide(const uint8_t *body, size_t len,
				      const uint8_t sig[SIGN_SIG_LEN],
				      const struct bundle *trust, const char *device,
				      int64_t now_ns, const struct cmdseq *seen,
				      struct cmdcheck_result *res)
{
	const struct vg_command *c = &res->cmd;
	unsigned int hlen = 0;

	memset(res, 0, sizeof(*res));
	if (EVP_Digest(body, len, res->body_sha256, &hlen, EVP_sha256(), NULL) != 1 || hlen != 32)
		memset(res->body_sha256, 0, sizeof(res->body_sha256));   /* never matches a record */
	if (!authentic(body, len, sig, trust, device, res))
		return res->verdict;
	res->prev = cmdseq_get(seen, c->controller);
	if (res->prev && hlen == 32 && c->seq == res->prev->seq &&
	    !memcmp(res->body_sha256, res->prev->body_sha256, 32))
		return res->verdict = CMDCHECK_REDELIVERY;
	if (now_ns >= c->expires_ns)
		return refuse(res, CMDREF_EXPIRED, "%s seq %" PRIu64 " expired %.0f s ago",
			      c->controller, c->seq, ((double)now_ns - (double)c->expires_ns) / 1e9);
	if (c->seq <= (res->prev ? res->prev->seq : 0))
		return refuse(res, CMDREF_REPLAY, "%s seq %" PRIu64 " <= %" PRIu64 " already seen",
			      c->controller, c->seq, res->prev ? res->prev->seq : 0);
	return res->verdict = CMDCHECK_ACCEPT;
}

void cmdcheck_record(const struct cmdcheck_result *res, uint64_t id, int64_t now_ns,
		     struct cmdseq_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	snprintf(rec->controller, sizeof(rec->controller), "%s", res->cmd.controller);
	rec->seq = res->cmd.seq;
	memcpy(rec->body_sha256, res->body_sha256, 32);
	rec->result.id = id;
	snprintf(rec->result.state, sizeof(rec->result.state), "running");
	rec->result.updated_ns = now_ns;
}
