/* extract.c — format detection and the streaming text extractors (plain
 * text, vCard/iCalendar, JSON, CSV, XML).  SQLite is in extract_sqlite.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/search/extract_int.h"
#include "server/search/tokenize.h"

#define LINE_MAX_VC 65536   /* one vCard/iCalendar logical line kept */

void
ex_limits_default(struct ex_limits *lim)
{
	lim->max_out = 1ull << 30;
	lim->sqlite_max_size = 4ull << 30;
	lim->sqlite_budget_ms = 30000;
	lim->sqlite_cache_kib = 4096;
}

const char *
ex_kind_name(enum ex_kind kind)
{
	static const char *names[] = { "binary", "text", "vcard", "icalendar", "json",
				       "csv", "xml", "sqlite" };

	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

static ssize_t
mem_pread(void *arg, void *buf, size_t n, uint64_t off)
{
	const struct ex_mem *m = arg;

	if (off >= m->n)
		return 0;
	if (n > m->n - off)
		n = m->n - off;
	memcpy(buf, m->p + off, n);
	return (ssize_t)n;
}

struct ex_source
ex_source_mem(struct ex_mem *m, const void *p, size_t n)
{
	m->p = p;
	m->n = n;
	return (struct ex_source){ .arg = m, .size = n, .pread = mem_pread };
}

/* ---- input ---- */

static int
fill(struct ex_ctx *x)
{
	ssize_t n;

	if (x->err)
		return -1;
	x->in_off += x->in_len;
	x->in_len = x->in_pos = 0;
	if (x->in_off >= x->src->size)
		return -1;
	n = x->src->pread(x->src->arg, x->in, sizeof(x->in), x->in_off);
	if (n < 0) {
		x->err = (int)n;
		return -1;
	}
	x->in_len = (size_t)n;
	return n > 0 ? 0 : -1;
}

int
ex_peek(struct ex_ctx *x)
{
	if (x->in_pos >= x->in_len && fill(x) < 0)
		return -1;
	return x->in[x->in_pos];
}

int
ex_getc(struct ex_ctx *x)
{
	int c = ex_peek(x);

	if (c >= 0)
		x->in_pos++;
	return c;
}

/* ---- output ---- */

bool
ex_stop(const struct ex_ctx *x)
{
	return x->err != 0 || x->res->truncated;
}

void
ex_malformed(struct ex_ctx *x, const char *why)
{
	if (!x->res->malformed)
		snprintf(x->res->reason, sizeof(x->res->reason), "%s", why);
	x->res->malformed = true;
}

void
ex_truncated(struct ex_ctx *x, const char *why)
{
	if (!x->res->malformed && !x->res->truncated)
		snprintf(x->res->reason, sizeof(x->res->reason), "%s", why);
	x->res->truncated = true;
}

void
ex_flush(struct ex_ctx *x)
{
	int rc;

	if (x->out_len == 0 || x->err)
		return;
	if ((rc = x->emit(x->arg, x->out, x->out_len)) != 0)
		x->err = rc;
	x->out_len = 0;
}

static void
put(struct ex_ctx *x, const void *p, size_t n)
{
	if (ex_stop(x))
		return;
	if (x->res->out_bytes + n > x->lim.max_out) {
		ex_truncated(x, "text output cap reached");
		return;
	}
	if (x->out_len + n > sizeof(x->out))
		ex_flush(x);
	memcpy(x->out + x->out_len, p, n);
	x->out_len += n;
	x->res->out_bytes += n;
}

static void
put_space(struct ex_ctx *x)
{
	if (x->out_len > 0 && (x->out[x->out_len - 1] == ' ' || x->out[x->out_len - 1] == '\n'))
		return;
	put(x, " ", 1);
}

void
ex_byte(struct ex_ctx *x, uint8_t c)
{
	int32_t cp;

	if (x->npend > 0) {
		if ((c & 0xc0) == 0x80) {
			x->pend[x->npend++] = c;
			if (x->npend < x->need)
				return;
			if (tok_utf8_decode(x->pend, x->npend, &cp) == x->npend && cp >= 0)
				put(x, x->pend, x->npend);
			else
				put_space(x);
			x->npend = 0;
			return;
		}
		put_space(x);   /* cut sequence; c starts afresh */
		x->npend = 0;
	}
	if (c < 0x80) {
		if (c == '\n')
			put(x, "\n", 1);
		else if (c < 0x20 || c == 0x7f || c == ' ')
			put_space(x);
		else
			put(x, &c, 1);
		return;
	}
	x->need = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
	if (x->need == 0) {
		put_space(x);
		return;
	}
	x->pend[0] = c;
	x->npend = 1;
}

void
ex_bytes(struct ex_ctx *x, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n && !ex_stop(x); i++)
		ex_byte(x, b[i]);
}

