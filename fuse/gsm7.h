/* gsm7.h — the GSM 7-bit default alphabet and its extension table
 * (3GPP TS 23.038 section 6.2.1), unpacked from septets to UTF-8.  Used by
 * pdu.c for user data and for alphanumeric addresses. */
#ifndef VIGIL_FUSE_GSM7_H
#define VIGIL_FUSE_GSM7_H

#include <stddef.h>
#include <stdint.h>

/* Appends the text of septets [first, first + count) of the packed data
 * p[0..n) to out at *len (outlen bytes, kept NUL-terminated).  Septets are
 * packed low bit first (23.038 6.1.2.1).  An escape (0x1B) selects the
 * extension table for the next septet; an unknown extension, or an escape
 * with nothing after it, shows as a space.  Returns 0, or -EINVAL when the
 * septets are not all inside p (nothing appended).  A full out is no
 * error: the text is cut between characters. */
int gsm7_decode(const uint8_t *p, size_t n, size_t first, size_t count, char *out,
		size_t outlen, size_t *len);

#endif
