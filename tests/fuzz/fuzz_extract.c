/* fuzz_extract.c — libFuzzer harness for server/search/extract.c and
 * server/search/extract_sqlite.c: extract() on arbitrary content under various
 * file names (so every format's parser is reached, SQLite included when
 * the input starts with its magic).  Checks extract.h's promises: 0 from a
 * source that never fails, pieces of 1..EX_PIECE_MAX bytes of valid UTF-8,
 * out_bytes equal to what was emitted and within max_out.
 * Input: byte 0 picks the name, rest = file content. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "server/search/extract.h"
#include "tests/fuzz/fuzz_util.h"

struct mem { const uint8_t *p; size_t n; };

static ssize_t mem_pread(void *arg, void *buf, size_t n, uint64_t off)
{
	struct mem *m = arg;

	if (off >= m->n)
		return 0;
	if (n > m->n - off)
		n = m->n - (size_t)off;
	memcpy(buf, m->p + off, n);
	return (ssize_t)n;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp;

	while (i < n) {
		uint8_t c = p[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4; cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static int emit(void *arg, const char *text, size_t len)
{
	uint64_t *total = arg;

	if (len == 0 || len > EX_PIECE_MAX || !utf8_valid((const uint8_t *)text, len))
		abort();
	*total += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"/sdcard/contacts.vcf", "/cal/a.ics", "/x/data.json", "/x/t.csv", "/x/t.tsv",
		"/x/doc.xml", "/x/page.html", "/x/notes.txt", "/data/contacts2.db", "/x/noext",
		"/x.dir/file", NULL,
	};
	struct ex_limits lim;
	struct ex_result res;
	struct mem m;
	struct ex_source src = { &m, 0, mem_pread };
	uint64_t total = 0;
	int r;

	if (size < 1)
		return 0;
	m.p = data + 1;
	m.n = size - 1;
	src.size = m.n;
	ex_limits_default(&lim);
	lim.max_out = data[0] & 0x80 ? 64 : 1u << 20;   /* exercise the cut too */
	lim.sqlite_budget_ms = 1000;
	lim.sqlite_cache_kib = 256;
	r = extract(names[data[0] % (sizeof(names) / sizeof(names[0]))], &src, &lim, emit,
		    &total, &res);
	if (r != 0 || res.out_bytes != total || total > lim.max_out ||
	    strnlen(res.reason, sizeof(res.reason)) == sizeof(res.reason))
		abort();
	return 0;
}
