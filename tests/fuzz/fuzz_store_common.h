/* fuzz_store_common.h — a chunk store in a private temporary directory and
 * two stored bases (empty, and BASE_LEN pseudo-random bytes) for the
 * content harnesses (fuzz_delta.c, fuzz_ranges.c), plus reading a stored
 * version back to compare it with the harness's model of the result. */
#ifndef VIGIL_FUZZ_STORE_COMMON_H
#define VIGIL_FUZZ_STORE_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "common/chunktree.h"
#include "server/store/content.h"
#include "server/store/store.h"
#include "tests/fuzz/fuzz_util.h"

#define BASE_LEN 20000

static struct store *fz_st;
static const struct devkey fz_key = { { 7, 7, 7 } };
static uint8_t fz_base[BASE_LEN];
static struct content_ref fz_ref[2];   /* [0] empty, [1] fz_base */

static void fz_store_init(const char *tag)
{
	struct vbuild *vb;
	uint64_t x = 12345;
	size_t i;

	for (i = 0; i < BASE_LEN; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		fz_base[i] = (uint8_t)(x >> 56);
	}
	if (store_open(fuzz_tmpdir(tag), &fz_st) != 0)
		abort();
	for (i = 0; i < 2; i++) {
		if (vbuild_new(fz_st, &fz_key, &vb) != 0 ||
		    (i == 1 && vbuild_write(vb, fz_base, BASE_LEN) != 0) ||
		    vbuild_finish(vb, &fz_ref[i]) != 0)
			abort();
		vbuild_free(vb);
	}
}

/* Aborts unless the stored version ref holds exactly want[0..n). */
static void fz_check_content(const struct content_ref *ref, const uint8_t *want, size_t n)
{
	struct vreader *vr;
	uint8_t *got;
	ssize_t k;

	if (ref->size != n || !(got = malloc(n + 1)))
		abort();
	if (vreader_open(fz_st, &fz_key, ref, &vr) != 0)
		abort();
	k = vreader_pread(vr, got, n + 1, 0);
	if (k < 0 || (size_t)k != n || memcmp(got, want, n) != 0)
		abort();
	vreader_free(vr);
	free(got);
}

#endif
