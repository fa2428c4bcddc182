/* test_ucs2.c — fuse/ucs2.c: UCS2 hex and raw big-endian UTF-16 to UTF-8.
 * Known names (CJK, emoji as surrogate pairs), broken surrogates and NUL
 * replaced, hostile hex rejected before anything is written, and output
 * cut only between characters at every buffer size. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fuse/ucs2.h"

#define FFFD "\xef\xbf\xbd"

static const struct { const char *hex, *want; } good[] = {
	{ "", "" },
	{ "0041", "A" },
	{ "5F204E09", "张三" },
	{ "5f204e09", "张三" },                       /* lowercase digits */
	{ "D83DDE00", "😀" },
	{ "0061D83DDE000062", "a😀b" },
	{ "005A006F00EB", "Zoë" },
	{ "20AC", "€" },
	{ "00E9", "\xc3\xa9" },
	{ "07FF0800", "\xdf\xbf\xe0\xa0\x80" },       /* 2/3-byte boundary */
	{ "DBFFDFFF", "\xf4\x8f\xbf\xbf" },           /* U+10FFFF */
	{ "D800DC00", "\xf0\x90\x80\x80" },           /* U+10000 */
	{ "FFFF", "\xef\xbf\xbf" },
	{ "D83D", FFFD },                             /* lone high at the end */
	{ "DE00", FFFD },                             /* lone low */
	{ "DE00D83D", FFFD FFFD },                    /* reversed pair */
	{ "D83D0041", FFFD "A" },                     /* high then a plain unit */
	{ "D83DD83DDE00", FFFD "😀" },                /* high, then a whole pair */
	{ "0000", FFFD },
	{ "00410000", "A" FFFD },
};

static void test_hex_vectors(void **state)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char out[64];
		int n = ucs2_hex_to_utf8(good[i].hex, strlen(good[i].hex), out, sizeof(out));

		assert_int_equal(n, strlen(good[i].want));
		assert_string_equal(out, good[i].want);
	}
}

static int unhex(const char *hex, uint8_t *b)
{
	size_t i, n = strlen(hex) / 2;
	unsigned v;

	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		b[i] = (uint8_t)v;
	}
	return (int)n;
}

/* The raw form gives the same text for the same code units. */
static void test_be_vectors(void **state)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint8_t b[32];
		char out[64];
		int n = unhex(good[i].hex, b);

		assert_int_equal(ucs2_to_utf8(b, (size_t)n, out, sizeof(out)),
				 strlen(good[i].want));
		assert_string_equal(out, good[i].want);
	}
}

static void test_bad_input(void **state)
{
	static const char *bad[] = { "0", "00", "004", "00410", "004G", "00 41", "0x41",
				     "+041", "0041\n", "5F20-E09" };
	char out[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(out, "untouched", 10);
		assert_int_equal(ucs2_hex_to_utf8(bad[i], strlen(bad[i]), out, sizeof(out)),
				 -EINVAL);
		assert_string_equal(out, "untouched");
	}
	/* a NUL inside the given length is not a digit; hexlen bounds the read */
	assert_int_equal(ucs2_hex_to_utf8("00\0" "1", 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(ucs2_hex_to_utf8("0041zzzz", 4, out, sizeof(out)), 1);
	assert_string_equal(out, "A");
	assert_int_equal(ucs2_to_utf8((const uint8_t *)"\x00\x41\x00", 3, out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(ucs2_hex_to_utf8("0041", 4, out, 0), -EINVAL);
}

/* Every output size: NUL-terminated, a prefix of the whole text that ends
 * between characters, and nothing written past outlen. */
static void test_cut_at_boundary(void **state)
{
	static const char *hex = "0041" "5F204E09" "D83DDE00" "00E9" "20AC" "0042";
	static const size_t ends[] = { 0, 1, 4, 7, 11, 13, 16, 17 };  /* char ends */
	const char *whole = "A张三😀\xc3\xa9€B";

	for (size_t outlen = 1; outlen <= 20; outlen++) {
		char out[24];
		size_t want = 0;
		int n;

		memset(out, 'X', sizeof(out));
		for (size_t k = 0; k < sizeof(ends) / sizeof(ends[0]); k++)
			if (ends[k] < outlen)
				want = ends[k];
		n = ucs2_hex_to_utf8(hex, strlen(hex), out, outlen);
		assert_int_equal(n, want);
		assert_int_equal(out[want], '\0');
		assert_memory_equal(out, whole, want);
		for (size_t k = outlen; k < sizeof(out); k++)
			assert_int_equal(out[k], 'X');
	}
}

static void test_utf8_put(void **state)
{
	static const struct { uint32_t cp; const char *want; } cases[] = {
		{ 0x24, "$" }, { 0xa3, "\xc2\xa3" }, { 0x20ac, "\xe2\x82\xac" },
		{ 0x1f600, "\xf0\x9f\x98\x80" }, { 0xd800, FFFD }, { 0x110000, FFFD },
	};
	char out[8];
	size_t len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = 0;
		assert_int_equal(utf8_put(out, sizeof(out), &len, cases[i].cp), 0);
		assert_int_equal(len, strlen(cases[i].want));
		assert_string_equal(out, cases[i].want);
	}
	/* "ab" + 3 bytes needs 6 with the NUL: 5 is too small, nothing written */
	memcpy(out, "ab\0XXXXX", 8);
	len = 2;
	assert_int_equal(utf8_put(out, 5, &len, 0x20ac), -ENOSPC);
	assert_int_equal(len, 2);
	assert_memory_equal(out, "ab\0XXXXX", 8);
	assert_int_equal(utf8_put(out, 6, &len, 0x20ac), 0);
	assert_int_equal(len, 5);
	assert_string_equal(out, "ab\xe2\x82\xac");
	len = 0;
	assert_int_equal(utf8_put(out, 0, &len, 'a'), -ENOSPC);
	len = 9;
	assert_int_equal(utf8_put(out, 8, &len, 'a'), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_vectors),
		cmocka_unit_test(test_be_vectors),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_cut_at_boundary),
		cmocka_unit_test(test_utf8_put),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
