/* test_mux.c — the mux over real TLS 1.3 (certificates from ca_init and
 * ca_issue, a socketpair underneath): RPC, concurrent streams, a big upload
 * that does not hold up small RPCs, flow control, resets, keepalive, a
 * handler limit shared by several connections, items of every size
 * (copied or handed over) over many interleaved streams, a receive window
 * granted in HELLO, and a hostile peer writing malformed frames. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/fnv.h"
#include "common/log.h"
#include "common/mux.h"
#include "tests/unit/pki_fixture.h"

enum { T_ECHO = 1, T_SINK, T_SOURCE, T_HOLD, T_NOREAD, T_DROP, T_COUNT, T_SIZES };

/* Item sizes T_SIZES sends, around the sizes the mux treats differently:
 * copied into the write buffer below 16 KiB, written from their own block
 * and handed over to mux_recv's caller from 16 KiB, one whole frame. */
static const size_t item_sizes[] = {
	1, 100, 16383, 16384, 16385, 65535, MUX_FRAME_MAX, 7, MUX_FRAME_MAX, 40000, 2,
	MUX_FRAME_MAX, MUX_FRAME_MAX, 16384, 3, 65000,
};
#define NSIZES (sizeof(item_sizes) / sizeof(item_sizes[0]))
/* Byte i of item k of stream seed: no two streams or items alike. */
static uint8_t item_byte(uint32_t seed, size_t k, size_t i)
{
	return (uint8_t)(seed * 131 + k * 29 + i * 7 + (i >> 9));
}

static struct pki pki;

/* What server handlers observed, for the tests to check. */
struct srv_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int hold_result;          /* T_HOLD: what mux_recv finally returned */
	bool hold_done;
	uint64_t source_queued;   /* T_SOURCE: bytes queued so far */
	int source_result;
	int closes;               /* on_close calls */
};
static struct srv_state st = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static uint8_t pattern(uint64_t i) { return (uint8_t)(i * 7 + (i >> 13)); }

/* T_SOURCE's DATA from s into b until it ends: *got counts the bytes, *ok
 * stays true while each is pattern(its offset); a slow reader pauses
 * 20 ms per MiB.  Returns what ended it (MUX_END, or a mux_recv error). */
static int recv_pattern(struct mux_stream *s, struct buf *b, uint64_t *got, bool *ok, bool slow)
{
	uint16_t type;
	int r;

	while ((r = mux_recv(s, &type, b, 10000)) == MUX_DATA) {
		for (size_t i = 0; i < b->len && *ok; i++)
			*ok = b->data[i] == pattern(*got + i);
		*got += b->len;
		if (slow && (*got & 0xfffff) < b->len)
			usleep(20000);
	}
	return r;
}

static void h_sink(struct mux_stream *s)
{
	struct buf b;
	uint64_t total = 0, h = FNV64_BASIS;
	uint8_t reply[16];
	int r;

	buf_init(&b, MUX_FRAME_MAX);
	while ((r = mux_recv(s, NULL, &b, 10000)) == MUX_DATA) {
		h = fnv1a64(h, b.data, b.len);
		total += b.len;
	}
	if (r == MUX_END) {
		memcpy(reply, &total, 8);
		memcpy(reply + 8, &h, 8);
		mux_send_msg(s, MSG_OK, reply, 16);
		mux_send_end(s);
	}
	buf_free(&b);
}

static void h_source(struct mux_stream *s, const uint8_t *msg, size_t len)
{
	uint64_t want = 0, i, off = 0;
	uint8_t chunk[10000];
	int r = 0;

	if (len == 8)
		memcpy(&want, msg, 8);
	while (off < want && r == 0) {
		size_t n = want - off < sizeof(chunk) ? want - off : sizeof(chunk);

		for (i = 0; i < n; i++)
			chunk[i] = pattern(off + i);
		r = mux_send_data(s, chunk, n);
		off += n;
		__atomic_store_n(&st.source_queued, off, __ATOMIC_SEQ_CST);
	}
	if (r == 0)
		r = mux_send_end(s);
	st.source_result = r;
}

/* T_SIZES {u32 seed, u32 rounds}: rounds times every item of item_sizes[], as
 * DATA, alternately copied (mux_send_data) and from a buffer handed to the
 * mux (mux_send_buf); then END. */
static void h_sizes(struct mux_stream *s, const uint8_t *msg, size_t len)
{
	uint32_t seed = 0, rounds = 1, k, n = 0;
	uint8_t *p;
	size_t i;
	int r = 0;

	if (len == 8) {
		memcpy(&seed, msg, 4);
		memcpy(&rounds, msg + 4, 4);
	}
	for (k = 0; k < rounds * NSIZES && r == 0; k++, n++) {
		size_t sz = item_sizes[k % NSIZES];

		if (!(p = k % 2 ? mux_buf_new() : malloc(sz))) {
			r = -ENOMEM;
			break;
		}
		for (i = 0; i < sz; i++)
			p[i] = item_byte(seed, k, i);
		if (k % 2) {
			r = mux_send_buf(s, p, sz);
		} else {
			r = mux_send_data(s, p, sz);
			free(p);
		}
	}
	if (r == 0)
		mux_send_end(s);
}

static void h_hold(struct mux_stream *s)
{
	struct buf b;
	int r;

	buf_init(&b, MUX_FRAME_MAX);
	mux_send_msg(s, MSG_OK, "ready", 5);
	while ((r = mux_recv(s, NULL, &b, 10000)) == MUX_MSG || r == MUX_DATA)
		;
	buf_free(&b);
	pthread_mutex_lock(&st.lock);
	st.hold_result = r;
	st.hold_done = true;
	pthread_cond_broadcast(&st.cond);
	pthread_mutex_unlock(&st.lock);
}

/* Handlers running at once: across connections (lim_all) and on one
 * connection (the mux's arg, if any). */
struct counter { int now, max; };
static struct counter lim_all;

static void count_in(struct counter *c)
{
	int n = __atomic_add_fetch(&c->now, 1, __ATOMIC_SEQ_CST), m;

	while ((m = __atomic_load_n(&c->max, __ATOMIC_SEQ_CST)) < n &&
	       !__atomic_compare_exchange_n(&c->max, &m, n, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST))
		;
}

static void h_count(struct mux_stream *s, const uint8_t *msg, size_t len, struct counter *per)
{
	count_in(&lim_all);
	if (per)
		count_in(per);
	usleep(20000);
	if (per)
		__atomic_sub_fetch(&per->now, 1, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&lim_all.now, 1, __ATOMIC_SEQ_CST);
	mux_send_msg(s, MSG_OK, msg, len);
	mux_send_end(s);
}

