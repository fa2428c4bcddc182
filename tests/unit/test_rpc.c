/* test_rpc.c — common/rpc.c over a real mux pair (TLS 1.3 on a socketpair,
 * as test_mux): call, list, stream and open/expect against handlers that
 * decode the real request structs (proto_get_*_req), the MSG_ERROR mapping,
 * wrong and malformed replies, a reset after OK, timeouts and cancellation. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/rpc.h"
#include "tests/unit/pki_fixture.h"

#define T_SUM 0x7001   /* client sends DATA...END; reply PUT_DONE{u64 bytes} */
#define LS_BATCH 3     /* entries per MSG_ENTRIES from the test server */

static struct pki pki;

static uint8_t pattern(uint64_t i) { return (uint8_t)(i * 7 + (i >> 13)); }

static void reply_error(struct mux_stream *s, int code, const char *text)
{
	struct buf b;

	buf_init(&b, VG_MSG_MAX);
	wire_put_u32(&b, (uint32_t)code);   /* raw: lets a test send any code */
	wire_put_str(&b, text);
	mux_send_msg(s, MSG_ERROR, b.data, b.len);
	mux_send_end(s);
	buf_free(&b);
}

/* Answers nothing until the test releases it (at most 5 s). */
static volatile int release;

static void hold(void)
{
	int i;

	for (i = 0; i < 500 && !release; i++)
		usleep(10000);
}

/* STAT: an entry made of the request's fields, or what the path asks for. */
static void h_stat(struct mux_stream *s, struct wire_reader *rd)
{
	struct vg_stat_req q;
	struct vg_entry *e = calloc(1, sizeof(*e));
	struct buf b;

	proto_get_stat_req(rd, &q);
	if (wire_done(rd) < 0 || !e) {
		reply_error(s, EBADMSG, "malformed");
	} else if (!strcmp(q.path, "/missing")) {
		reply_error(s, ENOENT, "phone1:/missing: no such version");
	} else if (!strcmp(q.path, "/huge-code")) {
		reply_error(s, 0x7fffffff, "odd");
	} else if (!strcmp(q.path, "/wrong")) {
		mux_send_msg(s, MSG_HITS, "\0\0\0\0", 4);
		mux_send_end(s);
	} else if (!strcmp(q.path, "/silent")) {
		hold();
	} else {
		snprintf(e->path, sizeof(e->path), "%s", q.path);
		snprintf(e->link, sizeof(e->link), "%s", q.dev);
		e->type = VG_FILE;
		e->version = q.version;
		e->mtime_ns = q.at;
		buf_init(&b, VG_MSG_MAX);
		proto_put_entry(&b, e);
		mux_send_msg(s, MSG_ENTRY, b.data, b.len);
		mux_send_end(s);
		buf_free(&b);
	}
	free(e);
}

/* LS: q.at entries "<path>/<i>" in batches of LS_BATCH; "/bad" sends a
 * batch that claims one entry more than it holds. */
static void h_ls(struct mux_stream *s, struct wire_reader *rd)
{
	struct vg_ls_req q;
	struct vg_entry *e = calloc(1, sizeof(*e));
	struct buf body, msg;
	int64_t i, n;

	proto_get_ls_req(rd, &q);
	if (wire_done(rd) < 0 || !e) {
		reply_error(s, EBADMSG, "malformed");
		free(e);
		return;
	}
	if (!strcmp(q.path, "/missing")) {
		reply_error(s, ENOENT, "no such directory");
		free(e);
		return;
	}
	buf_init(&body, VG_MSG_MAX);
	buf_init(&msg, VG_MSG_MAX);
	e->type = q.recursive ? VG_DIR : VG_FILE;
	for (i = 0, n = 0; i < q.at; i++) {
		if (snprintf(e->path, sizeof(e->path), "%s/%lld", q.path, (long long)i) >=
		    (int)sizeof(e->path))
			break;
		proto_put_entry(&body, e);
		if (++n == LS_BATCH || i == q.at - 1) {
			buf_reset(&msg);
			wire_put_u32(&msg, (uint32_t)n + !strcmp(q.path, "/bad"));
			wire_put_bytes(&msg, body.data, body.len);
			mux_send_msg(s, MSG_ENTRIES, msg.data, msg.len);
			buf_reset(&body);
			n = 0;
		}
	}
	mux_send_end(s);
	buf_free(&body);
	buf_free(&msg);
	free(e);
}

