/* gsm7.c — GSM 7-bit default alphabet and extension table to UTF-8
 * (3GPP TS 23.038 sections 6.1.2.1 and 6.2.1). */
#include <errno.h>

#include "fuse/gsm7.h"
#include "fuse/ucs2.h"

#define GSM7_ESC 0x1b

/* 23.038 6.2.1: the default alphabet, septet -> Unicode.  0x1B (escape)
 * is never looked up here. */
static const uint16_t gsm7_default[128] = {
	'@', 0x00a3, '$', 0x00a5, 0x00e8, 0x00e9, 0x00f9, 0x00ec,
	0x00f2, 0x00c7, '\n', 0x00d8, 0x00f8, '\r', 0x00c5, 0x00e5,
	0x0394, '_', 0x03a6, 0x0393, 0x039b, 0x03a9, 0x03a0, 0x03a8,
	0x03a3, 0x0398, 0x039e, ' ', 0x00c6, 0x00e6, 0x00df, 0x00c9,
	' ', '!', '"', '#', 0x00a4, '%', '&', '\'',
	'(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7',
	'8', '9', ':', ';', '<', '=', '>', '?',
	0x00a1, 'A', 'B', 'C', 'D', 'E', 'F', 'G',
	'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W',
	'X', 'Y', 'Z', 0x00c4, 0x00d6, 0x00d1, 0x00dc, 0x00a7,
	0x00bf, 'a', 'b', 'c', 'd', 'e', 'f', 'g',
	'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w',
	'x', 'y', 'z', 0x00e4, 0x00f6, 0x00f1, 0x00fc, 0x00e0,
};

/* 23.038 6.2.1.1: the extension table after an escape.  Anything else
 * (0x0D CR2, 0x1B a further escape, unassigned) shows as a space. */
static uint32_t gsm7_ext(unsigned s)
{
	switch (s) {
	case 0x0a: return 0x000c;       /* form feed (page break) */
	case 0x14: return '^';
	case 0x28: return '{';
	case 0x29: return '}';
	case 0x2f: return '\\';
	case 0x3c: return '[';
	case 0x3d: return '~';
	case 0x3e: return ']';
	case 0x40: return '|';
	case 0x65: return 0x20ac;       /* euro sign */
	default: return ' ';
	}
}

/* Septet k of packed data: bits 7k .. 7k+6, low bit first. */
static unsigned septet(const uint8_t *p, size_t k)
{
	size_t bit = 7 * k, i = bit / 8;
	unsigned v = p[i] >> (bit % 8);

	if (bit % 8 > 1)
		v |= (unsigned)p[i + 1] << (8 - bit % 8);
	return v & 0x7f;
}

int gsm7_decode(const uint8_t *p, size_t n, size_t first, size_t count, char *out,
		size_t outlen, size_t *len)
{
	size_t k, end = first + count;
	uint32_t cp;
	unsigned s;

	if (count == 0)
		return 0;
	if (end < first || end > n / 7 * 8 + (n % 7) * 8 / 7)
		return -EINVAL;         /* septet end-1 needs byte (7*end - 1) / 8 */
	for (k = first; k < end; k++) {
		s = septet(p, k);
		if (s == GSM7_ESC)
			cp = ++k < end ? gsm7_ext(septet(p, k)) : ' ';
		else
			cp = gsm7_default[s];
		if (utf8_put(out, outlen, len, cp) < 0)
			break;
	}
	return 0;
}
