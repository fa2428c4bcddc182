/* fuzz_at.c — libFuzzer harness for the pure half of the AT layer
 * (fuse/at.c).  The input after its first byte is a modem byte stream; it
 * is split into lines twice, whole and cut at a point the first byte picks
 * (then fed in fuzz_piece sizes), and both runs must give the same lines.
 * Every line must be within AT_LINE_MAX, free of line ends and control
 * bytes, and go through at_final_code and at_is_urc with sane results. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/at.h"
#include "tests/fuzz/fuzz_util.h"

struct trace {
	char *buf;
	size_t len, cap;
};

static void check_line(enum at_split kind, const char *line)
{
	size_t n = strlen(line);
	int code = 0;
	enum at_final f;

	if (n > AT_LINE_MAX || (kind == AT_SPLIT_LINE && n == 0))
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			abort();
	}
	f = at_final_code(line, &code);
	if (code < -1 || (f == AT_FINAL_NONE && code != 0) || (f == AT_FINAL_OK && code != 0))
		abort();
	if (f == AT_FINAL_OK && strncmp(line, "OK", 2))
		abort();
	if ((f == AT_FINAL_CME && strncmp(line, "+CME ERROR:", 11)) ||
	    (f == AT_FINAL_CMS && strncmp(line, "+CMS ERROR:", 11)))
		abort();
	if (f != at_final_code(line, NULL))
		abort();
	/* a final code is never unsolicited: at_cmd relies on telling them apart */
	if (at_is_urc(line) && f != AT_FINAL_NONE)
		abort();
}

/* Records kind and text of each line, separated by a byte no line holds. */
static void record(struct trace *t, enum at_split kind, const char *line)
{
	size_t n = strlen(line);

	if (t->len + n + 2 > t->cap)
		abort();
	t->buf[t->len++] = (char)('0' + kind);
	memcpy(t->buf + t->len, line, n);
	t->len += n;
	t->buf[t->len++] = '\n';
}

static void feed(struct at_splitter *sp, const char *p, size_t n, struct trace *t)
{
	enum at_split k;

	while ((k = at_splitter_feed(sp, &p, &n)) != AT_SPLIT_NONE) {
		check_line(k, sp->line);
		record(t, k, sp->line);
	}
	if (n != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct at_splitter sp;
	struct trace whole = { 0 }, cut = { 0 };
	const char *s = (const char *)data + 1;
	size_t len, at, off, i = 0;

	if (size < 1)
		return 0;
	len = size - 1;
	at = len * data[0] / 255;
	whole.cap = cut.cap = 3 * len + 16;
	whole.buf = malloc(whole.cap);
	cut.buf = malloc(cut.cap);
	if (!whole.buf || !cut.buf)
		abort();
	at_splitter_init(&sp);
	feed(&sp, s, len, &whole);
	at_splitter_init(&sp);
	feed(&sp, s, at, &cut);
	for (off = at; off < len; i++) {
		size_t n = fuzz_piece(data[0], i, len - off);

		feed(&sp, s + off, n, &cut);
		off += n;
	}
	if (whole.len != cut.len || memcmp(whole.buf, cut.buf, whole.len))
		abort();
	free(whole.buf);
	free(cut.buf);
	return 0;
}
