/* rangetab.c — per-file written ranges between the tracker and the
 * shippers (see rangetab.h).  A chained hash table of heap entries. */
#include "daemon/rangetab.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/fnv.h"

#define NBUCKETS 8192

/* A file's set, kept small: most tracked files have no range pending (a
 * set restarts empty at every take), so the ranges live in an array of
 * their own, grown as they come (at most RANGETAB_RANGES) and freed when
 * the set empties.  A whole struct rangeset per entry cost 1 KiB for
 * each tracked file, 9 MiB at RANGETAB_MAX (docs/daemon.md, "Memory and
 * state"); an entry is now about 40 bytes plus its path. */
struct rent {
	struct rent *next;
	uint64_t min_size;
	bool complete, unknown, cut;
	uint8_t n, cap;           /* ranges in r, and its room */
	struct trk_range *r;      /* NULL while cap is 0 */
	char path[];
};

/* A file being written: its current run of writes (rangetab.h). */
struct busy {
	char *path;               /* owned; NULL: free */
	int64_t first, last;      /* monotonic: the run's first and last write */
	unsigned writes;          /* writes (pick-ups) in the run, saturating */
};

struct rangetab {
	pthread_mutex_t mu;
	size_t count;
	struct rent *b[NBUCKETS];
	struct busy busy[RANGETAB_BUSY];
};

static size_t hash(const char *s)
{
	return (size_t)(fnv1a64_str(FNV64_BASIS, s) % NBUCKETS);
}

static void rent_free(struct rent *e);

struct rangetab *rangetab_new(void)
{
	struct rangetab *t = calloc(1, sizeof(*t));

	if (t)
		pthread_mutex_init(&t->mu, NULL);
	return t;
}

void rangetab_free(struct rangetab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct rent *e = t->b[i], *nx; e; e = nx) {
			nx = e->next;
			rent_free(e);
		}
	for (size_t i = 0; i < RANGETAB_BUSY; i++)
		free(t->busy[i].path);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static struct rent **find(struct rangetab *t, const char *path)
{
	struct rent **pp = &t->b[hash(path)];

	while (*pp && strcmp((*pp)->path, path) != 0)
		pp = &(*pp)->next;
	return pp;
}

static void rs_empty(struct rangeset *rs, bool complete)
{
	rs->complete = complete;
	rs->unknown = false;
	rs->min_size = UINT64_MAX;
	rs->cut = false;
	rs->n = 0;
}

/* e's set as a struct rangeset. */
static void rent_get(const struct rent *e, struct rangeset *rs)
{
	rs->complete = e->complete;
	rs->unknown = e->unknown;
	rs->min_size = e->min_size;
	rs->cut = e->cut;
	rs->n = e->n;
	if (e->n)
		memcpy(rs->r, e->r, e->n * sizeof(rs->r[0]));
}

/* e restarts empty (complete or not), its ranges' array freed. */
static void rent_empty(struct rent *e, bool complete)
{
	e->complete = complete;
	e->unknown = false;
	e->min_size = UINT64_MAX;
	e->cut = false;
	e->n = e->cap = 0;
	free(e->r);
	e->r = NULL;
}

/* e takes rs's set; without the memory for its ranges the set becomes
 * unknown, as a 65th range makes it. */
static void rent_set(struct rent *e, const struct rangeset *rs)
{
	e->complete = rs->complete;
	e->unknown = rs->unknown;
	e->min_size = rs->min_size;
	e->cut = rs->cut;
	if (rs->n > e->cap) {
		size_t cap = e->cap ? (size_t)e->cap * 2 : 4;
		struct trk_range *r;

		if (cap < rs->n)
			cap = rs->n;
		if (cap > RANGETAB_RANGES)
			cap = RANGETAB_RANGES;
		if (!(r = realloc(e->r, cap * sizeof(*r)))) {
			e->unknown = true;
			e->n = 0;
			return;
		}
		e->r = r;
		e->cap = (uint8_t)cap;
	}
	e->n = (uint8_t)rs->n;
	if (rs->n)
		memcpy(e->r, rs->r, rs->n * sizeof(rs->r[0]));
}

