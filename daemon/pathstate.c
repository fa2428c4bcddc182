/* pathstate.c — a shipped path's row, signature, chunk list and written
 * ranges, changed together (see pathstate.h). */
#include "daemon/pathstate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/chunktree.h"
#include "common/hex.h"

int pathstate_file(const char *statedir, const char *sub, const char *path,
		   char out[PATH_MAX])
{
	uint8_t d[32];
	char h[HEX_SIZE(32)];
	int rc;

	if ((rc = ctree_sha256(path, strlen(path), d)) < 0)
		return rc;
	if (snprintf(out, PATH_MAX, "%s/%s/%s", statedir, sub, hex_encode(d, 32, h)) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static void unlink_file(const char *statedir, const char *sub, const char *path)
{
	char f[PATH_MAX];

	if (pathstate_file(statedir, sub, path, f) == 0)
		unlink(f);
}

static void move_file(const char *statedir, const char *sub, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];

	if (pathstate_file(statedir, sub, from, a) == 0 &&
	    pathstate_file(statedir, sub, to, b) == 0)
		rename(a, b);
}

int pathstate_drop(const struct pathstate *ps, const char *path, unsigned parts)
{
	int rc = 0;

	if (parts & PS_CHUNKS)
		unlink_file(ps->statedir, PS_DIR_CHUNKS, path);
	if ((parts & PS_RANGES) && ps->rt)
		rangetab_forget(ps->rt, path);
	if (parts & PS_ROW)
		rc = statedb_del(ps->db, path);
	return rc;
}

int pathstate_forget(const struct pathstate *ps, const char *path)
{
	return pathstate_drop(ps, path, PS_ALL);
}

int pathstate_commit(const struct pathstate *ps, const struct shipped *row,
		     const struct qitem *q)
{
	int rc;

	if ((rc = statedb_put(ps->db, row)) < 0)
		return rc;
	return q ? statedb_queue_done(ps->db, q->path, q->gen) : 0;
}

int pathstate_move(const struct pathstate *ps, const char *from, const struct shipped *row,
		   uint64_t newgen)
{
	int rc;

	/* the files describe the same content at its new path */
	move_file(ps->statedir, PS_DIR_CHUNKS, from, row->path);
	if (ps->rt)
		rangetab_forget(ps->rt, from);
	if ((rc = statedb_put(ps->db, row)) < 0)
		return rc;
	statedb_del(ps->db, from);
	statedb_queue_remove(ps->db, from);
	return statedb_queue_done(ps->db, row->path, newgen);
}
