/* test_adopt.c — daemon/adopt.c: whether the server's latest version is
 * the local state (same, metadata only, other content, nothing), table
 * driven, including a pending sha256, deleted and implicit-looking
 * entries, type changes and a hostile xattr length; and the cap on a
 * fetched signature. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/adopt.h"

enum change {
	C_NONE, C_DELETED, C_VERSION0, C_TYPE, C_SIZE, C_SHA, C_ROOT, C_SHA_PENDING,
	C_SHA_PENDING_ROOT, C_MODE, C_MODE_TYPEBITS, C_UID, C_GID, C_MTIME, C_XATTR_LEN,
	C_XATTR_BYTE, C_XATTR_HOSTILE, C_LINK,
};

struct row {
	const char *what;
	uint8_t type;
	enum change change;     /* applied to the server's entry */
	enum adopt_verdict want;
};

static const struct row rows[] = {
	{ "file same", VG_FILE, C_NONE, ADOPT_SAME },
	{ "file deleted on server", VG_FILE, C_DELETED, ADOPT_NONE },
	{ "file version 0", VG_FILE, C_VERSION0, ADOPT_NONE },
	{ "server has a dir", VG_FILE, C_TYPE, ADOPT_NONE },
	{ "file other size", VG_FILE, C_SIZE, ADOPT_CONTENT },
	{ "file other sha", VG_FILE, C_SHA, ADOPT_CONTENT },
	{ "file other root", VG_FILE, C_ROOT, ADOPT_CONTENT },
	{ "file sha pending, same root", VG_FILE, C_SHA_PENDING, ADOPT_SAME },
	{ "file sha pending, other root", VG_FILE, C_SHA_PENDING_ROOT, ADOPT_CONTENT },
	{ "file other mode", VG_FILE, C_MODE, ADOPT_META },
	{ "file mode type bits ignored", VG_FILE, C_MODE_TYPEBITS, ADOPT_SAME },
	{ "file other uid", VG_FILE, C_UID, ADOPT_META },
	{ "file other gid", VG_FILE, C_GID, ADOPT_META },
	{ "file other mtime", VG_FILE, C_MTIME, ADOPT_META },
	{ "file xattrs missing", VG_FILE, C_XATTR_LEN, ADOPT_META },
	{ "file xattr value differs", VG_FILE, C_XATTR_BYTE, ADOPT_META },
	{ "file hostile xattr length", VG_FILE, C_XATTR_HOSTILE, ADOPT_META },
	{ "dir same", VG_DIR, C_NONE, ADOPT_SAME },
	{ "dir other mtime", VG_DIR, C_MTIME, ADOPT_META },
	{ "dir other size/sha (ignored)", VG_DIR, C_SHA, ADOPT_SAME },
	{ "dir deleted", VG_DIR, C_DELETED, ADOPT_NONE },
	{ "dir, server has a file", VG_DIR, C_TYPE, ADOPT_NONE },
	{ "symlink same", VG_SYMLINK, C_NONE, ADOPT_SAME },
	{ "symlink other target", VG_SYMLINK, C_LINK, ADOPT_NONE },
	{ "symlink other owner", VG_SYMLINK, C_UID, ADOPT_META },
};

static void fill(struct vg_entry *e, uint8_t type)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->path, sizeof(e->path), "/home/a/x");
	e->type = type;
	e->mode = 0644;
	e->uid = 1000;
	e->gid = 100;
	e->mtime_ns = 1700000000123456789LL;
	e->version = 3;
	if (type == VG_FILE) {
		e->size = 123456;
		memset(e->sha256, 0xab, 32);
		memset(e->tree_root, 0xcd, 32);
	}
	if (type == VG_SYMLINK)
		snprintf(e->link, sizeof(e->link), "target");
	e->xattr_len = 7;
	memcpy(e->xattrs, "\0\1a\0\1b!", 7);
}

static void apply(struct vg_entry *s, enum change c)
{
	switch (c) {
	case C_NONE: break;
	case C_DELETED: s->deleted = 1; break;
	case C_VERSION0: s->version = 0; break;
	case C_TYPE: s->type = s->type == VG_DIR ? VG_FILE : VG_DIR; break;
	case C_SIZE: s->size++; break;
	case C_SHA: s->sha256[31] ^= 1; break;
	case C_ROOT: s->tree_root[0] ^= 1; break;
	case C_SHA_PENDING: memset(s->sha256, 0, 32); break;
	case C_SHA_PENDING_ROOT: memset(s->sha256, 0, 32); s->tree_root[5] ^= 0x80; break;
	case C_MODE: s->mode = 0600; break;
	case C_MODE_TYPEBITS: s->mode |= 0100000; break;
	case C_UID: s->uid++; break;
	case C_GID: s->gid++; break;
	case C_MTIME: s->mtime_ns++; break;
	case C_XATTR_LEN: s->xattr_len = 0; break;
	case C_XATTR_BYTE: s->xattrs[6] = '?'; break;
	case C_XATTR_HOSTILE: s->xattr_len = VG_XATTR_MAX + 1; break;
	case C_LINK: snprintf(s->link, sizeof(s->link), "other"); break;
	}
}

static void test_compare_table(void **state)
{
	struct vg_entry *srv = malloc(sizeof(*srv)), *loc = malloc(sizeof(*loc));

	(void)state;
	assert_non_null(srv);
	assert_non_null(loc);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		fill(loc, rows[i].type);
		fill(srv, rows[i].type);
		apply(srv, rows[i].change);
		if (adopt_compare(srv, loc) != rows[i].want)
			fail_msg("%s: got %d, want %d", rows[i].what, adopt_compare(srv, loc),
				 rows[i].want);
	}
	free(srv);
	free(loc);
}

/* A hostile length equal on both sides must not read past the buffers. */
static void test_hostile_equal_lengths(void **state)
{
	struct vg_entry *srv = malloc(sizeof(*srv)), *loc = malloc(sizeof(*loc));

	(void)state;
	fill(srv, VG_FILE);
	fill(loc, VG_FILE);
	srv->xattr_len = loc->xattr_len = UINT32_MAX;
	assert_false(adopt_same_meta(srv, loc));
	assert_int_equal(adopt_compare(srv, loc), ADOPT_META);
	free(srv);
	free(loc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compare_table),
		cmocka_unit_test(test_hostile_equal_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