/* READ: OK, then [off, off+len) of pattern() in 10000-byte DATA items.
 * version 99: reset halfway; version 98: END without OK. */
static void h_read(struct mux_stream *s, struct wire_reader *rd)
{
	struct vg_read_req q;
	uint8_t chunk[10000];
	uint64_t p, end, i;
	size_t n;

	proto_get_read_req(rd, &q);
	if (wire_done(rd) < 0) {
		reply_error(s, EBADMSG, "malformed");
		return;
	}
	if (q.version == 98) {
		mux_send_end(s);
		return;
	}
	mux_send_msg(s, MSG_OK, NULL, 0);
	end = q.off + q.len;
	for (p = q.off; p < end; p += n) {
		if (q.version == 99 && p >= q.off + q.len / 2)
			return;   /* closed without END: the client sees a reset */
		n = end - p < sizeof(chunk) ? (size_t)(end - p) : sizeof(chunk);
		for (i = 0; i < n; i++)
			chunk[i] = pattern(p + i);
		if (mux_send_data(s, chunk, n) < 0)
			return;
	}
	mux_send_end(s);
}

static void h_sum(struct mux_stream *s)
{
	struct buf b;
	uint64_t total = 0;
	int k;

	buf_init(&b, MUX_FRAME_MAX);
	while ((k = mux_recv(s, NULL, &b, 5000)) == MUX_DATA)
		total += b.len;
	if (k == MUX_END) {
		buf_reset(&b);
		wire_put_u64(&b, total);
		mux_send_msg(s, MSG_PUT_DONE, b.data, b.len);
		mux_send_end(s);
	}
	buf_free(&b);
}

static void on_stream(struct mux *m, struct mux_stream *s, uint16_t type,
		      const uint8_t *msg, size_t len, void *arg)
{
	struct wire_reader rd;

	wire_reader_init(&rd, msg, len);
	switch (type) {
	case MSG_CTL_STAT: h_stat(s, &rd); break;
	case MSG_CTL_LS:   h_ls(s, &rd); break;
	case MSG_CTL_READ: h_read(s, &rd); break;
	case T_SUM:        h_sum(s); break;
	default:           reply_error(s, ENOSYS, "unknown request"); break;
	}
	mux_stream_close(s);
}

static const struct mux_ops srv_ops = { .on_stream = on_stream, .on_close = NULL };

struct conn { struct mux *cli, *srv; };

static void conn_open(struct conn *c)
{
	struct tls_pair tp;

	assert_int_equal(tls_pair_make(pki.sctx, pki.cctx, &tp), 0);
	c->srv = mux_new(tp.ss, tp.sfd, &srv_ops, NULL);
	c->cli = mux_new(tp.cs, tp.cfd, NULL, NULL);
	assert_non_null(c->srv);
	assert_non_null(c->cli);
}

static void conn_close(struct conn *c)
{
	mux_free(c->cli);
	mux_free(c->srv);
}

/* --- request structs round trip through the server's decoder --- */

