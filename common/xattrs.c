/* xattrs.c — encoding and bounds-checked decoding of xattr lists. */
#include "common/xattrs.h"

#include <errno.h>
#include <string.h>

#include "common/byteorder.h"

static int name_ok(const char *name, size_t nlen)
{
	return nlen > 0 && nlen <= XATTR_NAME_LEN && !memchr(name, '\0', nlen);
}

size_t xattr_size(size_t nlen, size_t vlen)
{
	return 8 + nlen + vlen;
}

int xattr_append(uint8_t *out, size_t cap, uint32_t *len, const char *name, size_t nlen,
		 const void *value, size_t vlen)
{
	size_t used = *len;

	if (!name_ok(name, nlen))
		return -EINVAL;
	if (used > cap || vlen > cap || xattr_size(nlen, vlen) > cap - used)
		return -E2BIG;
	be32_put(out + used, (uint32_t)nlen);
	memcpy(out + used + 4, name, nlen);
	used += 4 + nlen;
	be32_put(out + used, (uint32_t)vlen);
	if (vlen)
		memcpy(out + used + 4, value, vlen);
	*len = (uint32_t)(used + 4 + vlen);
	return 0;
}

int xattr_next(const uint8_t *p, size_t len, size_t *pos, const char **name, size_t *nlen,
	       const uint8_t **value, size_t *vlen)
{
	size_t at = *pos, n, v;

	if (at >= len)
		return 0;
	if (len - at < 4 || (n = be32_get(p + at)) > len - at - 4)
		return -EBADMSG;
	at += 4;
	if (!name_ok((const char *)p + at, n))
		return -EBADMSG;
	*name = (const char *)p + at;
	*nlen = n;
	at += n;
	if (len - at < 4 || (v = be32_get(p + at)) > len - at - 4)
		return -EBADMSG;
	at += 4;
	*value = p + at;
	*vlen = v;
	*pos = at + v;
	return 1;
}

int xattr_check(const uint8_t *p, size_t len)
{
	const char *n;
	const uint8_t *v;
	size_t pos = 0, nl, vl;
	int r;

	while ((r = xattr_next(p, len, &pos, &n, &nl, &v, &vl)) > 0)
		;
	return r < 0 ? r : 0;
}
