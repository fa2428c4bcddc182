/* stage.c — gathering bytes into blocks for a sink. */
#include "common/stage.h"

#include <string.h>

int stage_put(struct stage *st, const void *p, size_t n)
{
	const uint8_t *q = p;
	int rc;

	while (n > 0) {
		size_t k = st->cap - st->len < n ? st->cap - st->len : n;

		memcpy(st->buf + st->len, q, k);
		st->len += k;
		q += k;
		n -= k;
		if (st->len == st->cap) {
			if ((rc = st->sink(st->arg, st->buf, st->len)) < 0)
				return rc;
			st->len = 0;
		}
	}
	return 0;
}

int stage_flush(struct stage *st)
{
	int rc = st->len ? st->sink(st->arg, st->buf, st->len) : 0;

	if (rc == 0)
		st->len = 0;
	return rc;
}