static void on_stream(struct mux *m, struct mux_stream *s, uint16_t type,
		      const uint8_t *msg, size_t len, void *arg)
{
	int i;

	switch (type) {
	case T_ECHO:
		mux_send_msg(s, MSG_OK, msg, len);
		mux_send_end(s);
		break;
	case T_SINK:
		h_sink(s);
		break;
	case T_SOURCE:
		h_source(s, msg, len);
		break;
	case T_HOLD:
		h_hold(s);
		break;
	case T_NOREAD:
		for (i = 0; i < 300 && mux_alive(m); i++)
			usleep(10000);
		break;
	case T_DROP:   /* closes without END: the peer sees a reset */
		break;
	case T_COUNT:
		h_count(s, msg, len, arg);
		break;
	case T_SIZES:
		h_sizes(s, msg, len);
		break;
	}
	mux_stream_close(s);
}

static void on_close(struct mux *m, void *arg)
{
	pthread_mutex_lock(&st.lock);
	st.closes++;
	pthread_cond_broadcast(&st.cond);
	pthread_mutex_unlock(&st.lock);
}

static const struct mux_ops srv_ops = { .on_stream = on_stream, .on_close = on_close };

struct conn { struct mux *cli, *srv; };

/* A connection whose server side runs handlers under limit (NULL: none),
 * with arg passed to them. */
static void conn_open_with(struct conn *c, struct mux_limit *limit, void *arg)
{
	struct mux_ops ops = srv_ops;
	struct tls_pair tp;

	ops.limit = limit;
	assert_int_equal(tls_pair_make(pki.sctx, pki.cctx, &tp), 0);
	assert_int_equal(tp.peer.role, ROLE_DEVICE);
	assert_string_equal(tp.peer.name, "phone1");
	c->srv = mux_new(tp.ss, tp.sfd, &ops, arg);
	c->cli = mux_new(tp.cs, tp.cfd, NULL, NULL);
	assert_non_null(c->srv);
	assert_non_null(c->cli);
}

static void conn_open(struct conn *c)
{
	conn_open_with(c, NULL, NULL);
}

/* A connection whose client end grants rx_window per stream. */
static void conn_open_window(struct conn *c, size_t rx_window)
{
	struct mux_ops cops = { .rx_window = rx_window };
	struct tls_pair tp;

	assert_int_equal(tls_pair_make(pki.sctx, pki.cctx, &tp), 0);
	c->srv = mux_new(tp.ss, tp.sfd, &srv_ops, NULL);
	c->cli = mux_new(tp.cs, tp.cfd, &cops, NULL);
	assert_non_null(c->srv);
	assert_non_null(c->cli);
}

static void conn_close(struct conn *c)
{
	mux_free(c->cli);
	mux_free(c->srv);
}

static int wait_closes(int n, int ms)
{
	long end = mono_ms() + ms;
	int got;

	pthread_mutex_lock(&st.lock);
	while (st.closes < n && mono_ms() < end) {
		pthread_mutex_unlock(&st.lock);
		usleep(5000);
		pthread_mutex_lock(&st.lock);
	}
	got = st.closes;
	pthread_mutex_unlock(&st.lock);
	return got;
}

/* --- RPC --- */

static void test_rpc_sizes(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 7, 100, 10000, MUX_FRAME_MAX };
	struct conn c;
	struct buf req, rep;
	uint16_t rtype;
	size_t i, j;

	conn_open(&c);
	buf_init(&req, MUX_FRAME_MAX + 1);
	buf_init(&rep, MUX_FRAME_MAX);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		buf_reset(&req);
		for (j = 0; j < sizes[i]; j++)
			assert_int_equal(buf_append(&req, &(uint8_t){ pattern(j) }, 1), 0);
		assert_int_equal(mux_call(c.cli, T_ECHO, &req, &rtype, &rep, 5000), 0);
		assert_int_equal(rtype, MSG_OK);
		assert_int_equal(rep.len, sizes[i]);
		assert_memory_equal(rep.data, req.data, sizes[i]);
	}
	/* One byte over the frame limit is refused locally. */
	assert_int_equal(buf_append(&req, "x", 1), 0);
	req.len = MUX_FRAME_MAX + 1;
	assert_int_equal(mux_call(c.cli, T_ECHO, &req, &rtype, &rep, 5000), -EMSGSIZE);
	assert_true(mux_alive(c.cli));
	buf_free(&req);
	buf_free(&rep);
	conn_close(&c);
}

/* --- many concurrent streams --- */

struct rpc_worker { struct mux *m; int n, ok; uint16_t type; /* 0: T_ECHO */ };

static void *rpc_worker(void *arg)
{
	struct rpc_worker *w = arg;
	struct buf req, rep;
	uint16_t rtype;
	int i;

	buf_init(&req, 64);
	buf_init(&rep, MUX_FRAME_MAX);
	for (i = 0; i < w->n; i++) {
		buf_reset(&req);
		buf_printf(&req, "req %p %d", (void *)w, i);
		if (mux_call(w->m, w->type ? w->type : T_ECHO, &req, &rtype, &rep, 10000) == 0 &&
		    rep.len == req.len && !memcmp(rep.data, req.data, req.len))
			w->ok++;
	}
	buf_free(&req);
	buf_free(&rep);
	return NULL;
}

static void test_concurrent_streams(void **state)
{
	struct conn c;
	struct rpc_worker w[16];
	pthread_t t[16];
	struct mux_stream *s[MUX_MAX_STREAMS];
	struct buf b;
	uint16_t type;
	int i;

	conn_open(&c);
	for (i = 0; i < 16; i++) {
		w[i] = (struct rpc_worker){ .m = c.cli, .n = 40 };
		pthread_create(&t[i], NULL, rpc_worker, &w[i]);
	}
	for (i = 0; i < 16; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].ok, 40);
	}
	/* All streams open at once (held open by the server until our END);
	 * one more is refused locally. */
	for (i = 0; i < MUX_MAX_STREAMS; i++)
		assert_non_null(s[i] = mux_open(c.cli, T_HOLD, &i, sizeof(i)));
	errno = 0;
	assert_null(mux_open(c.cli, T_ECHO, NULL, 0));
	assert_int_equal(errno, EAGAIN);
	buf_init(&b, MUX_FRAME_MAX);
	for (i = MUX_MAX_STREAMS - 1; i >= 0; i--) {
		assert_int_equal(mux_recv(s[i], &type, &b, 5000), MUX_MSG);
		assert_int_equal(b.len, 5);
		assert_memory_equal(b.data, "ready", 5);
		assert_int_equal(mux_send_msg(s[i], 9, &i, sizeof(i)), 0);
		assert_int_equal(mux_send_end(s[i]), 0);
		/* the handler returns at our END without one of its own */
		assert_int_equal(mux_recv(s[i], &type, &b, 5000), -ECONNRESET);
		mux_stream_close(s[i]);
	}
	/* Slots come back. */
	assert_non_null(s[0] = mux_open(c.cli, T_ECHO, "z", 1));
	assert_int_equal(mux_recv(s[0], &type, &b, 5000), MUX_MSG);
	mux_stream_close(s[0]);
	buf_free(&b);
	assert_true(mux_alive(c.cli));
	conn_close(&c);
}

