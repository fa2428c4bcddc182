/* pathset.h — a set of path strings (the paths batched puts hold, so no
 * other shipper takes them meanwhile).  Open addressing on FNV-1a, grows
 * as needed; not thread-safe (the caller's lock). */
#ifndef VIGIL_DAEMON_PATHSET_H
#define VIGIL_DAEMON_PATHSET_H

#include <stdbool.h>
#include <stddef.h>

struct pathset {
	char **slot;      /* NULL: empty */
	size_t cap, n;    /* cap: 0 or a power of two */
};

bool pathset_has(const struct pathset *ps, const char *path);
/* Adds a copy of path: 0, -EEXIST, or -ENOMEM. */
int  pathset_add(struct pathset *ps, const char *path);
void pathset_del(struct pathset *ps, const char *path);
void pathset_free(struct pathset *ps);

#endif
