/* test_fnv.c — FNV-1a against the published test vectors (64- and 32-bit),
 * and the string, buffer and incremental forms agreeing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/fnv.h"

static void test_vectors(void **state)
{
	static const struct { const char *in; uint64_t h64; uint32_t h32; } cases[] = {
		{ "", 0xcbf29ce484222325ULL, 0x811c9dc5u },
		{ "a", 0xaf63dc4c8601ec8cULL, 0xe40c292cu },
		{ "b", 0xaf63df4c8601f1a5ULL, 0xe70c2de5u },
		{ "foobar", 0x85944171f73967e8ULL, 0xbf9cf968u },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].in;
		uint32_t h32 = FNV32_BASIS;

		assert_int_equal(fnv1a64(FNV64_BASIS, s, strlen(s)), cases[i].h64);
		assert_int_equal(fnv1a64_str(FNV64_BASIS, s), cases[i].h64);
		for (const char *p = s; *p; p++)
			h32 = fnv1a32_byte(h32, (uint8_t)*p);
		assert_int_equal(h32, cases[i].h32);
	}
}

static void test_incremental(void **state)
{
	static const char s[] = "/home/user/some/long/path.db";
	uint64_t whole = fnv1a64(FNV64_BASIS, s, sizeof(s) - 1);

	for (size_t cut = 0; cut < sizeof(s); cut++) {
		uint64_t h = fnv1a64(FNV64_BASIS, s, cut);

		assert_int_equal(fnv1a64(h, s + cut, sizeof(s) - 1 - cut), whole);
		assert_int_equal(fnv1a64_str(h, s + cut), whole);
	}
	/* bytes above 0x7f are hashed unsigned */
	assert_int_equal(fnv1a64_str(FNV64_BASIS, "\xff"), fnv1a64(FNV64_BASIS, "\xff", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_incremental),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