static int stat_call(struct rpc *r, const char *path, struct vg_entry *out)
{
	struct vg_stat_req q = { .version = 42, .at = -7 };
	struct wire_reader rd;
	struct buf req, msg;
	int rc;

	snprintf(q.dev, sizeof(q.dev), "phone1");
	snprintf(q.path, sizeof(q.path), "%s", path);
	buf_init(&req, VG_MSG_MAX);
	buf_init(&msg, MUX_FRAME_MAX);
	proto_put_stat_req(&req, &q);
	rc = rpc_call(r, MSG_CTL_STAT, &req, MSG_ENTRY, &msg);
	if (rc == 0) {
		wire_reader_init(&rd, msg.data, msg.len);
		proto_get_entry(&rd, out);
		rc = wire_done(&rd);
	}
	buf_free(&req);
	buf_free(&msg);
	return rc;
}

static void test_call(void **state)
{
	struct vg_entry *e = calloc(1, sizeof(*e));
	struct conn c;
	struct rpc r;
	struct buf big, out;

	conn_open(&c);
	buf_init(&out, MUX_FRAME_MAX);
	rpc_init(&r, c.cli, 5000);
	assert_int_equal(stat_call(&r, "/a/b", e), 0);
	assert_string_equal(e->path, "/a/b");
	assert_string_equal(e->link, "phone1");
	assert_int_equal(e->version, 42);
	assert_int_equal(e->mtime_ns, -7);
	assert_string_equal(r.err, "");

	/* the server's error: -code, its text, remote */
	assert_int_equal(stat_call(&r, "/missing", e), -ENOENT);
	assert_true(r.remote);
	assert_string_equal(r.err, "phone1:/missing: no such version");
	/* a code no errno has reads as EIO */
	assert_int_equal(stat_call(&r, "/huge-code", e), -EIO);
	assert_true(r.remote);
	/* a reply of another type */
	assert_int_equal(stat_call(&r, "/wrong", e), -EPROTO);
	assert_false(r.remote);
	/* an unknown request answered with ENOSYS */
	assert_int_equal(rpc_call(&r, 0x7777, NULL, MSG_OK, &out), -ENOSYS);
	/* a request over its buffer's cap is never sent */
	buf_init(&big, 8);
	wire_put_str(&big, "much longer than eight bytes");
	assert_int_equal(rpc_call(&r, MSG_CTL_STAT, &big, MSG_ENTRY, &out), -EMSGSIZE);
	buf_free(&big);
	buf_free(&out);
	/* the connection is still good for the next call */
	assert_int_equal(stat_call(&r, "/again", e), 0);
	conn_close(&c);
	free(e);
}

static volatile sig_atomic_t cancel_flag;

static void *set_cancel(void *arg)
{
	usleep(200000);
	cancel_flag = 1;
	return NULL;
}

static void test_timeout_cancel(void **state)
{
	struct vg_entry *e = calloc(1, sizeof(*e));
	struct conn c;
	struct rpc r;
	pthread_t t;
	int64_t t0;

	conn_open(&c);
	release = 0;
	rpc_init(&r, c.cli, 300);
	t0 = mono_ms();
	assert_int_equal(stat_call(&r, "/silent", e), -ETIMEDOUT);
	assert_true(mono_ms() - t0 >= 300 && mono_ms() - t0 < 3000);
	assert_false(r.remote);

	/* cancelled long before its timeout */
	rpc_init(&r, c.cli, 20000);
	cancel_flag = 0;
	r.cancel = &cancel_flag;
	pthread_create(&t, NULL, set_cancel, NULL);
	t0 = mono_ms();
	assert_int_equal(stat_call(&r, "/silent", e), -EINTR);
	assert_true(mono_ms() - t0 < 200 + RPC_POLL_MS + 1000);
	pthread_join(t, NULL);
	/* already cancelled: does not wait at all */
	assert_int_equal(stat_call(&r, "/silent", e), -EINTR);
	/* a cancellable call still gets its reply */
	cancel_flag = 0;
	assert_int_equal(stat_call(&r, "/x", e), 0);
	release = 1;
	conn_close(&c);
	free(e);
}

/* --- list --- */

struct seen {
	long n;
	char first[PATH_MAX], last[PATH_MAX];
	int fail_at;   /* > 0: return -ENOSPC at this item */
};