/* A connection whose ops cap the peer's streams at 4: the fifth OPEN is
 * refused with a RESET (the connection stays up), and a finished stream
 * makes room again. */
static void test_max_streams(void **state)
{
	struct mux_ops ops = srv_ops;
	struct mux_stream *s[5];
	struct tls_pair tp;
	struct conn c;
	struct buf b;
	uint16_t type;
	int i;

	ops.max_streams = 4;
	assert_int_equal(tls_pair_make(pki.sctx, pki.cctx, &tp), 0);
	assert_non_null(c.srv = mux_new(tp.ss, tp.sfd, &ops, NULL));
	assert_non_null(c.cli = mux_new(tp.cs, tp.cfd, NULL, NULL));
	buf_init(&b, MUX_FRAME_MAX);
	for (i = 0; i < 5; i++)
		assert_non_null(s[i] = mux_open(c.cli, T_HOLD, &i, sizeof(i)));
	for (i = 0; i < 4; i++)
		assert_int_equal(mux_recv(s[i], &type, &b, 5000), MUX_MSG);
	assert_int_equal(mux_recv(s[4], &type, &b, 5000), -ECONNRESET);
	mux_stream_close(s[4]);
	assert_int_equal(mux_send_end(s[0]), 0);
	assert_int_equal(mux_recv(s[0], &type, &b, 5000), -ECONNRESET);
	mux_stream_close(s[0]);
	assert_non_null(s[0] = mux_open(c.cli, T_ECHO, "z", 1));
	assert_int_equal(mux_recv(s[0], &type, &b, 5000), MUX_MSG);
	for (i = 0; i < 4; i++)
		mux_stream_close(s[i]);
	buf_free(&b);
	assert_true(mux_alive(c.cli));
	conn_close(&c);
}

/* Waits (bounded) until budget b holds n streams; what it holds then. */
static unsigned wait_budget(struct mux_budget *b, unsigned n)
{
	long end = mono_ms() + 10000;

	while (__atomic_load_n(&b->held, __ATOMIC_ACQUIRE) != n && mono_ms() < end)
		usleep(2000);
	return __atomic_load_n(&b->held, __ATOMIC_ACQUIRE);
}

/* Two connections sharing a budget of 6 streams (the server gives each
 * identity one: many connections must not multiply the receive window
 * one peer pins): 4 on the first, then only 2 of 4 on the second; the
 * other two are refused with a RESET and both connections stay up; a
 * stream ending anywhere makes room; freeing the muxes returns it all. */
static void test_shared_budget(void **state)
{
	struct mux_budget budget = { .max = 6 };
	struct mux_ops ops = srv_ops;
	struct mux_stream *a[4], *b[4];
	struct tls_pair tp;
	struct conn c1, c2;
	struct buf m;
	uint16_t type;
	int i;

	ops.budget = &budget;
	assert_int_equal(tls_pair_make(pki.sctx, pki.cctx, &tp), 0);
	assert_non_null(c1.srv = mux_new(tp.ss, tp.sfd, &ops, NULL));
	assert_non_null(c1.cli = mux_new(tp.cs, tp.cfd, NULL, NULL));
	assert_int_equal(tls_pair_make(pki.sctx, pki.cctx, &tp), 0);
	assert_non_null(c2.srv = mux_new(tp.ss, tp.sfd, &ops, NULL));
	assert_non_null(c2.cli = mux_new(tp.cs, tp.cfd, NULL, NULL));
	buf_init(&m, MUX_FRAME_MAX);
	for (i = 0; i < 4; i++) {
		assert_non_null(a[i] = mux_open(c1.cli, T_HOLD, &i, sizeof(i)));
		assert_int_equal(mux_recv(a[i], &type, &m, 5000), MUX_MSG);
	}
	for (i = 0; i < 4; i++)
		assert_non_null(b[i] = mux_open(c2.cli, T_HOLD, &i, sizeof(i)));
	for (i = 0; i < 2; i++)
		assert_int_equal(mux_recv(b[i], &type, &m, 5000), MUX_MSG);
	for (i = 2; i < 4; i++) {
		assert_int_equal(mux_recv(b[i], &type, &m, 5000), -ECONNRESET);
		mux_stream_close(b[i]);
	}
	assert_int_equal(__atomic_load_n(&budget.refused, __ATOMIC_ACQUIRE), 2);
	assert_int_equal(wait_budget(&budget, 6), 6);
	assert_int_equal(mux_send_end(a[0]), 0);       /* h_hold returns */
	assert_int_equal(mux_recv(a[0], &type, &m, 5000), -ECONNRESET);
	mux_stream_close(a[0]);
	assert_int_equal(wait_budget(&budget, 5), 5);
	assert_non_null(b[2] = mux_open(c2.cli, T_ECHO, "z", 1));
	assert_int_equal(mux_recv(b[2], &type, &m, 5000), MUX_MSG);
	mux_stream_close(b[2]);
	for (i = 1; i < 4; i++)
		mux_stream_close(a[i]);
	for (i = 0; i < 2; i++)
		mux_stream_close(b[i]);
	assert_true(mux_alive(c1.cli));
	assert_true(mux_alive(c2.cli));
	buf_free(&m);
	conn_close(&c1);
	conn_close(&c2);
	assert_int_equal(__atomic_load_n(&budget.held, __ATOMIC_ACQUIRE), 0);
	assert_int_equal(__atomic_load_n(&budget.refused, __ATOMIC_ACQUIRE), 2);
}

/* --- a handler limit shared by connections --- */

/* Waits (bounded) until the limit's counters are running/waiting. */
static void wait_limit(struct mux_limit *l, unsigned running, unsigned waiting)
{
	struct mux_limit_stats ls;
	long end = mono_ms() + 5000;

	do {
		mux_limit_stats(l, &ls);
		if (ls.running == running && ls.waiting == waiting)
			return;
		usleep(2000);
	} while (mono_ms() < end);
	fail_msg("limit: running %u waiting %u, want %u %u", ls.running, ls.waiting,
		 running, waiting);
}

/* 3 connections, 4 clients each, 5 slow RPCs per client, under a limit of
 * 3 handlers with at most 2 per connection: never more run at once, the
 * bound is reached, and every RPC completes. */
