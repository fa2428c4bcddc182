/* test_pdu.c — fuse/pdu.c and fuse/smsjoin.c: known PDUs (pdu_vectors.h)
 * decoded field by field; every truncation, over-long lengths and broken
 * headers rejected without a read past the given length; concatenated
 * parts joined, with a missing part marked and counted, duplicates
 * ignored, messages ordered and bounded, text cut between characters. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fuse/pdu.h"
#include "tests/unit/pdu_vectors.h"

#define NVEC (sizeof(pdu_good) / sizeof(pdu_good[0]))
#define CLASSIC pdu_good[0].hex

/* Decodes exactly n bytes of hex from a buffer of that size (no NUL), so
 * ASan sees any read past the length given. */
static int decode_n(const char *hex, size_t n, unsigned index, struct sms_part *out)
{
	char *copy = malloc(n ? n : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, hex, n);
	rc = pdu_decode(copy, n, index, SMS_READ, out);
	free(copy);
	return rc;
}

static int decode(const char *hex, unsigned index, struct sms_part *out)
{
	return decode_n(hex, strlen(hex), index, out);
}

/* The part decoded from v, field by field; names the vector on failure. */
static void check_vec(const struct pdu_vec *v, const struct sms_part *p, unsigned index)
{
	if (p->index != index || p->status != SMS_READ || strcmp(p->peer, v->peer) != 0 ||
	    strcmp(p->text, v->text) != 0)
		fail_msg("%s: index %u status %d peer '%s' text '%s'", v->name, p->index,
			 (int)p->status, p->peer, p->text);
	if (p->time_s != v->time_s || p->tz_minutes != v->tz_minutes)
		fail_msg("%s: time %lld zone %d, want %lld %d", v->name, (long long)p->time_s,
			 p->tz_minutes, (long long)v->time_s, v->tz_minutes);
	if (p->concat != v->concat || p->ref != v->ref || p->total != v->total ||
	    p->seq != v->seq)
		fail_msg("%s: concat %d ref %u total %u seq %u", v->name, p->concat, p->ref,
			 p->total, p->seq);
}

static void test_vectors(void **state)
{
	for (size_t i = 0; i < NVEC; i++) {
		struct sms_part p;

		if (decode(pdu_good[i].hex, 40 + (unsigned)i, &p) != 0)
			fail_msg("%s: refused", pdu_good[i].name);
		check_vec(&pdu_good[i], &p, 40 + (unsigned)i);
	}
}

/* Every prefix of every good PDU is refused, and leaves only the
 * caller's index and status in out. */
static void test_truncated(void **state)
{
	for (size_t i = 0; i < NVEC; i++) {
		size_t len = strlen(pdu_good[i].hex);

		for (size_t n = 0; n < len; n++) {
			struct sms_part p;

			memset(&p, 0x5a, sizeof(p));
			assert_int_equal(decode_n(pdu_good[i].hex, n, 7, &p), -EINVAL);
			assert_int_equal(p.index, 7);
			assert_int_equal(p.peer[0], '\0');
			assert_int_equal(p.text[0], '\0');
			assert_false(p.concat);
		}
	}
}

/* Hand-broken PDUs: one field wrong in an otherwise good PDU (the
 * classic's SMSC, sender and stamp; fo and dcs chosen). */
#define HDR(fo, dcs) "07911326040000F0" fo "0B911346610089F600" dcs "20806291731408"
#define CLASSIC_UD "0CC8F71D14969741F977FD07"

static void test_bad(void **state)
{
	static const struct { const char *why, *hex; } bad[] = {
		{ "empty", "" },
		{ "odd length", HDR("04", "00") "0CC8F71D14969741F977FD0" },
		{ "non-hex", HDR("04", "00") "0CC8F71D14969741F977FDZ7" },
		{ "UDL one septet over", HDR("04", "00") "0DC8F71D14969741F977FD07" },
		{ "UDL 255", HDR("04", "00") "FFC8F71D14969741F977FD07" },
		{ "UCS2 UDL over", HDR("04", "08") "04" "0041" },
		{ "UCS2 UDL 141", HDR("04", "08") "8D" "0041" },
		{ "SMSC length 13", "0D911326040000F0" "04" "0B911346610089F6000020806291731408" CLASSIC_UD },
		{ "SMSC past the end", "0C911326" },
		{ "address 21 digits", "07911326040000F0" "0415911346610089F6000020806291731408" CLASSIC_UD },
		{ "address past the end", "07911326040000F0040B9113" },
		{ "status report", HDR("06", "00") CLASSIC_UD },
		{ "reserved MTI", HDR("07", "00") CLASSIC_UD },
		{ "UDHI, no UD", HDR("44", "00") "00" },
		{ "UDHL past UD", HDR("44", "08") "03" "050003" },
		{ "IE past UDHL", HDR("44", "08") "06" "040003010241" },
		{ "IE length past UDHL", HDR("44", "08") "03" "020003" "41" },
		{ "IE header cut", HDR("44", "08") "02" "0100" },
		{ "7-bit header over UDL", HDR("44", "00") "01" "00" },
		{ "submit without VP room", "0011000B911346610089F60000" },
		{ "submit absolute VP cut", "0019000B911346610089F60000" "2080629173" },
	};
	struct sms_part p;

	assert_int_equal(decode(HDR("04", "00") CLASSIC_UD, 1, &p), 0);  /* the base is good */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (decode(bad[i].hex, 1, &p) != -EINVAL)
			fail_msg("%s: not refused", bad[i].why);
}

/* Longest user data: 160 septets in 140 octets (one septet more is
 * refused), bytes after the user data are ignored, and a hex string
 * longer than any PDU is refused before it is read. */
static void test_limits(void **state)
{
	char hex[1200], want[161];
	struct sms_part p;
	size_t n;

	/* the classic with UDL 160 and its 11 octets padded to 140 with zeros */
	n = (size_t)snprintf(hex, sizeof(hex), "%.*sA0%s", 52, CLASSIC, CLASSIC + 54);
	while (n < 54 + 280)
		hex[n++] = '0';
	hex[n] = '\0';
	assert_int_equal(decode(hex, 1, &p), 0);
	memset(want, '@', 160);     /* septet 0 past the text is '@' */
	memcpy(want, "How are you?", 12);
	want[160] = '\0';
	assert_string_equal(p.text, want);
	hex[52] = 'A';
	hex[53] = '1';
	assert_int_equal(decode(hex, 1, &p), -EINVAL);

	n = (size_t)snprintf(hex, sizeof(hex), "%s0000FF", CLASSIC);
	assert_int_equal(decode(hex, 1, &p), 0);
	assert_string_equal(p.text, "How are you?");

	memset(hex, '0', sizeof(hex) - 2);
	hex[sizeof(hex) - 2] = '\0';
	assert_int_equal(decode(hex, 1, &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
