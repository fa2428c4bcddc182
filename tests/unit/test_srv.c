/* test_srv.c — the server's registry of connections (server/srv.c) over
 * real TLS pairs: a device's live connection is found by id, the newest
 * first; a reference keeps a connection and its mux until it is put, also
 * after the peer left (calls on the dead mux fail, nothing is freed under
 * the holder); a closed connection is never returned; shutdown ends them
 * all. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "common/log.h"
#include "common/mux.h"
#include "server/srv.h"
#include "tests/unit/pki_fixture.h"

static struct pki pki;

static void on_close(struct mux *m, void *arg)
{
	srv_conn_closed(arg);
}

static const struct mux_ops ops = { .on_close = on_close };

/* One accepted connection: its conn, the thread living it as session.c's
 * conn_main does, and the client's end. */
struct live {
	struct conn *c;
	struct mux *cli;
	pthread_t t;
	bool done;
};

static void *live_main(void *arg)
{
	struct live *l = arg;

	srv_conn_wait(l->c);
	srv_conn_free(l->c);
	__atomic_store_n(&l->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static void live_open(struct srv *srv, struct live *l, int64_t dev)
{
	struct tls_pair tp;

	memset(l, 0, sizeof(*l));
	assert_int_equal(tls_pair_make(pki.sctx, pki.cctx, &tp), 0);
	assert_non_null(l->c = srv_conn_new(srv, tp.sfd, "test"));
	l->c->id.role = ROLE_DEVICE;
	l->c->id.id = dev;
	assert_int_equal(srv_conn_attach(l->c, tp.ss, &ops), 0);
	assert_non_null(l->cli = mux_new(tp.cs, tp.cfd, NULL, NULL));
	assert_int_equal(mux_wait_ready(l->cli, 5000), 0);
	pthread_create(&l->t, NULL, live_main, l);
}

static bool wait_done(struct live *l, int ms)
{
	for (; ms > 0 && !__atomic_load_n(&l->done, __ATOMIC_SEQ_CST); ms -= 5)
		usleep(5000);
	return __atomic_load_n(&l->done, __ATOMIC_SEQ_CST);
}

static void test_device_conn(void **state)
{
	struct srv srv;
	struct live a, b, other;
	struct conn *r;

	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.lock, NULL);
	pthread_cond_init(&srv.cond, NULL);
	live_open(&srv, &a, 7);
	live_open(&srv, &b, 7);
	live_open(&srv, &other, 8);
	assert_true(srv_device_online(&srv, 7));
	assert_false(srv_device_online(&srv, 9));
	assert_null(srv_device_conn(&srv, 9));

	/* the newest of device 7's connections, referenced */
	r = srv_device_conn(&srv, 7);
	assert_ptr_equal(r, b.c);
	mux_free(b.cli);   /* the device leaves that connection */
	for (int i = 0; i < 1000; i++) {
		struct conn *n = srv_device_conn(&srv, 7);

		srv_conn_put(n);
		if (n == a.c)
			break;
		usleep(5000);
	}
	r = srv_device_conn(&srv, 7);
	assert_ptr_equal(r, a.c);   /* the closed one is no longer found */
	srv_conn_put(r);
	/* the holder still has b's conn and mux; calls on it fail */
	usleep(100000);
	assert_false(wait_done(&b, 0));
	assert_non_null(b.c->mux);
	assert_false(mux_alive(b.c->mux));
	errno = 0;
	assert_null(mux_open(b.c->mux, 0x0300, NULL, 0));
	assert_int_equal(errno, ECONNRESET);
	srv_conn_put(b.c);
	assert_true(wait_done(&b, 5000));

	/* shutdown ends the live ones, and nothing is left */
	srv_conns_shutdown(&srv);
	assert_true(wait_done(&a, 5000));
	assert_true(wait_done(&other, 5000));
	assert_int_equal(srv.nconns, 0);
	assert_false(srv_device_online(&srv, 7));
	pthread_join(a.t, NULL);
	pthread_join(b.t, NULL);
	pthread_join(other.t, NULL);
	mux_free(a.cli);
	mux_free(other.cli);
}

static int setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	log_init("test_srv", LOG_LVL_ERROR);
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
		cmocka_unit_test(test_device_conn),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
