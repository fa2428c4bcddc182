/* test_at.c — the pure half of the AT layer (fuse/at.c): the line splitter
 * fed every stream whole, cut at every position and in pieces of 1, 2, 3, 7
 * and 100 bytes; final result codes; unsolicited codes told from replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fuse/at.h"

#define MAXOUT 16

struct out_line {
	enum at_split kind;
	const char *text;
};

struct split_case {
	const char *in;
	size_t len;                     /* 0: strlen(in) */
	struct out_line want[MAXOUT];   /* ends at kind AT_SPLIT_NONE */
};

struct got {
	size_t n;
	enum at_split kind[MAXOUT + 1];
	char *text[MAXOUT + 1];
};

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->text[i]);
	g->n = 0;
}

/* Feeds in[0..len) as pieces: first up to cut bytes, then chunk bytes at a time. */
static void split_pieces(const char *in, size_t len, size_t cut, size_t chunk, struct got *g)
{
	struct at_splitter sp;
	size_t off = 0;

	at_splitter_init(&sp);
	g->n = 0;
	while (off < len) {
		size_t take = off == 0 && cut ? cut : chunk;
		const char *p = in + off;
		size_t n = take < len - off ? take : len - off;
		enum at_split k;

		off += n;
		while ((k = at_splitter_feed(&sp, &p, &n)) != AT_SPLIT_NONE) {
			assert_true(g->n <= MAXOUT);
			g->kind[g->n] = k;
			g->text[g->n++] = strdup(sp.line);
		}
		assert_int_equal(n, 0);
	}
}

static void check_got(const struct got *g, const struct out_line *want, const char *what,
		      size_t cut, size_t chunk)
{
	size_t i;

	for (i = 0; want[i].kind != AT_SPLIT_NONE; i++) {
		if (i >= g->n)
			fail_msg("%s (cut %zu chunk %zu): %zu lines, want more", what, cut, chunk, g->n);
		if (g->kind[i] != want[i].kind || strcmp(g->text[i], want[i].text))
			fail_msg("%s (cut %zu chunk %zu): line %zu kind %d '%.40s', want %d '%.40s'",
				 what, cut, chunk, i, g->kind[i], g->text[i], want[i].kind,
				 want[i].text);
	}
	if (g->n != i)
		fail_msg("%s (cut %zu chunk %zu): %zu lines, want %zu", what, cut, chunk, g->n, i);
}

/* Every cut position, then every piece size: the same lines each time. */
static void check_split(const char *in, size_t len, const struct out_line *want, const char *what)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 100 };
	struct got g;

	for (size_t cut = 0; cut <= len; cut++) {
		split_pieces(in, len, cut, len ? len : 1, &g);
		check_got(&g, want, what, cut, len);
		got_free(&g);
	}
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		split_pieces(in, len, 0, chunks[i], &g);
		check_got(&g, want, what, 0, chunks[i]);
		got_free(&g);
	}
}

#define L(s) { AT_SPLIT_LINE, s }
#define O(s) { AT_SPLIT_OVERLONG, s }

static void test_split_table(void **state)
{
	static const struct split_case cases[] = {
		{ "\r\nOK\r\n", 0, { L("OK") } },
		{ "AT+CIMI\r\r\n460001234567890\r\n\r\nOK\r\n", 0,
		  { L("AT+CIMI"), L("460001234567890"), L("OK") } },
		{ "a\nb\n", 0, { L("a"), L("b") } },
		{ "a\rb\r", 0, { L("a"), L("b") } },
		{ "a\n\rb\n\r", 0, { L("a"), L("b") } },
		{ "a\r\nb\n\rc\rd\n", 0, { L("a"), L("b"), L("c"), L("d") } },
		{ "\r\n\r\n\n\r\r\r\n\n", 0, { } },
		{ "", 0, { } },
		{ "O\0K\r\n", 5, { L("OK") } },
		{ "\0\0\0\r\n\0", 6, { } },
		{ "\x01\x02\x1b[2J\x7f\x08\r\n", 0, { L("[2J") } },
		{ "a\tb\r\n", 0, { L("a\tb") } },
		{ "\xe4\xb8\xad\xff\xfe\r\n", 0, { L("\xe4\xb8\xad\xff\xfe") } },
		{ "OK\r\nRIN", 0, { L("OK") } },
		{ "\r\n> ", 0, { L("> ") } },
		{ "> \x1a\r\n+CMGS: 5\r\n", 0, { L("> "), L("+CMGS: 5") } },
		{ ">x\r\n", 0, { L(">x") } },
		{ "+CMTI: \"SM\",3\r\n+CPBR: 1,\"13800138000\",129,\"5F204E09\"\r\nOK\r\n", 0,
		  { L("+CMTI: \"SM\",3"), L("+CPBR: 1,\"13800138000\",129,\"5F204E09\""), L("OK") } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[32];
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);

		snprintf(what, sizeof(what), "case %zu", i);
		check_split(cases[i].in, len, cases[i].want, what);
	}
}

/* Lines of exactly AT_LINE_MAX bytes pass; one more is overlong, reported
 * once with its first AT_LINE_MAX bytes, and the next line is intact. */
