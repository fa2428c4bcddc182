/* test_pget.c — controller/pget.c: a read in ranges over parallel fetches
 * reaches the sink whole and in order, whatever order the ranges finish
 * in and however they are cut into pieces; a range that fails, comes
 * short or long, a failing sink and a cancel each stop the read with the
 * right error, and what the sink saw is a true prefix of the content that
 * ends before anything the failure could have cut. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/pget.h"

static uint8_t pat(uint64_t i) { return (uint8_t)(i * 131 + (i >> 11) + (i >> 23)); }

enum fault { F_NONE, F_ERROR, F_SHORT, F_LONG, F_HANG };

struct src {
	enum fault fault;
	uint64_t fault_range;      /* the range the fault hits */
	int saw_stop;              /* a hanging fetch was told to stop */
	int workers;               /* 0: PGET_WORKERS */
	pthread_mutex_t lock;
	uint64_t ranges_fetched;
};

struct dst {
	uint8_t *got;
	uint64_t len, cap;
	int fail_at_call, calls;   /* sink fails on its Nth call (0: never) */
};

static int sink(void *arg, const void *p, size_t n)
{
	struct dst *d = arg;

	if (d->fail_at_call && ++d->calls == d->fail_at_call)
		return -ENOSPC;
	assert_true(d->len + n <= d->cap);
	memcpy(d->got + d->len, p, n);
	d->len += n;
	return 0;
}

/* Delivers [off, off+len) in pieces of odd sizes; earlier ranges take
 * longer, so later ones finish first and wait for their turn. */
static int fetch(void *arg, uint64_t off, uint64_t len, restore_sink_fn out, void *out_arg,
		 const volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct src *s = arg;
	uint64_t range = off / PGET_RANGE, end = off + len, i;
	uint8_t piece[70001];
	size_t k;
	int r;

	pthread_mutex_lock(&s->lock);
	s->ranges_fetched++;
	pthread_mutex_unlock(&s->lock);
	usleep(range % 3 == 0 ? 30000 : 2000);
	if (s->fault_range == range && s->fault == F_ERROR) {
		snprintf(err, errlen, "server: connection lost");
		return -ECONNRESET;
	}
	if (s->fault_range == range && s->fault == F_SHORT)
		end--;
	if (s->fault_range == range && s->fault == F_LONG)
		end++;
	if (s->fault != F_NONE && s->fault_range != range && s->fault == F_HANG) {
		for (i = 0; i < 500 && !__atomic_load_n(stop, __ATOMIC_RELAXED); i++)   /* up to 5 s */
			usleep(10000);
		if (__atomic_load_n(stop, __ATOMIC_RELAXED)) {
			s->saw_stop = 1;
			return -EINTR;
		}
	}
	for (; off < end; off += k) {
		k = (size_t)(end - off < sizeof(piece) - (off % 7) ? end - off : sizeof(piece) - (off % 7));
		for (i = 0; i < k; i++)
			piece[i] = pat(off + i);
		if ((r = out(out_arg, piece, k)) < 0)
			return r;
	}
	if (s->fault_range == range && s->fault == F_HANG) {
		snprintf(err, errlen, "server: connection lost");
		return -ECONNRESET;
	}
	return 0;
}

static void run(uint64_t size, struct src *s, struct dst *d, const volatile sig_atomic_t *cancel,
		int want, const char *want_err)
{
	char err[256] = "";
	uint64_t i;

	pthread_mutex_init(&s->lock, NULL);
	d->cap = size;
	d->got = malloc(size ? size : 1);
	assert_int_equal(pget_run(size, s->workers ? s->workers : PGET_WORKERS, fetch, s, sink, d,
				  cancel, err, sizeof(err)), want);
	if (want_err)
		assert_string_equal(err, want_err);
	if (want == 0)
		assert_int_equal(d->len, size);
	else
		assert_true(d->len < size);
	for (i = 0; i < d->len; i++)   /* what came through is exactly the content, in order */
		if (d->got[i] != pat(i))
			fail_msg("byte %llu differs", (unsigned long long)i);
	free(d->got);
	pthread_mutex_destroy(&s->lock);
}