static int one(void *arg, struct wire_reader *rd)
{
	struct seen *sn = arg;
	struct vg_entry *e = malloc(sizeof(*e));

	if (!e)
		return -ENOMEM;
	proto_get_entry(rd, e);
	if (wire_ok(rd) < 0) {
		free(e);
		return -EBADMSG;
	}
	if (sn->n == 0)
		snprintf(sn->first, sizeof(sn->first), "%s", e->path);
	snprintf(sn->last, sizeof(sn->last), "%s", e->path);
	free(e);
	if (++sn->n == sn->fail_at)
		return -ENOSPC;
	return 0;
}

static long ls(struct rpc *r, const char *path, int64_t count, struct seen *sn)
{
	struct vg_ls_req q = { .at = count, .recursive = 1 };
	struct buf req;
	long n;

	snprintf(q.dev, sizeof(q.dev), "phone1");
	snprintf(q.path, sizeof(q.path), "%s", path);
	buf_init(&req, VG_MSG_MAX);
	proto_put_ls_req(&req, &q);
	n = rpc_list(r, MSG_CTL_LS, &req, MSG_ENTRIES, one, sn);
	buf_free(&req);
	return n;
}

static void test_list(void **state)
{
	static const int64_t counts[] = { 0, 1, 2, 3, 7, 100, 1000 };
	struct vg_read_req rq = { .dev = "phone1", .path = "/f", .len = 10 };
	struct buf req;
	struct seen sn;
	struct conn c;
	struct rpc r;
	char want[64];
	size_t i;

	conn_open(&c);
	rpc_init(&r, c.cli, 5000);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		memset(&sn, 0, sizeof(sn));
		assert_int_equal(ls(&r, "/d", counts[i], &sn), counts[i]);
		assert_int_equal(sn.n, counts[i]);
		if (counts[i]) {
			assert_string_equal(sn.first, "/d/0");
			snprintf(want, sizeof(want), "/d/%lld", (long long)counts[i] - 1);
			assert_string_equal(sn.last, want);
		}
	}
	/* the item limit */
	r.max_items = 5;
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(ls(&r, "/d", 7, &sn), -E2BIG);
	assert_int_equal(sn.n, 5);
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(ls(&r, "/d", 5, &sn), 5);
	r.max_items = 0;
	/* a batch claiming more than it holds */
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(ls(&r, "/bad", 2, &sn), -EBADMSG);
	assert_false(r.remote);
	/* the callback's own error stops the listing, returned as is */
	memset(&sn, 0, sizeof(sn));
	sn.fail_at = 4;
	assert_int_equal(ls(&r, "/d", 10, &sn), -ENOSPC);
	assert_string_equal(r.err, "");
	/* the server's error */
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(ls(&r, "/missing", 3, &sn), -ENOENT);
	assert_true(r.remote);
	/* a reply of another type (READ answers OK first) */
	memset(&sn, 0, sizeof(sn));
	buf_init(&req, VG_MSG_MAX);
	proto_put_read_req(&req, &rq);
	assert_int_equal(rpc_list(&r, MSG_CTL_READ, &req, MSG_ENTRIES, one, &sn), -EPROTO);
	assert_false(r.remote);
	buf_free(&req);
	conn_close(&c);
}

/* --- stream --- */

struct sink {
	uint64_t off, got;
	bool bad;          /* a byte differed from pattern() */
	uint64_t fail_after;   /* > 0: -ENOSPC once this many bytes arrived */
};

static int sink(void *arg, const void *p, size_t n)
{
	struct sink *sk = arg;
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != pattern(sk->off + sk->got + i))
			sk->bad = true;
	sk->got += n;
	return sk->fail_after && sk->got >= sk->fail_after ? -ENOSPC : 0;
}

