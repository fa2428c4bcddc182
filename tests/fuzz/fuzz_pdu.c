/* fuzz_pdu.c — libFuzzer harness for fuse/pdu.c, fuse/gsm7.c,
 * fuse/smsjoin.c and fuse/ucs2.c.
 * Input: byte 0 = flags (bits 0-2: sms_join's max - 1), then records
 * [len][len bytes], each a PDU's bytes: written out as hex and decoded,
 * the parts that decode joined.  The whole input after byte 0 is also fed
 * as text to pdu_decode and the UCS2 decoders (non-hex, odd lengths).
 * Checked: 0 or -EINVAL; every text NUL-terminated, inside its array and
 * valid UTF-8; the join's counts and order as pdu.h says. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/pdu.h"
#include "fuse/ucs2.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_PARTS 8

static struct sms_part parts[MAX_PARTS];
static struct sim_sms msgs[MAX_PARTS];

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF)
 * of a NUL-terminated string that must end inside size bytes. */
static void check_utf8(const char *s, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n = strnlen(s, size), k, len;
	uint32_t cp;

	if (n == size)
		abort();
	while (i < n) {
		len = p[i] < 0x80 ? 1 : p[i] >= 0xc2 && p[i] < 0xe0 ? 2 :
		      p[i] >= 0xe0 && p[i] < 0xf0 ? 3 : p[i] >= 0xf0 && p[i] < 0xf5 ? 4 : 0;
		if (len == 0 || len > n - i)
			abort();
		cp = len == 1 ? p[i] : p[i] & (0x7f >> len);
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				abort();
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			abort();
		i += len;
	}
}

static void check_part(const struct sms_part *p, int rc, unsigned index)
{
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (p->index != index || p->status != SMS_UNREAD)
		abort();
	check_utf8(p->peer, sizeof(p->peer));
	check_utf8(p->text, sizeof(p->text));
	if (rc < 0 && (p->peer[0] || p->text[0] || p->concat))
		abort();
	if (p->concat && (p->seq < 1 || p->seq > p->total || p->total > 255))
		abort();
}

static void check_join(size_t n, size_t max, size_t nparts)
{
	unsigned used = 0;

	if (n > max || n > nparts)
		abort();
	for (size_t i = 0; i < n; i++) {
		check_utf8(msgs[i].peer, sizeof(msgs[i].peer));
		check_utf8(msgs[i].text, sizeof(msgs[i].text));
		if (msgs[i].parts < 1 || msgs[i].parts + msgs[i].parts_missing > 255)
			abort();
		if (i > 0 && msgs[i].index < msgs[i - 1].index)
			abort();
		used += msgs[i].parts;
	}
	if (used > nparts)
		abort();        /* a part lands in one message at most */
}

static void text_paths(const char *t, size_t n)
{
	struct sms_part p;
	char out[64];

	check_part(&p, pdu_decode(t, n, 1, SMS_UNREAD, &p), 1);
	if (ucs2_hex_to_utf8(t, n, out, sizeof(out)) >= 0)
		check_utf8(out, sizeof(out));
	if (ucs2_to_utf8((const uint8_t *)t, n, out, 1 + n % sizeof(out)) >= 0)
		check_utf8(out, sizeof(out));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char digits[] = "0123456789ABCDEF";
	char hex[2 * 255];
	size_t i = 1, nparts = 0, max;

	if (size < 1)
		return 0;
	max = (data[0] & 7) + 1u;
	text_paths((const char *)data + 1, size - 1);
	while (i < size && nparts < MAX_PARTS) {
		size_t len = data[i++], k;
		int rc;

		if (len > size - i)
			len = size - i;
		for (k = 0; k < len; k++) {
			hex[2 * k] = digits[data[i + k] >> 4];
			hex[2 * k + 1] = digits[data[i + k] & 15];
		}
		i += len;
		rc = pdu_decode(hex, 2 * len, (unsigned)(i % 5), SMS_UNREAD, &parts[nparts]);
		check_part(&parts[nparts], rc, (unsigned)(i % 5));
		nparts += rc == 0;
	}
	check_join(sms_join(parts, nparts, msgs, max), max, nparts);
	return 0;
}
