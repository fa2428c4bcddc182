/* fuzz_mmvalue.c — libFuzzer harness for the ModemManager source's value
 * helpers (fuse/modem_mm_msg.c): mm_iso_time on ModemManager's timestamps
 * and the bounded copies into snapshot fields.  Input: byte 0 = the
 * destination's size (0 taken as 1), then the string (up to its first NUL).
 * Checks the contracts of fuse/modem_mm_int.h: times give 0 or -EINVAL with
 * zeroed outputs, zones within a day; copies stay NUL-terminated below the
 * cap, are prefixes of the source cut between UTF-8 sequences, one-line
 * copies hold no control character, checked copies are all or nothing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/modem_mm_int.h"
#include "tests/fuzz/fuzz_util.h"

static void check_time(const char *s)
{
	int64_t t = 1;
	int tz = 1;
	int r = mm_iso_time(s, &t, &tz);

	if (r != 0 && r != -EINVAL)
		abort();
	if (r != 0 && (t != 0 || tz != 0))
		abort();
	if (r == 0 && (tz <= -24 * 60 || tz >= 24 * 60))
		abort();
}

static void check_cut(const char *dst, const char *src, size_t cap)
{
	size_t n = strlen(dst);

	if (n >= cap || (strlen(src) < cap && n != strlen(src)))
		abort();
	if (n < strlen(src) && n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
		abort();                /* cut inside a UTF-8 sequence */
}

static void check_copies(const char *src, size_t cap)
{
	char *dst = malloc(cap);

	if (!dst)
		abort();
	mm_copy_text(dst, cap, src);
	check_cut(dst, src, cap);
	if (strncmp(dst, src, strlen(dst)) != 0)
		abort();
	mm_copy_line(dst, cap, src);
	check_cut(dst, src, cap);
	for (const char *p = dst; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	if (mm_copy_digits(dst, cap, src) ? strcmp(dst, src) != 0 : dst[0] != '\0')
		abort();
	if (mm_copy_number(dst, cap, src) ? strcmp(dst, src) != 0 : dst[0] != '\0')
		abort();
	free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1 || size > 1024)
		return 0;
	if (!(s = malloc(size)))
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	check_time(s);
	check_copies(s, data[0] ? data[0] : 1);
	free(s);
	return 0;
}
