/* simdoc.c — sim/identity and sim/sms/<index>.txt rendered from a snapshot
 * (simdoc.h), and the character reader every sim/ document shares.  Text
 * from the modem is never trusted to be UTF-8: a byte that does not start
 * a valid sequence becomes U+FFFD, so the files are always valid UTF-8.
 * Single-line values (identity, message headers) lose every control
 * character; a message's text keeps its line breaks (as LF) and tabs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fuse/simdoc.h"
#include "fuse/simdoc_int.h"

#define NS_PER_MS 1000000LL
#define TZ_MAX_MINUTES (24 * 60 - 1)

/* Bytes of the strict UTF-8 sequence at p with its code point, or 0
 * (overlong forms, surrogates and code points past U+10FFFF are invalid). */
static size_t utf8_seq(const uint8_t *p, size_t n, uint32_t *cp)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t c = p[0];
	size_t len, i;

	if (c < 0x80)
		len = 1;
	else if (c >= 0xc2 && c <= 0xdf)
		len = 2, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, c &= 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

size_t simdoc_next(const uint8_t *p, size_t n, uint32_t *cp)
{
	size_t len;

	if (p[0] == '\r' || p[0] == '\n') {
		*cp = SIMDOC_NEWLINE;
		return p[0] == '\r' && n > 1 && p[1] == '\n' ? 2 : 1;
	}
	if ((len = utf8_seq(p, n, cp)) == 0) {
		*cp = SIMDOC_BAD;
		len = 1;
	}
	return len;
}

bool simdoc_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

size_t simdoc_utf8(uint32_t cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

bool simdoc_blank(const char *v, size_t n)
{
	const uint8_t *p = (const uint8_t *)v;
	size_t i = 0;
	uint32_t cp;

	while (i < n) {
		i += simdoc_next(p + i, n - i, &cp);
		if (cp != ' ' && !simdoc_is_control(cp))
			return false;
	}
	return true;
}

/* Appends v[0..n) cleaned: invalid bytes as U+FFFD, controls dropped
 * except, in multi-line text, line breaks (as LF) and tabs. */
static int put_text(struct buf *b, const char *v, size_t n, bool multiline)
{
	const uint8_t *p = (const uint8_t *)v;
	size_t i = 0;
	uint32_t cp;
	char t[4];
	int r = 0;

	while (i < n && r == 0) {
		i += simdoc_next(p + i, n - i, &cp);
		if (simdoc_is_control(cp) &&
		    !(multiline && (cp == SIMDOC_NEWLINE || cp == '\t')))
			continue;
		r = buf_append(b, t, simdoc_utf8(cp, t));
	}
	return r;
}

/* "key=value\n" (or "Key: value\n" with sep ": "); v is a fixed array. */
static int put_field(struct buf *b, const char *key, const char *sep, const char *v,
		     size_t cap)
{
	int r;

	if ((r = buf_printf(b, "%s%s", key, sep)) < 0 ||
	    (r = put_text(b, v, strnlen(v, cap), false)) < 0)
		return r;
	return buf_append(b, "\n", 1);
}

/* "YYYY-MM-DDThh:mm:ss" of t seconds (UTC wall clock) into out; false when
 * gmtime cannot express it. */
static bool civil(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || !gmtime_r(&tt, &tm))
		return false;
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return true;
}

/* read=: UTC with milliseconds (2026-12-06T10:15:30.123Z); empty for 0. */
static int put_read(struct buf *b, int64_t read_ns)
{
	int64_t ms = read_ns / NS_PER_MS, sec;
	char when[48];

	if (read_ns % NS_PER_MS < 0)
		ms--;
	sec = ms / 1000;
	if (ms % 1000 < 0)
		sec--;
	if (read_ns == 0 || !civil(sec, when, sizeof(when)))
		return buf_append(b, "read=\n", 6);
	return buf_printf(b, "read=%s.%03dZ\n", when, (int)(ms - sec * 1000));
}

int simdoc_identity(struct buf *b, const struct sim_identity *id, int64_t read_ns)
{
	size_t i, start, n;
	int r;

	if (!b || !id)
		return -EINVAL;
	start = b->len;
	n = id->nmsisdn < SIM_OWN_MAX ? id->nmsisdn : SIM_OWN_MAX;
	r = put_field(b, "iccid", "=", id->iccid, sizeof(id->iccid));
	if (r == 0)
		r = put_field(b, "imsi", "=", id->imsi, sizeof(id->imsi));
	for (i = 0; i < n && r == 0; i++)
		if (!simdoc_blank(id->msisdn[i], strnlen(id->msisdn[i], SIM_NUMBER_MAX)))
			r = put_field(b, "msisdn", "=", id->msisdn[i], SIM_NUMBER_MAX);
	if (r == 0)
		r = put_field(b, "operator", "=", id->operator_name, sizeof(id->operator_name));
	if (r == 0)
		r = buf_printf(b, "present=%s\n", id->present ? "yes" : "no");
	if (r == 0)
		r = put_read(b, read_ns);
	if (r < 0)
		b->len = start;
	return r;
}

/* Date: the service centre's time in its own zone (+08:00); none for 0.
 * A zone a day or more off UTC is not one: the time is shown in UTC. */
static int put_date(struct buf *b, int64_t time_s, int tz)
{
	int64_t local;
	char when[48];
	unsigned a;

	if (time_s == 0)
		return 0;
	if (tz < -TZ_MAX_MINUTES || tz > TZ_MAX_MINUTES)
		tz = 0;
	if (__builtin_add_overflow(time_s, (int64_t)tz * 60, &local) ||
	    !civil(local, when, sizeof(when)))
		return 0;
	a = (unsigned)(tz < 0 ? -tz : tz);
	return buf_printf(b, "Date: %s%c%02u:%02u\n", when, tz < 0 ? '-' : '+', a / 60, a % 60);
}

static const char *status_name(enum sim_sms_status s)
{
	static const char *names[] = { "unread", "read", "unsent", "sent" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

static int put_sms_head(struct buf *b, const struct sim_sms *m)
{
	bool out = m->status == SMS_UNSENT || m->status == SMS_SENT;
	size_t pn = strnlen(m->peer, sizeof(m->peer));
	int r = 0;

	if (!simdoc_blank(m->peer, pn))
		r = put_field(b, out ? "To" : "From", ": ", m->peer, sizeof(m->peer));
	if (r == 0)
		r = put_date(b, m->time_s, m->tz_minutes);
	if (r == 0)
		r = buf_printf(b, "Status: %s\nParts: %u", status_name(m->status), m->parts);
	if (r == 0 && m->parts_missing)
		r = buf_printf(b, ", missing %u", m->parts_missing);
	return r ? r : buf_append(b, "\n\n", 2);
}

int simdoc_sms(struct buf *b, const struct sim_sms *m)
{
	size_t start, n;
	int r;

	if (!b || !m)
		return -EINVAL;
	start = b->len;
	n = strnlen(m->text, sizeof(m->text));
	r = put_sms_head(b, m);
	if (r == 0)
		r = put_text(b, m->text, n, true);
	if (r == 0 && (b->len == start || b->data[b->len - 1] != '\n'))
		r = buf_append(b, "\n", 1);
	if (r < 0)
		b->len = start;
	return r;
}
