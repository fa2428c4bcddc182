/* content_int.h — what the content_*.c files share (not a public API). */
#ifndef VIGIL_CONTENT_INT_H
#define VIGIL_CONTENT_INT_H

#include <openssl/evp.h>

#include "server/store/content.h"
#include "common/chunktree.h"

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

/* A page of a version's tree and the content below it. */
struct vsubtree {
	int level;          /* the page's level (0: a leaf page) */
	uint8_t hash[32];
	uint64_t start, bytes;
};
#define VSUBTREE_MAX CTREE_LEVELS_MAX
/* The pages whose content starts at off and ends within [off, off+len),
 * short of the content's last byte (so each was closed by the tree's rule,
 * not by the end, and each chunk below it was cut by content), highest
 * first; fills at most VSUBTREE_MAX.  Returns how many, or -errno. */
int  vreader_subtrees_at(struct vreader *vr, uint64_t off, uint64_t len, struct vsubtree *out);

int  content_sha256_of(const void *p, size_t n, uint8_t out[32]);
/* SHA-256 fetched once for the process (shared, never freed): a fetch per
 * builder was 2.5 % of the server's CPU on 4 KiB files. */
const EVP_MD *content_md_sha256(void);

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
