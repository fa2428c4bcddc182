/* test_tokenize.c — vigil's tokenizer: folding, word splitting, CJK runs,
 * hostile UTF-8, and its use as an FTS5 tokenizer in SQLite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "server/search/tokenize.h"

struct toks { char s[4096]; size_t n; };

static int
add(void *arg, const char *tok, size_t len, size_t start, size_t end, bool colocated)
{
	struct toks *t = arg;

	assert_true(start < end);
	if (t->n + len + 3 < sizeof(t->s)) {
		if (t->n > 0)
			t->s[t->n++] = colocated ? '+' : '|';
		memcpy(t->s + t->n, tok, len);
		t->n += len;
		t->s[t->n] = '\0';
	}
	return 0;
}

static const char *
toks(const char *in, enum tok_mode mode)
{
	static struct toks t;

	memset(&t, 0, sizeof(t));
	assert_int_equal(tok_run(in, strlen(in), mode, add, &t), 0);
	return t.s;
}

static void
test_table(void **state)
{
	static const struct { const char *in; enum tok_mode mode; const char *want; } cases[] = {
		{ "Hello, World!", TOK_DOCUMENT, "hello|world" },
		{ "ÀÉÎ Straße ĞÜŞ", TOK_DOCUMENT, "àéî|straße|ğüş" },
		{ "ΑΘΗΝΑ Москва ЁЛКА", TOK_DOCUMENT, "αθηνα|москва|ёлка" },
		{ "ＡＢＣ１２３", TOK_DOCUMENT, "abc123" },
		{ "tel:+86 138-0013-8000", TOK_DOCUMENT, "tel|86|138|0013|8000" },
		{ "李张三丰", TOK_DOCUMENT, "李+李张|张+张三|三+三丰|丰" },
		{ "张三", TOK_QUERY, "张三|三" },
		{ "张", TOK_QUERY, "张" },
		{ "张三丰", TOK_QUERY, "张三|三丰|丰" },
		{ "abc张三def", TOK_DOCUMENT, "abc|张+张三|三|def" },
		{ "ひらがなカタカナ", TOK_QUERY, "ひら|らが|がな|なカ|カタ|タカ|カナ|ナ" },
		{ "한국어 텍스트", TOK_DOCUMENT, "한+한국|국+국어|어|텍+텍스|스+스트|트" },
		{ "，。、「」", TOK_DOCUMENT, "" },
		{ "emoji😀split", TOK_DOCUMENT, "emoji|split" },
		{ "", TOK_DOCUMENT, "" },
		{ "\xff\xfe bad \xc3 \xe4\xb8 ok \xed\xa0\x80 x", TOK_DOCUMENT, "bad|ok|x" },
		{ "\xc0\xaf overlong", TOK_DOCUMENT, "overlong" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = toks(cases[i].in, cases[i].mode);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].in, got, cases[i].want);
	}
}

static void
test_long_word(void **state)
{
	char in[1000];
	const char *got;

	memset(in, 'x', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	got = toks(in, TOK_DOCUMENT);
	assert_true(strlen(got) <= TOK_MAX);
	assert_true(strlen(got) > 0);
}

static void
test_random_bytes(void **state)
{
	static struct toks t;
	char buf[4096];
	uint32_t r = 7;
	int round;
	size_t i;

	for (round = 0; round < 200; round++) {
		for (i = 0; i < sizeof(buf); i++) {
			r = r * 1103515245 + 12345;
			buf[i] = (char)(r >> 16);
		}
		memset(&t, 0, sizeof(t));
		assert_int_equal(tok_run(buf, (size_t)(r % sizeof(buf)), round & 1 ? TOK_QUERY : TOK_DOCUMENT,
					 add, &t), 0);
	}
}

static int
count_cb(void *arg, int n, char **v, char **c)
{
	*(int *)arg = (int)strtol(v[0], NULL, 10);
	return 0;
}

static int
matches(sqlite3 *db, const char *q)
{
	char *sql = sqlite3_mprintf("SELECT count(*) FROM t WHERE t MATCH '\"%q\"'", q);
	int n = -1;

	assert_int_equal(sqlite3_exec(db, sql, count_cb, &n, NULL), SQLITE_OK);
	sqlite3_free(sql);
	return n;
}

static void
test_fts5(void **state)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(tokenize_register(db), 0);
	assert_int_equal(sqlite3_exec(db, "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='vigil');"
				      "INSERT INTO t VALUES('联系人李张三丰的电话'), ('张先生, 三月'),"
				      " ('Zoë SMITH lives in Москва');", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(matches(db, "张三"), 1);
	assert_int_equal(matches(db, "李张三丰"), 1);
	assert_int_equal(matches(db, "张"), 2);
	assert_int_equal(matches(db, "三"), 2);
	assert_int_equal(matches(db, "张丰"), 0);
	assert_int_equal(matches(db, "zoë smith"), 1);
	assert_int_equal(matches(db, "ZOË"), 1);
	assert_int_equal(matches(db, "МОСКВА"), 1);
	assert_int_equal(matches(db, "smith zoë"), 0);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_long_word),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_fts5),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
