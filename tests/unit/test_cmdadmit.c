/* test_cmdadmit.c — the server's admission check (server/cmdadmit.c) from a
 * table: a good command is admitted; a body in another controller's name, a
 * connection that is not an enrolled controller, a forged or tampered
 * signature, an unknown, mismatched or revoked device, an expired command,
 * seq 0 and a malformed body are each refused with their errno. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/command.h"
#include "common/sign.h"
#include "common/tls.h"
#include "server/cmdadmit.h"

#define NOW  ((int64_t)1700000000 * 1000000000)
#define HOUR ((int64_t)3600 * 1000000000)

/* What each case changes from a good command. */
enum tweak {
	OK, OTHER_SIGNER_NAME, CTL_REVOKED, CTL_IS_DEVICE, CTL_NO_KEY, CTL_NULL,
	FORGED, SIG_FLIPPED, BODY_FLIPPED, TRUNCATED, NO_DEVICE, DEVICE_OTHER_NAME,
	DEVICE_IS_CONTROLLER, DEVICE_REVOKED, EXPIRED, EXPIRES_NOW, EXPIRY_BEFORE_ISSUE,
	SEQ_ZERO, FETCH_OK,
};

static const struct { enum tweak t; int want; const char *name; } cases[] = {
	{ OK, 0, "good" },
	{ FETCH_OK, 0, "good fetch" },
	{ OTHER_SIGNER_NAME, -EPERM, "signed as another controller" },
	{ CTL_REVOKED, -EPERM, "revoked controller" },
	{ CTL_IS_DEVICE, -EPERM, "a device's connection" },
	{ CTL_NO_KEY, -EPERM, "controller without signing key" },
	{ CTL_NULL, -EPERM, "no identity" },
	{ FORGED, -EKEYREJECTED, "signed by another key" },
	{ SIG_FLIPPED, -EKEYREJECTED, "signature bit flipped" },
	{ BODY_FLIPPED, -EKEYREJECTED, "body byte changed" },
	{ TRUNCATED, -EBADMSG, "truncated body" },
	{ NO_DEVICE, -ENOENT, "unknown device" },
	{ DEVICE_OTHER_NAME, -ENOENT, "device row of another name" },
	{ DEVICE_IS_CONTROLLER, -ENOENT, "name of a controller" },
	{ DEVICE_REVOKED, -EPERM, "revoked device" },
	{ EXPIRED, -ETIME, "expired an hour ago" },
	{ EXPIRES_NOW, -ETIME, "expires at this instant" },
	{ EXPIRY_BEFORE_ISSUE, -EINVAL, "expires before issued" },
	{ SEQ_ZERO, -EINVAL, "seq 0" },
};

struct fx {
	EVP_PKEY *key, *other;
	struct ident ctl, dev;
	struct vg_command c;
	uint8_t body[CMD_BODY_MAX], sig[SIGN_SIG_LEN];
	size_t len;
};

static void fx_init(struct fx *f, enum tweak t)
{
	struct buf b;

	memset(&f->ctl, 0, sizeof(f->ctl));
	memset(&f->dev, 0, sizeof(f->dev));
	snprintf(f->ctl.name, sizeof(f->ctl.name), "sec1");
	f->ctl.role = ROLE_CONTROLLER;
	assert_int_equal(sign_pub_raw(f->key, f->ctl.sign_pub), 0);
	f->ctl.sign_pub_len = SIGN_PUB_LEN;
	snprintf(f->dev.name, sizeof(f->dev.name), "phone1");
	f->dev.role = ROLE_DEVICE;

	memset(&f->c, 0, sizeof(f->c));
	f->c.format = CMD_FORMAT;
	f->c.action = t == FETCH_OK ? CMD_FETCH : CMD_FREEZE;
	snprintf(f->c.path, sizeof(f->c.path), "/home/user/a.txt");
	snprintf(f->c.device, sizeof(f->c.device), "phone1");
	snprintf(f->c.controller, sizeof(f->c.controller),
		 t == OTHER_SIGNER_NAME ? "sec2" : "sec1");
	f->c.seq = t == SEQ_ZERO ? 0 : 42;
	f->c.issued_ns = NOW - 2 * HOUR;
	f->c.expires_ns = t == EXPIRED ? NOW - HOUR : t == EXPIRES_NOW ? NOW :
			  t == EXPIRY_BEFORE_ISSUE ? NOW - 3 * HOUR : NOW + HOUR;
	buf_init(&b, CMD_BODY_MAX);
	assert_int_equal(command_encode(&f->c, &b), 0);
	memcpy(f->body, b.data, b.len);
	f->len = b.len;
	buf_free(&b);
	assert_int_equal(command_sign(t == FORGED ? f->other : f->key, f->body, f->len, f->sig), 0);
}

/* Applies the tweaks that come after signing. */
static void fx_tweak(struct fx *f, enum tweak t, struct cmd_admit *a)
{
	switch (t) {
	case CTL_REVOKED:          f->ctl.revoked = true; break;
	case CTL_IS_DEVICE:        f->ctl.role = ROLE_DEVICE; break;
	case CTL_NO_KEY:           f->ctl.sign_pub_len = 0; break;
	case CTL_NULL:             a->ctl = NULL; break;
	case SIG_FLIPPED:          f->sig[10] ^= 0x04; break;
	case BODY_FLIPPED:         f->body[f->len - 1] ^= 0x01; break;   /* expiry's low byte */
	case TRUNCATED:            a->len = f->len - 1; break;
	case NO_DEVICE:            a->dev = NULL; break;
	case DEVICE_OTHER_NAME:    snprintf(f->dev.name, sizeof(f->dev.name), "phone2"); break;
	case DEVICE_IS_CONTROLLER: f->dev.role = ROLE_CONTROLLER; break;
	case DEVICE_REVOKED:       f->dev.revoked = true; break;
	default:                   break;
	}
}

static void test_table(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vg_command *out = calloc(1, sizeof(*out));
	char why[VG_ERRMSG_MAX];
	size_t i;

	(void)state;
	assert_non_null(f->key = sign_keygen());
	assert_non_null(f->other = sign_keygen());
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cmd_admit a;
		int r;

		fx_init(f, cases[i].t);
		a = (struct cmd_admit){ .ctl = &f->ctl, .body = f->body, .len = f->len,
					.sig = f->sig, .dev = &f->dev, .now_ns = NOW };
		fx_tweak(f, cases[i].t, &a);
		r = cmd_admit(&a, out, why, sizeof(why));
		if (r != cases[i].want)
			fail_msg("%s: %d (%s), want %d", cases[i].name, r, why, cases[i].want);
		if (r == 0) {
			/* admitted: the caller gets what was signed */
			assert_string_equal(out->device, "phone1");
			assert_string_equal(out->controller, "sec1");
			assert_int_equal(out->seq, 42);
			assert_int_equal(out->action, f->c.action);
			assert_int_equal(out->expires_ns, NOW + HOUR);
		} else {
			/* one line a controller can print */
			assert_true(why[0] != '\0');
			assert_null(strchr(why, '\n'));
		}
	}
	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->other);
	free(f);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
