/* test_command.c — common/command.c: every action round-trips through the
 * canonical body byte for byte; a signature fails when any byte of the body
 * or signature changes or under another key or domain; every truncation and
 * every trailing byte is -EBADMSG; bad fields are refused on both sides; the
 * envelope and progress record round-trip and refuse oversize/bad input. */
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

static void fill(struct vg_command *c, uint8_t action)
{
	memset(c, 0, sizeof(*c));
	c->format = CMD_FORMAT;
	c->action = action;
	snprintf(c->device, sizeof(c->device), "phone1");
	snprintf(c->controller, sizeof(c->controller), "sec-team.1");
	c->seq = 0x0102030405060708ULL;
	c->issued_ns = 1700000000123456789LL;
	c->expires_ns = c->issued_ns + 7LL * 86400 * 1000000000;
	if (action == CMD_TRUST_ADD || action == CMD_TRUST_REVOKE)
		snprintf(c->trust_name, sizeof(c->trust_name), "ctl2");
	if (action == CMD_TRUST_ADD)
		for (int i = 0; i < SIGN_PUB_LEN; i++)
			c->trust_pub[i] = (uint8_t)(i * 7 + 1);
	if (action == CMD_FETCH)
		snprintf(c->path, sizeof(c->path), "/sdcard/DCIM/a b.jpg");
}

static void encode(const struct vg_command *c, struct buf *b)
{
	buf_init(b, CMD_BODY_MAX);
	assert_int_equal(command_encode(c, b), 0);
}

static void test_round_trip_every_action(void **state)
{
	struct vg_command c, d;
	struct buf b, b2;

	(void)state;
	for (uint8_t a = CMD_FREEZE; a <= CMD_FETCH; a++) {
		fill(&c, a);
		encode(&c, &b);
		assert_int_equal(command_decode(b.data, b.len, &d), 0);
		assert_memory_equal(&c, &d, sizeof(c));   /* fill zeroes unused fields */
		encode(&d, &b2);
		assert_int_equal(b.len, b2.len);
		assert_memory_equal(b.data, b2.data, b.len);
		buf_free(&b);
		buf_free(&b2);
	}
	/* the layout docs/commands.md gives: u8 format, u8 action, str device... */
	fill(&c, CMD_THAW);
	encode(&c, &b);
	assert_int_equal(b.len, 2 + 4 + 6 + 4 + 10 + 8 + 8 + 8);
	assert_int_equal(b.data[0], 1);
	assert_int_equal(b.data[1], 2);
	assert_memory_equal(b.data + 2, "\0\0\0\6phone1", 10);
	assert_int_equal(b.data[26], 0x01);   /* seq, after "sec-team.1" */
	assert_int_equal(b.data[33], 0x08);
	buf_free(&b);
}

static void test_format_zero_means_current(void **state)
{
	struct vg_command c, d;
	struct buf b;

	(void)state;
	fill(&c, CMD_FREEZE);
	c.format = 0;
	encode(&c, &b);
	assert_int_equal(b.data[0], CMD_FORMAT);
	assert_int_equal(command_decode(b.data, b.len, &d), 0);
	buf_free(&b);
}

