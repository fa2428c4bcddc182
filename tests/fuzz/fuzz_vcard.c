/* fuzz_vcard.c — libFuzzer harness for fuse/simdoc.c and simdoc_vcard.c:
 * arbitrary bytes cut into contacts (and an SMS and an identity), rendered,
 * and the documents' contracts checked: every physical vCard line ends in
 * CRLF and holds <= 75 octets, no bare CR or LF, output always valid UTF-8
 * without control characters (SMS text: LF and TAB only), the same input
 * renders to the same bytes, a capped buffer either holds exactly the full
 * rendering or is left as it was, and one value unfolded and unescaped is
 * the input with controls dropped, line breaks as LF and bad bytes U+FFFD
 * (checked against a model written here, not simdoc's own reader).
 * Input: byte 0 = flags (bits 0-1 number type, bit 2 names filled to the
 * last byte without NUL, bits 3-7 the buffer cap), then fields split at NUL:
 * name, number, name, number... */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/simdoc.h"
#include "tests/fuzz/fuzz_util.h"

#define NCONTACTS 8

/* Strict UTF-8 sequence length at p, or 0 (a model: shortest-form table). */
static size_t model_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
		     c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	uint8_t lo = 0x80, hi = 0xbf;
	size_t i;

	if (len == 0 || len > n)
		return 0;
	if (c == 0xe0) lo = 0xa0;
	if (c == 0xed) hi = 0x9f;
	if (c == 0xf0) lo = 0x90;
	if (c == 0xf4) hi = 0x8f;
	for (i = 1; i < len; i++, lo = 0x80, hi = 0xbf)
		if (p[i] < lo || p[i] > hi)
			return 0;
	return len;
}

static bool control_at(const uint8_t *p, size_t len)
{
	return (len == 1 && (p[0] < 0x20 || p[0] == 0x7f)) ||
	       (len == 2 && p[0] == 0xc2 && p[1] <= 0x9f);
}

/* Valid UTF-8, and no control character but those in allow. */
static void check_text(const uint8_t *p, size_t n, const char *allow)
{
	size_t i = 0, len;

	while (i < n) {
		if ((len = model_seq(p + i, n - i)) == 0)
			abort();
		if (control_at(p + i, len) && !(len == 1 && p[i] && strchr(allow, p[i])))
			abort();
		i += len;
	}
}

/* Physical lines <= 75 octets, each ending CRLF; CR and LF only there. */
static void check_lines(const uint8_t *p, size_t n)
{
	size_t i, col = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n')
			abort();
		if (p[i] == '\r') {
			if (i + 1 >= n || p[i + 1] != '\n' || col > 75)
				abort();
			i++, col = 0;
			continue;
		}
		col++;
	}
	if (col != 0)
		abort();
	check_text(p, n, "\r\n");
}

/* What NOTE's value must unescape to (see simdoc.c): into out, its length. */
static size_t model_clean(const uint8_t *p, size_t n, uint8_t *out)
{
	size_t i = 0, o = 0, len;

	while (i < n) {
		if (p[i] == '\r' || p[i] == '\n') {
			i += p[i] == '\r' && i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
			out[o++] = '\n';
		} else if ((len = model_seq(p + i, n - i)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3), o += 3, i++;
		} else {
			if (!control_at(p + i, len))
				memcpy(out + o, p + i, len), o += len;
			i += len;
		}
	}
	return o;
}

/* Unfolds and unescapes one rendered "NOTE:" line into out; its length. */
static size_t unfold_value(const uint8_t *p, size_t n, uint8_t *out)
{
	size_t i = 5, o = 0;

	if (n < 7 || memcmp(p, "NOTE:", 5) || memcmp(p + n - 2, "\r\n", 2))
		abort();
	for (n -= 2; i < n; i++) {
		if (p[i] == '\r') {            /* CRLF SP: a fold */
			if (p[i + 1] != '\n' || p[i + 2] != ' ')
				abort();
			i += 2;
		} else if (p[i] == '\\') {
			if (i + 1 >= n || !strchr("\\,;n", p[i + 1]))
				abort();
			out[o++] = p[i + 1] == 'n' ? '\n' : p[i + 1];
			i++;
		} else if (p[i] == ',' || p[i] == ';') {
			abort();                   /* unescaped separator */
		} else {
			out[o++] = p[i];
		}
	}
	return o;
}

/* Field k of the NUL-separated input, or "" past the end. */
static const uint8_t *field(const uint8_t *p, size_t n, size_t k, size_t *len)
{
	size_t i = 0, start = 0;

	for (;;) {
		while (i < n && p[i])
			i++;
		if (k-- == 0) {
			*len = i - start;
			return p + start;
		}
		if (i >= n) {
			*len = 0;
			return p;
		}
		start = ++i;
	}
}

static void fill(char *dst, size_t cap, const uint8_t *src, size_t n, bool no_nul)
{
	memset(dst, no_nul ? 'x' : 0, cap);
	if (n > (no_nul ? cap : cap - 1))
		n = no_nul ? cap : cap - 1;
	memcpy(dst, src, n);
}

static size_t contacts(const uint8_t *p, size_t n, uint8_t flags, struct sim_contact *c)
{
	static const int types[] = { 129, 145, 128, 161 };
	size_t i, len;
	const uint8_t *f;

	for (i = 0; i < NCONTACTS; i++) {
		f = field(p, n, 2 * i, &len);
		if (f == p && len == 0 && i > 0)
			break;
		c[i].index = (unsigned)(i * 5 + flags) % 7;
		c[i].type = types[flags & 3];
		fill(c[i].name, sizeof(c[i].name), f, len, flags & 4);
		f = field(p, n, 2 * i + 1, &len);
		fill(c[i].number, sizeof(c[i].number), f, len, flags & 4);
	}
	return i;
}

