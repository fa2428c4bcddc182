/* test_cmdcheck.c — daemon/cmdcheck.c, table driven: a valid command is
 * accepted; forged (wrong key), unsigned, zero-signed, domain-less, unknown
 * signer, the server's key alone, another device, expired, replayed (same
 * and lower seq, seq 0) commands are refused with the right reason, checks
 * run in docs/commands.md's order, a redelivery is recognised — all
 * against a cmdseq record reloaded from disk, as after a vigild restart. */
#include <errno.h>
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

#define NOW   1800000000000000000LL
#define DAY   (86400LL * 1000000000LL)

enum key { K_CTL1, K_CTL2, K_ROGUE, K_SERVER, K_NKEYS };

struct fixture {
	char dir[64];
	EVP_PKEY *key[K_NKEYS];
	struct bundle *dev;          /* trusts ctl1 and ctl2 */
	struct cmdseq *seen;         /* ctl1 at seq 10 (a freeze), reloaded from disk */
};

static struct fixture fx;

static void make_cmd(struct vg_command *c, const char *ctl, uint64_t seq, uint8_t action)
{
	memset(c, 0, sizeof(*c));
	c->format = CMD_FORMAT;
	c->action = action;
	snprintf(c->device, sizeof(c->device), "phone1");
	snprintf(c->controller, sizeof(c->controller), "%s", ctl);
	c->seq = seq;
	c->issued_ns = NOW - DAY;
	c->expires_ns = NOW + 6 * DAY;
}

/* Encodes c into body (caller frees) and signs it with k; zero sig if k is NULL. */
static void seal(const struct vg_command *c, EVP_PKEY *k, struct buf *body, uint8_t sig[SIGN_SIG_LEN])
{
	buf_init(body, CMD_BODY_MAX);
	assert_int_equal(command_encode(c, body), 0);
	memset(sig, 0, SIGN_SIG_LEN);
	if (k)
		assert_int_equal(command_sign(k, body->data, body->len, sig), 0);
}

static enum cmdcheck_verdict decide_cmd(const struct vg_command *c, EVP_PKEY *k,
					struct cmdcheck_result *res)
{
	uint8_t sig[SIGN_SIG_LEN];
	struct buf b;
	enum cmdcheck_verdict v;

	seal(c, k, &b, sig);
	v = cmdcheck_decide(b.data, b.len, sig, fx.dev, "phone1", NOW, fx.seen, res);
	buf_free(&b);
	return v;
}

static int setup(void **state)
{
	struct cmdcheck_result res;
	struct cmdseq_rec rec;
	struct vg_command c;
	struct cmdseq *empty;

	(void)state;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/vigil-cmdcheck-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	for (int i = 0; i < K_NKEYS; i++)
		if (!(fx.key[i] = sign_keygen()))
			return -1;
	if (!(fx.dev = bundle_new()) || bundle_add_trust(fx.dev, "ctl1", fx.key[K_CTL1]) < 0 ||
	    bundle_add_trust(fx.dev, "ctl2", fx.key[K_CTL2]) < 0)
		return -1;
	/* accept ctl1's freeze seq 10 and commit it, as the executor would */
	if (cmdseq_load(fx.dir, &empty) < 0 || empty->n != 0)
		return -1;
	fx.seen = empty;
	make_cmd(&c, "ctl1", 10, CMD_FREEZE);
	if (decide_cmd(&c, fx.key[K_CTL1], &res) != CMDCHECK_ACCEPT)
		return -1;
	cmdcheck_record(&res, 5, NOW - DAY, &rec);
	snprintf(rec.result.state, sizeof(rec.result.state), "done");
	if (cmdseq_commit(empty, fx.dir, &rec) < 0)
		return -1;
	cmdseq_free(empty);
	/* a restart: everything below decides against what the disk holds */
	return cmdseq_load(fx.dir, &fx.seen) < 0 || fx.seen->n != 1 ? -1 : 0;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	cmdseq_free(fx.seen);
	bundle_free(fx.dev);
	for (int i = 0; i < K_NKEYS; i++)
		EVP_PKEY_free(fx.key[i]);
	snprintf(path, sizeof(path), "%s/%s", fx.dir, CMDSEQ_FILE);
	unlink(path);
	rmdir(fx.dir);
	return 0;
}