static int read_req(struct rpc *r, uint64_t version, uint64_t off, uint64_t len, struct sink *sk)
{
	struct vg_read_req q = { .version = version, .off = off, .len = len };
	struct buf req;
	int rc;

	snprintf(q.dev, sizeof(q.dev), "phone1");
	snprintf(q.path, sizeof(q.path), "/f");
	buf_init(&req, VG_MSG_MAX);
	proto_put_read_req(&req, &q);
	sk->off = off;
	rc = rpc_stream(r, MSG_CTL_READ, &req, sink, sk);
	buf_free(&req);
	return rc;
}

static void test_stream(void **state)
{
	static const uint64_t sizes[] = { 0, 1, 2, 3, 7, 100, 10000, 200000, 3000000 };
	struct sink sk;
	struct conn c;
	struct rpc r;
	size_t i;

	conn_open(&c);
	rpc_init(&r, c.cli, 5000);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&sk, 0, sizeof(sk));
		assert_int_equal(read_req(&r, 1, 12345, sizes[i], &sk), 0);
		assert_int_equal(sk.got, sizes[i]);
		assert_false(sk.bad);
	}
	/* a reset after OK is never a whole transfer */
	memset(&sk, 0, sizeof(sk));
	assert_int_equal(read_req(&r, 99, 0, 200000, &sk), -ECONNRESET);
	assert_true(sk.got > 0 && sk.got < 200000);
	assert_false(sk.bad);
	/* END without OK */
	memset(&sk, 0, sizeof(sk));
	assert_int_equal(read_req(&r, 98, 0, 10, &sk), -EPROTO);
	assert_int_equal(sk.got, 0);
	/* the sink stops it */
	memset(&sk, 0, sizeof(sk));
	sk.fail_after = 50000;
	assert_int_equal(read_req(&r, 1, 0, 1000000, &sk), -ENOSPC);
	assert_true(sk.got >= 50000 && sk.got < 1000000);
	/* the connection survived all of it */
	assert_true(mux_alive(c.cli));
	memset(&sk, 0, sizeof(sk));
	assert_int_equal(read_req(&r, 1, 0, 7, &sk), 0);
	assert_int_equal(sk.got, 7);
	conn_close(&c);
}

/* --- open/expect: the client sends a body before the one reply --- */

static void test_open_expect(void **state)
{
	static const size_t sizes[] = { 0, 1, 65536, 300000 };
	struct mux_stream *s;
	struct wire_reader rd;
	struct conn c;
	struct rpc r;
	struct buf out;
	uint8_t *data = calloc(1, 300000);
	size_t i;

	conn_open(&c);
	rpc_init(&r, c.cli, 5000);
	buf_init(&out, MUX_FRAME_MAX);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(rpc_open(&r, T_SUM, NULL, false, &s), 0);
		assert_int_equal(mux_send_data(s, data, sizes[i]), 0);
		assert_int_equal(mux_send_end(s), 0);
		assert_int_equal(rpc_expect(&r, s, MSG_PUT_DONE, &out), 0);
		wire_reader_init(&rd, out.data, out.len);
		assert_int_equal(wire_get_u64(&rd), sizes[i]);
		assert_int_equal(wire_done(&rd), 0);
		mux_stream_close(s);
	}
	/* expecting another type than the one sent */
	assert_int_equal(rpc_open(&r, T_SUM, NULL, true, &s), 0);
	assert_int_equal(rpc_expect(&r, s, MSG_OK, &out), -EPROTO);
	mux_stream_close(s);
	/* a dead connection */
	mux_shutdown(c.cli);
	assert_true(rpc_open(&r, T_SUM, NULL, true, &s) < 0);
	buf_free(&out);
	free(data);
	conn_close(&c);
}

static int setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	log_init("test_rpc", LOG_LVL_ERROR);
	return pki_setup(&pki);
}

static int teardown(void **state)
{
	pki_teardown(&pki);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call),
		cmocka_unit_test(test_timeout_cancel),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_open_expect),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
