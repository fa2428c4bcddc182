/* fuzz_ranges.c — libFuzzer harness for server/store/content_ranges.c: vranges
 * over an arbitrary PUT_RANGES body against a stored base (empty or
 * BASE_LEN bytes), fed in pieces of fuzzer-chosen sizes.  A model applies
 * the records in memory; vranges must accept exactly what the rules in
 * content.h accept, and its result must read back as the model's bytes.
 * Input: byte 0 = piece step (bit 0: empty base), bytes 1-2 = new size
 * (big-endian), rest = body.  A size field of 0xf000 or more announces a
 * huge file ((field & 0xfff) << 28 bytes, up to 1 TiB): the work must stay
 * proportional to the body (libFuzzer's -timeout catches a zero-fill), the
 * version must have the announced size, and its records, the base and the
 * last byte are read back at their offsets instead of the whole file. */
#include <errno.h>
#include <stdbool.h>

#include "tests/fuzz/fuzz_store_common.h"

#define IN_MAX 4096

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_store_init("ranges");
	return 0;
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* The rules of content.h, in memory; out (NULL for a huge file) holds
 * new_size bytes. */
static bool model(const uint8_t *d, size_t len, const uint8_t *base, size_t blen,
		  uint8_t *out, uint64_t new_size)
{
	uint64_t off, rl, prev_end = 0;
	size_t i = 0;

	if (out) {
		memset(out, 0, new_size);
		memcpy(out, base, blen < new_size ? blen : new_size);
	}
	while (i < len) {
		if (len - i < 12)
			return false;
		off = be(d + i, 8);
		rl = be(d + i + 8, 4);
		i += 12;
		if (rl > VRANGES_LEN_MAX || off < prev_end || off > new_size ||
		    rl > new_size - off || rl > len - i)
			return false;
		if (out)
			memcpy(out + off, d + i, rl);
		i += rl;
		prev_end = off + rl;
	}
	return true;
}

/* pread at off must give want[0..n). */
static void check_at(struct vreader *vr, uint64_t off, const uint8_t *want, size_t n)
{
	uint8_t got[IN_MAX];

	if (n > sizeof(got) || vreader_pread(vr, got, n, off) != (ssize_t)n || memcmp(got, want, n))
		abort();
}

/* A huge version, read back where something is known: the base, each
 * record (they do not overlap), and a zero last byte past them all. */
static void check_huge(const struct content_ref *ref, uint64_t new_size, bool empty,
		       const uint8_t *d, size_t len)
{
	static const uint8_t zero[1];
	struct vreader *vr;
	uint64_t end = empty ? 0 : BASE_LEN;
	size_t i = 0, rl;

	if (ref->size != new_size || vreader_open(fz_st, &fz_key, ref, &vr) != 0)
		abort();
	if (!empty && !len && new_size >= 4000)
		check_at(vr, 0, fz_base, 4000);
	for (; i < len; i += rl) {
		uint64_t off = be(d + i, 8);

		rl = (size_t)be(d + i + 8, 4);
		i += 12;
		check_at(vr, off, d + i, rl);
		end = off + rl > end ? off + rl : end;
	}
	if (end < new_size)
		check_at(vr, new_size - 1, zero, 1);
	vreader_free(vr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vranges *vg;
	struct content_ref out;
	uint8_t *want = NULL;
	uint64_t new_size;
	size_t i, k, n;
	bool empty, ok, huge;
	int r = 0;

	if (size < 3 || size > IN_MAX)
		return 0;
	empty = data[0] & 1;
	new_size = be(data + 1, 2);
	if ((huge = new_size >= 0xf000))
		new_size = (new_size & 0xfff) << 28;
	if (!huge && !(want = malloc(new_size + 1)))
		abort();
	ok = model(data + 3, size - 3, fz_base, empty ? 0 : BASE_LEN, want, new_size);
	if (vranges_new(fz_st, &fz_key, &fz_ref[empty ? 0 : 1], new_size, &vg) != 0)
		abort();
	for (i = 3, n = 0; i < size && r == 0; i += k, n++) {
		k = fuzz_piece(data[0], n, size - i);
		r = vranges_feed(vg, data + i, k);
	}
	if (r == 0)
		r = vranges_finish(vg, &out);
	if ((r != 0 && r != -EBADMSG) || (r == 0) != ok)
		abort();
	if (r == 0 && huge)
		check_huge(&out, new_size, empty, data + 3, size - 3);
	else if (r == 0)
		fz_check_content(&out, want, new_size);
	vranges_free(vg);
	free(want);
	return 0;
}
