/* vec.c — growable array of fixed-size elements. */
#include "common/vec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void vec_init(struct vec *v, size_t size)
{
	*v = (struct vec){ .size = size };
}

int vec_reserve(struct vec *v, size_t extra)
{
	size_t want, ncap;
	void *p;

	if (extra > SIZE_MAX - v->n)
		return -ENOMEM;
	want = v->n + extra;
	if (want <= v->cap)
		return 0;
	ncap = v->cap ? v->cap : 16;
	while (ncap < want)
		ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
	if (v->size && ncap > SIZE_MAX / v->size)
		return -ENOMEM;
	if (!(p = realloc(v->p, ncap * v->size)))
		return -ENOMEM;
	v->p = p;
	v->cap = ncap;
	return 0;
}

void *vec_add(struct vec *v)
{
	void *e;

	if (vec_reserve(v, 1) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	e = (char *)v->p + v->n++ * v->size;
	memset(e, 0, v->size);
	return e;
}

int vec_push(struct vec *v, const void *elem)
{
	void *e = vec_add(v);

	if (!e)
		return -ENOMEM;
	memcpy(e, elem, v->size);
	return 0;
}

void vec_free(struct vec *v)
{
	free(v->p);
	v->p = NULL;
	v->n = v->cap = 0;
}
