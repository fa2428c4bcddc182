/* test_simdoc.c — the sim/ documents byte for byte: vCard escaping and
 * folding (CJK, emoji, empty and hostile names, numbers of both types),
 * identity and SMS files, stability, and vigil's own vCard extractor
 * reading back what simdoc writes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "fuse/simdoc.h"
#include "server/search/extract.h"

#define A10 "aaaaaaaaaa"
#define B10 "bbbbbbbbbb"
#define A70 A10 A10 A10 A10 A10 A10 A10
#define A71 A70 "a"
#define B69 B10 B10 B10 B10 B10 B10 "bbbbbbbbb"
/* 71 + 3 + 69 + 4 + 3 bytes: after "FN:" a naive cut at 75 octets would
 * split 张 (3 bytes), and after the first fold one would split 😀 (4). */
#define LONG_NAME A71 "张" B69 "😀end"
#define LONG_FOLDED A71 "\r\n 张" B69 "\r\n 😀end"

#define CARD(fn, n, tel, idx) "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:" fn "\r\nN:" n ";;;;\r\n" \
	tel "X-SIM-INDEX:" idx "\r\nEND:VCARD\r\n"
#define TEL(x) "TEL;TYPE=CELL:" x "\r\n"

struct card_case {
	struct sim_contact c;
	const char *want;
};

static const struct card_case cards[] = {
	{ { 1, "张三", "+8613800138000", 145 },
	  CARD("张三", "张三", TEL("+8613800138000"), "1") },
	{ { 2, "😀 Joy", "13800138000", 129 },
	  CARD("😀 Joy", "😀 Joy", TEL("13800138000"), "2") },
	{ { 3, "", "10086", 129 }, CARD("10086", "", TEL("10086"), "3") },
	{ { 4, "", "", 129 }, CARD("SIM 4", "", "", "4") },
	{ { 5, "Smith, John; \\x\nnext\r\nthird\rfourth", "+15550100", 145 },
	  CARD("Smith\\, John\\; \\\\x\\nnext\\nthird\\nfourth",
	       "Smith\\, John\\; \\\\x\\nnext\\nthird\\nfourth", TEL("+15550100"), "5") },
	{ { 6, "Intl", "8613800138000", 145 }, CARD("Intl", "Intl", TEL("+8613800138000"), "6") },
	{ { 7, "A\x01" "B\x7f" "C\tD\xc2\x85", "112", 129 }, CARD("ABCD", "ABCD", TEL("112"), "7") },
	{ { 8, "\x01\r\n \x02", "999", 129 }, CARD("999", "", TEL("999"), "8") },
	{ { 9, "a\xff" "b\xe5\xbc", "1", 129 },
	  CARD("a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd", "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd",
	       TEL("1"), "9") },
	{ { 10, LONG_NAME, "+85212345678", 145 },
	  CARD(LONG_FOLDED, A71 "\r\n 张" B69 "\r\n 😀end", TEL("+85212345678"), "10") },
	{ { 4294967295u, "", "", 0 }, CARD("SIM 4294967295", "", "", "4294967295") },
};

/* Physical lines end in CRLF, hold <= 75 octets, continuations start with
 * a space; returns the unfolded text (malloc'd). */
static char *unfold_checked(const char *s, size_t n)
{
	char *u = malloc(n + 1);
	size_t i = 0, o = 0, col = 0;

	assert_non_null(u);
	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {
			assert_true(i + 1 < n && s[i + 1] == '\n');
			assert_true(col <= 75);
			i++, col = 0;
			if (i + 1 < n && s[i + 1] == ' ')
				i++, col = 1;
			else
				u[o++] = '\n';
			continue;
		}
		assert_int_not_equal(s[i], '\n');
		u[o++] = s[i], col++;
	}
	assert_int_equal(col, 0);   /* ends in CRLF */
	u[o] = '\0';
	return u;
}

static void test_cards(void **state)
{
	struct buf b, again;
	size_t i;

	for (i = 0; i < sizeof(cards) / sizeof(cards[0]); i++) {
		buf_init(&b, 1 << 20);
		buf_init(&again, 1 << 20);
		assert_int_equal(simdoc_phonebook(&b, &cards[i].c, 1), 0);
		assert_int_equal(simdoc_phonebook(&again, &cards[i].c, 1), 0);
		assert_string_equal(buf_cstr(&b), cards[i].want);
		assert_memory_equal(b.data, again.data, b.len);
		free(unfold_checked((char *)b.data, b.len));
		buf_free(&b);
		buf_free(&again);
	}
}

struct line_case {
	const char *name, *value, *want;
};