/* Occurrences of s; with s starting "\n" they are whole lines (a value
 * never holds a raw LF, so "BEGIN:VCARD" inside a name does not count). */
static size_t count(const struct buf *b, const char *s)
{
	size_t k = 0, l = strlen(s);
	const uint8_t *q = b->data, *end = b->data + b->len;

	while (q && (q = memmem(q, (size_t)(end - q), s, l)) != NULL)
		k++, q += l;
	return k;
}

static void check_phonebook(const struct sim_contact *c, size_t n, uint8_t flags)
{
	struct buf a, b, capped;
	int r;

	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	if (simdoc_phonebook(&a, c, n) || simdoc_phonebook(&b, c, n))
		abort();
	check_lines(a.data, a.len);
	if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len)) ||
	    count(&a, "\nEND:VCARD\r\n") != n || count(&a, "\nBEGIN:VCARD\r\n") != (n ? n - 1 : 0) ||
	    (n && memcmp(a.data, "BEGIN:VCARD\r\n", 13)))
		abort();
	buf_init(&capped, 3 + (size_t)(flags >> 3) * 97);
	if (buf_append(&capped, "pre", 3))
		abort();
	r = simdoc_phonebook(&capped, c, n);
	if ((r != 0 && r != -EMSGSIZE) || memcmp(capped.data, "pre", 3) ||
	    (r == 0 && (capped.len != a.len + 3 || memcmp(capped.data + 3, a.data, a.len))) ||
	    (r != 0 && capped.len != 3))
		abort();
	buf_free(&a);
	buf_free(&b);
	buf_free(&capped);
}

static void check_note(const uint8_t *p, size_t n)
{
	char *v = strndup((const char *)p, n);
	uint8_t *want, *got;
	size_t vn, wn, gn;
	struct buf b;

	if (!v)
		abort();
	vn = strlen(v);
	buf_init(&b, 1 << 20);
	want = malloc(3 * vn + 1);
	if (!want || simdoc_vcard_line(&b, "NOTE", v))
		abort();
	check_lines(b.data, b.len);
	got = malloc(b.len);
	if (!got)
		abort();
	wn = model_clean((const uint8_t *)v, vn, want);
	gn = unfold_value(b.data, b.len, got);
	if (wn != gn || memcmp(want, got, wn))
		abort();
	free(got);
	free(want);
	free(v);
	buf_free(&b);
}

static void check_sms(const uint8_t *p, size_t n, uint8_t flags)
{
	static struct sim_sms m;
	const uint8_t *f, *end;
	size_t len;
	struct buf b;

	memset(&m, 0, sizeof(m));
	m.status = (enum sim_sms_status)(flags & 7);
	memcpy(&m.time_s, p, n < 8 ? n : 8);
	m.tz_minutes = (int16_t)(m.time_s >> 16);
	m.parts = flags >> 4;
	m.parts_missing = flags & 8;
	f = field(p, n, 0, &len);
	fill(m.peer, sizeof(m.peer), f, len, flags & 4);
	fill(m.text, sizeof(m.text), p, n, false);
	buf_init(&b, 1 << 20);
	if (simdoc_sms(&b, &m))
		abort();
	check_text(b.data, b.len, "\n\t");
	end = memmem(b.data, b.len, "\n\n", 2);
	if (!end || b.data[b.len - 1] != '\n' || memchr(b.data, '\t', (size_t)(end - b.data)))
		abort();
	buf_free(&b);
}

static void check_identity(const uint8_t *p, size_t n, uint8_t flags)
{
	struct sim_identity id;
	const uint8_t *f, *line, *eq;
	size_t len, k, left;
	struct buf b;

	memset(&id, 0, sizeof(id));
	id.present = flags & 1;
	id.nmsisdn = flags >> 4;       /* also past SIM_OWN_MAX */
	f = field(p, n, 0, &len);
	fill(id.iccid, sizeof(id.iccid), f, len, flags & 4);
	f = field(p, n, 1, &len);
	fill(id.operator_name, sizeof(id.operator_name), f, len, flags & 4);
	for (k = 0; k < SIM_OWN_MAX; k++) {
		f = field(p, n, 2 + k, &len);
		fill(id.msisdn[k], sizeof(id.msisdn[k]), f, len, flags & 4);
	}
	buf_init(&b, 1 << 16);
	if (simdoc_identity(&b, &id, (int64_t)n * 7919 - 1000000))
		abort();
	check_text(b.data, b.len, "\n");
	for (line = b.data, left = b.len; left; left -= (size_t)(f - line), line = f) {
		f = (const uint8_t *)memchr(line, '\n', left) + 1;   /* lines end in LF */
		eq = memchr(line, '=', (size_t)(f - line));
		if (!eq || eq == line || strspn((const char *)line, "abcdefghijklmnopqrstuvwxyz") !=
		    (size_t)(eq - line))
			abort();
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_contact c[NCONTACTS];
	size_t n;

	if (size < 1)
		return 0;
	n = contacts(data + 1, size - 1, data[0], c);
	check_phonebook(c, n, data[0]);
	check_note(data + 1, size - 1);
	check_sms(data + 1, size - 1, data[0]);
	check_identity(data + 1, size - 1, data[0]);
	return 0;
}