enum mut {
	M_NONE, M_WRONG_KEY, M_ZERO_SIG, M_NO_DOMAIN, M_UNKNOWN_CTL, M_SERVER_AS_SELF,
	M_SERVER_AS_CTL1, M_OTHER_DEVICE, M_EXPIRED_NOW, M_EXPIRED_LONG, M_SEQ_SAME, M_SEQ_LOWER,
	M_SEQ_ZERO_NEW, M_REDELIVER, M_REDELIVER_EXPIRED, M_TRUNCATED, M_EMPTY, M_TRAILING,
	M_FORGED_OTHER_DEVICE, M_EXPIRED_OTHER_DEVICE, M_EXPIRED_REPLAY, M_CTL2_FIRST,
	M_TAMPERED_SEQ, M_TAMPERED_DEVICE, M_REDELIVER_OTHER_BODY,
};

struct row {
	const char *what;
	enum mut mut;
	enum cmdcheck_verdict want;
	enum cmdcheck_refusal why;
};

static const struct row rows[] = {
	{ "ctl1 freeze seq 11", M_NONE, CMDCHECK_ACCEPT, CMDREF_NONE },
	{ "forged: ctl1 body, rogue key", M_WRONG_KEY, CMDCHECK_REFUSE, CMDREF_SIGNATURE },
	{ "unsigned (zero signature)", M_ZERO_SIG, CMDCHECK_REFUSE, CMDREF_SIGNATURE },
	{ "signed without the domain", M_NO_DOMAIN, CMDCHECK_REFUSE, CMDREF_SIGNATURE },
	{ "signer not trusted", M_UNKNOWN_CTL, CMDCHECK_REFUSE, CMDREF_SIGNER },
	{ "server alone, as itself", M_SERVER_AS_SELF, CMDCHECK_REFUSE, CMDREF_SIGNER },
	{ "server alone, naming ctl1", M_SERVER_AS_CTL1, CMDCHECK_REFUSE, CMDREF_SIGNATURE },
	{ "another device", M_OTHER_DEVICE, CMDCHECK_REFUSE, CMDREF_DEVICE },
	{ "expires exactly now", M_EXPIRED_NOW, CMDCHECK_REFUSE, CMDREF_EXPIRED },
	{ "expired long ago", M_EXPIRED_LONG, CMDCHECK_REFUSE, CMDREF_EXPIRED },
	{ "replay: same seq, other body", M_SEQ_SAME, CMDCHECK_REFUSE, CMDREF_REPLAY },
	{ "replay: lower seq", M_SEQ_LOWER, CMDCHECK_REFUSE, CMDREF_REPLAY },
	{ "seq 0 from a new controller", M_SEQ_ZERO_NEW, CMDCHECK_REFUSE, CMDREF_REPLAY },
	{ "redelivery of seq 10", M_REDELIVER, CMDCHECK_REDELIVERY, CMDREF_NONE },
	{ "redelivery after expiry", M_REDELIVER_EXPIRED, CMDCHECK_REDELIVERY, CMDREF_NONE },
	{ "redelivery, body re-signed differently", M_REDELIVER_OTHER_BODY, CMDCHECK_REFUSE, CMDREF_REPLAY },
	{ "truncated body", M_TRUNCATED, CMDCHECK_REFUSE, CMDREF_FORMAT },
	{ "empty body", M_EMPTY, CMDCHECK_REFUSE, CMDREF_FORMAT },
	{ "trailing byte (signed)", M_TRAILING, CMDCHECK_REFUSE, CMDREF_FORMAT },
	{ "order: forged before device", M_FORGED_OTHER_DEVICE, CMDCHECK_REFUSE, CMDREF_SIGNATURE },
	{ "order: device before expiry", M_EXPIRED_OTHER_DEVICE, CMDCHECK_REFUSE, CMDREF_DEVICE },
	{ "order: expiry before replay", M_EXPIRED_REPLAY, CMDCHECK_REFUSE, CMDREF_EXPIRED },
	{ "ctl2's first command, seq 1", M_CTL2_FIRST, CMDCHECK_ACCEPT, CMDREF_NONE },
	{ "seq raised after signing", M_TAMPERED_SEQ, CMDCHECK_REFUSE, CMDREF_SIGNATURE },
	{ "device renamed after signing", M_TAMPERED_DEVICE, CMDCHECK_REFUSE, CMDREF_SIGNATURE },
};

