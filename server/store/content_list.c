/* content_list.c — a version's chunk list, from its tree's leaf pages:
 * what a device needs to compute a delta against a version it holds no
 * chunk list of (adopted, or shipped by an older vigild; docs/protocol.md
 * MSG_DEV_CHUNKS).  Only tree pages are read, never a chunk. */
#include "server/store/content_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LIST_BUF (CONTENT_CHUNK_ENTRY * 1820)   /* < 64 KiB per piece */

int content_chunk_list(struct vreader *vr, content_out_fn out, void *arg)
{
	uint64_t size = vreader_size(vr), off = 0;
	uint8_t *b = malloc(LIST_BUF);
	size_t n = 0;
	int r = 0;

	if (!b)
		return -ENOMEM;
	while (off < size && r == 0) {
		struct vchunk c;

		if ((r = vreader_chunk_at(vr, off, &c)) < 0)
			break;
		if (!c.len || c.start != off) {
			r = -EBADMSG;
			break;
		}
		memcpy(b + n, c.sha, 32);
		for (int i = 0; i < 4; i++)
			b[n + 32 + i] = (uint8_t)(c.len >> (24 - 8 * i));
		n += CONTENT_CHUNK_ENTRY;
		off += c.len;
		if (n == LIST_BUF) {
			r = out(arg, b, n);
			n = 0;
		}
	}
	if (r == 0 && n)
		r = out(arg, b, n);
	free(b);
	return r;
}
