/* fuzz_jsonout.c — libFuzzer harness for controller/jsonout.c
 * text_escape_n on arbitrary bytes.  Checks jsonout.h's promises: the
 * result is valid UTF-8 (jansson accepts it as a JSON string), with ctl no
 * control character is left, and unescaping gives back the input bytes. */
#include <stdlib.h>
#include <string.h>

#include "controller/jsonout.h"
#include "tests/fuzz/fuzz_util.h"

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	abort();   /* the escaping uses lowercase hex only */
}

/* Reverses the mapping; returns the decoded length. */
static size_t unescape(const char *e, uint8_t *out)
{
	size_t n = 0;

	while (*e) {
		if (e[0] != '\\') {
			out[n++] = (uint8_t)*e++;
		} else if (e[1] == '\\') {
			out[n++] = '\\';
			e += 2;
		} else if (e[1] == 'x' && e[2] && e[3]) {
			out[n++] = (uint8_t)(hexv(e[2]) << 4 | hexv(e[3]));
			e += 4;
		} else {
			abort();   /* a lone backslash is not in the mapping */
		}
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *back;
	char *e;
	json_t *j;
	size_t i;
	int ctl;

	if (!(back = malloc(size + 1)))
		abort();
	for (ctl = 0; ctl < 2; ctl++) {
		if (!(e = text_escape_n((const char *)data, size, ctl)))
			abort();
		/* a NUL byte passes through unescaped without ctl: it ends the string */
		if (ctl || !memchr(data, 0, size)) {
			if (unescape(e, back) != size || memcmp(back, data, size) != 0)
				abort();
		}
		if (!(j = json_string(e)))
			abort();   /* not valid UTF-8 */
		json_decref(j);
		for (i = 0; ctl && e[i]; i++)
			if ((unsigned char)e[i] < 0x20 || e[i] == 0x7f)
				abort();
		free(e);
	}
	free(back);
	return 0;
}
