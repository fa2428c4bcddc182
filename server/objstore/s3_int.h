/* s3_int.h — what the files of the S3 client share: the handle, one
 * request (s3_perform in s3.c runs it) and the reply parsers (s3_xml.c). */
#ifndef VIGIL_OBJSTORE_S3_INT_H
#define VIGIL_OBJSTORE_S3_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "server/objstore/s3.h"

/* A reply body the client parses (XML: a listing, an error): 1,000 keys
 * of S3_KEY_MAX bytes each, escaped, fit; nothing legitimate comes near */
#define S3_REPLY_MAX (8u << 20)

struct s3 {
	struct s3_config c;
	CURL *curl;                  /* reused: the connection stays open */
	char userpwd[S3_KEYID_MAX + S3_SECRET_MAX + 2];
	char sigv4[S3_REGION_MAX + 32];
	char err[S3_ERRMSG_MAX];
	struct buf reply;            /* the last reply's body, when not the caller's */
	uint8_t *block;              /* S3_HASH_BLOCK bytes for hashing an fd range, or NULL */
	unsigned long connects;      /* connections opened (CURLINFO_NUM_CONNECTS summed) */
};

/* One request.  The body is mem[0..len) or, with fd >= 0, fd's bytes
 * [off, off + len); out (cap bytes) takes a 2xx reply's body, else it goes
 * to s->reply. */
struct s3_req {
	const char *op;              /* for the log: "PUT", "LIST", "MPU-COMPLETE"... */
	const char *method;          /* GET PUT HEAD DELETE POST */
	const char *key;             /* NULL: the bucket itself */
	const char *query;           /* canonical (sorted, encoded), or NULL */
	const char *range;           /* a Range header's value, or NULL */
	const void *mem;
	int fd;
	uint64_t off, len;
	bool has_body;               /* send mem or fd (len may be 0) */
	void *out;
	size_t cap;
	/* filled by s3_perform */
	uint64_t pos;                /* body bytes handed to curl */
	size_t got;                  /* bytes written to out */
	long status;                 /* HTTP status, 0 when none came */
	int io_err;                  /* a read of fd failed, or out overflowed */
	char etag[S3_ETAG_MAX];      /* the reply's ETag header */
};

/* Failures a caller expects, and that s3_perform therefore does not log */
#define S3_QUIET_404 0x1   /* -ENOENT: head, get, delete, abort */
#define S3_QUIET_416 0x2   /* -ERANGE: a get at or past the end */

/* Runs r.  0 on a 2xx reply; otherwise -errno, with s->err set and logged
 * unless quiet says it is expected.  A 2xx reply's non-data body is in
 * s->reply. */
int s3_perform(struct s3 *s, struct s3_req *r, unsigned quiet);
/* Records (and logs) a failure found after the reply: a reply that does not
 * parse, an error inside a 200.  Returns rc. */
int s3_fail(struct s3 *s, const struct s3_req *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Appends s, percent-encoded as SigV4 wants (unreserved bytes as they are,
 * '/' kept when keep_slash), to b. */
int s3_encode(struct buf *b, const char *s, bool keep_slash);

/* s3_xml.c: parsers of S3's XML replies (hostile input: bounded, no
 * network, no entity expansion).  0, or -EBADMSG for anything else. */
int s3_xml_error(const void *p, size_t n, char *code, size_t codesz, char *msg, size_t msgsz);
/* One page of ListObjectsV2: fn for each Contents, until one returns
 * non-zero (that value in *stop, else 0); *truncated, and the token of
 * the next page in next (next_sz bytes). */
int s3_xml_list(const void *p, size_t n, s3_list_fn fn, void *arg, int *stop, bool *truncated,
		char *next, size_t next_sz);
/* The text of root's child named child (InitiateMultipartUploadResult's
 * UploadId); -EBADMSG when root is not the document's root (an <Error>)
 * or it has no such child. */
int s3_xml_field(const void *p, size_t n, const char *root, const char *child, char *out,
		 size_t outsz);

#endif
