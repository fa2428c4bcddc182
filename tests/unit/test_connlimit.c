/* test_connlimit.c — the books behind the server's connection limits
 * (server/connlimit.c): the handshake budget and its per-address share,
 * authenticated connections per identity and in all, that every slot comes
 * back when its connection leaves, the stream budget all connections of an
 * identity share, the refusal counters, and the
 * once-per-interval logging of refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/connlimit.h"

static struct connlimit *fresh(void)
{
	struct connlimit *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	return l;
}

static void addr(char *out, size_t cap, int i)
{
	snprintf(out, cap, "10.0.%d.%d", i / 250, i % 250 + 1);
}

static void test_addr_key(void **state)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "127.0.0.1:4000", "127.0.0.1" }, { "::1:7445", "::1" },
		{ "fe80::1:2", "fe80::1" }, { "test", "test" }, { "", "" },
		{ ":1", "" },
		{ "0123456789012345678901234567890123456789012345678901234567:1",
		  "01234567890123456789012345678901234567890123456" },
	};
	char key[CL_ADDR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		connlimit_addr_key(cases[i].in, key);
		assert_string_equal(key, cases[i].want);
	}
}

/* One address gets LIM_UNAUTH_PER_ADDR handshakes; others still get in. */
static void test_per_addr(void **state)
{
	struct connlimit *l = fresh();
	int i;

	for (i = 0; i < LIM_UNAUTH_PER_ADDR; i++)
		assert_int_equal(connlimit_enter(l, "10.9.9.9"), CL_OK);
	for (i = 0; i < 100; i++)
		assert_int_equal(connlimit_enter(l, "10.9.9.9"), CL_ADDR);
	assert_int_equal(connlimit_enter(l, "10.9.9.8"), CL_OK);
	assert_int_equal(l->st.unauth, LIM_UNAUTH_PER_ADDR + 1);
	assert_int_equal(l->st.refused[CL_ADDR], 100);
	connlimit_leave(l, "10.9.9.9");
	assert_int_equal(connlimit_enter(l, "10.9.9.9"), CL_OK);
	free(l);
}

/* LIM_UNAUTH in all, whatever the addresses; leaving frees every slot. */
static void test_budget(void **state)
{
	struct connlimit *l = fresh();
	char a[32];
	int i;

	for (i = 0; i < LIM_UNAUTH; i++) {
		addr(a, sizeof(a), i);
		assert_int_equal(connlimit_enter(l, a), CL_OK);
	}
	addr(a, sizeof(a), LIM_UNAUTH);
	assert_int_equal(connlimit_enter(l, a), CL_UNAUTH);
	assert_int_equal(connlimit_enter(l, "10.0.0.1"), CL_UNAUTH);
	assert_int_equal(l->st.refused[CL_UNAUTH], 2);
	assert_int_equal(l->st.unauth_peak, LIM_UNAUTH);
	for (i = 0; i < LIM_UNAUTH; i++) {
		addr(a, sizeof(a), i);
		connlimit_leave(l, a);
	}
	assert_int_equal(l->st.unauth, 0);
	/* every address slot is free again: one address fills its share */
	for (i = 0; i < LIM_UNAUTH_PER_ADDR; i++)
		assert_int_equal(connlimit_enter(l, "10.7.7.7"), CL_OK);
	for (i = 0; i < LIM_UNAUTH - LIM_UNAUTH_PER_ADDR; i++) {
		addr(a, sizeof(a), 100 + i);
		assert_int_equal(connlimit_enter(l, a), CL_OK);
	}
	free(l);
}

/* A full budget: a newcomer from a quiet address may take a slot of the
 * address holding the most, never of one holding about as many as it. */
