/* test_cmdtrust.c — daemon/cmdtrust.c on a real device bundle: trust-add
 * makes a new controller's signed command pass cmdcheck, in memory and
 * after reloading the bundle file; trust-revoke makes it fail again; the
 * last trusted controller cannot be revoked; a failed save leaves memory
 * and file as they were; bad keys and non-trust actions are refused. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/cmdcheck.h"
#include "daemon/cmdtrust.h"
#include "tests/unit/pki_fixture.h"

#define NOW 1800000000000000000LL

static struct pki pki;
static char dir[64], path[128];
static EVP_PKEY *ctl1, *ctl2;
static struct cmdseq empty;

static int setup(void **state)
{
	struct bundle *b;

	(void)state;
	if (pki_setup(&pki) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/vigil-cmdtrust-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/device.bundle", dir);
	ctl1 = sign_keygen();
	ctl2 = sign_keygen();
	if (!ctl1 || !ctl2 || !(b = bundle_new()))
		return -1;
	b->role = ROLE_DEVICE;
	snprintf(b->name, sizeof(b->name), "phone1");
	snprintf(b->server, sizeof(b->server), "127.0.0.1:1");
	X509_up_ref(pki.dev_cert);
	b->cert = pki.dev_cert;
	EVP_PKEY_up_ref(pki.dev_key);
	b->key = pki.dev_key;
	X509_up_ref(pki.ca);
	b->ca = pki.ca;
	if (bundle_add_trust(b, "ctl1", ctl1) < 0 || bundle_save(path, b) < 0)
		return -1;
	bundle_free(b);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	EVP_PKEY_free(ctl1);
	EVP_PKEY_free(ctl2);
	pki_teardown(&pki);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct bundle *load(void)
{
	struct bundle *b = NULL;
	char err[256];

	if (bundle_load(path, &b, err, sizeof(err)) < 0)
		fail_msg("bundle_load: %s", err);
	return b;
}

static void trust_cmd(struct vg_command *c, uint8_t action, const char *name, EVP_PKEY *pub)
{
	memset(c, 0, sizeof(*c));
	c->format = CMD_FORMAT;
	c->action = action;
	snprintf(c->device, sizeof(c->device), "phone1");
	snprintf(c->controller, sizeof(c->controller), "ctl1");
	c->seq = 1;
	c->expires_ns = NOW + 1;
	snprintf(c->trust_name, sizeof(c->trust_name), "%s", name);
	if (pub)
		assert_int_equal(sign_pub_raw(pub, c->trust_pub), 0);
}

/* What cmdcheck says of a freeze signed by ctl2 against b. */
static enum cmdcheck_verdict ctl2_freeze(const struct bundle *b)
{
	struct cmdcheck_result res;
	uint8_t sig[SIGN_SIG_LEN];
	struct vg_command c;
	struct buf body;
	enum cmdcheck_verdict v;

	memset(&c, 0, sizeof(c));
	c.action = CMD_FREEZE;
	snprintf(c.device, sizeof(c.device), "phone1");
	snprintf(c.controller, sizeof(c.controller), "ctl2");
	c.seq = 1;
	c.expires_ns = NOW + 1;
	buf_init(&body, CMD_BODY_MAX);
	assert_int_equal(command_encode(&c, &body), 0);
	assert_int_equal(command_sign(ctl2, body.data, body.len, sig), 0);
	v = cmdcheck_decide(body.data, body.len, sig, b, "phone1", NOW, &empty, &res);
	buf_free(&body);
	return v;
}

static void test_add_then_revoke(void **state)
{
	struct bundle *b = load(), *again;
	struct vg_command c;
	char reason[VG_ERRMSG_MAX];

	(void)state;
	assert_int_equal(ctl2_freeze(b), CMDCHECK_REFUSE);   /* enrolled after the device */
	trust_cmd(&c, CMD_TRUST_ADD, "ctl2", ctl2);
	assert_int_equal(cmdtrust_apply(b, path, &c, reason, sizeof(reason)), 0);
	assert_int_equal(b->ntrust, 2);
	assert_int_equal(ctl2_freeze(b), CMDCHECK_ACCEPT);
	again = load();                                       /* a vigild restart */
	assert_int_equal(again->ntrust, 2);
	assert_int_equal(ctl2_freeze(again), CMDCHECK_ACCEPT);
	bundle_free(again);

	trust_cmd(&c, CMD_TRUST_REVOKE, "ctl2", NULL);
	assert_int_equal(cmdtrust_apply(b, path, &c, reason, sizeof(reason)), 0);
	assert_int_equal(ctl2_freeze(b), CMDCHECK_REFUSE);
	again = load();
	assert_int_equal(again->ntrust, 1);
	assert_non_null(bundle_find_trust(again, "ctl1"));
	assert_int_equal(ctl2_freeze(again), CMDCHECK_REFUSE);
	bundle_free(again);
	bundle_free(b);
}