/* The command a row starts from, and the key that signs it. */
static EVP_PKEY *row_cmd(enum mut m, struct vg_command *c)
{
	make_cmd(c, "ctl1", 11, CMD_FREEZE);
	switch (m) {
	case M_WRONG_KEY: return fx.key[K_ROGUE];
	case M_ZERO_SIG: return NULL;
	case M_UNKNOWN_CTL: snprintf(c->controller, sizeof(c->controller), "ctl9");
		return fx.key[K_ROGUE];
	case M_SERVER_AS_SELF: snprintf(c->controller, sizeof(c->controller), "vigil-server");
		return fx.key[K_SERVER];
	case M_SERVER_AS_CTL1: return fx.key[K_SERVER];
	case M_OTHER_DEVICE: snprintf(c->device, sizeof(c->device), "phone2"); break;
	case M_EXPIRED_NOW: c->expires_ns = NOW; break;
	case M_EXPIRED_LONG: c->expires_ns = NOW - 30 * DAY; c->issued_ns = NOW - 37 * DAY; break;
	case M_SEQ_SAME: c->seq = 10; c->action = CMD_THAW; break;
	case M_SEQ_LOWER: c->seq = 3; break;
	case M_SEQ_ZERO_NEW: snprintf(c->controller, sizeof(c->controller), "ctl2"); c->seq = 0;
		return fx.key[K_CTL2];
	case M_REDELIVER: c->seq = 10; break;
	case M_REDELIVER_EXPIRED: c->seq = 10; break;   /* decided at a later now */
	case M_REDELIVER_OTHER_BODY: c->seq = 10; c->expires_ns += 1; break;
	case M_FORGED_OTHER_DEVICE: snprintf(c->device, sizeof(c->device), "phone2");
		return fx.key[K_ROGUE];
	case M_EXPIRED_OTHER_DEVICE: snprintf(c->device, sizeof(c->device), "phone2");
		c->expires_ns = NOW - 1; break;
	case M_EXPIRED_REPLAY: c->seq = 2; c->expires_ns = NOW - 1; break;
	case M_CTL2_FIRST: snprintf(c->controller, sizeof(c->controller), "ctl2"); c->seq = 1;
		return fx.key[K_CTL2];
	default: break;
	}
	return fx.key[K_CTL1];
}

/* Mutations of the signed bytes themselves. */
static void row_bytes(enum mut m, struct buf *b, uint8_t sig[SIGN_SIG_LEN])
{
	switch (m) {
	case M_NO_DOMAIN: assert_int_equal(sign_data(fx.key[K_CTL1], b->data, b->len, sig), 0); break;
	case M_TRUNCATED: b->len -= 1; break;
	case M_EMPTY: b->len = 0; break;
	case M_TRAILING:
		assert_int_equal(buf_append(b, "", 1), 0);
		assert_int_equal(command_sign(fx.key[K_CTL1], b->data, b->len, sig), 0);
		break;
	case M_TAMPERED_SEQ: b->data[2 + 4 + 6 + 4 + 4 + 7] = 12; break;   /* seq 11 -> 12 */
	case M_TAMPERED_DEVICE: b->data[2 + 4 + 5] = '2'; break;           /* phone1 -> phone2 */
	default: break;
	}
}

static void test_table(void **state)
{
	struct cmdcheck_result res;
	uint8_t sig[SIGN_SIG_LEN];
	struct vg_command c;
	struct buf b;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		int64_t now = w->mut == M_REDELIVER_EXPIRED ? NOW + 60 * DAY : NOW;
		enum cmdcheck_verdict v;

		seal(&c, row_cmd(w->mut, &c), &b, sig);
		row_bytes(w->mut, &b, sig);
		v = cmdcheck_decide(b.data, b.len, sig, fx.dev, "phone1", now, fx.seen, &res);
		if (v != w->want || res.verdict != v || res.why != w->why)
			fail_msg("%s: got verdict %d why %d (%s), want %d why %d", w->what, v,
				 res.why, res.reason, w->want, w->why);
		if ((v == CMDCHECK_REFUSE) != (res.reason[0] != '\0'))
			fail_msg("%s: reason '%s' with verdict %d", w->what, res.reason, v);
		if (v == CMDCHECK_REDELIVERY) {
			assert_non_null(res.prev);
			assert_string_equal(res.prev->result.state, "done");
			assert_int_equal(res.prev->result.id, 5);
		}
		buf_free(&b);
	}
}

