/* content_delta.c — librsync deltas applied to stored versions; signatures. (in progress) */
#include "server/content_int.h"

#include <errno.h>

int content_signature(struct vreader *vr, content_out_fn out, void *arg) { return -ENOSYS; }
int vpatch_new(struct store *st, const struct devkey *key, const struct content_ref *base,
	       struct vpatch **out) { *out = NULL; return -ENOSYS; }
int vpatch_feed(struct vpatch *vp, const void *p, size_t n) { return -ENOSYS; }
int vpatch_finish(struct vpatch *vp, struct content_ref *out) { return -ENOSYS; }
int vpatch_sha256(const struct vpatch *vp, uint8_t out[32]) { return -ENOSYS; }
void vpatch_free(struct vpatch *vp) { }
