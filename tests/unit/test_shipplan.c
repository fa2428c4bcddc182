/* test_shipplan.c — daemon/shipplan.c: which PUT the shipper tries for a
 * queued path (gone, rename, adoption, directories, unchanged, racy,
 * metadata only, ranges, delta, whole) and what a read leaves to send
 * (nothing, META, DELTA, WHOLE, RANGES), each rule from a table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/proto.h"
#include "daemon/scan.h"
#include "daemon/shipplan.h"

#define T0   1700000000000000000LL   /* mtime and ctime of the shipped file */
#define MIB  (1024 * 1024)

enum change {
	C_NONE,
	C_EXCLUDED, C_GONE, C_FIFO, C_NOROW,
	C_RACY, C_RANGES, C_RANGES_UNKNOWN, C_RANGES_CUT, C_RANGES_INCOMPLETE,
	C_CHMOD, C_CHMOD_V0, C_CHMOD_ROWRACY,
	C_EDIT, C_EDIT_INO, C_EDIT_SMALL, C_EDIT_V0,
	C_MOVED, C_MOVED_HELD, C_MOVED_SIZE, C_MOVED_MTIME,
	C_WAS_DIR, C_DIR, C_DIR_MTIME, C_SYMLINK_WAS_DIR,
};

struct row {
	const char *what;
	enum change change;
	bool tracker;           /* a range table exists (vigild run) */
	bool delta_base;
	enum ship_kind want;
};

static const struct row rows[] = {
	{ "companion", C_EXCLUDED, true, true, SHIP_COMPANION },
	{ "gone, shipped", C_GONE, true, true, SHIP_GONE },
	{ "fifo where a file was", C_FIFO, true, true, SHIP_GONE },
	{ "unchanged", C_NONE, true, true, SHIP_NONE },
	{ "unchanged, no tracker", C_NONE, false, false, SHIP_NONE },
	{ "unchanged but queued racy, sig", C_RACY, false, true, SHIP_DELTA },
	{ "unchanged but queued racy, no sig", C_RACY, false, false, SHIP_WHOLE },
	{ "unchanged stat, ranges pending", C_RANGES, true, true, SHIP_RANGES },
	{ "unchanged stat, ranges unknown", C_RANGES_UNKNOWN, true, true, SHIP_DELTA },
	{ "unchanged stat, a cut pending", C_RANGES_CUT, true, false, SHIP_RANGES },
	{ "chmod", C_CHMOD, true, true, SHIP_META },
	{ "chmod, no version yet", C_CHMOD_V0, true, true, SHIP_WHOLE },
	{ "chmod, shipped racily", C_CHMOD_ROWRACY, false, true, SHIP_DELTA },
	{ "chmod, shipped racily, ranges", C_CHMOD_ROWRACY, true, false, SHIP_RANGES },
	{ "edit, complete ranges", C_EDIT, true, true, SHIP_RANGES },
	{ "edit, complete ranges, no sig", C_EDIT, true, false, SHIP_RANGES },
	{ "edit, no tracker, sig", C_EDIT, false, true, SHIP_DELTA },
	{ "edit, no tracker, no sig", C_EDIT, false, false, SHIP_WHOLE },
	{ "edit, ranges incomplete", C_RANGES_INCOMPLETE, true, true, SHIP_DELTA },
	{ "edit, other inode", C_EDIT_INO, true, true, SHIP_DELTA },
	{ "edit, file under 256 KiB", C_EDIT_SMALL, true, true, SHIP_DELTA },
	{ "edit, no version yet", C_EDIT_V0, true, true, SHIP_WHOLE },
	{ "new path", C_NOROW, true, true, SHIP_ADOPT },
	{ "renamed here", C_MOVED, true, false, SHIP_RENAME },
	{ "hard link to a shipped file", C_MOVED_HELD, true, false, SHIP_ADOPT },
	{ "same inode, other size", C_MOVED_SIZE, true, false, SHIP_ADOPT },
	{ "same inode, other mtime", C_MOVED_MTIME, true, false, SHIP_ADOPT },
	{ "a file where a dir was", C_WAS_DIR, true, true, SHIP_WHOLE },
	{ "dir unchanged", C_DIR, true, false, SHIP_NONE },
	{ "dir, new mtime", C_DIR_MTIME, true, false, SHIP_EMPTY },
	{ "symlink where a dir was", C_SYMLINK_WAS_DIR, true, false, SHIP_EMPTY },
};

static void set_ts(struct timespec *t, int64_t ns)
{
	t->tv_sec = ns / 1000000000LL;
	t->tv_nsec = ns % 1000000000LL;
}