void
ex_cp(struct ex_ctx *x, int32_t cp)
{
	uint8_t t[4];
	size_t n;

	if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		put_space(x);
		return;
	}
	if (cp < 0x80) {
		ex_byte(x, (uint8_t)cp);
		return;
	}
	if (cp < 0x800) {
		t[0] = 0xc0 | (cp >> 6); t[1] = 0x80 | (cp & 0x3f); n = 2;
	} else if (cp < 0x10000) {
		t[0] = 0xe0 | (cp >> 12); t[1] = 0x80 | ((cp >> 6) & 0x3f);
		t[2] = 0x80 | (cp & 0x3f); n = 3;
	} else {
		t[0] = 0xf0 | (cp >> 18); t[1] = 0x80 | ((cp >> 12) & 0x3f);
		t[2] = 0x80 | ((cp >> 6) & 0x3f); t[3] = 0x80 | (cp & 0x3f); n = 4;
	}
	ex_bytes(x, t, n);
}

/* ---- plain text and CSV ---- */

static void
ex_text(struct ex_ctx *x)
{
	int c;

	while (!ex_stop(x) && (c = ex_getc(x)) >= 0)
		ex_byte(x, (uint8_t)c);
}

static void
ex_csv(struct ex_ctx *x)
{
	bool quoted = false;
	int c;

	while (!ex_stop(x) && (c = ex_getc(x)) >= 0) {
		if (c == '"') {
			if (quoted && ex_peek(x) == '"')
				ex_byte(x, (uint8_t)ex_getc(x));
			else
				quoted = !quoted;
		} else if (!quoted && (c == ',' || c == ';' || c == '\t')) {
			ex_byte(x, ' ');
		} else {
			ex_byte(x, (uint8_t)c);
		}
	}
	if (quoted)
		ex_malformed(x, "csv: unterminated quoted field");
}

/* ---- JSON: strings and numbers ---- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int32_t
json_u4(struct ex_ctx *x)
{
	int32_t v = 0;
	int i, h;

	for (i = 0; i < 4; i++) {
		if ((h = hexval(ex_getc(x))) < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

static int32_t
json_escape(struct ex_ctx *x)
{
	int32_t cp, lo;
	int c = ex_getc(x);

	switch (c) {
	case '"': case '\\': case '/': return c;
	case 'n': return '\n';
	case 't': case 'r': case 'b': case 'f': return ' ';
	case 'u':
		if ((cp = json_u4(x)) < 0)
			return -1;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (ex_getc(x) != '\\' || ex_getc(x) != 'u' || (lo = json_u4(x)) < 0xdc00 ||
			    lo > 0xdfff)
				return -1;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		return cp;
	default:
		return -1;
	}
}

static void
ex_json(struct ex_ctx *x)
{
	bool in_str = false;
	int32_t cp;
	int c;

	while (!ex_stop(x) && (c = ex_getc(x)) >= 0) {
		if (in_str) {
			if (c == '"') {
				in_str = false;
				ex_byte(x, '\n');
			} else if (c == '\\') {
				if ((cp = json_escape(x)) < 0)
					ex_malformed(x, "json: bad escape");
				ex_cp(x, cp);
			} else {
				ex_byte(x, (uint8_t)c);
			}
		} else if (c == '"') {
			in_str = true;
		} else if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.') {
			ex_byte(x, (uint8_t)c);
		} else if (strchr("{}[],: \t\r\n", c) != NULL) {
			ex_byte(x, ' ');
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
			ex_malformed(x, "json: unexpected character");
			ex_byte(x, ' ');
		}
	}
	if (in_str)
		ex_malformed(x, "json: unterminated string");
}

/* ---- XML / HTML ---- */

