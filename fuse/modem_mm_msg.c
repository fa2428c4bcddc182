/* modem_mm_msg.c — reading ModemManager's D-Bus values (a{sv} property
 * dictionaries, variants) and copying them into the snapshot's bounded
 * fields.  A value of an unexpected type is skipped, never trusted: the
 * field stays empty.  ModemManager's strings are UTF-8 (D-Bus checks) but
 * may hold anything else, including newlines. */
#include "fuse/modem_mm_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/timefmt.h"

int mm_dict_each(sd_bus_message *msg, mm_key_fn fn, void *ctx)
{
	const char *key;
	int r;

	r = sd_bus_message_enter_container(msg, 'a', "{sv}");
	if (r <= 0)
		return r < 0 ? r : -EBADMSG;
	while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
		r = sd_bus_message_read_basic(msg, 's', &key);
		if (r >= 0)
			r = fn(msg, key, ctx);
		if (r == 0)
			r = sd_bus_message_skip(msg, "v");
		if (r >= 0)
			r = sd_bus_message_exit_container(msg);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(msg);
}

int mm_var_basic(sd_bus_message *msg, char t, void *out)
{
	const char sig[2] = { t, '\0' };
	const char *contents;
	char type;
	int r;

	r = sd_bus_message_peek_type(msg, &type, &contents);
	if (r <= 0)
		return r < 0 ? r : -EBADMSG;
	if (type != 'v' || strcmp(contents, sig) != 0)
		return 0;
	r = sd_bus_message_enter_container(msg, 'v', sig);
	if (r >= 0)
		r = sd_bus_message_read_basic(msg, t, out);
	if (r >= 0)
		r = sd_bus_message_exit_container(msg);
	return r < 0 ? r : 1;
}

/* The length of src's longest prefix shorter than cap that does not end
 * inside a UTF-8 sequence. */
static size_t utf8_fit(const char *src, size_t cap)
{
	size_t n = strnlen(src, cap);

	if (n < cap)
		return n;
	n = cap - 1;
	while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
		n--;                    /* src[n] continues a sequence: cut before it */
	return n;
}

void mm_copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = utf8_fit(src, cap);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

void mm_copy_line(char *dst, size_t cap, const char *src)
{
	mm_copy_text(dst, cap, src);
	for (char *p = dst; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

static bool copy_checked(char *dst, size_t cap, const char *src, const char *allowed)
{
	size_t n = strlen(src);

	dst[0] = '\0';
	if (n >= cap || strspn(src, allowed) != n)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

bool mm_copy_digits(char *dst, size_t cap, const char *src)
{
	return copy_checked(dst, cap, src, "0123456789ABCDEFabcdef");
}

bool mm_copy_number(char *dst, size_t cap, const char *src)
{
	return copy_checked(dst, cap, src, "+0123456789*#pwPW");
}

/* The zone after the seconds: "", "Z", "+HH", "+HHMM" or "+HH:MM". */
static int iso_zone(const char *z, int *tz)
{
	int sign, hh, mm = 0;

	if (*z == '.')
		z += 1 + strspn(z + 1, "0123456789");
	if (strcmp(z, "Z") == 0 || *z == '\0') {
		*tz = 0;
		return 0;
	}
	if ((*z != '+' && *z != '-') || strspn(z + 1, "0123456789") < 2)
		return -EINVAL;
	sign = *z == '-' ? -1 : 1;
	hh = (z[1] - '0') * 10 + (z[2] - '0');
	z += 3;
	if (*z == ':')
		z++;
	if (*z) {
		if (strspn(z, "0123456789") != 2 || z[2])
			return -EINVAL;
		mm = (z[0] - '0') * 10 + (z[1] - '0');
	}
	if (hh > 23 || mm > 59)
		return -EINVAL;
	*tz = sign * (hh * 60 + mm);
	return 0;
}

int mm_iso_time(const char *s, int64_t *time_s, int *tz_minutes)
{
	char utc[TIMEFMT_MAX];
	int64_t ns;
	int tz;

	*time_s = 0;
	*tz_minutes = 0;
	/* YYYY-MM-DDTHH:MM:SS first: timefmt_parse would also take "now" or "-1d" */
	if (strnlen(s, 20) < 19 || strspn(s, "0123456789") != 4 || s[4] != '-' ||
	    s[10] != 'T' || iso_zone(s + 19, &tz) < 0)
		return -EINVAL;
	/* no zone: UTC, not this machine's local time as timefmt_parse would */
	if (snprintf(utc, sizeof(utc), "%s%s", s, strpbrk(s + 19, "Z+-") ? "" : "Z") >=
	    (int)sizeof(utc) || timefmt_parse(utc, 0, &ns) < 0)
		return -EINVAL;
	*time_s = ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
	*tz_minutes = tz;
	return 0;
}
