/* fuzz_timefmt.c — libFuzzer harness for common/timefmt.c: timefmt_parse
 * and timefmt_duration on arbitrary strings.  Input: 8 bytes of "now"
 * (big-endian int64), then the string.  Checks the documented contracts:
 * only 0/-EINVAL/-ERANGE, durations > 0, and every time that prints
 * (timefmt_format) parses back to the same nanosecond count. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	setenv("TZ", "UTC0", 1);   /* zone-less times: reproducible anywhere */
	return 0;
}

static void check_roundtrip(int64_t ns)
{
	char buf[TIMEFMT_MAX];
	int64_t back;

	if (!*timefmt_format(ns, buf, sizeof(buf)))
		return;
	if (timefmt_parse(buf, 0, &back) != 0 || back != ns)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t now = 0, ns, d;
	char *s;
	size_t i;
	int r;

	if (size < 8 || size > 256)
		return 0;
	for (i = 0; i < 8; i++)
		now = (int64_t)((uint64_t)now << 8 | data[i]);
	if (!(s = malloc(size - 8 + 1)))
		abort();
	memcpy(s, data + 8, size - 8);
	s[size - 8] = '\0';
	r = timefmt_parse(s, now, &ns);
	if (r != 0 && r != -EINVAL && r != -ERANGE)
		abort();
	if (r == 0)
		check_roundtrip(ns);
	check_roundtrip(now);
	r = timefmt_duration(s, &d);
	if (r != 0 && r != -EINVAL && r != -ERANGE)
		abort();
	if (r == 0 && d <= 0)
		abort();
	free(s);
	return 0;
}
