/* xattrs.h — the encoded list of a version's extended attributes
 * (struct vg_entry.xattrs): {str name, blob value}*, each a big-endian u32
 * length and its bytes, as wire.h writes them; at most VG_XATTR_MAX bytes
 * in all.  The device writes it sorted by name; readers treat it as
 * hostile input: every length is checked against what is left, a name is
 * 1..XATTR_NAME_LEN bytes without NUL. */
#ifndef VIGIL_XATTRS_H
#define VIGIL_XATTRS_H

#include <stddef.h>
#include <stdint.h>

#define XATTR_NAME_LEN 255   /* Linux XATTR_NAME_MAX */

/* Bytes one attribute takes in the list. */
size_t xattr_size(size_t nlen, size_t vlen);

/* Appends {name, value} to out (*len bytes used, capacity cap): 0;
 * -E2BIG when it does not fit (nothing written); -EINVAL for a name that
 * is empty, longer than XATTR_NAME_LEN or holds a NUL. */
int xattr_append(uint8_t *out, size_t cap, uint32_t *len, const char *name, size_t nlen,
		 const void *value, size_t vlen);

/* Iterates p[0..len): start with *pos = 0.  1 with *name (not
 * NUL-terminated, *nlen bytes) and *value pointing into p, and *pos moved
 * on; 0 at the end; -EBADMSG for a truncated or malformed list (then stop). */
int xattr_next(const uint8_t *p, size_t len, size_t *pos, const char **name, size_t *nlen,
	       const uint8_t **value, size_t *vlen);

/* 0 when all of p[0..len) decodes, -EBADMSG otherwise. */
int xattr_check(const uint8_t *p, size_t len);

#endif
