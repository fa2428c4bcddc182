/* hex.h — lowercase hex text of bytes (file names under STATE/chunks,
 * upload names, digests printed or put in JSON), and back (key files,
 * the admin path's enroll records).  One copy
 * so every name and digest is spelled the same way. */
#ifndef VIGIL_HEX_H
#define VIGIL_HEX_H

#include <stddef.h>

/* Bytes out must hold for n input bytes: two digits each and a NUL. */
#define HEX_SIZE(n) (2 * (n) + 1)

/* Writes the 2n lowercase hex digits of p[0..n) and a NUL to out, which
 * holds HEX_SIZE(n) bytes.  Returns out. */
char *hex_encode(const void *p, size_t n, char *out);
/* The n bytes that the 2n hex digits (either case) s[0..len) spell, into
 * out: 0, or -EINVAL (len is not 2n, or a character is not a digit; out
 * may then be partly written). */
int hex_decode(const char *s, size_t len, void *out, size_t n);

#endif
