/* s3_mpu.c — multipart upload: create, parts, complete, abort.  An
 * upload's parts live in the store until it is completed or aborted, so an
 * upload can outlive the process (and the server) that began it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/objstore/s3_int.h"

int s3_mpu_create(struct s3 *s, const char *key, char upload_id[S3_UPLOADID_MAX])
{
	/* "uploads=": SigV4's canonical form of a parameter without a value */
	struct s3_req r = { .op = "MPU-CREATE", .method = "POST", .key = key, .query = "uploads=",
			    .fd = -1, .has_body = true };
	int rc = s3_perform(s, &r, 0);

	if (rc)
		return rc;
	rc = s3_xml_field(s->reply.data, s->reply.len, "InitiateMultipartUploadResult", "UploadId",
			  upload_id, S3_UPLOADID_MAX);
	if (!rc && !upload_id[0])
		rc = -EBADMSG;
	if (rc)
		return s3_fail(s, &r, -EBADMSG, "a reply without an UploadId");
	return 0;
}

/* "partNumber=N&uploadId=ID", canonical order */
static int part_query(struct buf *q, int number, const char *upload_id)
{
	int rc = number > 0 ? buf_printf(q, "partNumber=%d&", number) : 0;

	if (!rc)
		rc = buf_printf(q, "uploadId=");
	if (!rc)
		rc = s3_encode(q, upload_id, false);
	return rc || !buf_cstr(q) ? -ENAMETOOLONG : 0;
}

static int upload_part(struct s3 *s, struct s3_req *r, const char *upload_id, struct s3_part *part)
{
	struct buf q;
	int rc;

	if (part->number < 1 || part->number > S3_PARTS_MAX)
		return -EINVAL;
	buf_init(&q, 3 * S3_UPLOADID_MAX + 64);
	rc = part_query(&q, part->number, upload_id);
	if (!rc) {
		r->query = buf_cstr(&q);
		rc = s3_perform(s, r, 0);
	}
	if (!rc && !r->etag[0])
		rc = s3_fail(s, r, -EBADMSG, "part %d: a reply without a usable ETag", part->number);
	if (!rc)
		memcpy(part->etag, r->etag, sizeof(part->etag));
	buf_free(&q);
	return rc;
}

int s3_mpu_part(struct s3 *s, const char *key, const char *upload_id, struct s3_part *part,
		const void *p, size_t n)
{
	struct s3_req r = { .op = "MPU-PART", .method = "PUT", .key = key, .mem = p, .fd = -1,
			    .len = n, .has_body = true };

	return upload_part(s, &r, upload_id, part);
}

int s3_mpu_part_fd(struct s3 *s, const char *key, const char *upload_id, struct s3_part *part,
		   int fd, uint64_t off, uint64_t len)
{
	struct s3_req r = { .op = "MPU-PART", .method = "PUT", .key = key, .fd = fd, .off = off,
			    .len = len, .has_body = true };

	if (fd < 0)
		return -EBADF;
	return upload_part(s, &r, upload_id, part);
}

int s3_mpu_complete(struct s3 *s, const char *key, const char *upload_id,
		    const struct s3_part *parts, size_t n)
{
	struct s3_req r = { .op = "MPU-COMPLETE", .method = "POST", .key = key, .fd = -1,
			    .has_body = true };
	char code[64] = "", msg[256] = "";
	struct buf q, body;
	int rc;

	if (!n || n > S3_PARTS_MAX)
		return -EINVAL;
	buf_init(&q, 3 * S3_UPLOADID_MAX + 64);
	buf_init(&body, 64 + n * (64 + S3_ETAG_MAX));
	rc = part_query(&q, 0, upload_id);
	if (!rc)
		rc = buf_printf(&body, "<CompleteMultipartUpload>");
	for (size_t i = 0; i < n && !rc; i++)
		rc = buf_printf(&body, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
				parts[i].number, parts[i].etag);
	if (!rc)
		rc = buf_printf(&body, "</CompleteMultipartUpload>");
	if (rc)
		goto out;
	r.query = buf_cstr(&q);
	r.mem = body.data;
	r.len = body.len;
	rc = s3_perform(s, &r, 0);
	/* S3 may answer 200 and report the failure in the body */
	if (!rc && !s3_xml_error(s->reply.data, s->reply.len, code, sizeof(code), msg, sizeof(msg)))
		rc = s3_fail(s, &r, -EIO, "HTTP 200 with an error: %s%s%s", code, msg[0] ? ": " : "",
			     msg);
out:
	buf_free(&q);
	buf_free(&body);
	return rc;
}

int s3_mpu_abort(struct s3 *s, const char *key, const char *upload_id)
{
	struct s3_req r = { .op = "MPU-ABORT", .method = "DELETE", .key = key, .fd = -1 };
	struct buf q;
	int rc;

	buf_init(&q, 3 * S3_UPLOADID_MAX + 64);
	rc = part_query(&q, 0, upload_id);
	if (!rc) {
		r.query = buf_cstr(&q);
		rc = s3_perform(s, &r, S3_QUIET_404);
	}
	if (rc == -ENOENT && r.status == 404) {
		s->err[0] = '\0';
		rc = 0;
	}
	buf_free(&q);
	return rc;
}