static void test_whole_in_order(void **state)
{
	uint64_t sizes[] = { PGET_RANGE, 5 * (uint64_t)PGET_RANGE + 12345,
			     (uint64_t)(PGET_SLOTS + 3) * PGET_RANGE - 1, 1 };
	size_t i;

	int w;

	for (w = 1; w <= PGET_WORKERS_MAX; w++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct src s = { .fault = F_NONE, .fault_range = UINT64_MAX, .workers = w };
			struct dst d = { 0 };

			run(sizes[i], &s, &d, NULL, 0, NULL);
			assert_int_equal(s.ranges_fetched, (sizes[i] + PGET_RANGE - 1) / PGET_RANGE);
		}
	}
}

static void test_range_fails(void **state)
{
	struct src s = { .fault = F_ERROR, .fault_range = 3 };
	struct dst d = { 0 };

	run(10 * (uint64_t)PGET_RANGE, &s, &d, NULL, -ECONNRESET, "server: connection lost");
	assert_true(d.len <= 3 * (uint64_t)PGET_RANGE);   /* nothing of range 3 or after */
}

static void test_range_short(void **state)
{
	struct src s = { .fault = F_SHORT, .fault_range = 2 };
	struct dst d = { 0 };

	run(6 * (uint64_t)PGET_RANGE, &s, &d, NULL, -EBADMSG, "short content from the server");
	assert_true(d.len < 3 * (uint64_t)PGET_RANGE);   /* part of range 2 at most */
}

static void test_last_range_short(void **state)
{
	struct src s = { .fault = F_SHORT, .fault_range = 4 };
	struct dst d = { 0 };

	run(4 * (uint64_t)PGET_RANGE + 100, &s, &d, NULL, -EBADMSG, NULL);
}

static void test_range_long(void **state)
{
	struct src s = { .fault = F_LONG, .fault_range = 1 };
	struct dst d = { 0 };

	run(3 * (uint64_t)PGET_RANGE, &s, &d, NULL, -EFBIG, NULL);
	assert_true(d.len < 2 * (uint64_t)PGET_RANGE);
}

/* The other fetches in flight are told to stop when one fails. */
static void test_failure_stops_others(void **state)
{
	struct src s = { .fault = F_HANG, .fault_range = 0 };
	struct dst d = { 0 };

	run(8 * (uint64_t)PGET_RANGE, &s, &d, NULL, -ECONNRESET, "server: connection lost");
	assert_true(d.len <= (uint64_t)PGET_RANGE);   /* what range 0 sent before it failed */
	assert_int_equal(s.saw_stop, 1);
}

static void test_sink_fails(void **state)
{
	struct src s = { .fault = F_NONE, .fault_range = UINT64_MAX };
	struct dst d = { .fail_at_call = 3 };

	run(6 * (uint64_t)PGET_RANGE, &s, &d, NULL, -ENOSPC, "");
	assert_int_equal(d.calls, 3);   /* nothing after the failed call */
}

static void test_cancelled(void **state)
{
	static volatile sig_atomic_t quit = 1;
	struct src s = { .fault = F_NONE, .fault_range = UINT64_MAX };
	struct dst d = { 0 };

	run(6 * (uint64_t)PGET_RANGE, &s, &d, &quit, -EINTR, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_in_order),
		cmocka_unit_test(test_range_fails),
		cmocka_unit_test(test_range_short),
		cmocka_unit_test(test_last_range_short),
		cmocka_unit_test(test_range_long),
		cmocka_unit_test(test_failure_stops_others),
		cmocka_unit_test(test_sink_fails),
		cmocka_unit_test(test_cancelled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
