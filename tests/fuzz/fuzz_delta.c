/* fuzz_delta.c — libFuzzer harness for server/store/content_delta.c: vpatch over
 * arbitrary delta bytes against a stored base (empty or BASE_LEN bytes),
 * fed in pieces of fuzzer-chosen sizes.  A small model applies the same
 * delta in memory; vpatch must accept exactly what the model accepts, and
 * a version it builds must read back as the model's bytes with the model's
 * sha256.  The announced size caps the output (vpatch_new's max_size): the
 * model says where a delta passes it, and vpatch must fail there with
 * -EFBIG, not sooner, not later, not with another error.
 * Input: byte 0 = piece step (bit 0: empty base), bytes 1-3 = the announced
 * size (big-endian; 0xffffff: CONTENT_SIZE_MAX), rest = delta. */
#include <errno.h>
#include <stdbool.h>

#include <librsync.h>

#include "tests/fuzz/fuzz_store_common.h"

#define IN_MAX  1024
#define OUT_MAX (8u << 20)

/* The model's output, allocated once: an 8 MiB malloc and free per input
 * was most of the harness's time (ASan poisons the whole block both ways). */
static uint8_t *fz_out;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_store_init("delta");
	if (!(fz_out = malloc(OUT_MAX)))
		abort();
	return 0;
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* A LITERAL at d[i..len) of a bytes: appended up to what is there.
 * 0, or -EFBIG / -EBADMSG as vpatch fails on it. */
static int literal(const uint8_t *d, size_t len, size_t i, uint64_t a, uint64_t max,
		   uint8_t *out, size_t *n)
{
	size_t have = a < len - i ? (size_t)a : len - i;

	if (have > max - *n)       /* written piece by piece before the end shows */
		return -EFBIG;
	if (a > len - i || *n + a > OUT_MAX)
		return -EBADMSG;
	memcpy(out + *n, d + i, a);
	*n += a;
	return 0;
}

/* The delta format of content_delta.c, applied in memory with output cap
 * max: 0 when valid, else the error vpatch must give.  *out (fz_out, *n
 * bytes) is the result. */
static int model(const uint8_t *d, size_t len, const uint8_t *base, size_t blen,
		 uint64_t max, uint8_t **out, size_t *n)
{
	size_t i = 4, w1, w2;
	uint64_t a, b;
	int r;

	*out = fz_out;
	*n = 0;
	if (len < 4 || be(d, 4) != RS_DELTA_MAGIC)
		return -EBADMSG;
	while (i < len) {
		uint8_t op = d[i++];

		if (op == 0)
			return i == len ? 0 : -EBADMSG;
		if (op <= 0x44) {
			w1 = op <= 0x40 ? 0 : (size_t)1 << (op - 0x41);
			if (len - i < w1)
				return -EBADMSG;
			a = op <= 0x40 ? op : be(d + i, w1);
			i += w1;
			if ((r = literal(d, len, i, a, max, *out, n)) < 0)
				return r;
			i += a;
		} else if (op <= 0x54) {
			w1 = (size_t)1 << ((op - 0x45) / 4);
			w2 = (size_t)1 << ((op - 0x45) % 4);
			if (len - i < w1 + w2)
				return -EBADMSG;
			a = be(d + i, w1);
			b = be(d + i + w1, w2);
			i += w1 + w2;
			if (a > blen || b > blen - a || *n + b > OUT_MAX)
				return -EBADMSG;
			if (b > max - *n)
				return -EFBIG;
			memcpy(*out + *n, base + a, b);
			*n += b;
		} else {
			return -EBADMSG;
		}
	}
	return -EBADMSG;   /* no END */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vpatch *vp;
	struct content_ref out;
	uint8_t *want, sha[32], wsha[32];
	size_t i, k, n, wn;
	uint64_t max;
	bool empty;
	int r = 0, want_r;

	if (size < 4 || size > IN_MAX)
		return 0;
	empty = data[0] & 1;
	max = be(data + 1, 3);
	if (max == 0xffffff)
		max = CONTENT_SIZE_MAX;
	want_r = model(data + 4, size - 4, fz_base, empty ? 0 : BASE_LEN, max, &want, &wn);
	if (vpatch_new(fz_st, &fz_key, &fz_ref[empty ? 0 : 1], max, &vp) != 0)
		abort();
	for (i = 4, n = 0; i < size && r == 0; i += k, n++) {
		k = fuzz_piece(data[0], n, size - i);
		r = vpatch_feed(vp, data + i, k);
	}
	if (r == 0)
		r = vpatch_finish(vp, &out);
	if (r != want_r)
		abort();
	if (r == 0) {
		fz_check_content(&out, want, wn);
		if (vpatch_sha256(vp, sha) != 0 || ctree_sha256(want, wn, wsha) != 0 ||
		    memcmp(sha, wsha, 32) != 0)
			abort();
	}
	vpatch_free(vp);
	return 0;
}