static void test_victim(void **state)
{
	static const char *const flood[] = { "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5" };
	struct connlimit *l = fresh();
	char v[CL_ADDR_MAX];
	int i;

	assert_false(connlimit_victim(l, "10.0.0.1", v));   /* nobody to evict */
	for (i = 0; i < LIM_UNAUTH; i++)   /* 4 x 16: the whole budget */
		assert_int_equal(connlimit_enter(l, flood[i % 4]), CL_OK);
	assert_int_equal(connlimit_enter(l, "10.0.0.1"), CL_UNAUTH);
	assert_true(connlimit_victim(l, "10.0.0.1", v));
	assert_string_equal(v, "10.0.0.2");   /* the first of the heaviest */
	connlimit_leave(l, v);
	assert_int_equal(connlimit_enter(l, "10.0.0.1"), CL_OK);
	/* the flood cannot take the newcomer's slot, nor one of its own equals' */
	assert_int_equal(connlimit_enter(l, "10.0.0.2"), CL_UNAUTH);
	assert_false(connlimit_victim(l, "10.0.0.3", v));
	assert_false(connlimit_victim(l, "10.0.0.2", v));   /* it would hold 16, as the others */
	free(l);
}

/* cap connections per identity; others unaffected; a gone one frees one. */
static void test_ident(void **state)
{
	struct connlimit *l = fresh();
	int i;

	for (i = 0; i < LIM_IDENT_CONNS; i++)
		assert_int_equal(connlimit_auth(l, 7, LIM_IDENT_CONNS), CL_OK);
	assert_int_equal(connlimit_auth(l, 7, LIM_IDENT_CONNS), CL_IDENT);
	assert_int_equal(connlimit_auth(l, 8, LIM_IDENT_CONNS), CL_OK);
	assert_int_equal(connlimit_ident_count(l, 7), LIM_IDENT_CONNS);
	assert_int_equal(connlimit_ident_count(l, 8), 1);
	assert_int_equal(connlimit_ident_count(l, 9), 0);
	connlimit_gone(l, 7);
	assert_int_equal(connlimit_auth(l, 7, LIM_IDENT_CONNS), CL_OK);
	assert_int_equal(l->st.authed, LIM_IDENT_CONNS + 1);
	assert_int_equal(l->st.refused[CL_IDENT], 1);
	free(l);
}

/* Every connection of an identity shares one stream budget: with 16
 * connections of 16 streams each a device could hold 256 streams (256 MiB
 * of receive window at MUX_WINDOW_DEVICE); the budget stops it at LIM_DEVICE_IDENT_STREAMS in
 * all, and another identity has its own.  The slot (and its budget) stays
 * the identity's while a mux of it lives, after its connections ended. */