/* After '&': decodes an entity, or writes the text back as it was. */
static void
xml_entity(struct ex_ctx *x)
{
	static const struct { const char *name; char c; } named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
		{ "nbsp", ' ' },
	};
	char name[12];
	size_t n = 0, i;
	long v;
	char *end;
	int c;

	while (n < sizeof(name) - 1 && (c = ex_peek(x)) >= 0 &&
	       ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '#'))
		name[n++] = (char)ex_getc(x);
	name[n] = '\0';
	if (ex_peek(x) != ';' || n == 0) {
		ex_byte(x, '&');
		ex_bytes(x, name, n);
		return;
	}
	ex_getc(x);
	if (name[0] == '#') {
		errno = 0;
		v = (name[1] == 'x' || name[1] == 'X') ? strtol(name + 2, &end, 16) :
		    strtol(name + 1, &end, 10);
		if (*end != '\0' || end == name + 1 || v <= 0 || v > 0x10ffff) {
			ex_malformed(x, "xml: bad character reference");
			ex_byte(x, ' ');
			return;
		}
		ex_cp(x, (int32_t)v);
		return;
	}
	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strcmp(name, named[i].name) == 0) {
			ex_byte(x, (uint8_t)named[i].c);
			return;
		}
	ex_byte(x, ' ');   /* an HTML entity we do not know */
}

/* Skips until the terminator string; false at the end of input. */
static bool
skip_until(struct ex_ctx *x, const char *term, bool keep)
{
	size_t k = 0, tl = strlen(term);
	int c;

	while (!ex_stop(x) && (c = ex_getc(x)) >= 0) {
		if (c == term[k]) {
			if (++k == tl)
				return true;
			continue;
		}
		if (keep) {
			ex_bytes(x, term, k);
		}
		k = (c == term[0]);
		if (keep && !k)
			ex_byte(x, (uint8_t)c);
	}
	return false;
}

/* Inside a tag after '<' and its first byte: attribute values are kept. */
static bool
xml_tag(struct ex_ctx *x)
{
	int c, q;

	while ((c = ex_getc(x)) >= 0 && !ex_stop(x)) {
		if (c == '>') {
			ex_byte(x, ' ');
			return true;
		}
		if (c != '"' && c != '\'')
			continue;
		q = c;
		ex_byte(x, ' ');
		while ((c = ex_getc(x)) >= 0 && c != q && !ex_stop(x)) {
			if (c == '&')
				xml_entity(x);
			else
				ex_byte(x, (uint8_t)c);
		}
		ex_byte(x, ' ');
	}
	return false;
}

static bool
xml_markup(struct ex_ctx *x)
{
	int c = ex_peek(x);

	if (c == '?')
		return skip_until(x, ">", false);
	if (c != '!')
		return xml_tag(x);
	ex_getc(x);
	if (ex_peek(x) == '-') {
		ex_getc(x);
		if (ex_getc(x) != '-')
			return skip_until(x, ">", false);
		return skip_until(x, "-->", false);
	}
	if (ex_peek(x) == '[') {   /* <![CDATA[ ... ]]> */
		if (!skip_until(x, "[", false) || !skip_until(x, "[", false))
			return false;
		return skip_until(x, "]]>", true);
	}
	return skip_until(x, ">", false);
}

static void
ex_xml(struct ex_ctx *x)
{
	int c;

	while (!ex_stop(x) && (c = ex_getc(x)) >= 0) {
		if (c == '<') {
			ex_byte(x, ' ');
			if (!xml_markup(x) && !ex_stop(x))
				ex_malformed(x, "xml: unterminated markup");
		} else if (c == '&') {
			xml_entity(x);
		} else {
			ex_byte(x, (uint8_t)c);
		}
	}
}

/* ---- vCard / iCalendar: content lines "NAME;PARAMS:VALUE" ---- */

struct vc {
	char *line;          /* LINE_MAX_VC bytes */
	size_t len;
	bool cont;           /* line holds more value of an overlong line */
	bool qp, skip;       /* of the current property */
	int depth;
	bool begun;
};

static bool
name_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

static bool
skip_property(const char *p, size_t n)
{
	static const char *skip[] = { "BEGIN", "END", "VERSION", "PRODID", "PHOTO", "LOGO",
		"SOUND", "KEY", "DTSTART", "DTEND", "DTSTAMP", "CREATED", "LAST-MODIFIED",
		"RRULE", "EXDATE", "TZOFFSETFROM", "TZOFFSETTO", "SEQUENCE", "TRIGGER",
		"DURATION", "RECURRENCE-ID", "REV", "UID", "TZID" };
	size_t i;

	for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (name_is(p, n, skip[i]))
			return true;
	return false;
}

