/* fuzz_command.c — libFuzzer harness for common/command.c: byte 0 picks
 * the parser (0 body, 1 envelope, 2 progress record), the rest is the
 * input.  Checks command.h's promises besides "no crash": a body that
 * decodes re-encodes to exactly the input (canonical), a failed decode
 * leaves *c zeroed; an envelope that decodes has a body of at most
 * CMD_BODY_MAX inside the input and re-encodes to the bytes it read; a
 * progress record that decodes re-encodes to the bytes it read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/command.h"
#include "tests/fuzz/fuzz_util.h"

static void body_case(const uint8_t *p, size_t n)
{
	static const struct vg_command zero;
	struct vg_command *c = malloc(sizeof(*c));
	struct buf b;
	int r;

	if (!c)
		abort();
	r = command_decode(p, n, c);
	if (r != 0 && r != -EBADMSG)
		abort();
	if (r < 0 && memcmp(c, &zero, sizeof(zero)))
		abort();
	if (r == 0) {
		buf_init(&b, CMD_BODY_MAX);
		if (command_encode(c, &b) != 0 || b.len != n || memcmp(b.data, p, n))
			abort();
		buf_free(&b);
	}
	free(c);
}

static void envelope_case(const uint8_t *p, size_t n)
{
	uint8_t sig[SIGN_SIG_LEN];
	struct wire_reader r;
	const uint8_t *body;
	struct buf b;
	uint64_t id;
	size_t len;

	wire_reader_init(&r, p, n);
	if (command_get_envelope(&r, &id, &body, &len, sig) < 0)
		return;
	if (len > CMD_BODY_MAX || !body || body < p || body + len > p + n)
		abort();
	buf_init(&b, 1 << 20);
	command_put_envelope(&b, id, body, len, sig);
	if (b.len != r.off || memcmp(b.data, p, r.off))
		abort();
	buf_free(&b);
	body_case(body, len);
}

static void state_case(const uint8_t *p, size_t n)
{
	struct vg_cmdstate st;
	struct wire_reader r;
	struct buf b;

	wire_reader_init(&r, p, n);
	command_get_state(&r, &st);
	if (wire_ok(&r) < 0)
		return;
	if (!memchr(st.state, '\0', sizeof(st.state)) || !memchr(st.reason, '\0', sizeof(st.reason)))
		abort();
	buf_init(&b, 1 << 20);
	command_put_state(&b, &st);
	if (b.len != r.off || memcmp(b.data, p, r.off))
		abort();
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0: body_case(data + 1, size - 1); break;
	case 1: envelope_case(data + 1, size - 1); break;
	default: state_case(data + 1, size - 1); break;
	}
	return 0;
}
