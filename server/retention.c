/* retention.c — restic's keep rules over a device's capture instants, and
 * which versions of a path they keep (retention.h).  Pure: local time
 * comes from localtime_r (TZ), nothing else from outside. */
#include "server/retention.h"

#include <string.h>
#include <time.h>

#define NS 1000000000LL

bool retain_policy_empty(const struct retain_policy *p)
{
	if (p->within_ns > 0)
		return false;
	for (int i = 0; i < RET_NBUCKETS; i++)
		if (p->count[i])
			return false;
	return true;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ISO 8601 week: weeks start on Monday; week 1 holds the year's first
 * Thursday.  From the Thursday of tm's week: its year is the ISO year. */
static int64_t iso_week(const struct tm *tm)
{
	int y = tm->tm_year + 1900, wday = (tm->tm_wday + 6) % 7;   /* Monday 0 */
	int thu = tm->tm_yday - wday + 3;

	if (thu < 0) {
		y--;
		thu += leap(y) ? 366 : 365;
	} else if (thu >= (leap(y) ? 366 : 365)) {
		thu -= leap(y) ? 366 : 365;
		y++;
	}
	return (int64_t)y * 100 + thu / 7 + 1;
}

int64_t retain_bucket(int kind, int64_t t_ns)
{
	time_t s = (time_t)(t_ns >= 0 ? t_ns / NS : (t_ns - NS + 1) / NS);
	struct tm tm;
	int64_t y, ymd;

	if (!localtime_r(&s, &tm))
		return t_ns;   /* out of range: its own bucket */
	y = tm.tm_year + 1900;
	ymd = y * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
	switch (kind) {
	case RET_HOURLY:  return ymd * 100 + tm.tm_hour;
	case RET_DAILY:   return ymd;
	case RET_WEEKLY:  return iso_week(&tm);
	default:          return y * 100 + tm.tm_mon + 1;
	}
}

void retain_walk_init(struct retain_walk *w, const struct retain_policy *p, int64_t latest_ns)
{
	memset(w, 0, sizeof(*w));
	w->p = *p;
	w->latest = latest_ns;
	/* restic: "newer than latest - D" (time.After: strictly) */
	w->cutoff = p->within_ns > 0 ? latest_ns - p->within_ns : INT64_MAX;
	w->first_in_window = INT64_MAX;
	for (int i = 0; i < RET_NBUCKETS; i++) {
		w->left[i] = p->count[i];
		w->last[i] = -1;
	}
}

bool retain_walk_next(struct retain_walk *w, int64_t t, bool oldest)
{
	bool keep = false;

	if (t > w->cutoff)
		w->first_in_window = t;
	for (int i = 0; i < RET_NBUCKETS; i++) {
		int64_t key;

		if (!w->left[i])
			continue;
		key = retain_bucket(i, t);
		/* a new bucket, or the oldest instant with a count left */
		if (key != w->last[i] || oldest) {
			keep = true;
			w->last[i] = key;
			w->left[i]--;
		}
	}
	return keep;
}

bool retain_walk_done(const struct retain_walk *w, int64_t t_last)
{
	for (int i = 0; i < RET_NBUCKETS; i++)
		if (w->left[i])
			return false;
	return t_last <= w->cutoff;
}

size_t retain_path(const struct retain_plan *plan, const int64_t *cap, size_t n, bool *keep)
{
	size_t kept = 0, j = plan->nkept;   /* kept[j - 1]: the oldest not yet passed */

	for (size_t i = 0; i < n; i++) {
		int64_t next = i + 1 < n ? cap[i + 1] : INT64_MAX;
		bool k = i + 1 == n || cap[i] > plan->latest;

		if (!k && plan->window)
			k = cap[i] > plan->cutoff || next > plan->first_in_window;
		/* the oldest kept instant at or after cap[i]: is it before next? */
		while (j > 0 && plan->kept[j - 1] < cap[i])
			j--;
		if (!k && j > 0 && plan->kept[j - 1] < next)
			k = true;
		keep[i] = k;
		kept += k;
	}
	return kept;
}

void retain_instants(const struct retain_policy *p, int64_t now_ns, const int64_t *t, size_t n,
		     bool *kept)
{
	struct retain_walk w;
	size_t i = 0;

	if (retain_policy_empty(p)) {
		memset(kept, 1, n * sizeof(*kept));   /* no rule: keep everything */
		return;
	}
	while (i < n && t[i] > now_ns)
		kept[i++] = true;   /* in the future: never removed */
	if (i == n)
		return;
	retain_walk_init(&w, p, t[i]);
	for (; i < n; i++)
		kept[i] = retain_walk_next(&w, t[i], i + 1 == n) || t[i] > w.cutoff;
}