static void test_key_rotation(void **state)
{
	struct bundle *b = load(), *again;
	struct vg_command c;
	char reason[VG_ERRMSG_MAX];
	uint8_t raw[SIGN_PUB_LEN];

	(void)state;
	/* ctl1's key replaced by ctl2's under the name ctl1 */
	trust_cmd(&c, CMD_TRUST_ADD, "ctl1", ctl2);
	assert_int_equal(cmdtrust_apply(b, path, &c, reason, sizeof(reason)), 0);
	again = load();
	assert_int_equal(again->ntrust, 1);
	assert_int_equal(sign_pub_raw(bundle_find_trust(again, "ctl1"), raw), 0);
	assert_memory_equal(raw, c.trust_pub, SIGN_PUB_LEN);
	bundle_free(again);
	/* and back */
	trust_cmd(&c, CMD_TRUST_ADD, "ctl1", ctl1);
	assert_int_equal(cmdtrust_apply(b, path, &c, reason, sizeof(reason)), 0);
	bundle_free(b);
}

static void test_refusals(void **state)
{
	struct bundle *b = load(), *again;
	struct vg_command c;
	char reason[VG_ERRMSG_MAX];

	(void)state;
	assert_int_equal(b->ntrust, 1);
	trust_cmd(&c, CMD_TRUST_REVOKE, "ctl1", NULL);
	assert_int_equal(cmdtrust_apply(b, path, &c, reason, sizeof(reason)), -EPERM);
	assert_true(reason[0] != '\0');
	assert_int_equal(b->ntrust, 1);
	trust_cmd(&c, CMD_TRUST_REVOKE, "ctl7", NULL);
	assert_int_equal(cmdtrust_apply(b, path, &c, reason, sizeof(reason)), -ENOENT);
	trust_cmd(&c, CMD_FREEZE, "ctl1", NULL);
	assert_int_equal(cmdtrust_apply(b, path, &c, reason, sizeof(reason)), -EINVAL);
	again = load();
	assert_int_equal(again->ntrust, 1);
	assert_non_null(bundle_find_trust(again, "ctl1"));
	bundle_free(again);
	bundle_free(b);
}

/* The save fails (bundle path in a missing directory): memory unchanged. */
static void test_failed_save_rolls_back(void **state)
{
	struct bundle *b = load();
	struct vg_command c;
	char reason[VG_ERRMSG_MAX], bad[160];
	uint8_t raw[SIGN_PUB_LEN], want[SIGN_PUB_LEN];

	(void)state;
	snprintf(bad, sizeof(bad), "%s/missing/device.bundle", dir);
	trust_cmd(&c, CMD_TRUST_ADD, "ctl2", ctl2);
	assert_true(cmdtrust_apply(b, bad, &c, reason, sizeof(reason)) < 0);
	assert_true(reason[0] != '\0');
	assert_int_equal(b->ntrust, 1);
	assert_null(bundle_find_trust(b, "ctl2"));
	/* a failed rotation keeps the old key */
	trust_cmd(&c, CMD_TRUST_ADD, "ctl1", ctl2);
	assert_true(cmdtrust_apply(b, bad, &c, reason, sizeof(reason)) < 0);
	assert_int_equal(sign_pub_raw(bundle_find_trust(b, "ctl1"), raw), 0);
	assert_int_equal(sign_pub_raw(ctl1, want), 0);
	assert_memory_equal(raw, want, SIGN_PUB_LEN);
	/* a failed revoke keeps the controller */
	trust_cmd(&c, CMD_TRUST_ADD, "ctl2", ctl2);
	assert_int_equal(cmdtrust_apply(b, path, &c, reason, sizeof(reason)), 0);
	trust_cmd(&c, CMD_TRUST_REVOKE, "ctl2", NULL);
	assert_true(cmdtrust_apply(b, bad, &c, reason, sizeof(reason)) < 0);
	assert_int_equal(b->ntrust, 2);
	assert_int_equal(ctl2_freeze(b), CMDCHECK_ACCEPT);
	bundle_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_then_revoke),
		cmocka_unit_test(test_key_rotation),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_failed_save_rolls_back),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