static const struct line_case lines[] = {
	{ "FN", LONG_NAME, "FN:" LONG_FOLDED "\r\n" },
	{ "FN", A71 ",", "FN:" A71 "\r\n \\,\r\n" },          /* an escape pair stays whole */
	{ "FN", A70 "é", "FN:" A70 "é\r\n" },                  /* exactly 75 octets */
	{ "FN", A70 "xé", "FN:" A70 "x\r\n é\r\n" },
	{ "X", A10 A10 A10 A10 A10 A10 A10 "aaa" A10 A10 A10 A10 A10 A10 A10 "aaaa" A10 A10 A10 A10 A10 "aaa",
	  "X:" A10 A10 A10 A10 A10 A10 A10 "aaa\r\n " A10 A10 A10 A10 A10 A10 A10 "aaaa\r\n "
	  A10 A10 A10 A10 A10 "aaa\r\n" },
	{ "NOTE", "", "NOTE:\r\n" },
	{ "NOTE", "\r\n\n\r", "NOTE:\\n\\n\\n\r\n" },
};

static void test_lines(void **state)
{
	struct buf b;
	size_t i;
	char *u;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		buf_init(&b, 1 << 20);
		assert_int_equal(simdoc_vcard_line(&b, lines[i].name, lines[i].value), 0);
		assert_string_equal(buf_cstr(&b), lines[i].want);
		u = unfold_checked((char *)b.data, b.len);
		assert_int_equal(u[strlen(u) - 1], '\n');
		buf_free(&b);
		free(u);
	}
	buf_init(&b, 1 << 20);
	assert_int_equal(simdoc_vcard_line(&b, "BAD:NAME", "x"), -EINVAL);
	assert_int_equal(simdoc_vcard_line(&b, "", "x"), -EINVAL);
	assert_int_equal(simdoc_vcard_line(&b, "A B", "x"), -EINVAL);
	assert_int_equal(b.len, 0);
	buf_init(&b, 10);   /* over the cap: an error and nothing half-written */
	assert_int_equal(simdoc_vcard_line(&b, "FN", A10), -EMSGSIZE);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

/* The unfolded value equals "FN:" + the escaped input for the long name. */
static void test_fold_roundtrip(void **state)
{
	struct buf b;
	char *u;

	buf_init(&b, 1 << 20);
	assert_int_equal(simdoc_vcard_line(&b, "FN", LONG_NAME "\\;,x"), 0);
	u = unfold_checked((char *)b.data, b.len);
	assert_string_equal(u, "FN:" LONG_NAME "\\\\\\;\\,x\n");
	free(u);
	buf_free(&b);
}

/* Cards come in index order whatever the array's order; twice the same. */
static void test_phonebook_order(void **state)
{
	const struct sim_contact c[] = {
		{ 3, "Wang Wu", "+8613900139000", 145 },
		{ 1, "张三", "13800138000", 129 },
		{ 2, "", "", 129 },
	};
	const char *want = CARD("张三", "张三", TEL("13800138000"), "1")
		CARD("SIM 2", "", "", "2")
		CARD("Wang Wu", "Wang Wu", TEL("+8613900139000"), "3");
	struct buf a, b;

	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	assert_int_equal(simdoc_phonebook(&a, c, 3), 0);
	assert_int_equal(simdoc_phonebook(&b, c, 3), 0);
	assert_string_equal(buf_cstr(&a), want);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	buf_reset(&a);
	assert_int_equal(simdoc_phonebook(&a, c, 0), 0);   /* no entries: no bytes */
	assert_int_equal(a.len, 0);
	assert_int_equal(simdoc_phonebook(&a, NULL, 1), -EINVAL);
	buf_free(&a);
	buf_free(&b);
}

struct id_case {
	struct sim_identity id;
	int64_t read_ns;
	const char *want;
};

static const struct id_case ids[] = {
	{ { true, "89860012345678901234", "460001234567890",
	    { "+8613800138000", "", "+85212345678" }, 3, "CHINA MOBILE" }, 1796552130123456789LL,
	  "iccid=89860012345678901234\nimsi=460001234567890\nmsisdn=+8613800138000\n"
	  "msisdn=+85212345678\noperator=CHINA MOBILE\npresent=yes\nread=2026-12-06T10:15:30.123Z\n" },
	{ { false, "", "", { "" }, 0, "" }, 0,
	  "iccid=\nimsi=\noperator=\npresent=no\nread=\n" },
	{ { true, "8986\n0012\r", "46000\x01", { "+1" }, 99, "中国\n移动\x7f" }, -1,
	  "iccid=89860012\nimsi=46000\nmsisdn=+1\noperator=中国移动\npresent=yes\n"
	  "read=1969-12-31T23:59:59.999Z\n" },
	{ { true, "1", "2", { "" }, 0, "x" }, 1000000LL,
	  "iccid=1\nimsi=2\noperator=x\npresent=yes\nread=1970-01-01T00:00:00.001Z\n" },
};

