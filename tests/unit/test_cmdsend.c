/* test_cmdsend.c — controller/cmdsend.c against a scripted server on a real
 * TLS mux (socketpair): the command that arrives is signed by the bundle's
 * key (verified with its public half), names the device, the controller and
 * the action, carries seq 1, 2, ... from `<bundle>.seq` and a 7-day expiry;
 * and --wait maps the states the server reports to the exit status: done 0;
 * failed, refused, expired 1; still pending when the time runs out 3 (the
 * server holding each wait as long as asked); a server error 1; a bundle
 * enrolled with --pubkey signs with the key file beside it, and a key that
 * is not the enrolled one sends nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <time.h>

#include "common/bundle.h"
#include "common/clock.h"
#include "common/command.h"
#include "common/sign.h"
#include "controller/cmdsend.h"
#include "tests/unit/pki_fixture.h"

#define QUEUED_ID 42
#define DAY_NS (86400LL * 1000000000)

static struct pki pki;

/* The scripted server: what it saw, and what it answers. */
static struct {
	pthread_mutex_t mu;
	EVP_PKEY *pub;               /* the controller's public half */
	int ncmd;
	bool sig_ok, id0;
	struct vg_command got;
	const char *const *script;   /* CMDWAIT answers in turn; the last one repeats */
	size_t next;
	int nwait;
	int cmd_error;               /* COMMAND answered with MSG_ERROR(code) */
} fs = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void reply(struct mux_stream *s, uint16_t type, const struct buf *b)
{
	mux_send_msg(s, type, b->data, b->len);
	mux_send_end(s);
}

static void on_command(struct mux_stream *s, const uint8_t *msg, size_t len, struct buf *out)
{
	struct wire_reader r;
	const uint8_t *body;
	uint8_t sig[SIGN_SIG_LEN];
	size_t blen;
	uint64_t id;

	wire_reader_init(&r, msg, len);
	pthread_mutex_lock(&fs.mu);
	fs.ncmd++;
	if (command_get_envelope(&r, &id, &body, &blen, sig) == 0 && wire_done(&r) == 0) {
		fs.id0 = id == 0;
		fs.sig_ok = command_verify(fs.pub, body, blen, sig) == 0 &&
			    command_decode(body, blen, &fs.got) == 0;
	}
	pthread_mutex_unlock(&fs.mu);
	if (fs.cmd_error) {
		proto_put_error(out, fs.cmd_error, "phone1: no such device");
		reply(s, MSG_ERROR, out);
		return;
	}
	wire_put_u64(out, QUEUED_ID);
	reply(s, MSG_CMD_QUEUED, out);
}

static void on_wait(struct mux_stream *s, const uint8_t *msg, size_t len, struct buf *out)
{
	struct vg_cmdstate st = { .updated_ns = 1 };
	struct wire_reader r;
	uint32_t timeout_ms;
	bool last;

	wire_reader_init(&r, msg, len);
	st.id = wire_get_u64(&r);
	timeout_ms = wire_get_u32(&r);
	pthread_mutex_lock(&fs.mu);
	fs.nwait++;
	last = !fs.script[fs.next + 1];
	snprintf(st.state, sizeof(st.state), "%s", fs.script[fs.next]);
	if (!last)
		fs.next++;
	pthread_mutex_unlock(&fs.mu);
	if (last && !strcmp(st.state, "pending"))
		usleep(timeout_ms * 1000U);   /* a real server holds until the timeout */
	if (strcmp(st.state, "done"))
		snprintf(st.reason, sizeof(st.reason), "it said no");
	command_put_state(out, &st);
	reply(s, MSG_CMD_STATE, out);
}

