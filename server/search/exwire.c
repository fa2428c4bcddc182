/* exwire.c — decoding a BATCH's items (exwire.h), shared by the child
 * that reads them and the fuzzer that checks the decoder. */
#include <errno.h>
#include <string.h>

#include "server/search/exwire.h"

int exw_batch_item(const uint8_t *p, size_t len, size_t *off, struct exw_item *it,
		   const char **path, const uint8_t **bytes)
{
	size_t at = *off;

	if (at > len || len - at < sizeof(*it))
		return -EPROTO;
	memcpy(it, p + at, sizeof(*it));
	at += sizeof(*it);
	if (it->size > EXW_ITEM_MAX || it->path_len >= EXW_PATH_MAX ||
	    len - at < (size_t)it->path_len + it->size)
		return -EPROTO;
	*path = (const char *)p + at;
	*bytes = p + at + it->path_len;
	*off = at + it->path_len + it->size;
	return 0;
}
