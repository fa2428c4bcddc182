/* at.c — the pure half of the AT layer (fuse/at.h): splitting the modem's
 * byte stream into lines and classifying them as final result codes (V.250,
 * TS 27.007 9.2) or unsolicited result codes.  No I/O: fuse/atport.c, the
 * unit tests and the fuzzer drive it. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/at.h"

void at_splitter_init(struct at_splitter *sp)
{
	sp->line[0] = '\0';
	sp->len = 0;
	sp->overlong = false;
}

static enum at_split split_end(struct at_splitter *sp)
{
	enum at_split r = sp->overlong ? AT_SPLIT_OVERLONG : AT_SPLIT_LINE;

	sp->line[sp->len] = '\0';
	sp->len = 0;
	sp->overlong = false;
	return r;
}

/* CR and LF both end a line, so CRLF, LFCR and blank lines all come out as
 * one line followed by empty ones, which are skipped.  Control bytes are
 * dropped before they count toward the length. */
enum at_split at_splitter_feed(struct at_splitter *sp, const char **p, size_t *n)
{
	while (*n > 0) {
		unsigned char c = (unsigned char)**p;

		(*p)++;
		(*n)--;
		if (c == '\r' || c == '\n') {
			if (sp->len == 0 && !sp->overlong)
				continue;
			return split_end(sp);
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			continue;
		if (sp->len == AT_LINE_MAX) {
			sp->overlong = true;
			continue;
		}
		sp->line[sp->len++] = (char)c;
		/* the SMS text prompt is not followed by a line end */
		if (sp->len == 2 && !sp->overlong && sp->line[0] == '>' && sp->line[1] == ' ')
			return split_end(sp);
	}
	return AT_SPLIT_NONE;
}

/* Trailing blanks are tolerated after a result code; nothing else is. */
static bool is_word(const char *line, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(line, word, n) != 0)
		return false;
	return line[n + strspn(line + n, " \t")] == '\0';
}

/* "<n>" after "+CME ERROR:": a decimal code, or -1 for verbose text
 * ("SIM not inserted") or anything out of range. */
static int error_code(const char *s)
{
	char *end;
	long v;

	s += strspn(s, " \t");
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || v > INT_MAX || end[strspn(end, " \t")] != '\0')
		return -1;
	return (int)v;
}

enum at_final at_final_code(const char *line, int *code)
{
	static const char *const errors[] = { "ERROR", "NO CARRIER", "NO DIALTONE", "BUSY",
					      "NO ANSWER" };
	int dummy;

	if (!code)
		code = &dummy;
	*code = 0;
	if (is_word(line, "OK"))
		return AT_FINAL_OK;
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		if (is_word(line, errors[i])) {
			*code = -1;
			return AT_FINAL_ERROR;
		}
	}
	if (strncmp(line, "+CME ERROR:", 11) == 0) {
		*code = error_code(line + 11);
		return AT_FINAL_CME;
	}
	if (strncmp(line, "+CMS ERROR:", 11) == 0) {
		*code = error_code(line + 11);
		return AT_FINAL_CMS;
	}
	return AT_FINAL_NONE;
}

/* Unsolicited codes of TS 27.007 and of the Quectel EG25-G.  "+CPIN:" and
 * "+CFUN:" are here because the EG25-G sends "+CPIN: READY" and "+CFUN: 1"
 * unsolicited after boot and SIM insertion; the commands that ask for them
 * pass their prefix, which makes such lines replies (at.h). */
static const char *const urc_prefixes[] = {
	"+CMTI:", "+CDSI:", "+QIND:", "+QSIMSTAT:", "+QUSIM:", "+CPIN:", "+CFUN:",
	"+CREG:", "+CGREG:", "+CEREG:", "+C5GREG:", "+CRING:", "+CLIP:", "+CUSD:",
	"+CGEV:", "+CTZV:", "+CTZE:", "+QNITZ:", "+CIEV:", "^",
};
static const char *const urc_words[] = { "RING", "RDY", "POWERED DOWN" };

bool at_is_urc(const char *line)
{
	for (size_t i = 0; i < sizeof(urc_prefixes) / sizeof(urc_prefixes[0]); i++)
		if (strncmp(line, urc_prefixes[i], strlen(urc_prefixes[i])) == 0)
			return true;
	for (size_t i = 0; i < sizeof(urc_words) / sizeof(urc_words[0]); i++)
		if (is_word(line, urc_words[i]))
			return true;
	return false;
}
