/* phone.c — find phone numbers in text and normalise them (see phone.h). */
#include <stdio.h>
#include <string.h>

#include "server/search/phone.h"

#define DIGITS_MAX 20   /* raw digits of a candidate, prefixes included */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_sep(char c)
{
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/';
}

/* The national trunk prefix of a country calling code. */
static const char *
trunk_of(int country)
{
	switch (country) {
	case 1:  return "1";
	case 7:  return "8";
	case 39: return "";     /* Italy keeps its leading 0 */
	default: return "0";
	}
}

static int
cc_digits(int country, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%d", country);

	return (n > 0 && (size_t)n < cap) ? n : -1;
}

/* Collects the digits of s; drops a "(0)" right after a '+' country code. */
static bool
collect(const char *s, size_t n, char *d, size_t *nd, bool *plus)
{
	size_t i, k = 0;

	*plus = false;
	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			if (k > 0 || *plus)
				return false;
			*plus = true;
		} else if (is_digit(s[i])) {
			if (k >= DIGITS_MAX)
				return false;
			d[k++] = s[i];
		} else if (s[i] == '(' && *plus && k > 0 && i + 2 < n && s[i + 1] == '0' &&
			   s[i + 2] == ')') {
			i += 2;   /* "+44 (0)7700 900123" */
		} else if (!is_sep(s[i])) {
			return false;
		}
	}
	d[k] = '\0';
	*nd = k;
	return true;
}

bool
phone_normalize(const char *s, size_t n, int country, char key[PHONE_KEY_MAX])
{
	char d[DIGITS_MAX + 1], cc[8];
	const char *p = d, *trunk = trunk_of(country);
	size_t nd, ncc, tl = strlen(trunk);
	bool plus;
	int r;

	if (!collect(s, n, d, &nd, &plus) || nd < 7)
		return false;
	if (!plus && country != 1 && nd > 2 && d[0] == '0' && d[1] == '0') {
		plus = true; p += 2; nd -= 2;
	} else if (!plus && country == 1 && nd > 3 && strncmp(d, "011", 3) == 0) {
		plus = true; p += 3; nd -= 3;
	}
	if ((r = cc_digits(country, cc, sizeof(cc))) < 0)
		return false;
	ncc = (size_t)r;
	/* written without '+' but already starting with the country code */
	if (!plus && nd >= 11 && strncmp(p, cc, ncc) == 0 && (tl == 0 || strncmp(p, trunk, tl) != 0))
		plus = true;
	if (plus) {
		if (nd < 8 || nd > 15 || p[0] == '0')
			return false;
		memcpy(key, p, nd + 1);
		return true;
	}
	if (tl > 0 && nd > tl && strncmp(p, trunk, tl) == 0 && !(country == 1 && nd == 10)) {
		p += tl;
		nd -= tl;
	}
	if (nd < 6 || ncc + nd > 15 || p[0] == '0')
		return false;
	memcpy(key, cc, ncc);
	memcpy(key + ncc, p, nd + 1);
	return true;
}

/* One candidate span; if it fails whole, its space-separated parts are tried
 * (a list of numbers written "13800138000 13900139000"). */
static int
try_span(const char *t, size_t a, size_t b, int country, phone_fn cb, void *arg)
{
	char key[PHONE_KEY_MAX];
	size_t i, s;
	int rc;

	if (phone_normalize(t + a, b - a, country, key))
		return cb(arg, key, a, b);
	for (s = a, i = a; i <= b; i++) {
		if (i < b && t[i] != ' ')
			continue;
		if (i > s && !(s == a && i == b) && phone_normalize(t + s, i - s, country, key) &&
		    (rc = cb(arg, key, s, i)) != 0)
			return rc;
		s = i + 1;
	}
	return 0;
}

int
phone_scan(const char *t, size_t len, int country, phone_fn cb, void *arg)
{
	size_t i = 0, j, end, seps, digits;
	unsigned char prev;
	int rc;

	while (i < len) {
		prev = i > 0 ? (unsigned char)t[i - 1] : ' ';
		bool start = (t[i] == '+' && i + 1 < len && is_digit(t[i + 1])) ||
		    (is_digit(t[i]) && !is_digit((char)prev));
		/* glued to a Latin word ("ID123456789") is not a number;
		 * glued to CJK ("电话13800138000") it is */
		if (!start || ((prev >= 'a' && prev <= 'z') ||
			       (prev >= 'A' && prev <= 'Z') || prev == '_')) {
			i++;
			continue;
		}
		for (j = i + 1, end = i + 1, seps = 0, digits = is_digit(t[i]); j < len; j++) {
			if (is_digit(t[j])) {
				seps = 0;
				digits++;
				end = j + 1;
			} else if (is_sep(t[j]) && ++seps <= 2) {
				if (t[j] == ')')
					end = j + 1;
			} else {
				break;
			}
		}
		/* a trailing letter makes it a word ("12345678abc") */
		if (end == j && j < len && ((t[j] >= 'a' && t[j] <= 'z') ||
					    (t[j] >= 'A' && t[j] <= 'Z'))) {
			i = j;
			continue;
		}
		if (digits >= 7 && (rc = try_span(t, i, end, country, cb, arg)) != 0)
			return rc;
		i = end > i ? end : i + 1;
	}
	return 0;
}
