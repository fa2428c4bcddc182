/* ucs2.c — UCS2/UTF-16 code units (hex text from AT+CPBR in UCS2 mode, or
 * raw big-endian bytes from an SMS) to NUL-terminated UTF-8.
 *
 * The input is checked whole before anything is written, so -EINVAL never
 * leaves half a name behind.  Surrogate pairs become one code point; what
 * UTF-8 cannot carry (a lone or reversed surrogate) and U+0000 (which would
 * end the C string early) become U+FFFD. */
#include <errno.h>

#include "fuse/ucs2.h"

#define REPLACEMENT 0xfffdu

static unsigned utf8_len(uint32_t cp)
{
	if (cp < 0x80)
		return 1;
	if (cp < 0x800)
		return 2;
	return cp < 0x10000 ? 3 : 4;
}

int utf8_put(char *out, size_t outlen, size_t *len, uint32_t cp)
{
	unsigned n, i;

	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = REPLACEMENT;
	n = utf8_len(cp);
	if (outlen == 0 || *len >= outlen || outlen - 1 - *len < n)
		return -ENOSPC;
	if (n == 1) {
		out[*len] = (char)cp;
	} else {
		/* lead byte: n high bits set, then the top bits of cp */
		out[*len] = (char)((0xf00u >> n) | (cp >> (6 * (n - 1))));
		for (i = 1; i < n; i++)
			out[*len + i] = (char)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3f));
	}
	*len += n;
	out[*len] = '\0';
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Code unit i of either input form: 4 hex digits or 2 big-endian bytes. */
struct units {
	const char *hex;
	const uint8_t *be;
	size_t n;                       /* code units */
};

static uint16_t unit_at(const struct units *u, size_t i)
{
	uint16_t v = 0;
	size_t k;

	if (u->be)
		return (uint16_t)(u->be[2 * i] << 8 | u->be[2 * i + 1]);
	for (k = 0; k < 4; k++)
		v = (uint16_t)(v << 4 | hex_digit(u->hex[4 * i + k]));
	return v;
}

/* The code point starting at unit *i; advances *i past it. */
static uint32_t next_cp(const struct units *u, size_t *i)
{
	uint32_t hi = unit_at(u, (*i)++), lo;

	if (hi == 0 || (hi >= 0xdc00 && hi <= 0xdfff))
		return REPLACEMENT;
	if (hi < 0xd800 || hi > 0xdbff)
		return hi;
	if (*i >= u->n)
		return REPLACEMENT;
	lo = unit_at(u, *i);
	if (lo < 0xdc00 || lo > 0xdfff)
		return REPLACEMENT;     /* lo is read again as its own unit */
	(*i)++;
	return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

static int units_to_utf8(const struct units *u, char *out, size_t outlen)
{
	size_t i = 0, len = 0;

	if (outlen == 0)
		return -EINVAL;
	out[0] = '\0';
	while (i < u->n)
		if (utf8_put(out, outlen, &len, next_cp(u, &i)) < 0)
			break;          /* full: cut before this character */
	return (int)len;
}

int ucs2_hex_to_utf8(const char *hex, size_t hexlen, char *out, size_t outlen)
{
	struct units u = { .hex = hex, .n = hexlen / 4 };
	size_t i;

	if (hexlen % 4 != 0 || hexlen / 4 > INT32_MAX / 4)
		return -EINVAL;
	for (i = 0; i < hexlen; i++)
		if (hex_digit(hex[i]) < 0)
			return -EINVAL;
	return units_to_utf8(&u, out, outlen);
}

int ucs2_to_utf8(const uint8_t *be, size_t n, char *out, size_t outlen)
{
	struct units u = { .be = be, .n = n / 2 };

	if (n % 2 != 0 || n / 2 > INT32_MAX / 4)
		return -EINVAL;
	return units_to_utf8(&u, out, outlen);
}
