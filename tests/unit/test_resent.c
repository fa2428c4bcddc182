/* test_resent.c — bytes_resent's bookkeeping (daemon/resent.c): which body
 * bytes of an upload's attempt an earlier attempt had already sent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "daemon/resent.h"

static void id_of(uint8_t id[16], int n)
{
	memset(id, 0, 16);
	id[0] = (uint8_t)n;
	id[15] = 0xa5;
}

/* One upload's attempts, in order: what each sends, what it re-sends. */
static void test_attempts(void **state)
{
	static const struct {
		uint64_t from, to;
		bool done;
		uint64_t again;
	} t[] = {
		{ 0, 1000, false, 0 },       /* first attempt, cut */
		{ 1000, 3000, false, 0 },    /* resumed where it was cut: nothing again */
		{ 2500, 4000, false, 500 },  /* resumed behind what was sent (in flight) */
		{ 0, 4000, false, 4000 },    /* started over: all of it again */
		{ 0, 6000, true, 4000 },     /* started over and stored */
		{ 0, 6000, false, 0 },       /* stored: forgotten, a new upload */
		{ 6000, 6000, false, 0 },    /* nothing sent */
	};
	struct resent r;
	uint8_t id[16];

	resent_init(&r);
	id_of(id, 1);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(resent_note(&r, id, t[i].from, t[i].to, t[i].done), t[i].again);
	resent_destroy(&r);
}

/* Uploads are told apart by id; past RESENT_SLOTS the least recently
 * noted is forgotten (it counts as new), a recent one is kept. */
static void test_slots(void **state)
{
	struct resent r;
	uint8_t id[16];

	resent_init(&r);
	for (int i = 0; i < RESENT_SLOTS; i++) {
		id_of(id, i);
		assert_int_equal(resent_note(&r, id, 0, 100, false), 0);
	}
	id_of(id, 0);
	assert_int_equal(resent_note(&r, id, 0, 100, false), 100);   /* now the most recent */
	id_of(id, 200);
	assert_int_equal(resent_note(&r, id, 0, 100, false), 0);     /* takes slot of id 1 */
	id_of(id, 1);
	assert_int_equal(resent_note(&r, id, 0, 100, false), 0);     /* forgotten */
	id_of(id, 0);
	assert_int_equal(resent_note(&r, id, 50, 100, false), 50);   /* kept */
	id_of(id, 77);
	assert_int_equal(resent_note(&r, id, 0, 0, true), 0);        /* unknown and done: no slot */
	resent_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attempts),
		cmocka_unit_test(test_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
