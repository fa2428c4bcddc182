/* fuzz_modemat.c — libFuzzer harness for the AT modem source's reply-line
 * parsers (fuse/modem_atline.c, fuse/modem_atfield.c): the input is cut
 * into lines and every parser gets every line, in both charsets, with a
 * name buffer sized by the first byte.  What is accepted must be bounded
 * and NUL-terminated, numbers must hold dialling characters only ('+'
 * first at most), ICCIDs and IMSIs digits only. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/modem_at.h"
#include "tests/fuzz/fuzz_util.h"

static void
check_number(const char *n, size_t cap)
{
	size_t len = strnlen(n, cap);

	if (len == 0 || len >= cap || strspn(n, "+0123456789*#pPwW,") != len ||
	    strchr(n + 1, '+') != NULL)
		abort();
}

static void
check_digits(const char *s, size_t cap, size_t min, size_t max)
{
	size_t len = strnlen(s, cap);

	if (len >= cap || len < min || len > max || strspn(s, "0123456789") != len)
		abort();
}

static void
one_line(const char *line, size_t textcap)
{
	char out[SIM_NAME_MAX];
	struct sim_contact e;
	unsigned a, b;
	int ucs2;

	(void)mat_cpin(line);
	(void)mat_sim_urc(line);
	if (mat_iccid(line, out, SIM_ICCID_MAX) == 0)
		check_digits(out, SIM_ICCID_MAX, 10, 22);
	if (mat_imsi(line, out, SIM_IMSI_MAX) == 0)
		check_digits(out, SIM_IMSI_MAX, 5, 15);
	if (mat_cnum(line, out, SIM_NUMBER_MAX) == 0)
		check_number(out, SIM_NUMBER_MAX);
	if (mat_cpbr_range(line, &a, &b) == 0 && (a > b || b > 65535))
		abort();
	if (mat_cmgl_header(line, &a, &b) == 0 && (a > 65535 || b > 3))
		abort();
	for (ucs2 = 0; ucs2 < 2; ucs2++) {
		if (mat_cops(line, ucs2, out, textcap) == 0 && strnlen(out, textcap) >= textcap)
			abort();
		if (mat_cpbr_entry(line, ucs2, &e) == 0) {
			check_number(e.number, sizeof(e.number));
			if (strnlen(e.name, sizeof(e.name)) >= sizeof(e.name) || e.index > 65535)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *line, *nl;
	size_t textcap;

	if (size < 1 || size > 8192)
		return 0;
	textcap = 1 + data[0] % SIM_NAME_MAX;
	buf = malloc(size);
	if (buf == NULL)
		abort();
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (line = buf; line != NULL; line = nl) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		one_line(line, textcap);
	}
	free(buf);
	return 0;
}