/* A 1 MiB file shipped 10 s after its last write, unchanged since. */
static void base(struct stat *st, struct shipped *r, struct shipped *mv, struct rangeset *rs)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0644;
	st->st_size = MIB;
	st->st_ino = 100;
	st->st_dev = 1;
	st->st_uid = 1000;
	st->st_gid = 1000;
	set_ts(&st->st_mtim, T0);
	set_ts(&st->st_ctim, T0);
	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "/d/f");
	scan_fill_stat(r, st);
	r->version = 3;
	r->capture_ns = T0 + 10000000000LL;
	*mv = *r;
	snprintf(mv->path, sizeof(mv->path), "/d/old");
	memset(rs, 0, sizeof(*rs));
	rs->complete = true;
	rs->min_size = UINT64_MAX;
}

static void edit(struct stat *st)
{
	st->st_size += 4096;
	set_ts(&st->st_mtim, T0 + 5000000000LL);
	set_ts(&st->st_ctim, T0 + 5000000000LL);
}

static void apply_row(enum change c, struct ship_facts *f, struct stat *st, struct shipped *r,
		      struct rangeset *rs)
{
	switch (c) {
	case C_NONE: break;
	case C_EXCLUDED: f->excluded = true; break;
	case C_GONE: f->st = NULL; break;
	case C_FIFO: st->st_mode = S_IFIFO | 0644; break;
	case C_NOROW: f->row = NULL; break;
	case C_RACY: f->queued_racy = true; break;
	case C_RANGES: rs->n = 1; rs->r[0].off = 0; rs->r[0].len = 10; break;
	case C_RANGES_UNKNOWN: rs->unknown = true; break;
	case C_RANGES_CUT: rs->cut = true; rs->min_size = 4096; break;
	case C_RANGES_INCOMPLETE: rs->complete = false; edit(st); break;
	case C_CHMOD: st->st_mode = S_IFREG | 0600; set_ts(&st->st_ctim, T0 + 1); break;
	case C_CHMOD_V0: r->version = 0; apply_row(C_CHMOD, f, st, r, rs); break;
	case C_CHMOD_ROWRACY: r->capture_ns = T0 + 1; apply_row(C_CHMOD, f, st, r, rs); break;
	case C_EDIT: edit(st); break;
	case C_EDIT_INO: edit(st); st->st_ino = 101; break;
	case C_EDIT_SMALL: r->size = 100000; st->st_size = 100000 + 4096; break;
	case C_EDIT_V0: r->version = 0; edit(st); break;
	case C_MOVED: f->row = NULL; f->moved_gone = true; break;
	case C_MOVED_HELD: f->row = NULL; break;
	case C_MOVED_SIZE: f->row = NULL; f->moved_gone = true; st->st_size++; break;
	case C_MOVED_MTIME: f->row = NULL; f->moved_gone = true; set_ts(&st->st_mtim, T0 + 1); break;
	case C_WAS_DIR: r->type = VG_DIR; r->mode = S_IFDIR | 0755; break;
	case C_DIR:
		st->st_mode = S_IFDIR | 0755;
		st->st_size = 4096;
		scan_fill_stat(r, st);
		break;
	case C_DIR_MTIME: apply_row(C_DIR, f, st, r, rs); set_ts(&st->st_mtim, T0 + 1); break;
	case C_SYMLINK_WAS_DIR:
		apply_row(C_DIR, f, st, r, rs);
		st->st_mode = S_IFLNK | 0777;
		break;
	}
}

static void test_plan_table(void **state)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *t = &rows[i];
		struct stat st;
		struct shipped r, mv;
		struct rangeset rs;
		struct ship_facts f = { 0 };
		enum ship_kind got;

		base(&st, &r, &mv, &rs);
		f.st = &st;
		f.row = &r;
		f.delta_base = t->delta_base;
		apply_row(t->change, &f, &st, &r, &rs);
		if (!f.row)
			f.moved = &mv;   /* the caller looks for one only without a row */
		f.rs = t->tracker ? &rs : NULL;
		got = ship_plan(&f);
		if (got != t->want)
			fail_msg("%s: got %s, want %s", t->what, ship_kind_names[got],
				 ship_kind_names[t->want]);
	}
}

/* Without a row and nothing moved: a vanished path is nothing to do. */
static void test_plan_gone_unshipped(void **state)
{
	struct ship_facts f = { 0 };

	assert_int_equal(ship_plan(&f), SHIP_NONE);
}

/* The content plan once the ranges are taken, and for an adopted base
 * (the server's version: no inode, so never ranges). */
static void test_plan_content(void **state)
{
	struct stat st;
	struct shipped r, mv;
	struct rangeset rs;

	base(&st, &r, &mv, &rs);
	edit(&st);
	assert_int_equal(ship_plan_content(&r, &st, &rs, false), SHIP_RANGES);
	assert_int_equal(ship_plan_content(&r, &st, NULL, true), SHIP_DELTA);
	assert_int_equal(ship_plan_content(NULL, &st, &rs, true), SHIP_WHOLE);
	r.ino = 0;
	r.dev = 0;
	assert_int_equal(ship_plan_content(&r, &st, &rs, true), SHIP_DELTA);
	assert_int_equal(ship_plan_content(&r, &st, &rs, false), SHIP_WHOLE);
}