static void test_limit_bound(void **state)
{
	struct mux_limit *l = mux_limit_new(3, 2);
	struct counter per[3] = { { 0 } };
	struct rpc_worker w[12];
	struct mux_limit_stats ls;
	struct conn c[3];
	pthread_t t[12];
	int i;

	assert_non_null(l);
	memset(&lim_all, 0, sizeof(lim_all));
	for (i = 0; i < 3; i++)
		conn_open_with(&c[i], l, &per[i]);
	for (i = 0; i < 12; i++) {
		w[i] = (struct rpc_worker){ .m = c[i % 3].cli, .n = 5, .type = T_COUNT };
		pthread_create(&t[i], NULL, rpc_worker, &w[i]);
	}
	for (i = 0; i < 12; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].ok, 5);
	}
	assert_int_equal(lim_all.max, 3);
	for (i = 0; i < 3; i++)
		assert_true(per[i].max <= 2);
	wait_limit(l, 0, 0);
	mux_limit_stats(l, &ls);
	assert_int_equal(ls.peak, 3);
	assert_true(ls.waited > 0);
	for (i = 0; i < 3; i++)
		conn_close(&c[i]);
	mux_limit_free(l);
}

/* Streams waiting for a slot: freed with their connection (the slot
 * count is unharmed), and started, in turn, when the slot comes back. */
static void test_limit_waiters(void **state)
{
	struct mux_limit *l = mux_limit_new(1, 1);
	struct mux_stream *hold, *s[3];
	struct conn a, b, c;
	struct buf buf;
	uint16_t type;
	int i;

	assert_non_null(l);
	buf_init(&buf, MUX_FRAME_MAX);
	conn_open_with(&a, l, NULL);
	conn_open_with(&b, l, NULL);
	conn_open_with(&c, l, NULL);
	assert_non_null(hold = mux_open(a.cli, T_HOLD, NULL, 0));
	assert_int_equal(mux_recv(hold, &type, &buf, 5000), MUX_MSG);   /* it runs */
	for (i = 0; i < 3; i++) {
		assert_non_null(s[i] = mux_open(b.cli, T_ECHO, "b", 1));
		assert_int_equal(mux_send_end(s[i]), 0);
	}
	wait_limit(l, 1, 3);
	for (i = 0; i < 3; i++)
		mux_stream_close(s[i]);
	conn_close(&b);   /* its waiters go with it */
	wait_limit(l, 1, 0);
	assert_non_null(s[0] = mux_open(c.cli, T_ECHO, "c", 1));
	assert_int_equal(mux_send_end(s[0]), 0);
	assert_int_equal(mux_recv(s[0], &type, &buf, 300), -ETIMEDOUT);   /* waits */
	wait_limit(l, 1, 1);
	assert_int_equal(mux_send_end(hold), 0);   /* the holder returns */
	assert_int_equal(mux_recv(hold, &type, &buf, 5000), -ECONNRESET);
	mux_stream_close(hold);
	assert_int_equal(mux_recv(s[0], &type, &buf, 5000), MUX_MSG);
	assert_int_equal(buf.len, 1);
	assert_memory_equal(buf.data, "c", 1);
	mux_stream_close(s[0]);
	wait_limit(l, 0, 0);
	buf_free(&buf);
	conn_close(&a);
	conn_close(&c);
	mux_limit_free(l);
}

/* --- an upload does not hold up small RPCs --- */

/* size bytes, or (size 0) until stop is set; then END, and the sink's
 * answer must count what was sent */
struct upload { struct mux *m; uint64_t size, hash; int result; bool done, stop; uint64_t sent; };