static void test_encode_refuses_bad_fields(void **state)
{
	struct vg_command c;
	struct buf b;

	(void)state;
	buf_init(&b, CMD_BODY_MAX);
	fill(&c, CMD_FREEZE); c.action = 0;
	assert_int_equal(command_encode(&c, &b), -EINVAL);
	fill(&c, CMD_FREEZE); c.action = 7;
	assert_int_equal(command_encode(&c, &b), -EINVAL);
	fill(&c, CMD_FREEZE); c.format = 2;
	assert_int_equal(command_encode(&c, &b), -EINVAL);
	fill(&c, CMD_FREEZE); snprintf(c.device, sizeof(c.device), "Phone");
	assert_int_equal(command_encode(&c, &b), -EINVAL);
	fill(&c, CMD_FREEZE); c.controller[0] = '\0';
	assert_int_equal(command_encode(&c, &b), -EINVAL);
	fill(&c, CMD_TRUST_REVOKE); snprintf(c.trust_name, sizeof(c.trust_name), "../x");
	assert_int_equal(command_encode(&c, &b), -EINVAL);
	fill(&c, CMD_TRUST_ADD); c.trust_name[0] = '\0';
	assert_int_equal(command_encode(&c, &b), -EINVAL);
	fill(&c, CMD_FETCH); snprintf(c.path, sizeof(c.path), "sdcard/a");
	assert_int_equal(command_encode(&c, &b), -EINVAL);
	fill(&c, CMD_FETCH); snprintf(c.path, sizeof(c.path), "/sdcard/../etc");
	assert_int_equal(command_encode(&c, &b), -EINVAL);
	fill(&c, CMD_FETCH); snprintf(c.path, sizeof(c.path), "/sdcard//a");
	assert_int_equal(command_encode(&c, &b), -EINVAL);
	assert_int_equal(b.len, 0);   /* nothing written for a refused command */
	buf_free(&b);
	/* a cap that cannot hold the body */
	buf_init(&b, 10);
	fill(&c, CMD_FREEZE);
	assert_int_equal(command_encode(&c, &b), -EMSGSIZE);
	buf_free(&b);
}

/* The longest valid path fits CMD_BODY_MAX. */
static void test_longest_body_fits(void **state)
{
	struct vg_command c, d;
	struct buf b;

	(void)state;
	fill(&c, CMD_FETCH);
	memset(c.device, 'd', VG_NAME_MAX - 1);
	memset(c.controller, 'c', VG_NAME_MAX - 1);
	for (size_t i = 0; i < PATH_MAX - 1; i++)
		c.path[i] = i % 200 == 0 ? '/' : 'p';
	c.path[PATH_MAX - 1] = '\0';
	encode(&c, &b);
	assert_true(b.len <= CMD_BODY_MAX);
	assert_int_equal(command_decode(b.data, b.len, &d), 0);
	assert_string_equal(d.path, c.path);
	buf_free(&b);
}

static void test_truncated_and_trailing(void **state)
{
	struct vg_command c, d;
	struct buf b;
	uint8_t *more;

	(void)state;
	for (uint8_t a = CMD_FREEZE; a <= CMD_FETCH; a++) {
		fill(&c, a);
		encode(&c, &b);
		for (size_t n = 0; n < b.len; n++) {
			uint8_t *cut = malloc(n ? n : 1);   /* exact size: ASan sees overreads */
			memcpy(cut, b.data, n);
			if (command_decode(cut, n, &d) != -EBADMSG)
				fail_msg("action %u truncated at %zu accepted", a, n);
			assert_int_equal(d.action, 0);
			free(cut);
		}
		more = malloc(b.len + 1);
		memcpy(more, b.data, b.len);
		more[b.len] = 0;
		assert_int_equal(command_decode(more, b.len + 1, &d), -EBADMSG);
		free(more);
		buf_free(&b);
	}
}

/* Hand-made bodies the encoder would never produce. */
static void test_decode_refuses_bad_fields(void **state)
{
	struct vg_command c, d;
	struct buf b;

	(void)state;
	fill(&c, CMD_FETCH);
	encode(&c, &b);
	b.data[0] = 2;                                  /* format */
	assert_int_equal(command_decode(b.data, b.len, &d), -EBADMSG);
	b.data[0] = 1;
	for (int a = 0; a < 256; a++) {                 /* unknown actions */
		if (a >= CMD_FREEZE && a <= CMD_FETCH)
			continue;
		b.data[1] = (uint8_t)a;
		assert_int_equal(command_decode(b.data, b.len, &d), -EBADMSG);
	}
	b.data[1] = CMD_FREEZE;                         /* freeze with a trailing path */
	assert_int_equal(command_decode(b.data, b.len, &d), -EBADMSG);
	b.data[1] = CMD_FETCH;
	b.data[6] = 'P';                                /* device "Phone1" */
	assert_int_equal(command_decode(b.data, b.len, &d), -EBADMSG);
	b.data[6] = 'p';
	b.data[b.len - 1] = '/';                        /* path ends in '/' */
	assert_int_equal(command_decode(b.data, b.len, &d), -EBADMSG);
	b.data[b.len - 1] = '\0';                       /* NUL inside a string */
	assert_int_equal(command_decode(b.data, b.len, &d), -EBADMSG);
	buf_free(&b);
	/* a relative path */
	fill(&c, CMD_FETCH);
	encode(&c, &b);
	b.data[b.len - strlen(c.path)] = 'x';
	assert_int_equal(command_decode(b.data, b.len, &d), -EBADMSG);
	buf_free(&b);
	/* a body over CMD_BODY_MAX, whatever it holds */
	uint8_t *big = calloc(1, CMD_BODY_MAX + 1);
	assert_int_equal(command_decode(big, CMD_BODY_MAX + 1, &d), -EBADMSG);
	free(big);
}