/* Parses the name and parameters; returns the offset of ':' or -1. */
static ssize_t
vc_head(struct vc *v, bool count)
{
	const char *l = v->line, *name = l;
	size_t i, nlen = 0;
	bool quoted = false, in_name = true;

	v->qp = v->skip = false;
	for (i = 0; i < v->len; i++) {
		if (l[i] == '"')
			quoted = !quoted;
		if (quoted)
			continue;
		if (in_name && l[i] == '.') {        /* "item1.TEL" group */
			name = l + i + 1;
			nlen = 0;
			continue;
		}
		if (l[i] == ';' || l[i] == ':') {
			if (in_name)
				nlen = (size_t)(l + i - name);
			in_name = false;
			if (l[i] == ':')
				break;
			if (strncasecmp(l + i + 1, "ENCODING=QUOTED-PRINTABLE", 25) == 0 ||
			    strncasecmp(l + i + 1, "QUOTED-PRINTABLE", 16) == 0)
				v->qp = true;
			if (strncasecmp(l + i + 1, "ENCODING=B", 10) == 0 ||
			    strncasecmp(l + i + 1, "BASE64", 6) == 0)
				v->skip = true;
		}
	}
	if (i >= v->len)
		return -1;
	if (skip_property(name, nlen))
		v->skip = true;
	if (!count)
		return (ssize_t)i;
	if (name_is(name, nlen, "BEGIN")) {
		v->depth++;
		v->begun = true;
	} else if (name_is(name, nlen, "END")) {
		v->depth--;
	}
	return (ssize_t)i;
}

static size_t
qp_decode(struct ex_ctx *x, char *p, size_t n)
{
	size_t i, o = 0;
	int h, l;

	for (i = 0; i < n; i++) {
		if (p[i] != '=') {
			p[o++] = p[i];
		} else if (i + 2 < n && (h = hexval((uint8_t)p[i + 1])) >= 0 &&
			   (l = hexval((uint8_t)p[i + 2])) >= 0) {
			p[o++] = (char)(h << 4 | l);
			i += 2;
		} else if (i + 1 < n) {
			ex_malformed(x, "vcard: bad quoted-printable");
			p[o++] = '=';
		}
	}
	return o;
}

static void
vc_value(struct ex_ctx *x, char *p, size_t n, bool qp)
{
	size_t i;

	if (qp)
		n = qp_decode(x, p, n);
	for (i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n) {
			i++;
			ex_byte(x, (p[i] == 'n' || p[i] == 'N') ? ' ' : (uint8_t)p[i]);
		} else if (p[i] == ';' || p[i] == ',') {
			ex_byte(x, ' ');
		} else {
			ex_byte(x, (uint8_t)p[i]);
		}
	}
}

static void
vc_line(struct ex_ctx *x, struct vc *v)
{
	ssize_t colon;

	if (v->cont) {
		if (!v->skip)
			vc_value(x, v->line, v->len, v->qp);
		return;
	}
	if (v->len == 0)
		return;
	if ((colon = vc_head(v, true)) < 0) {
		ex_malformed(x, "vcard: line without ':'");
		ex_bytes(x, v->line, v->len);
		ex_byte(x, '\n');
		return;
	}
	if (v->depth < 0)
		ex_malformed(x, "vcard: END without BEGIN");
	if (!v->skip) {
		vc_value(x, v->line + colon + 1, v->len - (size_t)colon - 1, v->qp);
		ex_byte(x, '\n');
	}
}

/* At a line break: a QUOTED-PRINTABLE value ending in '=' goes on. */
static bool
vc_soft_break(struct vc *v)
{
	if (v->len == 0 || v->line[v->len - 1] != '=')
		return false;
	if (!v->cont)
		vc_head(v, false);
	return v->qp;
}

