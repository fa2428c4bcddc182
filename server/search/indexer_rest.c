/* indexer_rest.c — big contents resting until their path is quiet, so a file
 * edited again and again costs one extraction. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/search/indexer_int.h"

/* A big version changed again before it rested: indexed by path only,
 * its text never read. */
static void
supersede(struct indexer *ix, const struct item *it)
{
	struct ti_content *c;
	int rc, tries = 0;

	do {   /* a prune may collect the content between the two: once more */
		rc = textindex_has_content(ix->ti, it->ref.root);
		if (rc == 0 && (rc = textindex_content_begin(ix->ti, it->ref.root, &c)) == 0)
			rc = textindex_content_end(c, TI_PATH_ONLY, "unindexed",
						   "changed again before it rested");
		if (rc == -EEXIST || rc > 0)
			rc = 0;
		if (rc == 0)
			rc = textindex_add_version(ix->ti, it->device_id, it->path, it->version,
						   it->time_ns, it->ref.root);
	} while (rc == -ENOENT && ++tries < 2);
	if (rc < 0)
		log_errno(rc, "search index: device %lld %s version %llu not indexed",
			  (long long)it->device_id, it->path, (unsigned long long)it->version);
}

static void
rest_remove(struct indexer *ix, size_t i)
{
	free(ix->rest[i].path);
	ix->nrest--;
	ix->rest[i] = ix->rest[ix->nrest];
	ix->rest_due[i] = ix->rest_due[ix->nrest];
}

/* The resting item due first, or -1 when none rests. */
static ssize_t
rest_first(const struct indexer *ix)
{
	ssize_t f = -1;

	for (size_t i = 0; i < ix->nrest; i++)
		if (f < 0 || ix->rest_due[i] < ix->rest_due[f])
			f = (ssize_t)i;
	return f;
}

/* Every new version of a path supersedes its resting one.  A big content
 * not indexed yet then rests itself (true: the item is taken) and is
 * indexed once no newer version came for quiet_ms (rest_step), so a file
 * edited again and again costs one extraction, not one per version.
 * When INDEXER_REST_MAX items rest, the one due first is indexed now. */
bool
ix_park(struct indexer *ix, struct item *it)
{
	ssize_t f;

	for (size_t i = 0; i < ix->nrest; i++)
		if (ix->rest[i].device_id == it->device_id && !strcmp(ix->rest[i].path, it->path)) {
			supersede(ix, &ix->rest[i]);
			rest_remove(ix, i);
			break;
		}
	if (it->deleted || it->ref.size <= ix->big || textindex_has_content(ix->ti, it->ref.root) != 0)
		return false;
	if (ix->nrest == INDEXER_REST_MAX && (f = rest_first(ix)) >= 0) {
		ix_process(ix, &ix->rest[f], false);
		rest_remove(ix, (size_t)f);
	}
	if (it->bytes != NULL) {   /* a big content rests: it will be read back */
		pthread_mutex_lock(&ix->lock);
		ix_slot_give_locked(ix, it);
		pthread_mutex_unlock(&ix->lock);
	}
	ix->rest[ix->nrest] = *it;
	ix->rest_due[ix->nrest++] = mono_ms() + ix->quiet_ms;
	return true;
}

/* Indexes the resting item due first if it is due.  Returns the ms until
 * the next one is due (0: one was indexed), -1 when none rests. */
int64_t
ix_rest_step(struct indexer *ix)
{
	ssize_t f = rest_first(ix);

	if (f < 0)
		return -1;
	if (ix->rest_due[f] > mono_ms())
		return ix->rest_due[f] - mono_ms();
	ix_process(ix, &ix->rest[f], false);
	rest_remove(ix, (size_t)f);
	return 0;
}