static void test_stream_budget(void **state)
{
	struct mux_budget *b[LIM_IDENT_CONNS], *other;
	struct connlimit *l = fresh();
	unsigned i, j, took = 0;

	for (i = 0; i < LIM_IDENT_CONNS; i++) {
		assert_int_equal(connlimit_auth(l, 7, LIM_IDENT_CONNS), CL_OK);
		assert_non_null(b[i] = connlimit_budget_get(l, 7, LIM_DEVICE_IDENT_STREAMS));
		assert_ptr_equal(b[i], b[0]);
	}
	for (i = 0; i < LIM_IDENT_CONNS; i++)
		for (j = 0; j < LIM_DEVICE_STREAMS; j++)
			took += mux_budget_take(b[i]);
	assert_int_equal(took, LIM_DEVICE_IDENT_STREAMS);
	/* what the streams can pin at the window a device is granted */
	assert_true(LIM_DEVICE_IDENT_STREAMS * (uint64_t)MUX_WINDOW_DEVICE <= LIM_DEVICE_WINDOW);
	assert_int_equal(connlimit_streams_refused(l),
			 LIM_IDENT_CONNS * LIM_DEVICE_STREAMS - LIM_DEVICE_IDENT_STREAMS);
	assert_int_equal(connlimit_auth(l, 8, LIM_IDENT_CONNS), CL_OK);
	assert_non_null(other = connlimit_budget_get(l, 8, LIM_CONTROLLER_IDENT_STREAMS));
	assert_ptr_not_equal(other, b[0]);
	assert_true(mux_budget_take(other));
	mux_budget_put(b[3]);                 /* a stream ends: room for one more */
	assert_true(mux_budget_take(b[5]));
	assert_false(mux_budget_take(b[5]));
	for (i = 0; i < LIM_IDENT_CONNS; i++)
		connlimit_gone(l, 7);
	/* connections gone, muxes not yet freed: 7 keeps its slot and budget */
	assert_int_equal(connlimit_auth(l, 9, LIM_IDENT_CONNS), CL_OK);
	assert_ptr_not_equal(connlimit_budget_get(l, 9, 4), b[0]);
	assert_int_equal(connlimit_auth(l, 7, LIM_IDENT_CONNS), CL_OK);
	assert_ptr_equal(connlimit_budget_get(l, 7, LIM_DEVICE_IDENT_STREAMS), b[0]);
	assert_false(mux_budget_take(b[0]));
	for (i = 0; i < LIM_DEVICE_IDENT_STREAMS; i++)
		mux_budget_put(b[0]);
	for (i = 0; i <= LIM_IDENT_CONNS; i++)
		connlimit_budget_put(l, 7);
	connlimit_gone(l, 7);
	assert_int_equal(connlimit_ident_count(l, 7), 0);
	assert_int_equal(connlimit_streams_refused(l),
			 LIM_IDENT_CONNS * LIM_DEVICE_STREAMS - LIM_DEVICE_IDENT_STREAMS + 2);
	free(l);
}

/* LIM_CONNS in all, across identities; then every identity is refused. */
static void test_conns(void **state)
{
	struct connlimit *l = fresh();
	int i;

	for (i = 0; i < LIM_CONNS; i++)
		assert_int_equal(connlimit_auth(l, 1000 + i / 2, LIM_IDENT_CONNS), CL_OK);
	assert_int_equal(connlimit_auth(l, 1, LIM_IDENT_CONNS), CL_CONNS);
	assert_int_equal(connlimit_auth(l, 1000, LIM_IDENT_CONNS), CL_CONNS);
	for (i = 0; i < LIM_CONNS; i++)
		connlimit_gone(l, 1000 + i / 2);
	assert_int_equal(l->st.authed, 0);
	assert_int_equal(connlimit_ident_count(l, 1000), 0);
	assert_int_equal(connlimit_auth(l, 1, LIM_IDENT_CONNS), CL_OK);
	free(l);
}

/* A refusal kind is logged once per LIM_LOG_EVERY_S, with the count since. */
static void test_log_due(void **state)
{
	struct connlimit *l = fresh();
	uint64_t since = 99;
	int i;

	for (i = 0; i < LIM_UNAUTH_PER_ADDR + 5; i++)
		(void)connlimit_enter(l, "10.1.1.1");
	assert_true(connlimit_log_due(l, CL_ADDR, 1000, &since));
	assert_int_equal(since, 5);
	(void)connlimit_enter(l, "10.1.1.1");
	assert_false(connlimit_log_due(l, CL_ADDR, 1000 + LIM_LOG_EVERY_S - 1, &since));
	assert_true(connlimit_log_due(l, CL_UNAUTH, 1001, &since));   /* its own clock */
	assert_int_equal(since, 0);
	(void)connlimit_enter(l, "10.1.1.1");
	assert_true(connlimit_log_due(l, CL_ADDR, 1000 + LIM_LOG_EVERY_S, &since));
	assert_int_equal(since, 2);
	assert_false(connlimit_log_due(l, CL_OK, 5000, &since));
	assert_false(connlimit_log_due(l, CL_NKINDS, 5000, &since));
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_key),
		cmocka_unit_test(test_per_addr),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_victim),
		cmocka_unit_test(test_ident),
		cmocka_unit_test(test_conns),
		cmocka_unit_test(test_stream_budget),
		cmocka_unit_test(test_log_due),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