/* Accept, commit, restart: the same command is then a redelivery, never a
 * second run, and any other body with that seq is a replay. */
static void test_accept_commit_restart(void **state)
{
	struct cmdcheck_result res;
	struct cmdseq_rec rec;
	uint8_t sig[SIGN_SIG_LEN];
	struct vg_command c;
	struct buf b;
	struct cmdseq *again;

	(void)state;
	make_cmd(&c, "ctl2", 7, CMD_ERASE);
	seal(&c, fx.key[K_CTL2], &b, sig);
	assert_int_equal(cmdcheck_decide(b.data, b.len, sig, fx.dev, "phone1", NOW, fx.seen, &res),
			 CMDCHECK_ACCEPT);
	assert_null(res.prev);
	assert_int_equal(res.cmd.action, CMD_ERASE);
	cmdcheck_record(&res, 99, NOW, &rec);
	assert_string_equal(rec.controller, "ctl2");
	assert_int_equal(rec.seq, 7);
	assert_string_equal(rec.result.state, "running");
	assert_int_equal(cmdseq_commit(fx.seen, fx.dir, &rec), 0);
	/* kill -9 now: the run never finished, the record says running */
	assert_int_equal(cmdseq_load(fx.dir, &again), 0);
	assert_int_equal(again->n, 2);
	assert_int_equal(cmdcheck_decide(b.data, b.len, sig, fx.dev, "phone1", NOW, again, &res),
			 CMDCHECK_REDELIVERY);
	assert_string_equal(res.prev->result.state, "running");
	assert_int_equal(res.prev->result.id, 99);
	/* ctl1's record survived ctl2's commit */
	assert_non_null(cmdseq_get(again, "ctl1"));
	assert_int_equal(cmdseq_get(again, "ctl1")->seq, 10);
	cmdseq_free(again);
	buf_free(&b);
	/* same seq, other action, validly signed: a replay */
	make_cmd(&c, "ctl2", 7, CMD_THAW);
	assert_int_equal(decide_cmd(&c, fx.key[K_CTL2], &res), CMDCHECK_REFUSE);
	assert_int_equal(res.why, CMDREF_REPLAY);
	make_cmd(&c, "ctl2", 8, CMD_THAW);
	assert_int_equal(decide_cmd(&c, fx.key[K_CTL2], &res), CMDCHECK_ACCEPT);
}

/* A revoked controller's commands are refused even with a fresh seq. */
static void test_revoked_signer(void **state)
{
	struct cmdcheck_result res;
	struct vg_command c;

	(void)state;
	assert_int_equal(bundle_remove_trust(fx.dev, "ctl2"), 0);
	make_cmd(&c, "ctl2", 100, CMD_THAW);
	assert_int_equal(decide_cmd(&c, fx.key[K_CTL2], &res), CMDCHECK_REFUSE);
	assert_int_equal(res.why, CMDREF_SIGNER);
	assert_int_equal(bundle_add_trust(fx.dev, "ctl2", fx.key[K_CTL2]), 0);
	assert_int_equal(decide_cmd(&c, fx.key[K_CTL2], &res), CMDCHECK_ACCEPT);
}

static void test_hostile_bodies(void **state)
{
	struct cmdcheck_result res;
	uint8_t sig[SIGN_SIG_LEN] = { 0 };
	uint8_t *junk = calloc(1, CMD_BODY_MAX + 1);

	(void)state;
	for (size_t n = 0; n <= CMD_BODY_MAX + 1; n += n < 64 ? 1 : 397) {
		for (size_t i = 0; i < n; i++)
			junk[i] = (uint8_t)(i * 31 + n);
		assert_int_equal(cmdcheck_decide(junk, n, sig, fx.dev, "phone1", NOW, fx.seen, &res),
				 CMDCHECK_REFUSE);
		assert_int_equal(res.why, CMDREF_FORMAT);
	}
	free(junk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_accept_commit_restart),
		cmocka_unit_test(test_revoked_signer),
		cmocka_unit_test(test_hostile_bodies),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
