/* dircache.c — realpath of directories, per name generation (dircache.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/fnv.h"
#include "daemon/dircache.h"

struct dc_entry {
	uint64_t gen;
	char *dir, *real;          /* owned; NULL when empty */
};

struct dircache {
	struct dc_entry e[DIRCACHE_SLOTS];
	uint64_t hits, misses;
};

struct dircache *dircache_new(void)
{
	return calloc(1, sizeof(struct dircache));
}

static void entry_clear(struct dc_entry *e)
{
	free(e->dir);
	free(e->real);
	e->dir = e->real = NULL;
}

void dircache_free(struct dircache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < DIRCACHE_SLOTS; i++)
		entry_clear(&c->e[i]);
	free(c);
}

static int copy_out(char *out, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(out, s, n + 1);
	return 0;
}

int dircache_real(struct dircache *c, uint64_t gen, const char *dir, char *out, size_t cap)
{
	struct dc_entry *e = &c->e[fnv1a64_str(FNV64_BASIS, dir) % DIRCACHE_SLOTS];
	char real[PATH_MAX];

	if (e->dir && e->gen == gen && strcmp(e->dir, dir) == 0) {
		c->hits++;
		return copy_out(out, cap, e->real);
	}
	c->misses++;
	if (!realpath(dir, real))
		return -errno;
	entry_clear(e);
	if ((e->dir = strdup(dir)) && (e->real = strdup(real)))
		e->gen = gen;
	else
		entry_clear(e);        /* out of memory: answered, not stored */
	return copy_out(out, cap, real);
}

void dircache_stats(const struct dircache *c, uint64_t *hits, uint64_t *misses)
{
	*hits = c->hits;
	*misses = c->misses;
}
