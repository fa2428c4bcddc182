/* simdoc_int.h — what simdoc.c and simdoc_vcard.c share: reading text of
 * the snapshot one character at a time (never trusting it to be valid
 * UTF-8), and the vCard property writer.  Not for other modules. */
#ifndef VIGIL_FUSE_SIMDOC_INT_H
#define VIGIL_FUSE_SIMDOC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define SIMDOC_NEWLINE 0x0a        /* CR LF, a lone CR or a lone LF */
#define SIMDOC_BAD     0xfffd      /* one byte that is not valid UTF-8 */

/* The next character of p[0..n) (n > 0): its code point in *cp, or
 * SIMDOC_NEWLINE, or SIMDOC_BAD; returns the bytes it took (1..4). */
size_t simdoc_next(const uint8_t *p, size_t n, uint32_t *cp);
/* C0, DEL and C1 (U+0080..U+009F); line breaks are controls too. */
bool simdoc_is_control(uint32_t cp);
/* Encodes cp (a scalar value) as UTF-8 into out[4]; returns 1..4. */
size_t simdoc_utf8(uint32_t cp, char *out);
/* True when v has nothing but controls and spaces. */
bool simdoc_blank(const char *v, size_t n);

/* Appends one folded property: name (trusted, ASCII), ':', value escaped
 * (n bytes), then raw (trusted ASCII, e.g. N's ";;;;", may be ""), CRLF. */
int simdoc_vcard_prop(struct buf *b, const char *name, const char *v, size_t n,
		      const char *raw);

#endif