static void
ex_vcard(struct ex_ctx *x)
{
	struct vc v = { 0 };
	int c, nx;

	if ((v.line = malloc(LINE_MAX_VC)) == NULL) {
		x->err = -ENOMEM;
		return;
	}
	while (!ex_stop(x)) {
		c = ex_getc(x);
		if (c == '\r')
			continue;
		if (c < 0 || c == '\n') {
			nx = c < 0 ? -1 : ex_peek(x);
			if (nx == ' ' || nx == '\t') {   /* folded line */
				ex_getc(x);
				continue;
			}
			if (c >= 0 && vc_soft_break(&v)) {
				v.len--;
				continue;
			}
			vc_line(x, &v);
			v.len = 0;
			v.cont = false;
			if (c < 0)
				break;
			continue;
		}
		if (v.len == LINE_MAX_VC) {       /* overlong: emit what we have, go on */
			vc_line(x, &v);
			v.cont = true;
			v.len = 0;
		}
		v.line[v.len++] = (char)c;
	}
	if (!v.begun)
		ex_malformed(x, "vcard: no BEGIN line");
	else if (v.depth != 0)
		ex_malformed(x, "vcard: unbalanced BEGIN/END");
	free(v.line);
}

/* ---- detection ---- */

static bool
has_ext(const char *path, const char *const exts[])
{
	const char *dot = path != NULL ? strrchr(path, '.') : NULL;
	size_t i;

	if (dot == NULL || strchr(dot, '/') != NULL)
		return false;
	for (i = 0; exts[i] != NULL; i++)
		if (strcasecmp(dot + 1, exts[i]) == 0)
			return true;
	return false;
}

static bool
looks_binary(const uint8_t *p, size_t n)
{
	size_t i, ctl = 0, bad = 0, cl;
	int32_t cp;

	for (i = 0; i < n; i += cl) {
		cl = tok_utf8_decode(p + i, n - i, &cp);
		if (p[i] == 0)
			return true;
		if (cp < 0 && i + 4 < n)
			bad++;
		else if (cp >= 0 && cp < 0x20 && !strchr("\t\n\r\f\v\033", (int)cp))
			ctl++;
	}
	return ctl * 100 > n || bad * 100 > n * 30;
}

static enum ex_kind
detect(struct ex_ctx *x, const char *path)
{
	static const char *const vcf[] = { "vcf", "vcard", NULL }, *const ics[] = { "ics", "ical", NULL },
	    *const json[] = { "json", NULL }, *const csv[] = { "csv", "tsv", NULL },
	    *const xml[] = { "xml", "html", "htm", "xhtml", "svg", "plist", NULL };
	const uint8_t *p = x->in;
	size_t n, i = 0;

	if (ex_peek(x) < 0)
		return EX_TEXT;
	n = x->in_len < 4096 ? x->in_len : 4096;
	if (n >= 16 && memcmp(p, "SQLite format 3", 16) == 0)
		return EX_SQLITE;
	if (looks_binary(p, n))
		return EX_BINARY;
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < n && strchr(" \t\r\n", p[i]) != NULL)
		i++;
	if (has_ext(path, vcf) || (n - i >= 11 && strncasecmp((const char *)p + i, "BEGIN:VCARD", 11) == 0))
		return EX_VCARD;
	if (has_ext(path, ics) || (n - i >= 15 && strncasecmp((const char *)p + i, "BEGIN:VCALENDAR", 15) == 0))
		return EX_ICAL;
	if (has_ext(path, csv))
		return EX_CSV;
	if (has_ext(path, json) || (i < n && (p[i] == '{' || p[i] == '[')))
		return EX_JSON;
	if (has_ext(path, xml) || (i < n && p[i] == '<'))
		return EX_XML;
	return EX_TEXT;
}

int
extract(const char *path, const struct ex_source *src, const struct ex_limits *lim,
	ex_emit_fn emit, void *arg, struct ex_result *res)
{
	struct ex_ctx *x;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -ENOMEM;
	x->src = src;
	x->res = res;
	x->emit = emit;
	x->arg = arg;
	if (lim != NULL)
		x->lim = *lim;
	else
		ex_limits_default(&x->lim);
	res->kind = detect(x, path);
	switch (res->kind) {
	case EX_BINARY: break;
	case EX_TEXT:   ex_text(x); break;
	case EX_VCARD:
	case EX_ICAL:   ex_vcard(x); break;
	case EX_JSON:   ex_json(x); break;
	case EX_CSV:    ex_csv(x); break;
	case EX_XML:    ex_xml(x); break;
	case EX_SQLITE: ex_sqlite(x); break;
	}
	ex_flush(x);
	rc = x->err;
	free(x);
	return rc;
}
