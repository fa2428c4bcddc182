/* modem_atfield.c — the small parsers the AT modem source shares: reply
 * fields (quoted strings may hold commas), decimal fields, dialling
 * numbers (plain or UCS2 hex), text in the modem's charset, and which
 * unsolicited codes concern the SIM.  All of it is modem input: every
 * length is checked, nothing is trusted. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fuse/modem_at.h"
#include "fuse/ucs2.h"

int
mat_fields(const char *line, const char *prefix, struct mat_field *f, int max)
{
	const char *p = line;
	int n = 0;

	if (prefix != NULL) {
		size_t pl = strlen(prefix);

		if (strncmp(line, prefix, pl) != 0)
			return -EINVAL;
		p += pl;
	}
	while (n < max) {
		while (*p == ' ')
			p++;
		if (*p == '"') {
			const char *q = strchr(p + 1, '"');

			if (q == NULL)
				return -EINVAL;
			f[n] = (struct mat_field){ p + 1, (size_t)(q - p - 1), true };
			for (p = q + 1; *p == ' '; p++)
				;
			if (*p != '\0' && *p != ',')
				return -EINVAL;
		} else {
			size_t len = strcspn(p, ",");
			size_t t = len;

			while (t > 0 && p[t - 1] == ' ')
				t--;
			f[n] = (struct mat_field){ p, t, false };
			p += len;
		}
		n++;
		if (*p != ',')
			break;
		p++;
	}
	return n;
}

int
mat_uint(const struct mat_field *f, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (f->n == 0 || f->n > 9)
		return -EINVAL;
	for (i = 0; i < f->n; i++) {
		if (f->s[i] < '0' || f->s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(f->s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Characters a stored dialling number may hold (27.007: digits, + * #, and
 * p/w pauses; ',' is a pause on some modems). */
static bool
dial_char(char c)
{
	return (c >= '0' && c <= '9') || strchr("+*#pPwW,", c) != NULL;
}

/* "002B0038" -> "+8": every code unit must be a dialling character; else
 * -EINVAL (then the field is taken as plain text). */
static int
ucs2_digits(const struct mat_field *f, char *out, size_t outlen)
{
	size_t i, k = 0;

	if (f->n < 4 || f->n % 4 != 0 || f->n / 4 >= outlen)
		return -EINVAL;
	for (i = 0; i < f->n; i += 4) {
		int d[4], j;

		for (j = 0; j < 4; j++)
			if ((d[j] = hexval(f->s[i + j])) < 0)
				return -EINVAL;
		if (d[0] != 0 || d[1] != 0 || !dial_char((char)(d[2] << 4 | d[3])))
			return -EINVAL;
		out[k++] = (char)(d[2] << 4 | d[3]);
	}
	out[k] = '\0';
	return 0;
}

int
mat_number(const struct mat_field *f, int type, char *out, size_t outlen)
{
	char tmp[SIM_NUMBER_MAX];
	size_t i, len;
	bool plus;

	if (ucs2_digits(f, tmp, sizeof(tmp)) != 0) {
		if (f->n >= sizeof(tmp))
			return -ENAMETOOLONG;
		memcpy(tmp, f->s, f->n);
		tmp[f->n] = '\0';
	}
	len = strlen(tmp);
	if (len == 0)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!dial_char(tmp[i]) || (tmp[i] == '+' && i != 0))
			return -EINVAL;
	plus = type == SIM_TON_INTERNATIONAL && tmp[0] != '+';
	if (len + plus >= outlen)
		return -ENAMETOOLONG;
	out[0] = '+';
	memcpy(out + plus, tmp, len + 1);
	return 0;
}

int
mat_text(const struct mat_field *f, bool ucs2, char *out, size_t outlen)
{
	size_t i, n;

	if (outlen == 0)
		return -EINVAL;
	if (ucs2) {
		if (f->n == 0) {
			out[0] = '\0';
			return 0;
		}
		return ucs2_hex_to_utf8(f->s, f->n, out, outlen) < 0 ? -EINVAL : 0;
	}
	n = f->n < outlen - 1 ? f->n : outlen - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)f->s[i];

		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
	return 0;
}

/* Codes after which the SIM may differ: its status (+QSIMSTAT, +CPIN,
 * +QUSIM), Quectel's readiness reports (+QIND: SMS DONE / PB DONE, SIM
 * events) and a new message stored (+CMTI). */
bool
mat_sim_urc(const char *line)
{
	static const char *const pfx[] = {
		"+QSIMSTAT:", "+CPIN:", "+QUSIM:", "+CMTI:", "+QIND: SIM", "+QIND: \"SIM",
		"+QIND: SMS DONE", "+QIND: PB DONE", "+QIND: \"SMS DONE", "+QIND: \"PB DONE",
	};
	size_t i;

	for (i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (strncmp(line, pfx[i], strlen(pfx[i])) == 0)
			return true;
	return false;
}
