/* cverify.h — checks content fetched from the server against its version:
 * by the whole-content sha256, or, while the server has not computed that
 * yet (sha256 all zeros, see docs/index.md "Pending sha256"), by the
 * XXH3-128 digest the server checked a first upload against (e.digest, a
 * WHOLE sent as it is read), or without one (PUT_RANGES, PUT_DELTA) by the
 * chunk-tree root the device sent and the server verified
 * (common/chunker.h + common/chunktree.h).  Each way the bytes are checked
 * end to end. */
#ifndef VIGIL_CONTROLLER_CVERIFY_H
#define VIGIL_CONTROLLER_CVERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/proto.h"

struct cverify;

/* A live file whose sha256 the server has not computed yet. */
bool cverify_sha_pending(const struct vg_entry *e);

enum cverify_by { CVERIFY_SHA256, CVERIFY_DIGEST, CVERIFY_ROOT };
/* What cverify_new(e) checks e's content by. */
enum cverify_by cverify_by(const struct vg_entry *e);

/* NULL when out of memory.  Keeps what it needs of e (not e itself). */
struct cverify *cverify_new(const struct vg_entry *e);
int  cverify_feed(struct cverify *v, const void *p, size_t n);   /* 0 or -errno */
/* 0 when what was fed is the version (size too), -EBADMSG when not. */
int  cverify_finish(struct cverify *v);
void cverify_free(struct cverify *v);   /* NULL-safe */

/* Whether the regular file dirfd/name (a final symlink is not followed)
 * holds version e: 0 yes, -EBADMSG no, -errno when it cannot be read. */
int  cverify_file(int dirfd, const char *name, const struct vg_entry *e);

#endif
