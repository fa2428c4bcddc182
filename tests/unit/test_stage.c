/* test_stage.c — the block buffer: whatever the sizes of the puts, the sink
 * receives the same bytes in order, in full blocks of the buffer's size and
 * one short block at flush; a sink error comes back and nothing is lost. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/stage.h"

struct sink { uint8_t got[4096]; size_t len; int calls, short_calls, fail; size_t cap; };

static int to_sink(void *arg, const void *p, size_t n)
{
	struct sink *k = arg;

	if (k->fail) {
		k->fail--;
		return -ENOSPC;
	}
	assert_true(k->len + n <= sizeof(k->got));
	memcpy(k->got + k->len, p, n);
	k->len += n;
	k->calls++;
	if (n != k->cap)
		k->short_calls++;
	return 0;
}

static void test_blocks(void **state)
{
	static const size_t pieces[] = { 1, 3, 64, 100, 1000 };
	uint8_t in[1000], buf[64];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 31 + 7);
	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		struct sink s = { .cap = sizeof(buf) };
		struct stage st = { .buf = buf, .cap = sizeof(buf), .sink = to_sink, .arg = &s };

		for (size_t off = 0; off < sizeof(in); off += pieces[k]) {
			size_t n = sizeof(in) - off < pieces[k] ? sizeof(in) - off : pieces[k];

			assert_int_equal(stage_put(&st, in + off, n), 0);
		}
		assert_int_equal(s.len, 1000 / 64 * 64);   /* only full blocks so far */
		assert_int_equal(s.short_calls, 0);
		assert_int_equal(stage_flush(&st), 0);
		assert_int_equal(stage_flush(&st), 0);     /* nothing left: no call */
		assert_int_equal(s.len, sizeof(in));
		assert_memory_equal(s.got, in, sizeof(in));
		assert_int_equal(s.calls, 1000 / 64 + 1);
		assert_int_equal(s.short_calls, 1);
	}
}

static void test_sink_error(void **state)
{
	uint8_t in[100], buf[16];
	struct sink s = { .cap = sizeof(buf), .fail = 1 };
	struct stage st = { .buf = buf, .cap = sizeof(buf), .sink = to_sink, .arg = &s };

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	assert_int_equal(stage_put(&st, in, 20), -ENOSPC);   /* the first block fails */
	assert_int_equal(s.len, 0);
	assert_int_equal(stage_flush(&st), 0);              /* the gathered block goes now */
	assert_int_equal(s.len, 16);
	assert_memory_equal(s.got, in, 16);
	s.fail = 1;
	assert_int_equal(stage_put(&st, in + 16, 3), 0);
	assert_int_equal(stage_flush(&st), -ENOSPC);
	assert_int_equal(stage_flush(&st), 0);
	assert_int_equal(s.len, 19);
	assert_memory_equal(s.got, in, 19);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_sink_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
