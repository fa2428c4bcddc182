/* s3_ops.c — the single-request operations of the S3 client: put (from
 * memory or an fd range), ranged get, head, delete, and the paged listing. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "server/objstore/s3_int.h"

int s3_put(struct s3 *s, const char *key, const void *p, size_t n)
{
	struct s3_req r = { .op = "PUT", .method = "PUT", .key = key, .mem = p, .fd = -1,
			    .len = n, .has_body = true };

	return s3_perform(s, &r, 0);
}

int s3_put_fd(struct s3 *s, const char *key, int fd, uint64_t off, uint64_t len)
{
	struct s3_req r = { .op = "PUT", .method = "PUT", .key = key, .fd = fd, .off = off,
			    .len = len, .has_body = true };

	if (fd < 0)
		return -EBADF;
	return s3_perform(s, &r, 0);
}

int s3_head(struct s3 *s, const char *key, uint64_t *size)
{
	struct s3_req r = { .op = "HEAD", .method = "HEAD", .key = key, .fd = -1 };
	curl_off_t len = -1;
	int rc = s3_perform(s, &r, S3_QUIET_404);

	if (rc)
		return rc;
	curl_easy_getinfo(s->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
	if (len < 0)
		return s3_fail(s, &r, -EPROTO, "HTTP %ld without a Content-Length", r.status);
	*size = (uint64_t)len;
	return 0;
}

int s3_get(struct s3 *s, const char *key, uint64_t off, void *buf, size_t cap, size_t *got)
{
	struct s3_req r = { .op = "GET", .method = "GET", .key = key, .fd = -1, .out = buf,
			    .cap = cap };
	char range[64];
	uint64_t size;
	int rc;

	*got = 0;
	/* no byte range is empty: only whether the object exists */
	if (!cap)
		return s3_head(s, key, &size);
	if (off > UINT64_MAX - cap)
		return -EINVAL;
	snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, off, off + cap - 1);
	r.range = range;
	rc = s3_perform(s, &r, S3_QUIET_404 | S3_QUIET_416);
	/* at or past the end (an empty object included), as pread does */
	if (rc == -ERANGE && r.status == 416) {
		s->err[0] = '\0';
		return 0;
	}
	if (rc)
		return rc;
	/* a 200 is the whole object: right only when the range started at 0 */
	if (r.status != 206 && off)
		return s3_fail(s, &r, -EPROTO, "HTTP %ld to a range from %" PRIu64, r.status, off);
	*got = r.got;
	return 0;
}

int s3_delete(struct s3 *s, const char *key)
{
	struct s3_req r = { .op = "DELETE", .method = "DELETE", .key = key, .fd = -1 };
	int rc = s3_perform(s, &r, S3_QUIET_404);

	if (rc == -ENOENT && r.status == 404) {
		s->err[0] = '\0';
		return 0;
	}
	return rc;
}

/* ListObjectsV2's query, its parameters in SigV4's canonical order */
static int list_query(struct buf *q, const char *token, const char *prefix)
{
	int rc = 0;

	if (token[0]) {
		rc = buf_printf(q, "continuation-token=");
		if (!rc)
			rc = s3_encode(q, token, false);
		if (!rc)
			rc = buf_printf(q, "&");
	}
	if (!rc)
		rc = buf_printf(q, "list-type=2");
	if (!rc && prefix[0]) {
		rc = buf_printf(q, "&prefix=");
		if (!rc)
			rc = s3_encode(q, prefix, false);
	}
	return rc || !buf_cstr(q) ? -ENAMETOOLONG : 0;
}

int s3_list(struct s3 *s, const char *prefix, s3_list_fn fn, void *arg)
{
	char token[S3_KEY_MAX + 1] = "";
	struct s3_req r = { .op = "LIST", .method = "GET", .fd = -1 };
	bool more = true;
	struct buf q;
	int rc = 0, stop;

	if (strlen(prefix) > S3_KEY_MAX)
		return -ENAMETOOLONG;
	buf_init(&q, 3 * (2 * S3_KEY_MAX + 2) + 64);
	while (more && !rc) {
		buf_reset(&q);
		rc = list_query(&q, token, prefix);
		if (rc)
			break;
		r.query = buf_cstr(&q);
		rc = s3_perform(s, &r, 0);
		if (rc)
			break;
		rc = s3_xml_list(s->reply.data, s->reply.len, fn, arg, &stop, &more, token,
				 sizeof(token));
		if (rc)
			s3_fail(s, &r, rc, "a reply that is not a ListBucketResult");
		else if (stop)
			rc = stop;
		else if (more && !token[0])
			rc = s3_fail(s, &r, -EBADMSG, "a truncated listing without a continuation token");
	}
	buf_free(&q);
	return rc;
}