enum rchange {
	R_SAME, R_CTIME, R_CTIME_XATTRS, R_MODE, R_UID, R_MTIME, R_SHA, R_PENDING_SAME,
	R_PENDING_ROOT, R_PENDING_SIZE, R_NOSHA_SAME, R_NOSHA_MTIME, R_NOSHA_ROOT, R_NOBASE,
	R_V0,
};

struct rrow {
	const char *what;
	enum rchange change;
	enum ship_kind built;
	uint64_t delta_size;
	enum ship_kind want;
};

static const struct rrow rrows[] = {
	{ "same content and metadata", R_SAME, SHIP_WHOLE, 0, SHIP_NONE },
	{ "same, delta built", R_SAME, SHIP_DELTA, 10, SHIP_NONE },
	{ "ctime moved, no xattrs", R_CTIME, SHIP_WHOLE, 0, SHIP_NONE },
	{ "ctime moved, xattrs", R_CTIME_XATTRS, SHIP_WHOLE, 0, SHIP_META },
	{ "chmod", R_MODE, SHIP_DELTA, 10, SHIP_META },
	{ "chown", R_UID, SHIP_WHOLE, 0, SHIP_META },
	{ "touch", R_MTIME, SHIP_WHOLE, 0, SHIP_META },
	{ "other content, small delta", R_SHA, SHIP_DELTA, 100, SHIP_DELTA },
	{ "other content, delta as big as the file", R_SHA, SHIP_DELTA, MIB, SHIP_WHOLE },
	{ "other content, no delta", R_SHA, SHIP_WHOLE, 0, SHIP_WHOLE },
	{ "server sha pending, same root", R_PENDING_SAME, SHIP_DELTA, 10, SHIP_NONE },
	{ "server sha pending, other root", R_PENDING_ROOT, SHIP_DELTA, 10, SHIP_DELTA },
	{ "server sha pending, other size", R_PENDING_SIZE, SHIP_WHOLE, 0, SHIP_WHOLE },
	{ "ranges read, same root", R_NOSHA_SAME, SHIP_RANGES, 0, SHIP_NONE },
	{ "ranges read, same root, touched", R_NOSHA_MTIME, SHIP_RANGES, 0, SHIP_META },
	{ "ranges read, other root", R_NOSHA_ROOT, SHIP_RANGES, 0, SHIP_RANGES },
	{ "no base", R_NOBASE, SHIP_WHOLE, 0, SHIP_WHOLE },
	{ "base without a version", R_V0, SHIP_WHOLE, 0, SHIP_WHOLE },
};

static void test_plan_read_table(void **state)
{
	static const uint8_t zero[32];

	for (size_t i = 0; i < sizeof(rrows) / sizeof(rrows[0]); i++) {
		const struct rrow *t = &rrows[i];
		struct stat st;
		struct shipped r, mv, *b = &r;
		struct rangeset rs;
		uint8_t root[32];
		struct ship_read rd;
		enum ship_kind got;

		base(&st, &r, &mv, &rs);
		memset(r.sha256, 0xaa, 32);
		memset(r.root, 0xbb, 32);
		memcpy(root, r.root, 32);
		rd = (struct ship_read){ .st = &st, .size = MIB, .root = root,
					 .built = t->built, .delta_size = t->delta_size };
		switch (t->change) {
		case R_SAME: break;
		case R_CTIME: set_ts(&st.st_ctim, T0 + 1); break;
		case R_CTIME_XATTRS: set_ts(&st.st_ctim, T0 + 1); rd.xattrs = true; break;
		case R_MODE: st.st_mode = S_IFREG | 0600; break;
		case R_UID: st.st_uid = 0; break;
		case R_MTIME: set_ts(&st.st_mtim, T0 + 1); break;
		case R_SHA: root[0] ^= 1; break;
		case R_PENDING_SAME: memcpy(r.sha256, zero, 32); break;
		case R_PENDING_ROOT: memcpy(r.sha256, zero, 32); root[0] ^= 1; break;
		case R_PENDING_SIZE: memcpy(r.sha256, zero, 32); rd.size++; break;
		case R_NOSHA_SAME: break;
		case R_NOSHA_MTIME: set_ts(&st.st_mtim, T0 + 1); break;
		case R_NOSHA_ROOT: root[0] ^= 1; break;
		case R_NOBASE: b = NULL; break;
		case R_V0: r.version = 0; break;
		}
		got = ship_plan_read(b, &rd);
		if (got != t->want)
			fail_msg("%s: got %s, want %s", t->what, ship_kind_names[got],
				 ship_kind_names[t->want]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_table),
		cmocka_unit_test(test_plan_gone_unshipped),
		cmocka_unit_test(test_plan_content),
		cmocka_unit_test(test_plan_read_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
