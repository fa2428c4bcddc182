/* shipplan.c — the shipper's rules as pure functions (see shipplan.h). */
#include "daemon/shipplan.h"

#include <string.h>

#include "common/proto.h"
#include "daemon/scan.h"

const char *const ship_kind_names[] = {
	"none", "companion", "gone", "rename", "adopt", "empty", "meta", "ranges", "delta",
	"whole",
};

static enum ship_kind plan_other(const struct ship_facts *f, int type)
{
	if (f->row && f->row->type == type && !scan_differs(f->st, f->row))
		return SHIP_NONE;
	return f->row ? SHIP_EMPTY : SHIP_ADOPT;
}

enum ship_kind ship_plan(const struct ship_facts *f)
{
	const struct shipped *row = f->row, *mv = f->moved;
	const struct stat *st = f->st;
	int type;
	bool racy;

	if (f->excluded)
		return SHIP_COMPANION;
	if (!st || !(type = scan_type(st->st_mode)))
		return row ? SHIP_GONE : SHIP_NONE;
	if (type != VG_FILE)
		return plan_other(f, type);
	if (!row && mv && f->moved_gone && mv->size == (uint64_t)st->st_size &&
	    mv->mtime_ns == scan_ts(&st->st_mtim))
		return SHIP_RENAME;
	/* pending written ranges: the content changed even if the stat looks
	 * the same (a write in the same time tick as the last capture) */
	racy = f->queued_racy || (f->rs && rangeset_dirty(f->rs));
	if (row && row->type == VG_FILE && !racy) {
		if (!scan_differs(st, row))
			return SHIP_NONE;
		if (row->version && row->size == (uint64_t)st->st_size &&
		    row->mtime_ns == scan_ts(&st->st_mtim) && row->ino == st->st_ino &&
		    !scan_racy(row))
			return SHIP_META;
	}
	if (!row)
		return SHIP_ADOPT;
	return ship_plan_content(row->type == VG_FILE ? row : NULL, st, f->rs, f->delta_base);
}

enum ship_kind ship_plan_content(const struct shipped *base, const struct stat *st,
				 const struct rangeset *rs, bool delta_base)
{
	if (!base || !base->version)
		return SHIP_WHOLE;
	if (rs && rs->complete && !rs->unknown && base->ino == st->st_ino &&
	    base->dev == st->st_dev && base->size >= RANGES_MIN_SIZE)
		return SHIP_RANGES;
	return delta_base ? SHIP_DELTA : SHIP_WHOLE;
}

/* Whether the read is base's content: size and chunk-tree root decide (a
 * sha256 tree over the content's chunks, as strong as the content's
 * sha256, which reads do not compute any more except for adoption, and
 * which a version shipped by ranges or delta does not have on the device:
 * the server computes it). */
static bool same_content(const struct shipped *base, const struct ship_read *r)
{
	return base->size == r->size && !memcmp(base->root, r->root, 32);
}

/* A setxattr moves only ctime: when ctime moved and the file has xattrs,
 * they may be new and go out as a META.  (Without xattrs a moved ctime
 * alone ships nothing; a removal of the last one is still caught by
 * ship_plan's META rule outside the racy window.) */
static bool same_meta(const struct shipped *base, const struct ship_read *r)
{
	const struct stat *st = r->st;

	return (st->st_mode & 07777) == (base->mode & 07777) && st->st_uid == base->uid &&
	       st->st_gid == base->gid && scan_ts(&st->st_mtim) == base->mtime_ns &&
	       (scan_ts(&st->st_ctim) == base->ctime_ns || !r->xattrs);
}

enum ship_kind ship_plan_read(const struct shipped *base, const struct ship_read *r)
{
	if (base && base->version && same_content(base, r))
		return same_meta(base, r) ? SHIP_NONE : SHIP_META;
	if (r->built == SHIP_DELTA && r->delta_size >= r->size)
		return SHIP_WHOLE;
	return r->built;
}
