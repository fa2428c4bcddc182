/* vec.h — a growable array of fixed-size elements (ids, rows, small
 * structs), doubling from 16.  Unlike struct buf it has no maximum of its
 * own: its callers' counts come from the index or the store, and a caller
 * that must bound one checks v->n itself.  Growth that would overflow
 * size * cap is refused like a failed allocation. */
#ifndef VIGIL_VEC_H
#define VIGIL_VEC_H

#include <stddef.h>

struct vec {
	void *p;        /* n elements of `size` bytes, room for cap; vec_free frees it */
	size_t n, cap;
	size_t size;    /* bytes per element, set once */
};

#define VEC_INIT(type) { .p = NULL, .n = 0, .cap = 0, .size = sizeof(type) }

void vec_init(struct vec *v, size_t size);      /* empty, no allocation yet */
int vec_reserve(struct vec *v, size_t extra);   /* room for n + extra: 0 or -ENOMEM */
void *vec_add(struct vec *v);                   /* one zeroed element at the end, or NULL */
int vec_push(struct vec *v, const void *elem);  /* copies one element: 0 or -ENOMEM */
void vec_free(struct vec *v);                   /* frees p; v stays usable, size kept */

#endif