static void rent_unknown(struct rent *e)
{
	e->unknown = true;
	e->n = e->cap = 0;
	free(e->r);
	e->r = NULL;
}

static void rent_free(struct rent *e)
{
	free(e->r);
	free(e);
}

void rangeset_merge(struct rangeset *rs, const struct trk_range *r, size_t n)
{
	for (size_t i = 0; i < n && !rs->unknown; i++) {
		uint64_t a = r[i].off, z = r[i].off + r[i].len;
		size_t lo = 0, hi;

		if (r[i].len == 0)
			continue;
		if (z < a)
			z = UINT64_MAX;
		/* first range ending at or after a; last starting at or before z */
		while (lo < rs->n && rs->r[lo].off + rs->r[lo].len < a)
			lo++;
		hi = lo;
		while (hi < rs->n && rs->r[hi].off <= z) {
			if (rs->r[hi].off < a)
				a = rs->r[hi].off;
			if (rs->r[hi].off + rs->r[hi].len > z)
				z = rs->r[hi].off + rs->r[hi].len;
			hi++;
		}
		if (hi == lo) {
			if (rs->n == RANGETAB_RANGES) {
				rs->unknown = true;
				rs->n = 0;
				return;
			}
			memmove(&rs->r[lo + 1], &rs->r[lo], (rs->n - lo) * sizeof(rs->r[0]));
			rs->n++;
		} else if (hi > lo + 1) {
			memmove(&rs->r[lo + 1], &rs->r[hi], (rs->n - hi) * sizeof(rs->r[0]));
			rs->n -= hi - lo - 1;
		}
		rs->r[lo] = (struct trk_range){ a, z - a };
	}
}

/* path's slot in the busy table (mu held); NULL when not there. */
static struct busy *busy_find(struct rangetab *t, const char *path)
{
	for (size_t i = 0; i < RANGETAB_BUSY; i++)
		if (t->busy[i].path && !strcmp(t->busy[i].path, path))
			return &t->busy[i];
	return NULL;
}

/* A write to path seen at now (mu held): the run goes on, or a new one
 * starts in path's slot, a free one or the one quiet the longest. */
static void busy_note(struct rangetab *t, const char *path, int64_t now)
{
	struct busy *b = busy_find(t, path);
	char *p;

	if (b && now - b->last < RANGETAB_RUN_GAP_NS) {
		b->last = now;
		b->writes += b->writes < 1000;
		return;
	}
	if (!b) {
		b = &t->busy[0];
		for (size_t i = 1; i < RANGETAB_BUSY && b->path; i++)
			if (!t->busy[i].path || t->busy[i].last < b->last)
				b = &t->busy[i];
		if (!(p = strdup(path)))
			return;
		free(b->path);
		b->path = p;
	}
	b->first = b->last = now;
	b->writes = 1;
}

void rangetab_note_write(struct rangetab *t, const char *path, int64_t now)
{
	pthread_mutex_lock(&t->mu);
	busy_note(t, path, now);
	pthread_mutex_unlock(&t->mu);
}

bool rangetab_busy(struct rangetab *t, const char *path, int64_t now)
{
	struct busy *b;
	bool busy;

	pthread_mutex_lock(&t->mu);
	b = busy_find(t, path);
	busy = b && b->writes > 1 && now - b->last < RANGETAB_RUN_GAP_NS;
	pthread_mutex_unlock(&t->mu);
	return busy;
}

int64_t rangetab_hold(struct rangetab *t, const char *path, int64_t now)
{
	struct busy *b;
	int64_t until = 0;

	pthread_mutex_lock(&t->mu);
	b = busy_find(t, path);
	if (b && now - b->last < RANGETAB_RUN_GAP_NS)
		until = b->first + (b->writes > 1 ? RANGETAB_BUSY_WAIT_NS : RANGETAB_PROBE_NS);
	pthread_mutex_unlock(&t->mu);
	return until > now ? until : 0;
}

