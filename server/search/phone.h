/* phone.h — phone numbers pulled out of text and normalised to one key.
 *
 * The key is the E.164 number as digits (country code + national
 * significant number, no '+'), e.g. "8613800138000".  A number written
 * without an international prefix ('+', "00", or "011" when the country is
 * 1) is taken as national in the server's default country: its trunk
 * prefix ("0"; "1" for NANP; "8" for 7) is dropped and the country code
 * put in front, so "+86 138-0013-8000", "138 0013 8000", "13800138000",
 * "008613800138000" and "+8613800138000" share one key, as do
 * "+44 7700 900123", "+44 (0)7700 900123" and "07700 900123" (country 44). */
#ifndef VIGIL_PHONE_H
#define VIGIL_PHONE_H

#include <stdbool.h>
#include <stddef.h>

#define PHONE_KEY_MAX 16   /* 15 digits + NUL */

/* s[0..n) must be only digits and the separators "+ -.()/" (and spaces)
 * with 7 to 15 significant digits; true and the key when it is a number. */
bool phone_normalize(const char *s, size_t n, int country, char key[PHONE_KEY_MAX]);

/* Calls cb for every phone number found in text (any UTF-8); start/end are
 * byte offsets of the number as written.  Returns 0 or cb's non-zero value. */
typedef int (*phone_fn)(void *arg, const char *key, size_t start, size_t end);
int phone_scan(const char *text, size_t len, int country, phone_fn cb, void *arg);

#endif
