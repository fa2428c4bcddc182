/* test_phone.c — phone number normalisation (CN, UK, US) and scanning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/search/phone.h"

static void
test_normalize(void **state)
{
	static const struct { int cc; const char *in, *key; } cases[] = {
		/* China, default 86 */
		{ 86, "+86 138-0013-8000", "8613800138000" },
		{ 86, "138 0013 8000", "8613800138000" },
		{ 86, "13800138000", "8613800138000" },
		{ 86, "+8613800138000", "8613800138000" },
		{ 86, "008613800138000", "8613800138000" },
		{ 86, "8613800138000", "8613800138000" },
		{ 86, "(+86) 138 0013 8000", "8613800138000" },
		{ 86, "010-12345678", "861012345678" },
		{ 86, "+44 7700 900123", "447700900123" },
		/* UK, default 44 */
		{ 44, "+44 7700 900123", "447700900123" },
		{ 44, "07700 900123", "447700900123" },
		{ 44, "07700900123", "447700900123" },
		{ 44, "+44 (0)7700 900123", "447700900123" },
		{ 44, "0044 7700 900123", "447700900123" },
		{ 44, "020 7946 0018", "442079460018" },
		{ 44, "+86 138 0013 8000", "8613800138000" },
		/* US, default 1 */
		{ 1, "(415) 555-2671", "14155552671" },
		{ 1, "415.555.2671", "14155552671" },
		{ 1, "1-415-555-2671", "14155552671" },
		{ 1, "+1 415 555 2671", "14155552671" },
		{ 1, "011 44 7700 900123", "447700900123" },
		/* not numbers */
		{ 86, "12345", NULL },
		{ 86, "+0123456789", NULL },
		{ 86, "1234567890123456789", NULL },
		{ 86, "138abc00138000", NULL },
		{ 86, "++8613800138000", NULL },
		{ 86, "", NULL },
		{ 86, "-------", NULL },
	};
	char key[PHONE_KEY_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = phone_normalize(cases[i].in, strlen(cases[i].in), cases[i].cc, key);
		if (cases[i].key == NULL && ok)
			fail_msg("\"%s\" (cc %d) is not a number, got %s", cases[i].in, cases[i].cc, key);
		if (cases[i].key != NULL && (!ok || strcmp(key, cases[i].key) != 0))
			fail_msg("\"%s\" (cc %d): got %s, want %s", cases[i].in, cases[i].cc,
				 ok ? key : "(none)", cases[i].key);
	}
}

struct found { char s[1024]; };

static int
add(void *arg, const char *key, size_t start, size_t end)
{
	struct found *f = arg;

	assert_true(start < end);
	assert_true(strlen(key) >= 8 && strlen(key) < PHONE_KEY_MAX);
	if (strlen(f->s) + strlen(key) + 2 > sizeof(f->s))
		return 0;
	snprintf(f->s + strlen(f->s), sizeof(f->s) - strlen(f->s), "%s ", key);
	return 0;
}

static void
test_scan(void **state)
{
	static const struct { int cc; const char *in, *want; } cases[] = {
		{ 86, "call +86 138-0013-8000 now", "8613800138000 " },
		{ 86, "TEL:13800138000\nTEL:13900139000", "8613800138000 8613900139000 " },
		{ 86, "list: 13800138000 13900139000", "8613800138000 8613900139000 " },
		{ 86, "张三13800138000", "8613800138000 " },
		{ 86, "id ABC13800138000 x", "" },
		{ 86, "13800138000abc", "" },
		{ 86, "year 2026 and 42", "" },
		{ 44, "ring 07700 900123, or +44 (0)20 7946 0018.", "447700900123 442079460018 " },
		{ 1, "Call (415) 555-2671 today", "14155552671 " },
		{ 86, "", "" },
		{ 86, "+", "" },
		{ 86, "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9", "" },
	};
	struct found f;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&f, 0, sizeof(f));
		assert_int_equal(phone_scan(cases[i].in, strlen(cases[i].in), cases[i].cc, add, &f), 0);
		if (strcmp(f.s, cases[i].want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].in, f.s, cases[i].want);
	}
}

static void
test_scan_junk(void **state)
{
	char buf[8192];
	struct found f;
	uint32_t r = 99;
	size_t i;
	int round;

	for (round = 0; round < 100; round++) {
		for (i = 0; i < sizeof(buf); i++) {
			r = r * 1103515245 + 12345;
			buf[i] = "0123456789 +-().x\n"[(r >> 16) % 18];
		}
		memset(&f, 0, sizeof(f));
		assert_int_equal(phone_scan(buf, sizeof(buf), round % 2 ? 44 : 86, add, &f), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_scan_junk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