static void *uploader(void *arg)
{
	struct upload *u = arg;
	struct mux_stream *s = mux_open(u->m, T_SINK, NULL, 0);
	uint8_t chunk[200000];
	uint64_t off = 0, i, h = FNV64_BASIS;
	struct buf rep;
	int r = s ? 0 : -errno;

	while (r == 0 && (u->size ? off < u->size : !__atomic_load_n(&u->stop, __ATOMIC_SEQ_CST))) {
		size_t n = u->size && u->size - off < sizeof(chunk) ? u->size - off : sizeof(chunk);

		for (i = 0; i < n; i++)
			chunk[i] = pattern(off + i);
		h = fnv1a64(h, chunk, n);
		r = mux_send_data(s, chunk, n);
		off += n;
		__atomic_store_n(&u->sent, off, __ATOMIC_SEQ_CST);
	}
	buf_init(&rep, MUX_FRAME_MAX);
	u->size = off;
	if (r == 0 && (r = mux_send_end(s)) == 0) {
		r = mux_recv(s, NULL, &rep, 30000);
		if (r == MUX_MSG && rep.len == 16 && !memcmp(rep.data, &u->size, 8) &&
		    !memcmp(rep.data + 8, &h, 8))
			r = 0;
		else
			r = r < 0 ? r : -EBADMSG;
	}
	buf_free(&rep);
	mux_stream_close(s);
	u->result = r;
	__atomic_store_n(&u->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

/* An upload that goes on until the RPCs are done: each RPC is answered
 * while the upload's frames keep coming (one stuck behind it would run
 * into its 5 s timeout).  No latency is asserted: on a loaded machine it
 * is anything. */
static void test_upload_and_rpcs(void **state)
{
	struct conn c;
	struct upload u = { .size = 0 };
	pthread_t t;
	struct buf req, rep;
	uint16_t rtype;
	int i;

	conn_open(&c);
	u.m = c.cli;
	pthread_create(&t, NULL, uploader, &u);
	while (__atomic_load_n(&u.sent, __ATOMIC_SEQ_CST) < (2u << 20) &&
	       !__atomic_load_n(&u.done, __ATOMIC_SEQ_CST))
		usleep(1000);
	buf_init(&req, 64);
	buf_init(&rep, MUX_FRAME_MAX);
	for (i = 0; i < 20; i++) {
		buf_reset(&req);
		buf_printf(&req, "small %d", i);
		assert_int_equal(mux_call(c.cli, T_ECHO, &req, &rtype, &rep, 5000), 0);
		assert_int_equal(rep.len, req.len);
	}
	/* every RPC was answered while the upload was still going */
	assert_false(__atomic_load_n(&u.done, __ATOMIC_SEQ_CST));
	__atomic_store_n(&u.stop, true, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	assert_int_equal(u.result, 0);
	assert_true(u.size >= (2u << 20));
	buf_free(&req);
	buf_free(&rep);
	conn_close(&c);
}

/* --- flow control: a consumer that does not read stalls only its stream --- */

static void test_flow_control(void **state)
{
	struct conn c;
	uint64_t want = 8ULL << 20, got = 0, queued;
	struct mux_stream *s;
	struct buf b, req, rep;
	uint16_t rtype;
	bool ok = true;
	long end;

	conn_open(&c);
	st.source_queued = 0;
	assert_non_null(s = mux_open(c.cli, T_SOURCE, &want, sizeof(want)));
	assert_int_equal(mux_send_end(s), 0);
	/* the server queues (a state, up to 30 s), then has 300 ms more to
	 * queue beyond one window if it wrongly could */
	end = mono_ms() + 30000;
	while (!__atomic_load_n(&st.source_queued, __ATOMIC_SEQ_CST) && mono_ms() < end)
		usleep(1000);
	usleep(300000);
	queued = __atomic_load_n(&st.source_queued, __ATOMIC_SEQ_CST);
	/* The server could queue only one window (plus one partial chunk). */
	assert_true(queued <= MUX_WINDOW + 10000);
	assert_true(queued > 0);
	/* Other streams still work meanwhile. */
	buf_init(&req, 16);
	buf_init(&rep, MUX_FRAME_MAX);
	buf_printf(&req, "ping");
	assert_int_equal(mux_call(c.cli, T_ECHO, &req, &rtype, &rep, 5000), 0);
	buf_init(&b, MUX_FRAME_MAX);
	assert_int_equal(recv_pattern(s, &b, &got, &ok, true), MUX_END);
	assert_true(ok);
	assert_int_equal(got, want);
	mux_stream_close(s);
	buf_free(&b);
	buf_free(&req);
	buf_free(&rep);
	conn_close(&c);
}

/* Reads a T_SIZES stream: every item has its size and bytes, in order,
 * received alternately into two buffers: the item handed over into one
 * stays intact while the next arrives in the other.  0 or -1. */
static int read_sizes(struct mux *m, uint32_t seed, uint32_t rounds)
{
	uint32_t req[2] = { seed, rounds };
	struct mux_stream *s = mux_open(m, T_SIZES, req, sizeof(req));
	struct buf b[2];
	uint8_t first = 0;
	uint16_t type;
	size_t k, i;
	int r = 0, bad = 0;

	buf_init(&b[0], MUX_FRAME_MAX);
	buf_init(&b[1], MUX_FRAME_MAX);
	for (k = 0; s && !bad && (r = mux_recv(s, &type, &b[k % 2], 10000)) == MUX_DATA; k++) {
		struct buf *cur = &b[k % 2], *prev = &b[(k + 1) % 2];

		if (k >= rounds * NSIZES || cur->len != item_sizes[k % NSIZES]) {
			bad = 1;
			break;
		}
		for (i = 0; i < cur->len && !bad; i++)
			bad = cur->data[i] != item_byte(seed, k, i);
		/* the previous item, in the other buffer, is still what it was */
		if (k > 0 && (prev->len != item_sizes[(k - 1) % NSIZES] || prev->data[0] != first))
			bad = 1;
		first = cur->data[0];
	}
	if (!s || r != MUX_END || k != rounds * NSIZES)
		bad = 1;
	if (bad) {
		char why[300];
		mux_last_error(m, why, sizeof(why));
		fprintf(stderr, "read_sizes seed %u: item %zu of %u: r %d len %zu: %s\n", seed, k,
			rounds * (unsigned)NSIZES, r, b[k % 2].len, why);
	}
	mux_stream_close(s);
	buf_free(&b[0]);
	buf_free(&b[1]);
	return bad ? -1 : 0;
}

/* --- items of every size keep their bytes, handed over or copied --- */

static void test_item_sizes(void **state)
{
	struct conn c;

	conn_open(&c);
	assert_int_equal(read_sizes(c.cli, 1, 3), 0);
	conn_close(&c);
}

/* --- many streams interleaved both ways keep their bytes --- */

struct sizes_reader { struct mux *m; uint32_t seed; int result; };

static void *sizes_reader_main(void *arg)
{
	struct sizes_reader *sr = arg;

	sr->result = read_sizes(sr->m, sr->seed, 8);
	return NULL;
}

static void test_interleaved_streams(void **state)
{
	struct conn c;
	struct sizes_reader sr[6];
	struct upload u[3];
	pthread_t t[6], tu[3];
	int i;

	conn_open_window(&c, MUX_WINDOW_BULK);
	for (i = 0; i < 3; i++) {
		u[i] = (struct upload){ .m = c.cli, .size = (4ULL << 20) + 1000 * (uint64_t)i };
		pthread_create(&tu[i], NULL, uploader, &u[i]);
	}
	for (i = 0; i < 6; i++) {
		sr[i] = (struct sizes_reader){ .m = c.cli, .seed = 100 + (uint32_t)i };
		pthread_create(&t[i], NULL, sizes_reader_main, &sr[i]);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(sr[i].result, 0);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(tu[i], NULL);
		assert_int_equal(u[i].result, 0);
	}
	conn_close(&c);
}

/* --- a receive window granted in HELLO: the sender may queue that much --- */

static void test_granted_window(void **state)
{
	struct conn c;
	uint64_t want = 16ULL << 20, got = 0, queued;
	struct mux_stream *s;
	struct buf b;
	bool ok = true;
	long end;

	conn_open_window(&c, MUX_WINDOW_BULK);
	st.source_queued = 0;
	assert_int_equal(mux_wait_ready(c.cli, 5000), 0);
	assert_non_null(s = mux_open(c.cli, T_SOURCE, &want, sizeof(want)));
	assert_int_equal(mux_send_end(s), 0);
	/* the server queues beyond the default window (a state, up to 30 s),
	 * up to the granted one */
	end = mono_ms() + 30000;
	while (__atomic_load_n(&st.source_queued, __ATOMIC_SEQ_CST) <= MUX_WINDOW &&
	       mono_ms() < end)
		usleep(1000);
	usleep(200000);
	queued = __atomic_load_n(&st.source_queued, __ATOMIC_SEQ_CST);
	assert_true(queued > MUX_WINDOW);
	assert_true(queued <= MUX_WINDOW_BULK + 10000);
	buf_init(&b, MUX_FRAME_MAX);
	assert_int_equal(recv_pattern(s, &b, &got, &ok, false), MUX_END);
	assert_true(ok);
	assert_int_equal(got, want);
	mux_stream_close(s);
	buf_free(&b);
	conn_close(&c);
}

/* --- resets in both directions --- */

static void test_peer_reset(void **state)
{
	struct conn c;
	struct mux_stream *s;
	struct buf b;
	uint16_t type;
	uint8_t big[100000] = { 0 };
	long end;
	int r = 0, i;

	conn_open(&c);
	/* Client resets: the server handler's recv fails. */
	st.hold_done = false;
	buf_init(&b, MUX_FRAME_MAX);
	assert_non_null(s = mux_open(c.cli, T_HOLD, "x", 1));
	assert_int_equal(mux_send_msg(s, 7, "abc", 3), 0);
	assert_int_equal(mux_recv(s, &type, &b, 5000), MUX_MSG);   /* "ready" */
	mux_stream_close(s);
	pthread_mutex_lock(&st.lock);
	end = mono_ms() + 5000;
	while (!st.hold_done && mono_ms() < end) {
		pthread_mutex_unlock(&st.lock);
		usleep(2000);
		pthread_mutex_lock(&st.lock);
	}
	assert_true(st.hold_done);
	assert_int_equal(st.hold_result, -ECONNRESET);
	pthread_mutex_unlock(&st.lock);

	/* Server resets: the client's recv and (soon) sends fail. */
	assert_non_null(s = mux_open(c.cli, T_DROP, NULL, 0));
	assert_int_equal(mux_recv(s, &type, &b, 5000), -ECONNRESET);
	for (i = 0; i < 100 && r == 0; i++)
		r = mux_send_data(s, big, sizeof(big));
	assert_int_equal(r, -ECONNRESET);
	mux_stream_close(s);
	/* The connection survives resets. */
	assert_true(mux_alive(c.cli));
	assert_non_null(s = mux_open(c.cli, T_HOLD, "hi", 2));
	assert_int_equal(mux_send_end(s), 0);
	assert_int_equal(mux_send_end(s), -EPIPE);
	assert_int_equal(mux_send_msg(s, 1, "x", 1), -EPIPE);
	assert_int_equal(mux_recv(s, &type, &b, 5000), MUX_MSG);   /* "ready" */
	/* The handler returns at our END without sending its own: a reset. */
	assert_int_equal(mux_recv(s, &type, &b, 5000), -ECONNRESET);
	mux_stream_close(s);
	/* Timeouts. */
	assert_non_null(s = mux_open(c.cli, T_HOLD, NULL, 0));
	assert_int_equal(mux_recv(s, &type, &b, 5000), MUX_MSG);
	assert_int_equal(mux_recv(s, &type, &b, 50), -ETIMEDOUT);
	mux_stream_close(s);
	buf_free(&b);
	conn_close(&c);
}

/* --- connection death wakes every blocked call --- */

static void test_shutdown_wakes(void **state)
{
	struct conn c;
	struct mux_stream *s;
	struct buf b;
	int closes = wait_closes(0, 0);

	conn_open(&c);
	assert_non_null(s = mux_open(c.cli, T_HOLD, NULL, 0));
	buf_init(&b, MUX_FRAME_MAX);
	assert_int_equal(mux_recv(s, NULL, &b, 5000), MUX_MSG);
	mux_shutdown(c.srv);
	assert_int_equal(mux_recv(s, NULL, &b, 5000), -ECONNRESET);
	assert_int_equal(mux_send_msg(s, 1, "a", 1), -ECONNRESET);
	assert_false(mux_alive(c.cli));
	errno = 0;
	assert_null(mux_open(c.cli, T_ECHO, NULL, 0));
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(wait_closes(closes + 1, 2000), closes + 1);
	mux_stream_close(s);
	buf_free(&b);
	conn_close(&c);
	mux_free(NULL);
}

/* --- keepalive --- */

static void test_keepalive(void **state)
{
	struct conn c;

	conn_open(&c);
	/* idle for 2.5 dead intervals, but pings keep both alive; the dead
	 * interval is 20 pings long, so a side descheduled for a few hundred
	 * ms on a loaded 2-CPU machine is not taken for dead (200 ms was
	 * within what a loaded machine's scheduler can take) */
	mux_set_timeouts(c.cli, 50, 1000);
	mux_set_timeouts(c.srv, 50, 1000);
	usleep(2500000);
	assert_true(mux_alive(c.cli));
	assert_true(mux_alive(c.srv));
	conn_close(&c);
}

/* --- a hostile peer: raw TLS, hand-made frames --- */

struct raw { struct mux *srv; SSL *ssl; int fd; };

/* The server end with ops (NULL: srv_ops). */
static void raw_open_ops(struct raw *r, const struct mux_ops *ops)
{
	struct tls_pair tp;
	struct timeval tv = { .tv_sec = 3 };

	assert_int_equal(tls_pair_make(pki.sctx, pki.cctx, &tp), 0);
	r->srv = mux_new(tp.ss, tp.sfd, ops ? ops : &srv_ops, NULL);
	assert_non_null(r->srv);
	r->ssl = tp.cs;
	r->fd = tp.cfd;
	fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void raw_open(struct raw *r)
{
	raw_open_ops(r, NULL);
}

static void raw_close(struct raw *r)
{
	SSL_free(r->ssl);
	close(r->fd);
	mux_free(r->srv);
}

static void hdr(uint8_t *h, uint32_t len, uint8_t kind, uint16_t type, uint32_t id)
{
	h[0] = len >> 24; h[1] = len >> 16; h[2] = len >> 8; h[3] = len;
	h[4] = kind; h[5] = 0; h[6] = type >> 8; h[7] = type;
	h[8] = id >> 24; h[9] = id >> 16; h[10] = id >> 8; h[11] = id;
}

static int raw_write(struct raw *r, const uint8_t *p, size_t n)
{
	while (n) {
		int w = SSL_write(r->ssl, p, (int)n);

		if (w <= 0)
			return -1;   /* the server closed: expected in some cases */
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void raw_frame(struct raw *r, uint32_t len, uint8_t kind, uint16_t type, uint32_t id,
		      const void *p, size_t plen)
{
	uint8_t f[12 + 256];

	hdr(f, len, kind, type, id);
	assert_true(plen <= 256);
	if (plen)
		memcpy(f + 12, p, plen);
	raw_write(r, f, 12 + plen);
}

static void raw_hello_window(struct raw *r, uint32_t version, uint32_t w, uint32_t len)
{
	uint8_t v[8] = { version >> 24, version >> 16, version >> 8, version,
			 w >> 24, w >> 16, w >> 8, w };

	raw_frame(r, len, 1, 0, 0, v, len);
}

static void raw_hello(struct raw *r, uint32_t version)
{
	raw_hello_window(r, version, MUX_WINDOW, 8);
}

/* Reads one frame header (payload skipped); -1 on EOF/timeout. */
static int raw_read(struct raw *r, uint8_t h[12])
{
	uint8_t skip[256];
	size_t got = 0;
	uint32_t len;

	while (got < 12) {
		int n = SSL_read(r->ssl, h + got, (int)(12 - got));

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	len = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
	while (len) {
		int n = SSL_read(r->ssl, skip, (int)(len < sizeof(skip) ? len : sizeof(skip)));

		if (n <= 0)
			return -1;
		len -= (uint32_t)n;
	}
	return 0;
}

/* The server drops the connection: on_close runs, reads see EOF. */
static void expect_closed(struct raw *r, int closes_before)
{
	uint8_t h[12];
	int i;

	assert_int_equal(wait_closes(closes_before + 1, 3000), closes_before + 1);
	assert_false(mux_alive(r->srv));
	for (i = 0; i < 1000 && raw_read(r, h) == 0; i++)
		;
	assert_true(i < 1000);
}

typedef void (*hostile_fn)(struct raw *r);

static void h_bad_version(struct raw *r) { raw_hello(r, MUX_VERSION + 1); }
static void h_no_hello(struct raw *r) { raw_frame(r, 1, 3, 0, 1, "x", 1); }
static void h_oversize(struct raw *r) { raw_hello(r, MUX_VERSION); raw_frame(r, MUX_FRAME_MAX + 1, 3, 0, 1, NULL, 0); }
static void h_bad_kind(struct raw *r) { raw_hello(r, MUX_VERSION); raw_frame(r, 0, 42, 0, 1, NULL, 0); }
static void h_kind_zero(struct raw *r) { raw_hello(r, MUX_VERSION); raw_frame(r, 0, 0, 0, 1, NULL, 0); }
static void h_unknown_stream(struct raw *r) { raw_hello(r, MUX_VERSION); raw_frame(r, 1, 3, 0, 99, "x", 1); }
static void h_stream_zero(struct raw *r) { raw_hello(r, MUX_VERSION); raw_frame(r, 0, 5, 0, 0, NULL, 0); }
static void h_even_open(struct raw *r) { raw_hello(r, MUX_VERSION); raw_frame(r, 0, 2, T_NOREAD, 2, NULL, 0); }
static void h_reused_id(struct raw *r)
{
	raw_hello(r, MUX_VERSION);
	raw_frame(r, 0, 2, T_NOREAD, 5, NULL, 0);
	raw_frame(r, 0, 2, T_NOREAD, 3, NULL, 0);
}
static void h_two_hellos(struct raw *r) { raw_hello(r, MUX_VERSION); raw_hello(r, MUX_VERSION); }
static void h_short_credit(struct raw *r)
{
	raw_hello(r, MUX_VERSION);
	raw_frame(r, 0, 2, T_NOREAD, 1, NULL, 0);
	raw_frame(r, 3, 6, 0, 1, "abc", 3);
}
static void h_credit_overrun(struct raw *r)
{
	uint8_t n[4] = { 0, 0, 0, 1 };

	raw_hello(r, MUX_VERSION);
	raw_frame(r, 0, 2, T_NOREAD, 1, NULL, 0);
	raw_frame(r, 4, 6, 0, 1, n, 4);   /* nothing was spent: any credit overruns */
}
static void h_double_end(struct raw *r)
{
	raw_hello(r, MUX_VERSION);
	raw_frame(r, 0, 2, T_NOREAD, 1, NULL, 0);
	raw_frame(r, 0, 5, 0, 1, NULL, 0);
	raw_frame(r, 0, 5, 0, 1, NULL, 0);
}
static void h_data_after_end(struct raw *r)
{
	raw_hello(r, MUX_VERSION);
	raw_frame(r, 0, 2, T_NOREAD, 1, NULL, 0);
	raw_frame(r, 0, 5, 0, 1, NULL, 0);
	raw_frame(r, 1, 4, 0, 1, "x", 1);
}
static void h_window_overrun(struct raw *r)
{
	static uint8_t f[12 + MUX_FRAME_MAX];
	int i;

	raw_hello(r, MUX_VERSION);
	raw_frame(r, 0, 2, T_NOREAD, 1, NULL, 0);
	hdr(f, MUX_FRAME_MAX, 4, 0, 1);
	for (i = 0; i < MUX_WINDOW / MUX_FRAME_MAX + 1; i++)
		if (raw_write(r, f, sizeof(f)) < 0)
			break;
}
static void h_truncated(struct raw *r)
{
	raw_hello(r, MUX_VERSION);
	raw_frame(r, 100, 3, 0, 1, "abc", 3);
	SSL_shutdown(r->ssl);
	shutdown(r->fd, SHUT_WR);
}
static void h_no_window(struct raw *r) { raw_hello_window(r, MUX_VERSION, 0, 4); }
static void h_small_window(struct raw *r) { raw_hello_window(r, MUX_VERSION, MUX_WINDOW - 1, 8); }
static void h_huge_window(struct raw *r) { raw_hello_window(r, MUX_VERSION, MUX_WINDOW_MAX + 1, 8); }
static void h_big_ping(struct raw *r) { raw_hello(r, MUX_VERSION); raw_frame(r, 9, 8, 0, 0, "123456789", 9); }

/* Features (docs/protocol.md "Features"): the server's HELLO carries its
 * own after the window; a peer's 8-byte HELLO (an older vigild's) is
 * accepted and offers none, a 12-byte one offers what it says. */
static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_hello_features(void **state)
{
	struct mux_ops o = srv_ops;
	uint8_t f[24], v[12] = { 0, 0, 0, MUX_VERSION, 0, MUX_WINDOW >> 16 & 0xff, 0, 0, 0, 0, 0, 5 };
	struct raw r;
	size_t got = 0;
	int n, older;

	o.features = MUX_FEAT_CUTS;
	for (older = 1; older >= 0; older--) {
		raw_open_ops(&r, &o);
		raw_frame(&r, older ? 8 : 12, 1, 0, 0, v, older ? 8 : 12);
		assert_int_equal(mux_wait_ready(r.srv, 5000), 0);
		assert_int_equal(mux_peer_features(r.srv), older ? 0 : 5);
		for (got = 0; got < sizeof(f); got += (size_t)n)
			assert_true((n = SSL_read(r.ssl, f + got, (int)(sizeof(f) - got))) > 0);
		assert_int_equal(f[4], 1);                 /* HELLO, */
		assert_int_equal(be32_at(f), 12);          /* 12 bytes: */
		assert_int_equal(be32_at(f + 12), MUX_VERSION);
		assert_int_equal(be32_at(f + 20), MUX_FEAT_CUTS);
		raw_close(&r);
	}
}

/* A peer that completes the handshake and then says nothing is dropped
 * after the dead interval, with the reason kept. */
static void test_keepalive_dead(void **state)
{
	struct raw r;
	char why[320];
	long t0 = mono_ms();
	int closes = wait_closes(0, 0);

	raw_open(&r);
	mux_set_timeouts(r.srv, 50, 300);
	raw_hello(&r, MUX_VERSION);
	assert_int_equal(wait_closes(closes + 1, 3000), closes + 1);
	assert_true(mono_ms() - t0 >= 250);
	assert_false(mux_alive(r.srv));
	mux_last_error(r.srv, why, sizeof(why));
	assert_non_null(strstr(why, "no frame"));
	raw_close(&r);
}

/* --- 64 KiB frame blocks are reused while a bulk sender's stream is open,
 * and none is kept once it closed --- */

static void test_frame_pool(void **state)
{
	struct conn c;
	struct mux_stream *s;
	struct buf rep;
	long end;
	int i;

	conn_open(&c);
	assert_int_equal(mux_pool_held(), 0);
	assert_non_null(s = mux_open(c.cli, T_SINK, NULL, 0));
	for (i = 0; i < 32; i++) {
		uint8_t *p = mux_buf_new();

		assert_non_null(p);
		memset(p, i, MUX_FRAME_MAX);
		assert_int_equal(mux_send_buf(s, p, MUX_FRAME_MAX), 0);
	}
	/* the blocks written come back to the pool (a state) */
	end = mono_ms() + 10000;
	while (mux_pool_held() == 0 && mono_ms() < end)
		usleep(1000);
	assert_true(mux_pool_held() > 0);
	assert_true(mux_pool_held() <= 16);
	assert_int_equal(mux_send_end(s), 0);
	buf_init(&rep, MUX_FRAME_MAX);
	assert_int_equal(mux_recv(s, NULL, &rep, 30000), MUX_MSG);
	mux_stream_close(s);
	assert_int_equal(mux_pool_held(), 0);
	buf_free(&rep);
	conn_close(&c);
}

/* --- a large grant, a peer that reads nothing: the sender's queue stays
 * bounded (MUX_OQ_MAX), not the window --- */

struct stall { struct mux_stream *s; uint64_t sent; };

static void *stall_sender(void *arg)
{
	struct stall *t = arg;
	static uint8_t chunk[MUX_FRAME_MAX];

	while (mux_send_data(t->s, chunk, sizeof(chunk)) == 0)
		__atomic_add_fetch(&t->sent, sizeof(chunk), __ATOMIC_SEQ_CST);
	return NULL;
}

/* The most the kernel buffers for one side of a loopback TCP connection
 * (tcp_wmem's maximum), 0 if unknown. */
static uint64_t wmem_max(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
	unsigned long a = 0, b = 0, c = 0;

	if (f && fscanf(f, "%lu %lu %lu", &a, &b, &c) != 3)
		c = 0;
	if (f)
		fclose(f);
	return c;
}

static void test_send_queue_bound(void **state)
{
	struct raw r;
	struct stall t = { 0 };
	pthread_t th;
	int rcv = 64 * 1024;
	uint64_t last = 0, now, bound = wmem_max() + 2 * (uint64_t)rcv + MUX_OQ_MAX + 4 * MUX_FRAME_MAX;
	long quiet_since = mono_ms(), end = mono_ms() + 30000;

	if (!wmem_max() || bound >= MUX_WINDOW_MAX / 2)
		skip();
	raw_open(&r);
	setsockopt(r.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	raw_hello_window(&r, MUX_VERSION, MUX_WINDOW_MAX, 8);
	assert_int_equal(mux_wait_ready(r.srv, 5000), 0);
	assert_non_null(t.s = mux_open(r.srv, T_ECHO, "x", 1));
	pthread_create(&th, NULL, stall_sender, &t);
	/* the sender stops once everything below it is full (a state) */
	while (mono_ms() < end && mono_ms() - quiet_since < 1000) {
		usleep(50000);
		now = __atomic_load_n(&t.sent, __ATOMIC_SEQ_CST);
		if (now != last)
			quiet_since = mono_ms();
		last = now;
	}
	/* without the bound it queues the whole 16 MiB grant */
	assert_true(last > 0);
	assert_true(last <= bound);
	mux_shutdown(r.srv);
	pthread_join(th, NULL);
	mux_stream_close(t.s);
	raw_close(&r);
}

static void test_hostile_frames(void **state)
{
	static const hostile_fn cases[] = {
		h_bad_version, h_no_hello, h_oversize, h_bad_kind, h_kind_zero,
		h_unknown_stream, h_stream_zero, h_even_open, h_reused_id, h_two_hellos,
		h_short_credit, h_credit_overrun, h_double_end, h_data_after_end,
		h_window_overrun, h_truncated, h_big_ping, h_no_window, h_small_window,
		h_huge_window,
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct raw r;
		int closes = wait_closes(0, 0);

		raw_open(&r);
		cases[i](&r);
		expect_closed(&r, closes);
		raw_close(&r);
	}
}

/* Tolerated: RESET for a stream never opened; PING answered with PONG;
 * OPENs beyond the limit answered with RESET, connection kept. */
static void test_hostile_tolerated(void **state)
{
	struct raw r;
	uint8_t h[12];
	uint32_t id, resets = 0, refused_id = 0;
	int i, pongs = 0;

	raw_open(&r);
	raw_hello(&r, MUX_VERSION);
	raw_frame(&r, 0, 7, 0, 77, NULL, 0);
	for (i = 0; i <= MUX_MAX_STREAMS; i++)
		raw_frame(&r, 0, 2, T_NOREAD, 2 * i + 1, NULL, 0);
	raw_frame(&r, 4, 8, 0, 0, "ping", 4);
	while ((pongs == 0 || resets == 0) && raw_read(&r, h) == 0) {
		id = (uint32_t)h[8] << 24 | h[9] << 16 | h[10] << 8 | h[11];
		if (h[4] == 9)
			pongs++;
		if (h[4] == 7) {
			resets++;
			refused_id = id;
		}
	}
	assert_int_equal(pongs, 1);
	assert_int_equal(resets, 1);
	assert_int_equal(refused_id, 2 * MUX_MAX_STREAMS + 1);
	assert_true(mux_alive(r.srv));
	raw_close(&r);
}

/* Random frames after a valid HELLO: never a crash, the connection ends. */
static void test_hostile_random(void **state)
{
	unsigned seed = 12345;
	int round, i;

	for (round = 0; round < 30; round++) {
		struct raw r;
		uint8_t junk[256];

		raw_open(&r);
		raw_hello(&r, MUX_VERSION);
		for (i = 0; i < 40; i++) {
			size_t n = (size_t)(rand_r(&seed) % sizeof(junk)), k;

			for (k = 0; k < n; k++)
				junk[k] = (uint8_t)rand_r(&seed);
			if (n >= 12 && (rand_r(&seed) & 1)) {   /* plausible header */
				hdr(junk, (uint32_t)(n - 12), (uint8_t)(1 + rand_r(&seed) % 10),
				    (uint16_t)rand_r(&seed), (uint32_t)(rand_r(&seed) % 8));
			}
			if (raw_write(&r, junk, n) < 0)
				break;
		}
		SSL_shutdown(r.ssl);
		shutdown(r.fd, SHUT_WR);
		assert_int_equal(wait_closes(0, 0) >= 0, 1);
		raw_close(&r);   /* mux_free joins everything: no leak, no hang */
	}
}

static int setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	log_init("test_mux", LOG_LVL_ERROR);
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
		cmocka_unit_test(test_rpc_sizes),
		cmocka_unit_test(test_concurrent_streams),
		cmocka_unit_test(test_max_streams),
		cmocka_unit_test(test_shared_budget),
		cmocka_unit_test(test_limit_bound),
		cmocka_unit_test(test_limit_waiters),
		cmocka_unit_test(test_upload_and_rpcs),
		cmocka_unit_test(test_flow_control),
		cmocka_unit_test(test_item_sizes),
		cmocka_unit_test(test_interleaved_streams),
		cmocka_unit_test(test_granted_window),
		cmocka_unit_test(test_send_queue_bound),
		cmocka_unit_test(test_frame_pool),
		cmocka_unit_test(test_peer_reset),
		cmocka_unit_test(test_shutdown_wakes),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_keepalive_dead),
		cmocka_unit_test(test_hello_features),
		cmocka_unit_test(test_hostile_frames),
		cmocka_unit_test(test_hostile_tolerated),
		cmocka_unit_test(test_hostile_random),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
