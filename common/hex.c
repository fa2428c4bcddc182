/* hex.c — see hex.h. */
#include "common/hex.h"

#include <stdint.h>

char *hex_encode(const void *p, size_t n, char *out)
{
	static const char digit[] = "0123456789abcdef";
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digit[b[i] >> 4];
		out[2 * i + 1] = digit[b[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}
