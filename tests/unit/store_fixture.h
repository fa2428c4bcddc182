/* store_fixture.h — test helper shared by the server store's tests
 * (test_content, test_content_pipe, test_store, test_upload_expire,
 * test_zerofill, test_bstage): a store in a temp dir of its own, made and
 * opened, then closed and removed; the pseudo-random bytes they fill
 * content with; a WHOLE upload's state file and its entries.  Include
 * after cmocka.h. */
#ifndef VIGIL_TEST_STORE_FIXTURE_H
#define VIGIL_TEST_STORE_FIXTURE_H

#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/content.h"
#include "server/store/store.h"
#include "server/store/storekey.h"
#include "tests/unit/fill.h"

#define STOREFX_DIR 64   /* bytes of a dir buffer */

/* VIGIL_TEST_ENCRYPT=1 in the environment: the stores these tests make
 * are encrypted (docs/store-format.md, "Encryption at rest"), under this
 * fixed data key; otherwise plain (NULL). */
static inline const struct store_key *storefx_key(void)
{
	static const struct store_key k = { { 0x76, 0x69, 0x67, 0x69, 0x6c } };
	const char *e = getenv("VIGIL_TEST_ENCRYPT");

	return e && !strcmp(e, "1") ? &k : NULL;
}

/* Opens the store in dir again (after a close), with storefx_key(). */
static inline int storefx_reopen(const char *dir, struct store **st)
{
	return store_open_key(dir, storefx_key(), st);
}

/* Makes /tmp/vg-NAME-XXXXXX (into dir, STOREFX_DIR bytes) and opens a
 * store there: 0 or -errno. */
static inline int storefx_open(char *dir, const char *name, struct store **st)
{
	snprintf(dir, STOREFX_DIR, "/tmp/vg-%s-XXXXXX", name);
	if (!mkdtemp(dir))
		return -errno;
	return storefx_reopen(dir, st);
}

/* Closes st (NULL: none open) and removes dir with all in it: 0 or -1. */
static inline int storefx_remove(const char *dir, struct store *st)
{
	char cmd[STOREFX_DIR + 16];

	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The path of the one file of an upload directory under dir/uploads whose
 * name matches the glob name: "*" a WHOLE upload's state, "*.body" a
 * staged body. */
static inline void storefx_upload_file(const char *dir, const char *name, char *path, size_t cap)
{
	char pat[STOREFX_DIR + 32];
	glob_t g;

	snprintf(pat, sizeof(pat), "%s/uploads/*/%s", dir, name);
	assert_int_equal(glob(pat, 0, NULL, &g), 0);
	assert_int_equal(g.gl_pathc, 1);
	snprintf(path, cap, "%s", g.gl_pathv[0]);
	globfree(&g);
}

/* Chunk entries (CONTENT_CHUNK_ENTRY bytes each) gathered into buf, as
 * upload_entries hands them on. */
struct storefx_ents { uint8_t *buf; size_t n, cap; };

static inline int storefx_collect(void *arg, const uint8_t *e, size_t n)
{
	struct storefx_ents *c = arg;

	assert_true(c->n + n * CONTENT_CHUNK_ENTRY <= c->cap);
	memcpy(c->buf + c->n, e, n * CONTENT_CHUNK_ENTRY);
	c->n += n * CONTENT_CHUNK_ENTRY;
	return 0;
}

#endif
