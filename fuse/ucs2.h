/* ucs2.h — UCS2/UTF-16 (as modems send it) to UTF-8.
 *
 * Code units are big-endian.  A surrogate pair becomes one code point; a
 * lone or reversed surrogate, and U+0000, become U+FFFD.  Output is always
 * NUL-terminated and cut only at a character boundary; the return value is
 * the bytes written (without the NUL), or -EINVAL for input that is not
 * whole code units (odd length, non-hex digits). */
#ifndef VIGIL_FUSE_UCS2_H
#define VIGIL_FUSE_UCS2_H

#include <stddef.h>
#include <stdint.h>

/* hex: 4 hex digits per code unit ("5F204E09" -> "张三"). */
int ucs2_hex_to_utf8(const char *hex, size_t hexlen, char *out, size_t outlen);
/* be: raw big-endian bytes (an SMS's UCS2 user data). */
int ucs2_to_utf8(const uint8_t *be, size_t n, char *out, size_t outlen);
/* Appends code point cp as UTF-8 at out[*len] if it fits in outlen - 1
 * (keeping room for the NUL); returns 0 or -ENOSPC (nothing written). */
int utf8_put(char *out, size_t outlen, size_t *len, uint32_t cp);

#endif