void rangetab_add(struct rangetab *t, const char *path, const struct trk_range *r, size_t n,
		  bool unknown, uint64_t size)
{
	struct rangeset rs;
	struct rent *e;

	rangetab_note_write(t, path, mono_ns());
	pthread_mutex_lock(&t->mu);
	if ((e = *find(t, path))) {
		rent_get(e, &rs);
		if (unknown) {
			rs.unknown = true;
			rs.n = 0;
		}
		for (size_t i = 0; i < n && !rs.unknown; i++) {
			if (r[i].off + r[i].len >= TRK_EOF) {   /* cut here: the rest is new */
				size = r[i].off < size ? r[i].off : size;
				rs.cut = true;
			} else {
				rangeset_merge(&rs, &r[i], 1);
			}
		}
		if (size < rs.min_size)
			rs.min_size = size;
		if (rs.unknown)
			rent_unknown(e);
		rent_set(e, &rs);
	}
	pthread_mutex_unlock(&t->mu);
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' ||
					      (n && dir[n - 1] == '/'));
}

void rangetab_unknown(struct rangetab *t, const char *dir)
{
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct rent *e = t->b[i]; e; e = e->next)
			if (!dir || under(e->path, dir))
				rent_unknown(e);
	pthread_mutex_unlock(&t->mu);
}

void rangetab_take(struct rangetab *t, const char *path, bool track, struct rangeset *out)
{
	struct rent **pp, *e;

	pthread_mutex_lock(&t->mu);
	pp = find(t, path);
	if ((e = *pp)) {
		rent_get(e, out);
		if (track) {
			rent_empty(e, true);
		} else {
			*pp = e->next;
			rent_free(e);
			t->count--;
		}
	} else {
		rs_empty(out, false);
		if (track && t->count < RANGETAB_MAX &&
		    (e = malloc(sizeof(*e) + strlen(path) + 1))) {
			memcpy(e->path, path, strlen(path) + 1);
			e->r = NULL;
			rent_empty(e, true);
			e->next = NULL;
			*pp = e;
			t->count++;
		}
	}
	pthread_mutex_unlock(&t->mu);
}

void rangetab_putback(struct rangetab *t, const char *path, const struct rangeset *rs)
{
	struct rangeset cur;
	struct rent *e;

	pthread_mutex_lock(&t->mu);
	if ((e = *find(t, path))) {
		rent_get(e, &cur);
		cur.complete = cur.complete && rs->complete;
		if (rs->unknown) {
			cur.unknown = true;
			cur.n = 0;
		} else {
			rangeset_merge(&cur, rs->r, rs->n);
		}
		if (rs->min_size < cur.min_size)
			cur.min_size = rs->min_size;
		cur.cut |= rs->cut;
		if (cur.unknown)
			rent_unknown(e);
		rent_set(e, &cur);
	}
	pthread_mutex_unlock(&t->mu);
}

void rangetab_forget(struct rangetab *t, const char *path)
{
	struct rent **pp, *e;

	pthread_mutex_lock(&t->mu);
	pp = find(t, path);
	if ((e = *pp)) {
		*pp = e->next;
		rent_free(e);
		t->count--;
	}
	pthread_mutex_unlock(&t->mu);
}

bool rangeset_dirty(const struct rangeset *rs)
{
	return rs->n > 0 || rs->unknown || rs->cut;
}

void rangetab_peek(struct rangetab *t, const char *path, struct rangeset *out)
{
	struct rent *e;

	pthread_mutex_lock(&t->mu);
	if ((e = *find(t, path)))
		rent_get(e, out);
	else
		rs_empty(out, false);
	pthread_mutex_unlock(&t->mu);
}

bool rangetab_dirty(struct rangetab *t, const char *path)
{
	struct rent *e;
	bool dirty;

	pthread_mutex_lock(&t->mu);
	dirty = (e = *find(t, path)) && (e->n > 0 || e->unknown || e->cut);
	pthread_mutex_unlock(&t->mu);
	return dirty;
}