static void test_sign_verify_tamper(void **state)
{
	EVP_PKEY *k = sign_keygen(), *other = sign_keygen();
	uint8_t sig[SIGN_SIG_LEN], bad[SIGN_SIG_LEN], plain[SIGN_SIG_LEN];
	struct vg_command c;
	struct buf b;

	(void)state;
	assert_non_null(k);
	assert_non_null(other);
	fill(&c, CMD_TRUST_ADD);
	encode(&c, &b);
	assert_int_equal(command_sign(k, b.data, b.len, sig), 0);
	assert_int_equal(command_verify(k, b.data, b.len, sig), 0);
	/* every bit of every byte of the body is covered */
	for (size_t i = 0; i < b.len; i++)
		for (int bit = 0; bit < 8; bit++) {
			b.data[i] ^= (uint8_t)(1 << bit);
			if (command_verify(k, b.data, b.len, sig) != -EBADMSG)
				fail_msg("byte %zu bit %d flipped still verifies", i, bit);
			b.data[i] ^= (uint8_t)(1 << bit);
		}
	for (size_t i = 0; i < SIGN_SIG_LEN; i++) {
		memcpy(bad, sig, sizeof(bad));
		bad[i] ^= 0x10;
		assert_int_equal(command_verify(k, b.data, b.len, bad), -EBADMSG);
	}
	assert_int_equal(command_verify(k, b.data, b.len - 1, sig), -EBADMSG);
	assert_int_equal(command_verify(other, b.data, b.len, sig), -EBADMSG);
	assert_int_equal(command_verify(NULL, b.data, b.len, sig), -EBADMSG);
	memset(bad, 0, sizeof(bad));
	assert_int_equal(command_verify(k, b.data, b.len, bad), -EBADMSG);
	/* the domain string is signed: a plain signature of the body is not a command's */
	assert_int_equal(sign_data(k, b.data, b.len, plain), 0);
	assert_int_equal(command_verify(k, b.data, b.len, plain), -EBADMSG);
	/* a public-only key cannot sign */
	EVP_PKEY *pub = sign_pub_dup(k);
	assert_int_equal(command_verify(pub, b.data, b.len, sig), 0);
	assert_true(command_sign(pub, b.data, b.len, bad) < 0);
	EVP_PKEY_free(pub);
	buf_free(&b);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

static void test_envelope(void **state)
{
	uint8_t body[100], sig[SIGN_SIG_LEN], sig2[SIGN_SIG_LEN];
	const uint8_t *p;
	struct wire_reader r;
	struct buf b;
	uint64_t id;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)i;
	memset(sig, 0x5a, sizeof(sig));
	buf_init(&b, 1 << 20);
	command_put_envelope(&b, 42, body, sizeof(body), sig);
	assert_int_equal(b.len, 8 + 4 + sizeof(body) + SIGN_SIG_LEN);
	wire_reader_init(&r, b.data, b.len);
	assert_int_equal(command_get_envelope(&r, &id, &p, &len, sig2), 0);
	assert_int_equal(wire_done(&r), 0);
	assert_int_equal(id, 42);
	assert_int_equal(len, sizeof(body));
	assert_memory_equal(p, body, len);
	assert_memory_equal(sig, sig2, SIGN_SIG_LEN);
	for (size_t n = 0; n < b.len; n++) {
		wire_reader_init(&r, b.data, n);
		assert_int_equal(command_get_envelope(&r, &id, &p, &len, sig2), -EBADMSG);
		assert_null(p);
	}
	buf_free(&b);
	/* body > CMD_BODY_MAX refused (the bytes are all there) */
	uint8_t *big = calloc(1, CMD_BODY_MAX + 1);
	buf_init(&b, 1 << 20);
	command_put_envelope(&b, 1, big, CMD_BODY_MAX + 1, sig);
	wire_reader_init(&r, b.data, b.len);
	assert_int_equal(command_get_envelope(&r, &id, &p, &len, sig2), -EBADMSG);
	buf_reset(&b);
	command_put_envelope(&b, 1, big, CMD_BODY_MAX, sig);
	wire_reader_init(&r, b.data, b.len);
	assert_int_equal(command_get_envelope(&r, &id, &p, &len, sig2), 0);
	assert_int_equal(len, CMD_BODY_MAX);
	free(big);
	buf_free(&b);
}