static void test_identity(void **state)
{
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		buf_init(&b, 4096);
		assert_int_equal(simdoc_identity(&b, &ids[i].id, ids[i].read_ns), 0);
		assert_string_equal(buf_cstr(&b), ids[i].want);
		buf_free(&b);
	}
}

struct sms_case {
	unsigned index;
	enum sim_sms_status status;
	const char *peer;
	int64_t time_s;
	int tz;
	unsigned parts, missing;
	const char *text, *want;
};

static const struct sms_case smss[] = {
	{ 1, SMS_READ, "+8613800138000", 1796523330, 480, 1, 0, "Hello 世界",
	  "From: +8613800138000\nDate: 2026-12-06T10:15:30+08:00\nStatus: read\nParts: 1\n\n"
	  "Hello 世界\n" },
	{ 2, SMS_SENT, "10086", 1796564730, -210, 3, 1, "line1\r\nline2\n",
	  "To: 10086\nDate: 2026-12-06T10:15:30-03:30\nStatus: sent\nParts: 3, missing 1\n\n"
	  "line1\nline2\n" },
	{ 3, SMS_UNSENT, "", 0, 0, 1, 0, "draft",
	  "Status: unsent\nParts: 1\n\ndraft\n" },
	{ 4, SMS_UNREAD, "Bank\nX", 1796552130, 0, 1, 0, "a\x01" "b\tc\rd\xff",
	  "From: BankX\nDate: 2026-12-06T10:15:30+00:00\nStatus: unread\nParts: 1\n\n"
	  "ab\tc\nd\xef\xbf\xbd\n" },
	{ 5, 9, "x", 1796552130, 5000, 2, 0, "",
	  "From: x\nDate: 2026-12-06T10:15:30+00:00\nStatus: unknown\nParts: 2\n\n" },
};

static void test_sms(void **state)
{
	struct sim_sms *m = calloc(1, sizeof(*m));
	struct buf b;
	size_t i;

	assert_non_null(m);
	for (i = 0; i < sizeof(smss) / sizeof(smss[0]); i++) {
		memset(m, 0, sizeof(*m));
		m->index = smss[i].index;
		m->status = smss[i].status;
		snprintf(m->peer, sizeof(m->peer), "%s", smss[i].peer);
		m->time_s = smss[i].time_s;
		m->tz_minutes = smss[i].tz;
		m->parts = smss[i].parts;
		m->parts_missing = smss[i].missing;
		snprintf(m->text, sizeof(m->text), "%s", smss[i].text);
		buf_init(&b, 1 << 16);
		assert_int_equal(simdoc_sms(&b, m), 0);
		assert_string_equal(buf_cstr(&b), smss[i].want);
		buf_free(&b);
	}
	free(m);
}

/* ---- read back by server/search/extract ---- */

static int collect(void *arg, const char *t, size_t n)
{
	return buf_append(arg, t, n);
}

static void test_extract_reads_back(void **state)
{
	const struct sim_contact c[] = {
		{ 1, LONG_NAME, "+85212345678", 145 },
		{ 2, "Smith, John; \\x\nnext", "8613800138000", 145 },
		{ 3, "张三", "13800138000", 129 },
		{ 4, "", "10086", 129 },
	};
	struct ex_result res;
	struct buf b, out;
	struct ex_mem m;
	struct ex_source src;
	const char *text;

	buf_init(&b, 1 << 20);
	buf_init(&out, 1 << 20);
	assert_int_equal(simdoc_phonebook(&b, c, 4), 0);
	src = ex_source_mem(&m, b.data, b.len);
	assert_int_equal(extract("/sim/phonebook.vcf", &src, NULL, collect, &out, &res), 0);
	assert_int_equal(res.kind, EX_VCARD);
	assert_false(res.malformed);
	text = buf_cstr(&out);
	assert_non_null(strstr(text, LONG_NAME));
	assert_non_null(strstr(text, "+85212345678"));
	assert_non_null(strstr(text, "Smith, John; \\x next"));
	assert_non_null(strstr(text, "+8613800138000"));
	assert_non_null(strstr(text, "张三"));
	assert_non_null(strstr(text, "13800138000"));
	assert_non_null(strstr(text, "10086"));
	buf_free(&b);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cards),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_fold_roundtrip),
		cmocka_unit_test(test_phonebook_order),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_sms),
		cmocka_unit_test(test_extract_reads_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