static void on_stream(struct mux *m, struct mux_stream *s, uint16_t type, const uint8_t *msg,
		      size_t len, void *arg)
{
	struct buf out, in;
	uint16_t t;

	buf_init(&out, VG_MSG_MAX);
	buf_init(&in, VG_MSG_MAX);
	if (mux_recv(s, &t, &in, 5000) == MUX_END) {
		if (type == MSG_CTL_COMMAND)
			on_command(s, msg, len, &out);
		else if (type == MSG_CTL_CMDWAIT)
			on_wait(s, msg, len, &out);
	}
	buf_free(&out);
	buf_free(&in);
	mux_stream_close(s);
}

static const struct mux_ops srv_ops = { .on_stream = on_stream, .on_close = NULL };

struct fx {
	struct ctl c;
	struct mux *srv;
	char dir[64];
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct tls_pair tp;

	if (!x || tls_pair_make(pki.sctx, pki.cctx, &tp) < 0)
		return -1;
	snprintf(x->dir, sizeof(x->dir), "/tmp/vigil-test-cmdsend-XXXXXX");
	if (!mkdtemp(x->dir))
		return -1;
	snprintf(x->c.bundle_file, sizeof(x->c.bundle_file), "%s/ctl.bundle", x->dir);
	x->c.b = bundle_new();
	x->c.b->role = ROLE_CONTROLLER;
	snprintf(x->c.b->name, sizeof(x->c.b->name), "ctl1");
	x->c.b->sign_key = sign_keygen();
	x->c.b->sign_pub = sign_pub_dup(x->c.b->sign_key);   /* as bundle_load gives it */
	x->srv = mux_new(tp.ss, tp.sfd, &srv_ops, NULL);
	x->c.m = mux_new(tp.cs, tp.cfd, NULL, NULL);
	fs.pub = sign_pub_dup(x->c.b->sign_key);
	fs.ncmd = fs.nwait = 0;
	fs.next = 0;
	fs.cmd_error = 0;
	fs.sig_ok = fs.id0 = false;
	*state = x;
	return x->c.m && x->srv && fs.pub ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	char p[128];

	ctl_close(&x->c);
	mux_free(x->srv);
	EVP_PKEY_free(fs.pub);
	snprintf(p, sizeof(p), "%s/ctl.bundle.seq", x->dir);
	unlink(p);
	rmdir(x->dir);
	free(x);
	return 0;
}

static int run(struct fx *x, uint8_t action, long long wait_s, const char *const *script)
{
	struct vg_command cmd = { .action = action };

	snprintf(cmd.device, sizeof(cmd.device), "phone1");
	if (action == CMD_TRUST_REVOKE)
		snprintf(cmd.trust_name, sizeof(cmd.trust_name), "ops");
	fs.script = script;
	fs.next = 0;
	return cmdsend_run(&x->c, &cmd, 7 * DAY_NS, wait_s);
}

static void test_signed_and_numbered(void **state)
{
	struct fx *x = *state;
	static const char *const none[] = { "pending", NULL };
	int64_t now = real_ns();

	assert_int_equal(run(x, CMD_FREEZE, 0, none), CTL_OK);
	assert_int_equal(fs.ncmd, 1);
	assert_int_equal(fs.nwait, 0);   /* no --wait: no asking */
	assert_true(fs.sig_ok);
	assert_true(fs.id0);
	assert_int_equal(fs.got.action, CMD_FREEZE);
	assert_string_equal(fs.got.device, "phone1");
	assert_string_equal(fs.got.controller, "ctl1");
	assert_int_equal(fs.got.seq, 1);
	assert_true(fs.got.issued_ns >= now - 1000000000 && fs.got.issued_ns <= real_ns());
	assert_true(fs.got.expires_ns == fs.got.issued_ns + 7 * DAY_NS);
	assert_int_equal(run(x, CMD_TRUST_REVOKE, 0, none), CTL_OK);
	assert_int_equal(fs.got.seq, 2);
	assert_string_equal(fs.got.trust_name, "ops");
}

