/* fuzz_exwire.c — libFuzzer harness for the extractor child's decoding of
 * a BATCH (server/search/exwire.c, what exchild.c runs on every BATCH):
 * byte 0 is the item count the header would say, the rest the payload
 * after struct exw_batch.  Every item it accepts must lie inside the
 * payload, in order and without overlap, within EXW_ITEM_MAX and
 * EXW_PATH_MAX; a refusal must leave the offset where it was. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/search/exwire.h"
#include "tests/fuzz/fuzz_util.h"

static uint8_t copy[EXW_ITEM_MAX + EXW_PATH_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exw_item it;
	const char *path;
	const uint8_t *bytes;
	size_t off = 0, before;
	unsigned n;
	int r;

	if (size < 1)
		return 0;
	n = data[0] % (EXW_BATCH_ITEMS + 1);
	data++;
	size--;
	for (unsigned i = 0; i < n; i++) {
		before = off;
		r = exw_batch_item(data, size, &off, &it, &path, &bytes);
		if (r != 0 && r != -EPROTO)
			abort();
		if (r != 0) {
			if (off != before)
				abort();
			break;
		}
		if (it.size > EXW_ITEM_MAX || it.path_len >= EXW_PATH_MAX ||
		    (const uint8_t *)path != data + before + sizeof(it) ||
		    bytes != (const uint8_t *)path + it.path_len ||
		    off != before + sizeof(it) + it.path_len + it.size || off > size)
			abort();
		/* the child copies both: they must be readable (ASan) */
		memcpy(copy, path, it.path_len);
		memcpy(copy, bytes, it.size);
	}
	return 0;
}
