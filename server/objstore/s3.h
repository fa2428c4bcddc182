/* s3.h — a small S3 client (the transport to an S3-compatible object store:
 * Ceph's radosgw is the reference): put, ranged get, head, delete, list by
 * prefix, multipart upload.  It knows nothing of vigil's store; the store
 * decides what the keys and bodies are.
 *
 * libcurl signs every request (CURLOPT_AWS_SIGV4), with the body's sha256 in
 * x-amz-content-sha256, which radosgw verifies: a body changed in flight is
 * refused (-EBADMSG).  URLs are path-style: ENDPOINT/BUCKET/KEY.
 *
 * A struct s3 is one thread's: it owns one curl handle, reused so the
 * connection stays open between requests.  Call s3_global_init once before
 * any thread makes one.
 *
 * Errors: 0 or -errno; failures other than the expected ones (a missing
 * object for head/get, which return -ENOENT) are logged once here, on one
 * line naming the operation, bucket/key, the HTTP status and S3's error
 * code and message, and the same line stays in s3_errmsg(). */
#ifndef VIGIL_OBJSTORE_S3_H
#define VIGIL_OBJSTORE_S3_H

#include <stddef.h>
#include <stdint.h>

#define S3_ENDPOINT_MAX 256
#define S3_BUCKET_MAX   64      /* S3 bucket names are 3-63 bytes */
#define S3_REGION_MAX   32
#define S3_KEYID_MAX    128
#define S3_SECRET_MAX   128
#define S3_KEY_MAX      1024    /* S3's limit on an object key, in bytes */
#define S3_UPLOADID_MAX 256
#define S3_ETAG_MAX     80      /* an MD5 ETag is 34 bytes with its quotes */
#define S3_ERRMSG_MAX   512
#define S3_PATH_MAX     1024
/* S3's multipart limits: parts of 5 MiB at least (but the last), 10,000 parts */
#define S3_PART_MIN     (5u << 20)
#define S3_PARTS_MAX    10000

struct s3_config {
	char endpoint[S3_ENDPOINT_MAX];   /* http(s)://HOST[:PORT], no trailing '/' */
	char bucket[S3_BUCKET_MAX];
	char region[S3_REGION_MAX];       /* radosgw accepts any; default us-east-1 */
	char key_id[S3_KEYID_MAX];
	char secret[S3_SECRET_MAX];
	char cafile[S3_PATH_MAX];         /* CAs for an https endpoint; "": the system's */
	long connect_timeout_ms;          /* 0: 10 s */
	long stall_timeout_s;             /* no byte moving for that long: -ETIMEDOUT; 0: 30 s */
};

/* Fills c's key_id and secret from the environment: VIGIL_S3_ACCESS_KEY_ID
 * and VIGIL_S3_SECRET_ACCESS_KEY, else AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY.  0, or -ENOENT when neither pair is set whole. */
int s3_cred_env(struct s3_config *c);

/* Fills c's key_id and secret from a credentials file of "key = value"
 * lines (access_key_id, secret_access_key; '#' comments), which must be
 * a regular file no other user can read (mode 0600 or stricter).  0, or
 * -errno with one line saying why in err (the caller logs it). */
int s3_cred_file(struct s3_config *c, const char *path, char *err, size_t errlen);

/* Once per process, before any thread calls s3_new.  0 or -EIO. */
int s3_global_init(void);

struct s3;

/* A client for c (copied).  NULL with errno (EINVAL for a bad endpoint,
 * bucket or missing credentials, ENOMEM).  s3_free(NULL) is a no-op. */
struct s3 *s3_new(const struct s3_config *c);
void s3_free(struct s3 *s);

/* The last failure's line ("PUT bucket/key: HTTP 403 AccessDenied: ..."),
 * "" after a success. */
const char *s3_errmsg(const struct s3 *s);

/* Connections this client opened so far: 1 after any number of requests
 * to a server that keeps the connection alive. */
unsigned long s3_connects(const struct s3 *s);

/* PUT of n bytes at p. */
int s3_put(struct s3 *s, const char *key, const void *p, size_t n);
/* PUT of len bytes of fd from off, read twice with pread (once for the
 * sha256, once streamed into the request), never loaded whole.  A file
 * shorter than off + len: -ENODATA. */
int s3_put_fd(struct s3 *s, const char *key, int fd, uint64_t off, uint64_t len);

/* Like pread: up to cap bytes of the object from off into buf, *got the
 * bytes read (fewer at the object's end, 0 at or past it).  -ENOENT when
 * the object does not exist. */
int s3_get(struct s3 *s, const char *key, uint64_t off, void *buf, size_t cap, size_t *got);

/* The object's size, or -ENOENT. */
int s3_head(struct s3 *s, const char *key, uint64_t *size);

/* Deletes the object; a missing one is a success too. */
int s3_delete(struct s3 *s, const char *key);

/* Calls fn for every object whose key starts with prefix ("" for all), in
 * key order, page by page (S3 answers 1,000 keys at most per request).
 * fn's non-zero result stops the listing and is returned. */
typedef int (*s3_list_fn)(void *arg, const char *key, uint64_t size);
int s3_list(struct s3 *s, const char *prefix, s3_list_fn fn, void *arg);

/* Multipart upload, for objects too large for one PUT (or uploaded over a
 * long time): create, parts 1..n (each S3_PART_MIN at least but the last,
 * in any order, a part sent again replaces it), complete with every part's
 * ETag in order, or abort (an unknown upload is a success too). */
struct s3_part {
	int number;                  /* 1..S3_PARTS_MAX */
	char etag[S3_ETAG_MAX];      /* as the part's PUT answered it */
};
int s3_mpu_create(struct s3 *s, const char *key, char upload_id[S3_UPLOADID_MAX]);
int s3_mpu_part(struct s3 *s, const char *key, const char *upload_id, struct s3_part *part,
		const void *p, size_t n);
int s3_mpu_part_fd(struct s3 *s, const char *key, const char *upload_id, struct s3_part *part,
		   int fd, uint64_t off, uint64_t len);
int s3_mpu_complete(struct s3 *s, const char *key, const char *upload_id,
		    const struct s3_part *parts, size_t n);
int s3_mpu_abort(struct s3 *s, const char *key, const char *upload_id);

#endif
