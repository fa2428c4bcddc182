/* simdoc_vcard.c — sim/phonebook.vcf: one vCard 3.0 per SIM entry (RFC
 * 2426, with RFC 6350's folding rule on UTF-8).  Values are escaped
 * (\\ \, \; and \n for any line break), control characters dropped, and
 * physical lines cut at 75 octets (CRLF not counted) before a character or
 * an escape pair, never inside one; a continuation line starts with one
 * space, which counts.  Nothing depends on time or memory: the same
 * entries give the same bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/simdoc.h"
#include "fuse/simdoc_int.h"

#define VC_LINE_MAX 75

struct fold {
	struct buf *b;
	size_t col;      /* octets on the current physical line */
};

/* One unit that must stay on one physical line (a character, an escape). */
static int fold_put(struct fold *f, const char *t, size_t n)
{
	int r;

	if (f->col + n > VC_LINE_MAX) {
		if ((r = buf_append(f->b, "\r\n ", 3)) < 0)
			return r;
		f->col = 1;
	}
	f->col += n;
	return buf_append(f->b, t, n);
}

static int fold_ascii(struct fold *f, const char *s)
{
	int r = 0;

	for (; *s && r == 0; s++)
		r = fold_put(f, s, 1);
	return r;
}

/* The escaped form of one character into t; 0 when it is dropped. */
static size_t vc_escape(uint32_t cp, char *t)
{
	if (cp == SIMDOC_NEWLINE || cp == '\\' || cp == ',' || cp == ';') {
		t[0] = '\\';
		t[1] = cp == SIMDOC_NEWLINE ? 'n' : (char)cp;
		return 2;
	}
	if (simdoc_is_control(cp))
		return 0;
	return simdoc_utf8(cp, t);
}

int simdoc_vcard_prop(struct buf *b, const char *name, const char *v, size_t n,
		      const char *raw)
{
	struct fold f = { b, 0 };
	const uint8_t *p = (const uint8_t *)v;
	size_t i = 0, used, tn;
	uint32_t cp;
	char t[4];
	int r;

	if ((r = fold_ascii(&f, name)) < 0 || (r = fold_put(&f, ":", 1)) < 0)
		return r;
	while (i < n) {
		used = simdoc_next(p + i, n - i, &cp);
		i += used;
		tn = vc_escape(cp, t);
		if (tn && (r = fold_put(&f, t, tn)) < 0)
			return r;
	}
	if ((r = fold_ascii(&f, raw)) < 0)
		return r;
	return buf_append(b, "\r\n", 2);
}

/* A property name (with parameters) is printable ASCII without ':'. */
static bool prop_name_ok(const char *name)
{
	if (!name || !*name)
		return false;
	for (; *name; name++)
		if (*name <= 0x20 || *name >= 0x7f || *name == ':')
			return false;
	return true;
}

int simdoc_vcard_line(struct buf *b, const char *name, const char *value)
{
	size_t start;
	int r;

	if (!b || !value || !prop_name_ok(name))
		return -EINVAL;
	start = b->len;
	r = simdoc_vcard_prop(b, name, value, strlen(value), "");
	if (r < 0)
		b->len = start;
	return r;
}

/* FN: the name, else the number, else "SIM <index>" (FN is required). */
static int card_fn(struct buf *b, const struct sim_contact *c, const char *num, size_t nn,
		   bool has_name)
{
	char fn[32];
	int k;

	if (has_name)
		return simdoc_vcard_prop(b, "FN", c->name, strnlen(c->name, SIM_NAME_MAX), "");
	if (nn)
		return simdoc_vcard_prop(b, "FN", num, nn, "");
	k = snprintf(fn, sizeof(fn), "SIM %u", c->index);
	return simdoc_vcard_prop(b, "FN", fn, (size_t)k, "");
}

/* The number as stored; type 145 (international) carries its '+'. */
static size_t card_number(const struct sim_contact *c, char *out, size_t cap)
{
	size_t n = strnlen(c->number, SIM_NUMBER_MAX), o = 0;

	if (simdoc_blank(c->number, n))
		return 0;
	if (c->type == SIM_TON_INTERNATIONAL && c->number[0] != '+')
		out[o++] = '+';
	if (n > cap - o)
		n = cap - o;
	memcpy(out + o, c->number, n);
	return o + n;
}

static int card(struct buf *b, const struct sim_contact *c)
{
	char num[SIM_NUMBER_MAX + 1], idx[16];
	size_t nn = card_number(c, num, sizeof(num));
	size_t nl = strnlen(c->name, SIM_NAME_MAX);
	bool has_name = !simdoc_blank(c->name, nl);
	int r;

	if ((r = buf_append(b, "BEGIN:VCARD\r\nVERSION:3.0\r\n", 26)) < 0 ||
	    (r = card_fn(b, c, num, nn, has_name)) < 0 ||
	    (r = simdoc_vcard_prop(b, "N", c->name, has_name ? nl : 0, ";;;;")) < 0)
		return r;
	if (nn && (r = simdoc_vcard_prop(b, "TEL;TYPE=CELL", num, nn, "")) < 0)
		return r;
	snprintf(idx, sizeof(idx), "%u", c->index);
	if ((r = simdoc_vcard_prop(b, "X-SIM-INDEX", idx, strlen(idx), "")) < 0)
		return r;
	return buf_append(b, "END:VCARD\r\n", 11);
}

/* Index order whatever the array's order; equal indexes keep theirs. */
static int by_index(const void *a, const void *b, void *arg)
{
	const struct sim_contact *c = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	if (c[i].index != c[j].index)
		return c[i].index < c[j].index ? -1 : 1;
	return i < j ? -1 : i > j;
}

int simdoc_phonebook(struct buf *b, const struct sim_contact *c, size_t n)
{
	size_t i, start, *order;
	int r = 0;

	if (!b || (n && !c))
		return -EINVAL;
	if (n == 0)
		return 0;
	if (n > SIZE_MAX / sizeof(*order) || !(order = malloc(n * sizeof(*order))))
		return -ENOMEM;
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), by_index, (void *)c);
	start = b->len;
	for (i = 0; i < n && r == 0; i++)
		r = card(b, &c[order[i]]);
	if (r < 0)
		b->len = start;
	free(order);
	return r;
}
