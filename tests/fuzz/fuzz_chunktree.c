/* fuzz_chunktree.c — libFuzzer harness for common/chunktree.c
 * ctree_page_decode on arbitrary bytes.  A page that decodes must
 * re-encode (format in docs/store-format.md) to exactly the input, and
 * every entry must satisfy the decoder's promises (len > 0, leaf lengths
 * within a chunk). */
#include <stdlib.h>
#include <string.h>

#include "common/chunker.h"
#include "common/chunktree.h"
#include "tests/fuzz/fuzz_util.h"

static void put_be(uint8_t *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctree_page pg;
	uint8_t *enc;
	size_t i, esz, len;

	if (ctree_page_decode(data, size, &pg) != 0) {
		if (pg.e || pg.n)
			abort();   /* a failed decode leaves nothing to release */
		return 0;
	}
	esz = pg.level == 0 ? CTREE_LEAF_ENTRY : CTREE_INNER_ENTRY;
	len = CTREE_HDR + pg.n * esz;
	if (pg.n > CTREE_PAGE_MAX || len != size || !(enc = malloc(len)))
		abort();
	enc[0] = CTREE_VERSION;
	enc[1] = (uint8_t)pg.level;
	put_be(enc + 2, pg.n, 4);
	for (i = 0; i < pg.n; i++) {
		uint8_t *e = enc + CTREE_HDR + i * esz;

		if (pg.e[i].len == 0 || (pg.level == 0 && pg.e[i].len > 0xffffffffu))
			abort();
		memcpy(e, pg.e[i].hash, 32);
		put_be(e + 32, pg.e[i].len, (int)esz - 32);
	}
	if (memcmp(enc, data, len) != 0)
		abort();
	free(enc);
	ctree_page_release(&pg);
	return 0;
}
