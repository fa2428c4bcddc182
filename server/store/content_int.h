/* content_int.h — what the content_*.c files share (not a public API). */
#ifndef VIGIL_CONTENT_INT_H
#define VIGIL_CONTENT_INT_H

#include "server/store/content.h"

/* Where one chunk of a version lies. */
struct vchunk {
	uint64_t start;     /* offset of its first byte in the content */
	uint32_t len;
	uint8_t sha[32];
	bool last;          /* the content's final chunk (cut by the end, not by content) */
};

/* The chunk holding byte off (off < size).  0 or -errno. */
int  vreader_chunk_at(struct vreader *vr, uint64_t off, struct vchunk *c);
const struct content_ref *vreader_ref(const struct vreader *vr);

int  content_sha256_of(const void *p, size_t n, uint8_t out[32]);

/* The n-byte (n <= 8) big-endian unsigned at p: the header fields of the
 * delta (librsync) and ranges bodies. */
static inline uint64_t be_uint(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

#endif