static void test_split_overlong(void **state)
{
	size_t cap = 3 * AT_LINE_MAX + 64;
	char *in = malloc(cap), *exact = malloc(AT_LINE_MAX + 1), *cut = malloc(AT_LINE_MAX + 1);
	size_t n = 0;

	assert_non_null(in);
	memset(exact, 'x', AT_LINE_MAX);
	exact[AT_LINE_MAX] = '\0';
	memset(cut, 'y', AT_LINE_MAX);
	cut[AT_LINE_MAX] = '\0';
	memcpy(in + n, exact, AT_LINE_MAX);             /* exactly the maximum */
	n += AT_LINE_MAX;
	memcpy(in + n, "\r\n", 2);
	n += 2;
	memset(in + n, 'y', AT_LINE_MAX + 1);           /* one byte more */
	n += AT_LINE_MAX + 1;
	memcpy(in + n, "\r\nOK\r\n", 6);
	n += 6;
	for (size_t i = 0; i < 40; i++)                 /* control bytes do not count */
		in[n++] = '\0';
	memset(in + n, 'x', AT_LINE_MAX);
	n += AT_LINE_MAX;
	in[n++] = '\n';
	{
		const struct out_line want[] = { L(exact), O(cut), L("OK"), L(exact), { 0, NULL } };

		check_split(in, n, want, "overlong");
	}
	free(in);
	free(exact);
	free(cut);
}

struct final_case {
	const char *line;
	enum at_final want;
	int code;
};

static void test_final_codes(void **state)
{
	static const struct final_case cases[] = {
		{ "OK", AT_FINAL_OK, 0 },
		{ "OK  ", AT_FINAL_OK, 0 },
		{ "ERROR", AT_FINAL_ERROR, -1 },
		{ "NO CARRIER", AT_FINAL_ERROR, -1 },
		{ "NO DIALTONE", AT_FINAL_ERROR, -1 },
		{ "BUSY", AT_FINAL_ERROR, -1 },
		{ "NO ANSWER", AT_FINAL_ERROR, -1 },
		{ "+CME ERROR: 10", AT_FINAL_CME, 10 },
		{ "+CME ERROR:10", AT_FINAL_CME, 10 },
		{ "+CME ERROR: 0", AT_FINAL_CME, 0 },
		{ "+CME ERROR: SIM not inserted", AT_FINAL_CME, -1 },
		{ "+CME ERROR: 10x", AT_FINAL_CME, -1 },
		{ "+CME ERROR: -5", AT_FINAL_CME, -1 },
		{ "+CME ERROR:", AT_FINAL_CME, -1 },
		{ "+CME ERROR: 99999999999999999999", AT_FINAL_CME, -1 },
		{ "+CMS ERROR: 321", AT_FINAL_CMS, 321 },
		{ "+CMS ERROR: 500 ", AT_FINAL_CMS, 500 },
		{ "ok", AT_FINAL_NONE, 0 },
		{ "OKAY", AT_FINAL_NONE, 0 },
		{ " OK", AT_FINAL_NONE, 0 },
		{ "ERRORS", AT_FINAL_NONE, 0 },
		{ "", AT_FINAL_NONE, 0 },
		{ "CONNECT", AT_FINAL_NONE, 0 },
		{ "RING", AT_FINAL_NONE, 0 },
		{ "+CME ERRO", AT_FINAL_NONE, 0 },
		{ "+CPBR: 1,\"OK\",129,\"\"", AT_FINAL_NONE, 0 },
		{ "> ", AT_FINAL_NONE, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int code = 12345;
		enum at_final f = at_final_code(cases[i].line, &code);

		if (f != cases[i].want || code != cases[i].code)
			fail_msg("'%s': %d code %d, want %d code %d", cases[i].line, f, code,
				 cases[i].want, cases[i].code);
		assert_int_equal(at_final_code(cases[i].line, NULL), cases[i].want);
	}
}

struct urc_case {
	const char *line;
	bool urc;
};

static void test_urcs(void **state)
{
	static const struct urc_case cases[] = {
		{ "RING", true },
		{ "+CMTI: \"SM\",3", true },
		{ "+CDSI: \"SM\",1", true },
		{ "+QIND: SMS DONE", true },
		{ "+QIND: \"csq\",25,99", true },
		{ "+QSIMSTAT: 1,0", true },
		{ "+QUSIM: 1", true },
		{ "+CPIN: NOT READY", true },
		{ "+CPIN: READY", true },     /* unsolicited after insertion; a reply with prefix */
		{ "+CREG: 1", true },
		{ "+CGREG: 0,1", true },
		{ "+CEREG: 5", true },
		{ "^RSSI: 5", true },
		{ "RDY", true },
		{ "+CPBR: 1,\"13800138000\",129,\"5F204E09\"", false },
		{ "+CMGL: 1,0,,23", false },
		{ "+QCCID: 89860012345678901234", false },
		{ "+CNUM: ,\"+8613800138000\",145", false },
		{ "+COPS: 0,0,\"CHINA MOBILE\",7", false },
		{ "460001234567890", false },
		{ "OK", false },
		{ "ERROR", false },
		{ "RINGING", false },
		{ " RING", false },
		{ "", false },
		{ "+CMT", false },
		{ "0791448720003023240DD0E474D81C0EBB010000111011315214000BE474D81C0EBB5DE3771B", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (at_is_urc(cases[i].line) != cases[i].urc)
			fail_msg("'%s': urc %d, want %d", cases[i].line, !cases[i].urc, cases[i].urc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_table),
		cmocka_unit_test(test_split_overlong),
		cmocka_unit_test(test_final_codes),
		cmocka_unit_test(test_urcs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