static void test_wait_outcomes(void **state)
{
	struct fx *x = *state;
	static const char *const done[] = { "pending", "delivered", "running", "done", NULL };
	static const char *const failed[] = { "delivered", "failed", NULL };
	static const char *const refused[] = { "refused", NULL };
	static const char *const expired[] = { "pending", "expired", NULL };

	assert_int_equal(run(x, CMD_THAW, 10, done), CTL_OK);
	assert_int_equal(fs.nwait, 4);   /* asked until the final state */
	assert_int_equal(run(x, CMD_ERASE, 10, failed), CTL_FAIL);
	assert_int_equal(run(x, CMD_FREEZE, 10, refused), CTL_FAIL);
	assert_int_equal(run(x, CMD_FREEZE, 10, expired), CTL_FAIL);
	assert_int_equal(fs.got.seq, 4);
}

static void test_wait_runs_out(void **state)
{
	struct fx *x = *state;
	static const char *const pending[] = { "pending", NULL };
	int64_t t0 = mono_ms(), took;

	assert_int_equal(run(x, CMD_FREEZE, 1, pending), CTL_WAIT);
	took = mono_ms() - t0;
	assert_true(took >= 1000 && took < 3000);
}

static void test_server_error(void **state)
{
	struct fx *x = *state;
	static const char *const none[] = { "pending", NULL };

	fs.cmd_error = ENOENT;
	assert_int_equal(run(x, CMD_FREEZE, 5, none), CTL_FAIL);
	assert_int_equal(fs.nwait, 0);
	assert_int_equal(fs.ncmd, 1);
	/* the number is spent even though the command was refused */
	fs.cmd_error = 0;
	assert_int_equal(run(x, CMD_FREEZE, 0, none), CTL_OK);
	assert_int_equal(fs.got.seq, 2);
}

static void test_no_private_key(void **state)
{
	struct fx *x = *state;
	static const char *const none[] = { "pending", NULL };
	EVP_PKEY *k = x->c.b->sign_key;

	x->c.b->sign_key = NULL;
	assert_int_equal(run(x, CMD_FREEZE, 0, none), CTL_FAIL);
	assert_int_equal(fs.ncmd, 0);
	EVP_PKEY_free(k);
}

/* Enrolled with --pubkey: the bundle holds the public half only; the key
 * `vigil keygen` wrote beside it signs (the server verifies with the
 * enrolled half), and another key given by --sign-key sends nothing. */
static void test_key_file(void **state)
{
	struct fx *x = *state;
	static const char *const none[] = { "pending", NULL };
	char kf[128], other[128], seq[128];
	EVP_PKEY *k = x->c.b->sign_key, *o = sign_keygen();

	snprintf(kf, sizeof(kf), "%s/ctl.key", x->dir);
	snprintf(other, sizeof(other), "%s/other.key", x->dir);
	snprintf(seq, sizeof(seq), "%s/ctl.bundle.seq", x->dir);
	assert_int_equal(sign_key_save(kf, k, true), 0);
	assert_int_equal(sign_key_save(other, o, true), 0);
	x->c.b->sign_key = NULL;
	x->c.sign_key_path = other;
	assert_int_equal(run(x, CMD_FREEZE, 0, none), CTL_FAIL);
	assert_int_equal(fs.ncmd, 0);
	assert_int_equal(access(seq, F_OK), -1);   /* no number taken */
	x->c.sign_key_path = NULL;
	assert_int_equal(run(x, CMD_FREEZE, 0, none), CTL_OK);
	assert_int_equal(fs.ncmd, 1);
	assert_true(fs.sig_ok);
	assert_int_equal(fs.got.seq, 1);
	unlink(kf);
	unlink(other);
	EVP_PKEY_free(k);
	EVP_PKEY_free(o);
}

static int group_setup(void **state) { return pki_setup(&pki); }
static int group_teardown(void **state) { pki_teardown(&pki); return 0; }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signed_and_numbered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_outcomes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_runs_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_private_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
