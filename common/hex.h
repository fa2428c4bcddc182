/* hex.h — lowercase hex text of bytes (file names under STATE/chunks,
 * upload names, digests printed or put in JSON).  One copy
 * so every name and digest is spelled the same way. */
#ifndef VIGIL_HEX_H
#define VIGIL_HEX_H

#include <stddef.h>

/* Bytes out must hold for n input bytes: two digits each and a NUL. */
#define HEX_SIZE(n) (2 * (n) + 1)

/* Writes the 2n lowercase hex digits of p[0..n) and a NUL to out, which
 * holds HEX_SIZE(n) bytes.  Returns out. */
char *hex_encode(const void *p, size_t n, char *out);

#endif
