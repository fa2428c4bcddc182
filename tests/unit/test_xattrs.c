/* test_xattrs.c — common/xattrs.c: round trips, capacity limits, and
 * hostile lists (every truncation, lengths past the end, oversized
 * counts, empty names, names with NUL). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/proto.h"
#include "common/xattrs.h"

struct xa { const char *name; size_t nlen; const char *value; size_t vlen; };

static const struct xa sample[] = {
	{ "security.selinux", 16, "system_u:object_r:x:s0", 22 },
	{ "user.color", 10, "blue", 4 },
	{ "user.empty", 10, "", 0 },
	{ "user.bin", 8, "\0\1\2\0", 4 },
};
#define NSAMPLE (sizeof(sample) / sizeof(sample[0]))

static uint32_t encode(uint8_t *out, size_t cap)
{
	uint32_t len = 0;

	for (size_t i = 0; i < NSAMPLE; i++)
		assert_int_equal(xattr_append(out, cap, &len, sample[i].name, sample[i].nlen,
					      sample[i].value, sample[i].vlen), 0);
	return len;
}

static void test_roundtrip(void **state)
{
	static uint8_t buf[VG_XATTR_MAX];
	uint32_t len = encode(buf, sizeof(buf));
	size_t pos = 0, nl, vl, i = 0, total = 0;
	const char *n;
	const uint8_t *v;

	for (i = 0; i < NSAMPLE; i++)
		total += xattr_size(sample[i].nlen, sample[i].vlen);
	assert_int_equal(len, total);
	/* the layout is wire.h's: u32 BE length, bytes */
	assert_memory_equal(buf, "\0\0\0\x10security.selinux\0\0\0\x16", 24);
	for (i = 0; xattr_next(buf, len, &pos, &n, &nl, &v, &vl) == 1; i++) {
		assert_true(i < NSAMPLE);
		assert_int_equal(nl, sample[i].nlen);
		assert_memory_equal(n, sample[i].name, nl);
		assert_int_equal(vl, sample[i].vlen);
		if (vl)
			assert_memory_equal(v, sample[i].value, vl);
	}
	assert_int_equal(i, NSAMPLE);
	assert_int_equal(pos, len);
	assert_int_equal(xattr_check(buf, len), 0);
	assert_int_equal(xattr_check(buf, 0), 0);
	assert_int_equal(xattr_check(NULL, 0), 0);
}

static void test_append_limits(void **state)
{
	static uint8_t buf[VG_XATTR_MAX];
	static char big[VG_XATTR_MAX + 1];
	char name[XATTR_NAME_LEN + 2];
	uint32_t len = 0;
	size_t exact;

	memset(name, 'a', sizeof(name));
	assert_int_equal(xattr_append(buf, sizeof(buf), &len, "", 0, "x", 1), -EINVAL);
	assert_int_equal(xattr_append(buf, sizeof(buf), &len, "a\0b", 3, "x", 1), -EINVAL);
	assert_int_equal(xattr_append(buf, sizeof(buf), &len, name, XATTR_NAME_LEN + 1, "x", 1),
			 -EINVAL);
	assert_int_equal(xattr_append(buf, sizeof(buf), &len, name, XATTR_NAME_LEN, "x", 1), 0);
	assert_int_equal(len, xattr_size(XATTR_NAME_LEN, 1));
	/* a value that would overflow the cap is refused, nothing written */
	assert_int_equal(xattr_append(buf, sizeof(buf), &len, "user.big", 8, big, sizeof(big)),
			 -E2BIG);
	assert_int_equal(len, xattr_size(XATTR_NAME_LEN, 1));
	/* exactly filling the cap works, one more byte does not */
	exact = sizeof(buf) - len - xattr_size(8, 0);
	assert_int_equal(xattr_append(buf, sizeof(buf), &len, "user.big", 8, big, exact + 1),
			 -E2BIG);
	assert_int_equal(xattr_append(buf, sizeof(buf), &len, "user.big", 8, big, exact), 0);
	assert_int_equal(len, sizeof(buf));
	assert_int_equal(xattr_append(buf, sizeof(buf), &len, "u", 1, "", 0), -E2BIG);
	assert_int_equal(xattr_check(buf, len), 0);
	/* sizes in a sweep of caps: each append fits or leaves len alone */
	static const size_t caps[] = { 0, 1, 2, 3, 7, 100, 10000 };
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		uint32_t l = 0;
		int r;

		while ((r = xattr_append(buf, caps[c], &l, "user.k", 6, "vv", 2)) == 0)
			assert_true(l <= caps[c]);
		assert_int_equal(r, -E2BIG);
		assert_int_equal(l, (caps[c] / xattr_size(6, 2)) * xattr_size(6, 2));
		assert_int_equal(xattr_check(buf, l), 0);
	}
}

static void test_truncations(void **state)
{
	static uint8_t buf[VG_XATTR_MAX];
	uint32_t len = encode(buf, sizeof(buf));
	size_t bounds[NSAMPLE + 1], nb = 0, pos = 0, nl, vl;
	const char *n;
	const uint8_t *v;

	bounds[nb++] = 0;
	while (xattr_next(buf, len, &pos, &n, &nl, &v, &vl) == 1)
		bounds[nb++] = pos;
	/* every prefix that does not end on an item boundary is malformed */
	for (size_t cut = 0; cut <= len; cut++) {
		bool boundary = false;

		for (size_t i = 0; i < nb; i++)
			boundary |= bounds[i] == cut;
		assert_int_equal(xattr_check(buf, cut), boundary ? 0 : -EBADMSG);
	}
}

static void test_hostile(void **state)
{
	static const struct { const char *what; const char *p; size_t len; } bad[] = {
		{ "name length past the end", "\0\0\0\x05user", 8 },
		{ "huge name length", "\xff\xff\xff\xff" "abc", 7 },
		{ "huge value length", "\0\0\0\x01" "a" "\xff\xff\xff\xf0" "x", 10 },
		{ "value length one past", "\0\0\0\x01" "a" "\0\0\0\x02" "x", 10 },
		{ "empty name", "\0\0\0\0" "\0\0\0\0", 8 },
		{ "name with NUL", "\0\0\0\x03" "a\0b" "\0\0\0\0", 11 },
		{ "missing value length", "\0\0\0\x01" "a", 5 },
		{ "short length", "\0\0\0", 3 },
		{ "trailing byte", "\0\0\0\x01" "a" "\0\0\0\0" "z", 10 },
	};
	static uint8_t longname[4 + 256 + 4];
	const char *n;
	const uint8_t *v;
	size_t pos, nl, vl;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = xattr_check((const uint8_t *)bad[i].p, bad[i].len);

		if (r != -EBADMSG)
			fail_msg("%s: accepted", bad[i].what);
	}
	/* a name longer than XATTR_NAME_LEN */
	longname[2] = 1;   /* 256 */
	memset(longname + 4, 'a', 256);
	assert_int_equal(xattr_check(longname, sizeof(longname)), -EBADMSG);
	/* the iterator gives the good items before the bad one, then stops */
	pos = 0;
	assert_int_equal(xattr_next((const uint8_t *)bad[8].p, bad[8].len, &pos, &n, &nl, &v, &vl), 1);
	assert_int_equal(nl, 1);
	assert_int_equal(vl, 0);
	assert_int_equal(pos, 9);
	assert_int_equal(xattr_next((const uint8_t *)bad[8].p, bad[8].len, &pos, &n, &nl, &v, &vl),
			 -EBADMSG);
	assert_int_equal(pos, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_append_limits),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
