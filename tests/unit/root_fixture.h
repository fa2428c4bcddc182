/* root_fixture.h — test helper shared by the store's content tests: the
 * chunk-tree root (and size) a device computes for some bytes, with the
 * chunker and tree builder alone, nothing stored.  Include after cmocka.h. */
#ifndef VIGIL_TEST_ROOT_FIXTURE_H
#define VIGIL_TEST_ROOT_FIXTURE_H

#include "common/chunker.h"
#include "common/chunktree.h"
#include "server/store/content.h"

static int dev_emit(void *arg, const uint8_t *d, size_t len)
{
	uint8_t h[32];

	assert_int_equal(ctree_sha256(d, len, h), 0);
	return ctree_add(arg, h, (uint32_t)len);
}

static void device_root(const uint8_t *p, size_t n, struct content_ref *ref)
{
	struct chunker *c = chunker_new();
	struct ctree_builder *b = ctree_builder_new(NULL, NULL);

	assert_int_equal(chunker_feed(c, p, n, dev_emit, b), 0);
	assert_int_equal(chunker_flush(c, dev_emit, b), 0);
	assert_int_equal(ctree_finish(b, ref->root, &ref->size), 0);
	assert_int_equal(ref->size, n);
	ctree_builder_free(b);
	chunker_free(c);
}

#endif
