/* cmdtrust.c — trust-add / trust-revoke on the device's bundle, in memory
 * and on disk together (cmdtrust.h). */
#include "daemon/cmdtrust.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/sign.h"

/* Adds (or replaces) name's key; on a failed save puts back what was. */
static int trust_add(struct bundle *b, const char *path, const struct vg_command *c,
		     char *reason, size_t cap)
{
	EVP_PKEY *pub = sign_pub_from_raw(c->trust_pub), *old;
	int r;

	if (!pub) {
		snprintf(reason, cap, "trust-add %s: not an Ed25519 public key", c->trust_name);
		return -EINVAL;
	}
	if ((old = bundle_find_trust(b, c->trust_name)))
		EVP_PKEY_up_ref(old);          /* bundle_add_trust frees the one it replaces */
	if ((r = bundle_add_trust(b, c->trust_name, pub)) < 0) {
		snprintf(reason, cap, "trust-add %s: %s", c->trust_name,
			 r == -ENOSPC ? "trust list full" : strerror(-r));
		goto out;
	}
	if ((r = bundle_save(path, b)) < 0) {
		snprintf(reason, cap, "trust-add %s: saving the bundle: %s", c->trust_name,
			 strerror(-r));
		if (old)
			bundle_add_trust(b, c->trust_name, old);   /* replaces: cannot fail */
		else
			bundle_remove_trust(b, c->trust_name);
	}
out:
	EVP_PKEY_free(old);
	EVP_PKEY_free(pub);
	return r;
}

static int trust_revoke(struct bundle *b, const char *path, const struct vg_command *c,
			char *reason, size_t cap)
{
	EVP_PKEY *old = bundle_find_trust(b, c->trust_name);
	int r;

	if (!old) {
		snprintf(reason, cap, "trust-revoke %s: not a trusted controller", c->trust_name);
		return -ENOENT;
	}
	if (b->ntrust == 1) {
		snprintf(reason, cap, "trust-revoke %s: it is the last trusted controller",
			 c->trust_name);
		return -EPERM;
	}
	EVP_PKEY_up_ref(old);
	bundle_remove_trust(b, c->trust_name);
	if ((r = bundle_save(path, b)) < 0) {
		snprintf(reason, cap, "trust-revoke %s: saving the bundle: %s", c->trust_name,
			 strerror(-r));
		/* put it back; the list had room for it a moment ago */
		if (bundle_add_trust(b, c->trust_name, old) < 0)
			r = -ENOMEM;
	}
	EVP_PKEY_free(old);
	return r;
}

int cmdtrust_apply(struct bundle *b, const char *bundle_path, const struct vg_command *c,
		   char *reason, size_t cap)
{
	if (cap)
		reason[0] = '\0';
	switch (c->action) {
	case CMD_TRUST_ADD:
		return trust_add(b, bundle_path, c, reason, cap);
	case CMD_TRUST_REVOKE:
		return trust_revoke(b, bundle_path, c, reason, cap);
	default:
		snprintf(reason, cap, "%s is not a trust command", command_action_name(c->action));
		return -EINVAL;
	}
}