static void test_state_round_trip(void **state)
{
	static const char *const names[] = { "pending", "delivered", "running", "done",
					     "failed", "refused", "expired" };
	struct vg_cmdstate s, t;
	struct wire_reader r;
	struct buf b;

	(void)state;
	for (size_t i = 0; i < 7; i++) {
		memset(&s, 0, sizeof(s));
		s.id = 77;
		snprintf(s.state, sizeof(s.state), "%s", names[i]);
		snprintf(s.reason, sizeof(s.reason), "erased 3 files");
		s.files = 3; s.bytes = 1ULL << 40; s.unlinked_only = 2;
		s.fitrim = 1; s.luks_slots = 8; s.updated_ns = -5;
		buf_init(&b, 4096);
		command_put_state(&b, &s);
		wire_reader_init(&r, b.data, b.len);
		command_get_state(&r, &t);
		assert_int_equal(wire_done(&r), 0);
		assert_memory_equal(&s, &t, sizeof(s));
		for (size_t n = 0; n < b.len; n++) {
			wire_reader_init(&r, b.data, n);
			command_get_state(&r, &t);
			assert_int_equal(wire_ok(&r), -EBADMSG);
		}
		buf_free(&b);
	}
	/* an unknown state and a fitrim of 2 are malformed */
	snprintf(s.state, sizeof(s.state), "hacked");
	buf_init(&b, 4096);
	command_put_state(&b, &s);
	wire_reader_init(&r, b.data, b.len);
	command_get_state(&r, &t);
	assert_int_equal(wire_ok(&r), -EBADMSG);
	snprintf(s.state, sizeof(s.state), "done");
	s.fitrim = 2;
	buf_reset(&b);
	command_put_state(&b, &s);
	wire_reader_init(&r, b.data, b.len);
	command_get_state(&r, &t);
	assert_int_equal(wire_ok(&r), -EBADMSG);
	buf_free(&b);
}

static void test_action_names(void **state)
{
	(void)state;
	assert_string_equal(command_action_name(CMD_FREEZE), "freeze");
	assert_string_equal(command_action_name(CMD_THAW), "thaw");
	assert_string_equal(command_action_name(CMD_ERASE), "erase");
	assert_string_equal(command_action_name(CMD_TRUST_ADD), "trust-add");
	assert_string_equal(command_action_name(CMD_TRUST_REVOKE), "trust-revoke");
	assert_string_equal(command_action_name(CMD_FETCH), "fetch");
	assert_string_equal(command_action_name(0), "?");
	assert_string_equal(command_action_name(7), "?");
	assert_string_equal(command_action_name(255), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_action),
		cmocka_unit_test(test_format_zero_means_current),
		cmocka_unit_test(test_encode_refuses_bad_fields),
		cmocka_unit_test(test_longest_body_fits),
		cmocka_unit_test(test_truncated_and_trailing),
		cmocka_unit_test(test_decode_refuses_bad_fields),
		cmocka_unit_test(test_sign_verify_tamper),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_action_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
