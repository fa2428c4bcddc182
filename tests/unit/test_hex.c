/* test_hex.c — hex_encode: known vectors, every byte value, no write past
 * HEX_SIZE(n). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/hex.h"

static void test_vectors(void **state)
{
	static const struct { const char *in; size_t n; const char *want; } cases[] = {
		{ "", 0, "" },
		{ "\x00", 1, "00" },
		{ "\xff", 1, "ff" },
		{ "\x0f\xf0", 2, "0ff0" },
		{ "\x01\x23\x45\x67\x89\xab\xcd\xef", 8, "0123456789abcdef" },
		{ "vigil", 5, "766967696c" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[HEX_SIZE(16)];

		assert_ptr_equal(hex_encode(cases[i].in, cases[i].n, out), out);
		assert_string_equal(out, cases[i].want);
	}
}

static void test_every_byte(void **state)
{
	uint8_t b[256];
	char out[HEX_SIZE(256) + 1], want[3];

	for (int i = 0; i < 256; i++)
		b[i] = (uint8_t)i;
	out[HEX_SIZE(256)] = 'X';   /* canary just past the end */
	hex_encode(b, sizeof(b), out);
	assert_int_equal(strlen(out), 512);
	assert_int_equal(out[HEX_SIZE(256)], 'X');
	for (int i = 0; i < 256; i++) {
		snprintf(want, sizeof(want), "%02x", i);
		assert_memory_equal(out + 2 * i, want, 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_every_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
