/* cmdadmit.c — the server's admission check for a controller's signed
 * command (rules in cmdadmit.h): identity, signature, device, expiry. */
#include "server/cmdadmit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/sign.h"
#include "common/tls.h"

static int refuse(int err, char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(int err, char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return err;
}

/* The signer is the connection's controller, and the signature is its. */
static int check_signer(const struct cmd_admit *a, const struct vg_command *c, char *why,
			size_t cap)
{
	const struct ident *ctl = a->ctl;
	EVP_PKEY *pub;
	int r;

	if (!ctl || ctl->role != ROLE_CONTROLLER || ctl->revoked)
		return refuse(-EPERM, why, cap, "only an enrolled controller can send commands");
	if (strcmp(c->controller, ctl->name) != 0)
		return refuse(-EPERM, why, cap, "command signed as %s on %s's connection",
			      c->controller, ctl->name);
	if (ctl->sign_pub_len != SIGN_PUB_LEN)
		return refuse(-EPERM, why, cap, "controller %s has no signing key enrolled",
			      ctl->name);
	if (!(pub = sign_pub_from_raw(ctl->sign_pub)))
		return refuse(-EPERM, why, cap, "controller %s: enrolled key unusable", ctl->name);
	r = command_verify(pub, a->body, a->len, a->sig);
	EVP_PKEY_free(pub);
	if (r < 0)
		return refuse(-EKEYREJECTED, why, cap, "bad signature: not %s's key", ctl->name);
	return 0;
}

int cmd_admit(const struct cmd_admit *a, struct vg_command *c, char *why, size_t cap)
{
	const struct ident *dev = a->dev;
	int r;

	if (cap)
		why[0] = '\0';
	if (!a->body || !a->sig || command_decode(a->body, a->len, c) < 0)
		return refuse(-EBADMSG, why, cap, "malformed command");
	if ((r = check_signer(a, c, why, cap)) < 0)
		return r;
	if (c->seq == 0)
		return refuse(-EINVAL, why, cap, "sequence number 0 (they start at 1)");
	if (c->expires_ns <= c->issued_ns)
		return refuse(-EINVAL, why, cap, "expires before it was issued");
	if (!dev || dev->role != ROLE_DEVICE || strcmp(dev->name, c->device) != 0)
		return refuse(-ENOENT, why, cap, "no device %s", c->device);
	if (dev->revoked)
		return refuse(-EPERM, why, cap, "device %s is revoked", c->device);
	if (c->expires_ns <= a->now_ns)
		return refuse(-ETIME, why, cap, "command expired before it reached the server");
	return 0;
}
