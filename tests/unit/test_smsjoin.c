/* test_smsjoin.c — fuse/smsjoin.c over parts decoded from real PDUs
 * (pdu_vectors.h): a 3-part message (8-bit reference) and a 2-part one
 * (16-bit reference) joined in seq order whatever the storage order; a
 * missing part marked "[…]" and counted; a duplicate ignored; messages
 * ordered by their first part's index and bounded by max; text cut at
 * SIM_SMS_TEXT_MAX between characters. */
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

#define MISSING "[\xe2\x80\xa6]"

/* Storage layout of the test SIM: index -> PDU. */
struct slot {
	unsigned index;
	const char *hex;
};

static struct sms_part parts[16];
static struct sim_sms msgs[8];

static size_t load(const struct slot *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pdu_decode(s[i].hex, strlen(s[i].hex), s[i].index, SMS_READ,
					    &parts[i]), 0);
	return n;
}

static const char *part_text(const char *hex)
{
	static struct sms_part p;

	assert_int_equal(pdu_decode(hex, strlen(hex), 0, SMS_READ, &p), 0);
	return p.text;
}

static void test_join_whole(void **state)
{
	static const struct slot sim[] = {
		{ 9, long8[1] }, { 2, long16[1] }, { 1, pdu_good[0].hex }, { 5, long8[2] },
		{ 8, long16[0] }, { 6, pdu_good[1].hex }, { 3, long8[0] },
	};
	size_t n = load(sim, sizeof(sim) / sizeof(sim[0]));

	assert_int_equal(sms_join(parts, n, msgs, 8), 4);
	assert_int_equal(msgs[0].index, 1);
	assert_string_equal(msgs[0].text, "How are you?");
	assert_string_equal(msgs[0].peer, "+31641600986");
	assert_int_equal(msgs[0].time_s, 1030390661);
	assert_int_equal(msgs[0].parts, 1);
	assert_int_equal(msgs[1].index, 3);
	assert_string_equal(msgs[1].text, LONG8_TEXT);
	assert_string_equal(msgs[1].peer, "+8613800138000");
	assert_int_equal(msgs[1].time_s, 1765000000);
	assert_int_equal(msgs[1].parts, 3);
	assert_int_equal(msgs[1].parts_missing, 0);
	assert_int_equal(msgs[2].index, 6);
	assert_string_equal(msgs[2].text, pdu_good[1].text);
	assert_int_equal(msgs[2].tz_minutes, 480);
	/* its first part (seq 1) is at 8, though seq 2 is stored at 2 */
	assert_int_equal(msgs[3].index, 8);
	assert_string_equal(msgs[3].text, LONG16_TEXT);
	assert_int_equal(msgs[3].parts, 2);
	assert_int_equal(msgs[3].time_s, 1765000060);
}

static void test_join_missing(void **state)
{
	static const struct slot sim[] = {
		{ 4, long8[2] }, { 3, long8[0] }, { 7, long16[1] },
	};
	size_t n = load(sim, sizeof(sim) / sizeof(sim[0]));
	char want[SIM_SMS_TEXT_MAX];

	assert_int_equal(sms_join(parts, n, msgs, 8), 2);
	snprintf(want, sizeof(want), "%s" MISSING, part_text(long8[0]));
	snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s", part_text(long8[2]));
	assert_int_equal(msgs[0].index, 3);
	assert_string_equal(msgs[0].text, want);
	assert_int_equal(msgs[0].parts, 2);
	assert_int_equal(msgs[0].parts_missing, 1);
	/* the first part missing: the message starts at seq 2's index */
	snprintf(want, sizeof(want), MISSING "%s", part_text(long16[1]));
	assert_int_equal(msgs[1].index, 7);
	assert_string_equal(msgs[1].text, want);
	assert_int_equal(msgs[1].parts, 1);
	assert_int_equal(msgs[1].parts_missing, 1);
}

/* A part stored twice counts once; the same reference from another peer
 * is another message. */
static void test_join_duplicate_and_peer(void **state)
{
	static const struct slot sim[] = {
		{ 10, long8[1] }, { 3, long8[0] }, { 4, long8[1] }, { 5, long8[2] }, { 6, long8[0] },
	};
	size_t n = load(sim, sizeof(sim) / sizeof(sim[0]));

	assert_int_equal(sms_join(parts, n, msgs, 8), 1);
	assert_string_equal(msgs[0].text, LONG8_TEXT);
	assert_int_equal(msgs[0].index, 3);
	assert_int_equal(msgs[0].parts, 3);
	assert_int_equal(msgs[0].parts_missing, 0);

	n = load(sim, sizeof(sim) / sizeof(sim[0]));
	snprintf(parts[2].peer, sizeof(parts[2].peer), "+8613800138001");
	assert_int_equal(sms_join(parts, n, msgs, 8), 2);
	assert_int_equal(msgs[0].index, 3);
	assert_int_equal(msgs[0].parts, 3);
	assert_int_equal(msgs[1].index, 4);
	assert_string_equal(msgs[1].peer, "+8613800138001");
	assert_int_equal(msgs[1].parts, 1);
	assert_int_equal(msgs[1].parts_missing, 2);
}

static void test_join_max(void **state)
{
	static const struct slot sim[] = {
		{ 30, pdu_good[3].hex }, { 10, pdu_good[2].hex }, { 20, pdu_good[0].hex },
		{ 10, pdu_good[1].hex },
	};
	size_t n = load(sim, sizeof(sim) / sizeof(sim[0]));

	assert_int_equal(sms_join(parts, n, msgs, 0), 0);
	n = load(sim, sizeof(sim) / sizeof(sim[0]));
	assert_int_equal(sms_join(parts, n, msgs, 3), 3);
	assert_int_equal(msgs[0].index, 10);
	assert_int_equal(msgs[1].index, 10);   /* a duplicate index: still two messages */
	assert_int_equal(msgs[2].index, 20);
	assert_string_not_equal(msgs[0].text, msgs[1].text);
	assert_int_equal(sms_join(parts, 0, msgs, 3), 0);
}

/* 12 parts of 1000 bytes (333 euro signs and an 'x') overflow the 8192
 * bytes of a message: the text stops after a whole character. */
static void test_join_truncates(void **state)
{
	char piece[1001];
	size_t i, len;

	for (i = 0; i < 333; i++)
		memcpy(piece + 3 * i, "\xe2\x82\xac", 3);
	piece[999] = 'x';
	piece[1000] = '\0';
	memset(parts, 0, sizeof(parts));
	for (i = 0; i < 12; i++) {
		parts[i] = (struct sms_part){ .index = (unsigned)i, .concat = true, .ref = 1,
					      .total = 12, .seq = 12 - (unsigned)i };
		snprintf(parts[i].text, sizeof(parts[i].text), "%s", piece);
	}
	assert_int_equal(sms_join(parts, 12, msgs, 1), 1);
	len = strlen(msgs[0].text);
	assert_true(len < SIM_SMS_TEXT_MAX);
	assert_true(len > SIM_SMS_TEXT_MAX - 4);
	/* 8 whole parts are 8000 bytes, then 63 euro signs fit in 191 bytes */
	assert_int_equal(len, 8000 + 63 * 3);
	assert_memory_equal(msgs[0].text + 8000, piece, 63 * 3);
	assert_int_equal(msgs[0].parts, 12);
	assert_int_equal(msgs[0].index, 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_whole),
		cmocka_unit_test(test_join_missing),
		cmocka_unit_test(test_join_duplicate_and_peer),
		cmocka_unit_test(test_join_max),
		cmocka_unit_test(test_join_truncates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
