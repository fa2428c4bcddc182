/* fuzz_delta.c — libFuzzer harness for server/store/content_delta.c: vpatch over
 * arbitrary delta bytes against a stored base (empty or BASE_LEN bytes),
 * fed in pieces of fuzzer-chosen sizes.  A small model applies the same
 * delta in memory; vpatch must accept exactly what the model accepts, and
 * a version it builds must read back as the model's bytes with the model's
 * sha256.  Input: byte 0 = piece step (bit 0: empty base), rest = delta. */
#include <errno.h>
#include <stdbool.h>

#include <librsync.h>

#include "tests/fuzz/fuzz_store_common.h"

#define IN_MAX  1024
#define OUT_MAX (8u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_store_init("delta");
	return 0;
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* The delta format of content_delta.c, applied in memory.  true when valid;
 * *out (malloc'd, *n bytes) is the result. */
static bool model(const uint8_t *d, size_t len, const uint8_t *base, size_t blen,
		  uint8_t **out, size_t *n)
{
	size_t i = 4, w1, w2;
	uint64_t a, b;

	*out = malloc(OUT_MAX);
	*n = 0;
	if (!*out)
		abort();
	if (len < 4 || be(d, 4) != RS_DELTA_MAGIC)
		return false;
	while (i < len) {
		uint8_t op = d[i++];

		if (op == 0)
			return i == len;
		if (op <= 0x44) {
			w1 = op <= 0x40 ? 0 : (size_t)1 << (op - 0x41);
			if (len - i < w1)
				return false;
			a = op <= 0x40 ? op : be(d + i, w1);
			i += w1;
			if (a > len - i || *n + a > OUT_MAX)
				return false;
			memcpy(*out + *n, d + i, a);
			*n += a;
			i += a;
		} else if (op <= 0x54) {
			w1 = (size_t)1 << ((op - 0x45) / 4);
			w2 = (size_t)1 << ((op - 0x45) % 4);
			if (len - i < w1 + w2)
				return false;
			a = be(d + i, w1);
			b = be(d + i + w1, w2);
			i += w1 + w2;
			if (a > blen || b > blen - a || *n + b > OUT_MAX)
				return false;
			memcpy(*out + *n, base + a, b);
			*n += b;
		} else {
			return false;
		}
	}
	return false;   /* no END */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vpatch *vp;
	struct content_ref out;
	uint8_t *want, sha[32], wsha[32];
	size_t i, k, n, wn;
	bool empty, ok;
	int r = 0;

	if (size < 1 || size > IN_MAX)
		return 0;
	empty = data[0] & 1;
	ok = model(data + 1, size - 1, fz_base, empty ? 0 : BASE_LEN, &want, &wn);
	if (vpatch_new(fz_st, &fz_key, &fz_ref[empty ? 0 : 1], CONTENT_SIZE_MAX, &vp) != 0)
		abort();
	for (i = 1, n = 0; i < size && r == 0; i += k, n++) {
		k = fuzz_piece(data[0], n, size - i);
		r = vpatch_feed(vp, data + i, k);
	}
	if (r == 0)
		r = vpatch_finish(vp, &out);
	if (r != 0 && r != -EBADMSG)
		abort();
	if ((r == 0) != ok)
		abort();
	if (r == 0) {
		fz_check_content(&out, want, wn);
		if (vpatch_sha256(vp, sha) != 0 || ctree_sha256(want, wn, wsha) != 0 ||
		    memcmp(sha, wsha, 32) != 0)
			abort();
	}
	vpatch_free(vp);
	free(want);
	return 0;
}
