/* quota.c — device quotas at ingest (quota.h). */
#include "server/quota.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/clock.h"
#include "server/index.h"
#include "server/srv.h"

int quota_load(struct srv *srv, int64_t dev, struct quota_guard *q)
{
	int r = index_quota_get(srv_reader(srv), dev, &q->limit, &q->used);

	q->set = r == 1;
	q->pending = 0;
	q->told = false;
	return r < 0 ? r : 0;
}

/* The bytes path's latest live file version holds (0: none). */
static int latest_size(struct srv *srv, int64_t dev, const char *path, uint64_t *size)
{
	struct index_version *v = malloc(sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	*size = 0;
	r = index_latest(srv->idx, dev, path, INDEX_AT_LATEST, true, v);
	if (r == 0 && !v->e.deleted && v->e.type == VG_FILE)
		*size = v->e.size;
	free(v);
	return r == -ENOENT ? 0 : r;
}

int quota_admit(struct srv *srv, int64_t dev, struct quota_guard *q, const char *path,
		uint64_t new_size, const struct index_version *latest)
{
	uint64_t held = q->used + q->pending, old = 0;
	int r;

	if (!q->set || held + new_size <= q->limit)   /* fits even as a new file */
		goto admit;
	if (latest)
		old = !latest->e.deleted && latest->e.type == VG_FILE ? latest->e.size : 0;
	else if ((r = latest_size(srv, dev, path, &old)) < 0)
		return r;
	if (new_size > old && held + (new_size - old) > q->limit)
		return -EDQUOT;
admit:
	if (q->set && new_size > old)
		q->pending += new_size - old;
	return 0;
}

void quota_refused(struct srv *srv, int64_t dev, struct quota_guard *q, char *msg, size_t cap)
{
	char detail[128];

	snprintf(msg, cap, "over its quota on the server (%llu of %llu bytes held):"
		 " new content refused until the quota is raised or files shrink",
		 (unsigned long long)q->used, (unsigned long long)q->limit);
	if (q->told)
		return;
	q->told = true;
	snprintf(detail, sizeof(detail), "new content refused: %llu of %llu bytes held",
		 (unsigned long long)q->used, (unsigned long long)q->limit);
	if (index_event_seen(srv->idx, dev, "quota", detail) == 0)
		(void)index_event_add(srv->idx, dev, real_ns(), "quota", detail);
}
