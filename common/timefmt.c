/* timefmt.c — parse TIME/DURATION from the command line, print RFC 3339.
 * Calendar arithmetic is done here (days_from_civil) rather than with
 * timegm(), so results do not depend on the C library's time_t range;
 * only zone-less ISO times go through mktime() for the local zone. */
#include "common/timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000LL

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int64_t y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* Exactly n digits at *p; advances *p. */
static int fixed_digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* "." followed by 1..9 digits -> nanoseconds; advances *p.  No dot: 0. */
static int fraction(const char **p, int64_t *ns)
{
	int64_t v = 0, scale = NS_PER_S;
	int n = 0;

	*ns = 0;
	if (**p != '.' && **p != ',')
		return 0;
	(*p)++;
	while (isdigit((unsigned char)**p)) {
		if (++n > 9)
			return -EINVAL;
		scale /= 10;
		v += (**p - '0') * scale;
		(*p)++;
	}
	if (n == 0)
		return -EINVAL;
	*ns = v;
	return 0;
}

static int combine(int64_t sec, int64_t frac, int64_t *out)
{
	int64_t t;

	/* sec < 0 with a fraction: fold one second in so INT64_MIN is reachable */
	if (sec < 0 && frac > 0) {
		sec += 1;
		frac -= NS_PER_S;
	}
	if (__builtin_mul_overflow(sec, NS_PER_S, &t) ||
	    __builtin_add_overflow(t, frac, &t))
		return -ERANGE;
	*out = t;
	return 0;
}

/* Z, z, +HH, +HHMM, +HH:MM (or -); *has_zone false when none. */
static int zone(const char **p, bool *has_zone, int *offset_s)
{
	int sign, hh, mm = 0;

	*has_zone = false;
	*offset_s = 0;
	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*has_zone = true;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return 0;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (fixed_digits(p, 2, &hh) < 0)
		return -EINVAL;
	if (**p == ':')
		(*p)++;
	if (isdigit((unsigned char)**p) && fixed_digits(p, 2, &mm) < 0)
		return -EINVAL;
	if (hh > 23 || mm > 59)
		return -EINVAL;
	*has_zone = true;
	*offset_s = sign * (hh * 3600 + mm * 60);
	return 0;
}

static int local_seconds(int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	errno = 0;
	t = mktime(&tm);
	if (t == (time_t)-1 && errno)
		return -ERANGE;
	*out = (int64_t)t;
	return 0;
}

static int parse_iso(const char *p, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, s = 0, off;
	int64_t frac = 0, sec;
	bool has_zone;

	if (fixed_digits(&p, 4, &y) < 0 || *p++ != '-' ||
	    fixed_digits(&p, 2, &mo) < 0 || *p++ != '-' ||
	    fixed_digits(&p, 2, &d) < 0)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (fixed_digits(&p, 2, &h) < 0 || *p++ != ':' ||
		    fixed_digits(&p, 2, &mi) < 0)
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (fixed_digits(&p, 2, &s) < 0 || fraction(&p, &frac) < 0)
				return -EINVAL;
		}
		if (h > 23 || mi > 59 || s > 60)
			return -EINVAL;
	}
	if (zone(&p, &has_zone, &off) < 0 || *p != '\0')
		return -EINVAL;
	if (has_zone) {
		sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
	} else {
		int r = local_seconds(y, mo, d, h, mi, s, &sec);

		if (r < 0)
			return r;
	}
	return combine(sec, frac, out);
}

/* Decimal digits at *pp into *v (from *v's value), *pp past them: how
 * many, or -ERANGE on overflow. */
static int digits(const char **pp, int64_t *v)
{
	const char *p = *pp;
	int n = 0;

	while (isdigit((unsigned char)*p)) {
		if (__builtin_mul_overflow(*v, 10, v) || __builtin_add_overflow(*v, *p - '0', v))
			return -ERANGE;
		p++;
		n++;
	}
	*pp = p;
	return n;
}

static int parse_epoch(const char *p, int64_t *out)
{
	int64_t sec = 0, frac, ns;
	bool neg = false;
	int n = 0, r;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if ((n = digits(&p, &sec)) < 0)
		return n;
	if (n == 0 || fraction(&p, &frac) < 0 || *p != '\0')
		return -EINVAL;
	if ((r = combine(sec, frac, &ns)) < 0)
		return r;
	*out = neg ? -ns : ns;
	return 0;
}

/* Groups of <digits><unit>, unit in s m h d w; sum > 0. */
static int parse_span(const char *p, int64_t *out)
{
	int64_t total = 0;

	if (*p == '\0')
		return -EINVAL;
	while (*p) {
		int64_t v = 0, unit, part;
		int n = 0;

		if ((n = digits(&p, &v)) < 0)
			return n;
		switch (*p) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return -EINVAL;
		}
		if (n == 0)
			return -EINVAL;
		p++;
		if (__builtin_mul_overflow(v, unit * NS_PER_S, &part) ||
		    __builtin_add_overflow(total, part, &total))
			return -ERANGE;
	}
	if (total <= 0)
		return -EINVAL;
	*out = total;
	return 0;
}

int timefmt_parse(const char *s, int64_t now_ns, int64_t *out_ns)
{
	int64_t span;
	int r;

	if (!s || !*s)
		return -EINVAL;
	if (strcmp(s, "now") == 0) {
		*out_ns = now_ns;
		return 0;
	}
	if (s[0] == '@')
		return parse_epoch(s + 1, out_ns);
	if (s[0] == '-') {
		if ((r = parse_span(s + 1, &span)) < 0)
			return r;
		if (__builtin_sub_overflow(now_ns, span, out_ns))
			return -ERANGE;
		return 0;
	}
	return parse_iso(s, out_ns);
}

int timefmt_duration(const char *s, int64_t *out_ns)
{
	if (!s)
		return -EINVAL;
	return parse_span(s, out_ns);
}

char *timefmt_format(int64_t ns, char *buf, size_t cap)
{
	int64_t sec = ns / NS_PER_S, frac = ns % NS_PER_S;
	time_t t;
	struct tm tm;
	char fr[16] = "";
	int n;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	if (frac < 0) {
		frac += NS_PER_S;
		sec -= 1;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm))
		return buf;
	if (frac) {
		snprintf(fr, sizeof(fr), ".%09lld", (long long)frac);
		n = (int)strlen(fr);
		while (fr[n - 1] == '0')
			fr[--n] = '\0';
	}
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fr);
	return buf;
}

