/* pathset.c — a set of path strings (see pathset.h): linear probing,
 * deletion by shifting the run back (no tombstones). */
#include "daemon/pathset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/fnv.h"

static size_t home(const struct pathset *ps, const char *path)
{
	return (size_t)fnv1a64_str(FNV64_BASIS, path) & (ps->cap - 1);
}

/* The slot holding path, or the empty slot where it would go. */
static size_t find(const struct pathset *ps, const char *path)
{
	size_t i = home(ps, path);

	while (ps->slot[i] && strcmp(ps->slot[i], path))
		i = (i + 1) & (ps->cap - 1);
	return i;
}

bool pathset_has(const struct pathset *ps, const char *path)
{
	return ps->n && ps->slot[find(ps, path)];
}

static int grow(struct pathset *ps)
{
	struct pathset big = { .cap = ps->cap ? ps->cap * 2 : 64 };

	if (!(big.slot = calloc(big.cap, sizeof(*big.slot))))
		return -ENOMEM;
	for (size_t i = 0; i < ps->cap; i++)
		if (ps->slot[i])
			big.slot[find(&big, ps->slot[i])] = ps->slot[i];
	big.n = ps->n;
	free(ps->slot);
	*ps = big;
	return 0;
}

int pathset_add(struct pathset *ps, const char *path)
{
	size_t i;

	if ((ps->n + 1) * 2 > ps->cap && grow(ps) < 0)
		return -ENOMEM;
	i = find(ps, path);
	if (ps->slot[i])
		return -EEXIST;
	if (!(ps->slot[i] = strdup(path)))
		return -ENOMEM;
	ps->n++;
	return 0;
}

void pathset_del(struct pathset *ps, const char *path)
{
	size_t i, j, h, mask = ps->cap - 1;

	if (!ps->n || !ps->slot[i = find(ps, path)])
		return;
	free(ps->slot[i]);
	ps->slot[i] = NULL;
	ps->n--;
	/* move back every later entry of the run that its home lets move */
	for (j = (i + 1) & mask; ps->slot[j]; j = (j + 1) & mask) {
		h = home(ps, ps->slot[j]);
		if (((j - h) & mask) >= ((j - i) & mask)) {
			ps->slot[i] = ps->slot[j];
			ps->slot[j] = NULL;
			i = j;
		}
	}
}

void pathset_free(struct pathset *ps)
{
	for (size_t i = 0; i < ps->cap; i++)
		free(ps->slot[i]);
	free(ps->slot);
	*ps = (struct pathset){ 0 };
}
