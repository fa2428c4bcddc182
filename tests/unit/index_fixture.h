/* index_fixture.h — test helper shared by the index's tests (test_commands,
 * test_index, test_retain, test_simstate): an index in a temp dir of its
 * own, made and opened, devices enrolled in it, then closed and removed.
 * Include after cmocka.h. */
#ifndef VIGIL_TEST_INDEX_FIXTURE_H
#define VIGIL_TEST_INDEX_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tls.h"
#include "server/index.h"

#define IDXFX_DIR 64   /* bytes of a dir buffer */

/* Makes /tmp/NAME.XXXXXX (into dir, IDXFX_DIR bytes) and opens a new
 * index there. */
static inline void idxfx_open(char *dir, const char *name, struct index **idx)
{
	snprintf(dir, IDXFX_DIR, "/tmp/%s.XXXXXX", name);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(index_open(dir, true, idx), 0);
}

/* Enrolls device NAME, its content key 32 bytes of keybyte: its id. */
static inline int64_t idxfx_device(struct index *idx, const char *name, uint8_t keybyte)
{
	struct ident id = { .role = ROLE_DEVICE, .enrolled_ns = 1 };

	snprintf(id.name, sizeof(id.name), "%s", name);
	memset(id.devkey, keybyte, 32);
	assert_int_equal(index_ident_add(idx, &id), 0);
	return id.id;
}

/* Closes idx and removes dir with all in it. */
static inline void idxfx_remove(const char *dir, struct index *idx)
{
	char cmd[IDXFX_DIR + 16];

	index_close(idx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

#endif
