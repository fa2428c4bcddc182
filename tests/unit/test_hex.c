/* test_hex.c — hex_encode: known vectors, every byte value, no write past
 * HEX_SIZE(n); hex_decode: every byte back (either case), and what it
 * refuses. */
#include <errno.h>
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

static void test_decode(void **state)
{
	uint8_t b[256], back[256];
	char s[HEX_SIZE(256)];

	for (int i = 0; i < 256; i++)
		b[i] = (uint8_t)i;
	hex_encode(b, sizeof(b), s);
	assert_int_equal(hex_decode(s, 512, back, 256), 0);
	assert_memory_equal(back, b, 256);
	for (char *c = s; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	memset(back, 0, sizeof(back));
	assert_int_equal(hex_decode(s, 512, back, 256), 0);
	assert_memory_equal(back, b, 256);
	assert_int_equal(hex_decode("", 0, back, 0), 0);
}

/* Odd lengths, a length that is not 2n, and anything but a hex digit
 * (signs, spaces, "0x", a NUL inside) are refused. */
static void test_decode_refused(void **state)
{
	static const struct { const char *s; size_t len, n; } bad[] = {
		{ "0", 1, 0 }, { "000", 3, 1 }, { "0g", 2, 1 }, { "g0", 2, 1 }, { " 0", 2, 1 },
		{ "0 ", 2, 1 }, { "-1", 2, 1 }, { "+1", 2, 1 }, { "0x", 2, 1 }, { "0x00", 4, 2 },
		{ "0\0" "0", 3, 1 }, { "00\0" "0", 4, 2 }, { "0011", 4, 1 }, { "00", 2, 2 },
	};
	uint8_t out[4];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hex_decode(bad[i].s, bad[i].len, out, bad[i].n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
