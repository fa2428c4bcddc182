/* fuzz_phone.c — libFuzzer harness for server/search/phone.c and
 * server/search/tokenize.c: phone_scan, phone_normalize and tok_run (document and
 * query mode) on arbitrary bytes, with the contracts of phone.h and
 * tokenize.h checked on every callback: offsets inside the text, keys of 7
 * to 15 digits (E.164), tokens of 1..TOK_MAX bytes.
 * Input: byte 0 picks the default country, rest = text.  Countries are
 * 1..999 as server/config.c accepts (country -1 would put '-' in keys). */
#include <stdlib.h>
#include <string.h>

#include "server/search/phone.h"
#include "server/search/tokenize.h"
#include "tests/fuzz/fuzz_util.h"

static size_t text_len;

static void check_key(const char *key)
{
	size_t i, n = strnlen(key, PHONE_KEY_MAX);

	if (n < 7 || n >= PHONE_KEY_MAX)
		abort();
	for (i = 0; i < n; i++)
		if (key[i] < '0' || key[i] > '9')
			abort();
}

static int on_phone(void *arg, const char *key, size_t start, size_t end)
{
	check_key(key);
	if (start >= end || end > text_len)
		abort();
	return 0;
}

static int on_tok(void *arg, const char *tok, size_t len, size_t start, size_t end,
		  bool colocated)
{
	size_t *count = arg;

	if (len == 0 || len > TOK_MAX || start >= end || end > text_len)
		abort();
	if (colocated && *count == 0)
		abort();   /* nothing before it to share a position with */
	(*count)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int countries[] = { 86, 1, 7, 44, 33, 39, 999, 2, 852, 100 };
	const char *t = (const char *)data + 1;
	char key[PHONE_KEY_MAX];
	size_t i, count, n;
	int32_t cp;
	int country;

	if (size < 1)
		return 0;
	country = countries[data[0] % (sizeof(countries) / sizeof(countries[0]))];
	text_len = size - 1;
	if (phone_scan(t, text_len, country, on_phone, NULL) != 0)
		abort();
	if (text_len <= 64 && phone_normalize(t, text_len, country, key))
		check_key(key);
	for (i = 0; i < 2; i++) {
		count = 0;
		if (tok_run(t, text_len, i ? TOK_QUERY : TOK_DOCUMENT, on_tok, &count) != 0)
			abort();
	}
	for (i = 0; i < text_len; i += n) {
		n = tok_utf8_decode((const uint8_t *)t + i, text_len - i, &cp);
		if (n < 1 || n > 4 || n > text_len - i || (cp < 0 && n != 1) || cp > 0x10ffff)
			abort();
		(void)tok_fold(cp);
	}
	return 0;
}
