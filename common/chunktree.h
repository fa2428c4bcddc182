/* chunktree.h — the content-defined chunk tree (a "prolly tree") of a file.
 *
 * Leaf pages list the file's chunks in order as (sha256 of the chunk, u32
 * length); inner pages list child pages as (sha256 of the child page, u64
 * bytes below it).  A page ends after an entry whose hash says so (first 4
 * bytes, big-endian, % CTREE_FANOUT == 0, once the page holds at least two
 * entries) or at CTREE_PAGE_MAX entries, so an edit changes only the pages
 * around it.  Levels are built until one page remains; the root hash is the
 * sha256 of that page's bytes.  Same content => same root, on any machine.
 * Page encoding and the rules are in docs/store-format.md, "Chunk tree".
 *
 * The builder streams: it keeps one open page per level, never the whole
 * list of chunks. */
#ifndef VIGIL_CHUNKTREE_H
#define VIGIL_CHUNKTREE_H

#include <stddef.h>
#include <stdint.h>

#define CTREE_HASH        32
#define CTREE_VERSION     1
#define CTREE_FANOUT      32     /* average entries per page */
#define CTREE_PAGE_MAX    256    /* hard maximum of entries per page */
#define CTREE_LEVELS_MAX  32     /* >= 2 entries per closed page => enough for 2^32 chunks */
#define CTREE_HDR         6      /* version u8, level u8, count u32 */
#define CTREE_LEAF_ENTRY  36     /* hash + u32 len */
#define CTREE_INNER_ENTRY 40     /* hash + u64 subtree bytes */
#define CTREE_PAGE_BYTES_MAX (CTREE_HDR + CTREE_PAGE_MAX * CTREE_INNER_ENTRY)

/* Receives every page built (the root included), with its hash.  The same
 * page may be passed more than once (equal content repeats).  A non-zero
 * return aborts the build and is returned by ctree_add/ctree_finish. */
typedef int (*ctree_put_page_fn)(void *arg, const uint8_t hash[32], const uint8_t *page, size_t len);

struct ctree_builder;

/* put_page may be NULL (only the root is wanted).  NULL with errno on failure. */
struct ctree_builder *ctree_builder_new(ctree_put_page_fn put_page, void *arg);
/* Appends the next chunk: its sha256 and length (> 0).  0 or -errno / put_page's error. */
int ctree_add(struct ctree_builder *b, const uint8_t chunk_sha256[32], uint32_t len);
/* Appends count copies of one chunk (a run of zeros): the same tree as
 * count ctree_add calls, in time logarithmic in count. */
int ctree_add_run(struct ctree_builder *b, const uint8_t chunk_sha256[32], uint32_t len,
		  uint64_t count);
/* Appends a whole subtree of another tree built by these rules: its top
 * page (at 'level', 0 for a leaf page), of that hash and 'bytes' of
 * content.  The caller guarantees that the page was closed by the rule
 * (not by the end of its tree: content followed it there) and that each
 * chunk below it would be cut the same here.  It goes in as one entry one
 * level up, with the same result as adding every chunk below it, provided
 * this builder is at a page boundary at every level up to 'level' (closing
 * pages that are full to get there, which changes nothing); else nothing
 * is added and -EAGAIN tells the caller to add smaller pieces.  0, -EAGAIN,
 * -EINVAL or -errno / put_page's error. */
int ctree_add_subtree(struct ctree_builder *b, int level, const uint8_t hash[32], uint64_t bytes);
/* Closes every level; root = hash of the root page, *size = total bytes.
 * The builder may only be freed afterwards. */
int ctree_finish(struct ctree_builder *b, uint8_t root[32], uint64_t *size);
void ctree_builder_free(struct ctree_builder *b);   /* NULL-safe */

/* A decoded page.  Level 0 is a leaf: e[i].hash is a chunk's sha256 and
 * e[i].len its length; above, e[i].hash is a child page's hash and e[i].len
 * the bytes of content below it. */
struct ctree_page_entry {
	uint8_t hash[32];
	uint64_t len;
};
struct ctree_page {
	int level;
	size_t n;
	struct ctree_page_entry *e;   /* n entries, owned; ctree_page_release frees */
};
/* Decodes untrusted bytes: 0, -EBADMSG if malformed, -ENOMEM. */
int ctree_page_decode(const uint8_t *p, size_t len, struct ctree_page *out);
void ctree_page_release(struct ctree_page *pg);      /* frees e; pg reusable */

/* sha256(p[0..n)) into out; 0 or -EIO.  Shared by builders and verifiers. */
int ctree_sha256(const void *p, size_t n, uint8_t out[32]);
/* The root of empty content (a leaf page with no entries). */
int ctree_empty_root(uint8_t root[32]);

#endif
