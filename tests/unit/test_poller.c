/* test_poller.c — the modem thread against a scripted source (a modem_ops
 * of the test's own; the AT and ModemManager sources have their own tests
 * against fake modems): a SIM still starting up (-EAGAIN) is read again
 * soon on the same open modem, with no reopen; a modem that fails is
 * reopened with backoff and the last good files stay. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "fuse/poller.h"
#include "fuse/simstore.h"

struct script {
	int opens, reads;
	int results[8];         /* what read() returns, in turn; then 0 */
	int nresults;
};

static struct script sc;
static int dummy;

static int s_open(struct modem **out, const char *spec, unsigned baud, char *err, size_t n)
{
	__atomic_add_fetch(&sc.opens, 1, __ATOMIC_SEQ_CST);
	*out = (struct modem *)&dummy;
	return 0;
}

static int s_fd(struct modem *m) { return -1; }
static int s_events(struct modem *m) { return 0; }

static int s_read(struct modem *m, struct sim_snapshot *out, char *err, size_t n)
{
	int i = __atomic_fetch_add(&sc.reads, 1, __ATOMIC_SEQ_CST);

	if (i < sc.nresults && sc.results[i] < 0) {
		snprintf(err, n, "scripted failure %d", i);
		return sc.results[i];
	}
	out->id.present = true;
	snprintf(out->id.iccid, sizeof(out->id.iccid), "8986001234567890123%d", i % 10);
	return 0;
}

static void s_close(struct modem *m) { }

static const struct modem_ops scripted = {
	.name = "scripted", .open = s_open, .fd = s_fd, .events = s_events,
	.read = s_read, .close = s_close,
};

/* Runs a poller with a long poll interval until it made `reads` reads (at
 * most 20 s: no timing is asserted) and returns the identity bytes it
 * left in the store (in buf). */
static void run_until(int reads, char *buf, size_t cap)
{
	struct poller_cfg cfg = { .ops = &scripted, .spec = "scripted", .poll_s = 3600 };
	struct simstore *st = simstore_new(real_ns());
	struct simblob *b;
	struct poller *p;

	assert_non_null(st);
	assert_int_equal(poller_start(&p, &cfg, st, NULL), 0);
	for (int i = 0; i < 2000 && __atomic_load_n(&sc.reads, __ATOMIC_SEQ_CST) < reads; i++)
		usleep(10000);
	usleep(100000);   /* the last read's files */
	assert_true(poller_stop(p, 2000));
	buf[0] = '\0';
	if ((b = simstore_open(st, "identity"))) {
		size_t n = b->len < cap - 1 ? b->len : cap - 1;

		memcpy(buf, b->data, n);
		buf[n] = '\0';
		simblob_put(b);
	}
	simstore_free(st);
}

static void test_not_ready_is_no_trouble(void **state)
{
	char id[512];

	memset(&sc, 0, sizeof(sc));
	sc.results[0] = -EAGAIN;
	sc.results[1] = -EAGAIN;
	sc.nresults = 2;
	run_until(3, id, sizeof(id));
	assert_int_equal(sc.opens, 1);           /* kept open: not modem trouble */
	assert_int_equal(sc.reads, 3);           /* two "not ready", then the SIM */
	assert_non_null(strstr(id, "iccid=89860012345678901232\n"));
}

static void test_failure_reopens_with_backoff(void **state)
{
	char id[512];

	memset(&sc, 0, sizeof(sc));
	sc.results[0] = -ETIMEDOUT;
	sc.nresults = 1;
	run_until(2, id, sizeof(id));
	assert_int_equal(sc.opens, 2);           /* closed, reopened after the backoff */
	assert_int_equal(sc.reads, 2);
	assert_non_null(strstr(id, "iccid=89860012345678901231\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_ready_is_no_trouble),
		cmocka_unit_test(test_failure_reopens_with_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
