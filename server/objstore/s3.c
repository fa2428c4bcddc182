/* s3.c — the S3 client's handle and its one request path: URL, SigV4
 * through libcurl with the body's sha256, the body streamed from memory or
 * an fd range, timeouts, and the mapping of a failure to -errno plus one
 * log line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "common/chash.h"
#include "common/fdio.h"
#include "common/hex.h"
#include "common/log.h"
#include "server/objstore/s3_int.h"

/* An fd range is hashed in blocks of this size before it is sent. */
#define S3_HASH_BLOCK (1u << 20)
/* curl's upload and download buffers: its 64 KiB defaults cost one
 * read callback and one send per 64 KiB */
#define S3_CURL_BUF (512 * 1024L)
/* the URL: endpoint, bucket, a key encoded (3 bytes per byte at most),
 * a query (an upload id or a listing token, encoded) */
#define S3_URL_MAX (S3_ENDPOINT_MAX + S3_BUCKET_MAX + 6 * S3_KEY_MAX + 3 * S3_UPLOADID_MAX + 64)

/* sha256 of nothing, for bodiless requests */
static const char EMPTY_SHA256[] =
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

int s3_global_init(void)
{
	xmlInitParser();
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

static bool endpoint_ok(const char *e)
{
	size_t n = strlen(e);

	return (!strncmp(e, "http://", 7) || !strncmp(e, "https://", 8)) && n > 8 &&
	       e[n - 1] != '/' && !strpbrk(e, "?#@ \t\r\n");
}

/* S3's bucket names: 3-63 of [a-z0-9.-], starting and ending alphanumeric */
static bool bucket_ok(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63 || b[0] == '-' || b[0] == '.' || b[n - 1] == '-' || b[n - 1] == '.')
		return false;
	return strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n;
}

struct s3 *s3_new(const struct s3_config *c)
{
	struct s3 *s;

	if (!endpoint_ok(c->endpoint) || !bucket_ok(c->bucket) || !c->key_id[0] ||
	    !c->secret[0] || strchr(c->key_id, ':') || strpbrk(c->region, ":\r\n")) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->c = *c;
	if (!s->c.region[0])
		snprintf(s->c.region, sizeof(s->c.region), "us-east-1");
	if (s->c.connect_timeout_ms <= 0)
		s->c.connect_timeout_ms = 10000;
	if (s->c.stall_timeout_s <= 0)
		s->c.stall_timeout_s = 30;
	snprintf(s->userpwd, sizeof(s->userpwd), "%s:%s", c->key_id, c->secret);
	snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", s->c.region);
	buf_init(&s->reply, S3_REPLY_MAX);
	s->curl = curl_easy_init();
	if (!s->curl) {
		s3_free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void s3_free(struct s3 *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	buf_free(&s->reply);
	free(s->block);
	explicit_bzero(s->userpwd, sizeof(s->userpwd));
	explicit_bzero(s->c.secret, sizeof(s->c.secret));
	free(s);
}

unsigned long s3_connects(const struct s3 *s)
{
	return s->connects;
}

const char *s3_errmsg(const struct s3 *s)
{
	return s->err;
}

int s3_encode(struct buf *b, const char *s, bool keep_slash)
{
	static const char hexd[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char e[3] = { '%', hexd[ch >> 4], hexd[ch & 15] };
		bool plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			     (ch >= '0' && ch <= '9') || strchr("-._~", ch) ||
			     (keep_slash && ch == '/');
		int rc = plain ? buf_append(b, s, 1) : buf_append(b, e, 3);

		if (rc)
			return rc;
	}
	return 0;
}

/* A key curl sends as it is: no empty, "." or ".." segment (curl squashes
 * dot segments; S3 keeps them), no leading '/', at most S3_KEY_MAX bytes. */
static bool key_ok(const char *k)
{
	size_t n = strlen(k);
	const char *seg = k;

	if (!n || n > S3_KEY_MAX)
		return false;
	for (const char *p = k;; p++) {
		if (*p == '/' || !*p) {
			size_t l = (size_t)(p - seg);

			if (!l || (l == 1 && seg[0] == '.') || (l == 2 && !strncmp(seg, "..", 2)))
				return false;
			if (!*p)
				return true;
			seg = p + 1;
		}
	}
}

/* The body's sha256 in hex (x-amz-content-sha256). */
static int body_sha256(struct s3 *s, const struct s3_req *r, char hexout[65])
{
	uint8_t sha[32], root[32];
	uint64_t size;
	struct chash *h;
	int rc = 0;

	if (!r->has_body || !r->len) {
		memcpy(hexout, EMPTY_SHA256, sizeof(EMPTY_SHA256));
		return 0;
	}
	h = chash_new(CHASH_SHA256);
	if (!h)
		return -ENOMEM;
	if (r->fd < 0) {
		rc = chash_feed(h, r->mem, r->len);
	} else {
		if (!s->block && !(s->block = malloc(S3_HASH_BLOCK))) {
			rc = -ENOMEM;
			goto out;
		}
		for (uint64_t done = 0; done < r->len && !rc;) {
			size_t n = r->len - done < S3_HASH_BLOCK ? (size_t)(r->len - done) : S3_HASH_BLOCK;

			rc = fd_pread_all(r->fd, s->block, n, r->off + done);
			if (!rc)
				rc = chash_feed(h, s->block, n);
			done += n;
		}
	}
	if (!rc)
		rc = chash_finish(h, sha, root, &size);
	if (!rc)
		hex_encode(sha, sizeof(sha), hexout);
out:
	chash_free(h);
	return rc;
}

static size_t on_read(char *p, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *r = arg;
	uint64_t left = r->len - r->pos;
	size_t n = size * nmemb < left ? size * nmemb : (size_t)left;

	if (!n)
		return 0;
	if (r->fd >= 0) {
		int rc = fd_pread_all(r->fd, p, n, r->off + r->pos);

		if (rc) {
			r->io_err = rc;
			return CURL_READFUNC_ABORT;
		}
	} else {
		memcpy(p, (const uint8_t *)r->mem + r->pos, n);
	}
	r->pos += n;
	return n;
}

/* curl rewinds the body when it must send it again (a reused connection
 * the server had closed) */
static int on_seek(void *arg, curl_off_t off, int origin)
{
	struct s3_req *r = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > r->len)
		return CURL_SEEKFUNC_FAIL;
	r->pos = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

struct sink {
	struct s3 *s;
	struct s3_req *r;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *k = arg;
	struct s3_req *r = k->r;
	size_t n = size * nmemb;
	long st = 0;

	curl_easy_getinfo(k->s->curl, CURLINFO_RESPONSE_CODE, &st);
	if (r->out && st >= 200 && st < 300) {
		if (n > r->cap - r->got) {
			r->io_err = -EMSGSIZE;
			return 0;
		}
		memcpy((uint8_t *)r->out + r->got, p, n);
		r->got += n;
		return n;
	}
	if (buf_append(&k->s->reply, p, n)) {
		r->io_err = -EMSGSIZE;
		return 0;
	}
	return n;
}

/* Keeps the ETag header (of a part upload, for the complete). */
static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *r = arg;
	size_t n = size * nmemb, l;

	if (n > 5 && !strncasecmp(p, "ETag:", 5)) {
		const char *v = p + 5;
		const char *end = p + n;

		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		l = (size_t)(end - v);
		r->etag[0] = '\0';
		/* it goes back inside the complete's XML: printable, nothing to escape */
		if (l < sizeof(r->etag) && !memchr(v, '<', l) && !memchr(v, '&', l) &&
		    !memchr(v, '>', l)) {
			memcpy(r->etag, v, l);
			r->etag[l] = '\0';
			for (size_t i = 0; i < l; i++)
				if ((unsigned char)r->etag[i] < 0x20 || r->etag[i] == 0x7f)
					r->etag[0] = '\0';
		}
	}
	return n;
}

static int errno_of_curl(CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY: return -EHOSTUNREACH;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE: return -ECONNRESET;
	case CURLE_OUT_OF_MEMORY: return -ENOMEM;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_PEER_FAILED_VERIFICATION: return -EPROTO;
	default: return -EIO;
	}
}

/* S3's error codes that say more than the status does */
static const struct { const char *code; int err; } s3_codes[] = {
	{ "NoSuchKey", -ENOENT },
	{ "NoSuchBucket", -ENOENT },
	{ "NoSuchUpload", -ENOENT },
	{ "InvalidAccessKeyId", -EACCES },
	{ "SignatureDoesNotMatch", -EACCES },
	{ "AccessDenied", -EACCES },
	{ "RequestTimeTooSkewed", -EACCES },
	{ "QuotaExceeded", -EDQUOT },
	{ "XAmzContentSHA256Mismatch", -EBADMSG },
	{ "BadDigest", -EBADMSG },
	{ "InvalidPart", -EINVAL },
	{ "InvalidPartOrder", -EINVAL },
	{ "EntityTooSmall", -EINVAL },
	{ "EntityTooLarge", -EFBIG },
	{ "SlowDown", -EAGAIN },
	{ "ServiceUnavailable", -EAGAIN },
	{ "InternalError", -EAGAIN },
};

static int errno_of_status(long st, const char *code)
{
	for (size_t i = 0; i < sizeof(s3_codes) / sizeof(s3_codes[0]); i++)
		if (!strcmp(code, s3_codes[i].code))
			return s3_codes[i].err;
	switch (st) {
	case 400: return -EINVAL;
	case 401:
	case 403: return -EACCES;
	case 404: return -ENOENT;
	case 409:
	case 412: return -EEXIST;
	case 416: return -ERANGE;
	case 500:
	case 502:
	case 503:
	case 504: return -EAGAIN;
	case 507: return -ENOSPC;
	default: return -EIO;
	}
}

/* One line, printable, for the log: control bytes become spaces */
static void one_line(char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

static int vfail(struct s3 *s, const struct s3_req *r, int rc, bool log, const char *fmt,
		 va_list ap)
{
	char what[S3_ERRMSG_MAX];
	int n;

	vsnprintf(what, sizeof(what), fmt, ap);
	one_line(what);
	n = snprintf(s->err, sizeof(s->err), "%s %s/%.*s: %s", r->op, s->c.bucket, 200,
		     r->key ? r->key : "", what);
	if (n < 0)
		s->err[0] = '\0';
	if (log)
		log_warnx("s3: %s", s->err);
	return rc;
}

int s3_fail(struct s3 *s, const struct s3_req *r, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(s, r, rc, true, fmt, ap);
	va_end(ap);
	return rc;
}

static int fail_quiet(struct s3 *s, const struct s3_req *r, int rc, bool log, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fail_quiet(struct s3 *s, const struct s3_req *r, int rc, bool log, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(s, r, rc, log, fmt, ap);
	va_end(ap);
	return rc;
}

static int build_url(struct s3 *s, const struct s3_req *r, struct buf *u)
{
	int rc = buf_printf(u, "%s/%s", s->c.endpoint, s->c.bucket);

	if (!rc && r->key && !(rc = buf_append(u, "/", 1)))
		rc = s3_encode(u, r->key, true);
	if (!rc && r->query)
		rc = buf_printf(u, "?%s", r->query);
	return rc || !buf_cstr(u) ? -ENAMETOOLONG : 0;
}

static int set_options(struct s3 *s, struct s3_req *r, struct sink *k, const char *url,
		       struct curl_slist *h)
{
	CURL *c = s->curl;
	CURLcode e = CURLE_OK;

#define SET(opt, val) do { if (e == CURLE_OK) e = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, s->c.connect_timeout_ms);
	/* a stalled transfer (or a server that never answers): under 1 B/s
	 * for stall_timeout_s ends it; no total timeout, a big part may take long */
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, s->c.stall_timeout_s);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	/* https: the peer and its name are always verified (curl's default) */
	if (s->c.cafile[0])
		SET(CURLOPT_CAINFO, s->c.cafile);
	SET(CURLOPT_AWS_SIGV4, s->sigv4);
	SET(CURLOPT_USERPWD, s->userpwd);
	SET(CURLOPT_HTTPHEADER, h);
	SET(CURLOPT_BUFFERSIZE, S3_CURL_BUF);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, k);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, r);
	if (r->has_body) {
		SET(CURLOPT_UPLOAD, 1L);
		SET(CURLOPT_UPLOAD_BUFFERSIZE, S3_CURL_BUF);
		SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->len);
		SET(CURLOPT_READFUNCTION, on_read);
		SET(CURLOPT_READDATA, r);
		SET(CURLOPT_SEEKFUNCTION, on_seek);
		SET(CURLOPT_SEEKDATA, r);
		if (strcmp(r->method, "PUT"))
			SET(CURLOPT_CUSTOMREQUEST, r->method);
	} else if (!strcmp(r->method, "HEAD")) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "GET")) {
		SET(CURLOPT_CUSTOMREQUEST, r->method);
	}
#undef SET
	return e == CURLE_OK ? 0 : -EINVAL;
}

int s3_perform(struct s3 *s, struct s3_req *r, unsigned quiet)
{
	char sha[65], hdr[128], code[64] = "", msg[256] = "";
	struct curl_slist *h = NULL, *t;
	struct sink k = { s, r };
	struct buf url;
	long conns = 0;
	CURLcode e;
	int rc;

	s->err[0] = '\0';
	buf_reset(&s->reply);
	r->pos = 0;
	r->got = 0;
	r->status = 0;
	r->io_err = 0;
	r->etag[0] = '\0';
	buf_init(&url, S3_URL_MAX);
	if (r->key && !key_ok(r->key)) {
		rc = s3_fail(s, r, -EINVAL, "not a key this client sends (empty, '.' or '..' segment, "
			     "leading '/', over %d bytes)", S3_KEY_MAX);
		goto out;
	}
	rc = build_url(s, r, &url);
	if (rc) {
		s3_fail(s, r, rc, "URL too long");
		goto out;
	}
	rc = body_sha256(s, r, sha);
	if (rc) {
		s3_fail(s, r, rc, "hashing the body: %s", strerror(-rc));
		goto out;
	}
	snprintf(hdr, sizeof(hdr), "x-amz-content-sha256: %s", sha);
	if (!(t = curl_slist_append(h, hdr))) {
		rc = -ENOMEM;
		goto out;
	}
	h = t;
	if (r->range) {
		snprintf(hdr, sizeof(hdr), "Range: %s", r->range);
		if (!(t = curl_slist_append(h, hdr))) {
			rc = -ENOMEM;
			goto out;
		}
		h = t;
	}
	curl_easy_reset(s->curl);   /* keeps the open connection */
	rc = set_options(s, r, &k, buf_cstr(&url), h);
	if (rc) {
		s3_fail(s, r, rc, "libcurl refused an option (built without AWS SigV4?)");
		goto out;
	}
	e = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &conns) == CURLE_OK && conns > 0)
		s->connects += (unsigned long)conns;
	if (e != CURLE_OK) {
		if (r->io_err)
			rc = s3_fail(s, r, r->io_err, "%s", r->io_err == -EMSGSIZE ?
				     "reply larger than the buffer" : strerror(-r->io_err));
		else if (e == CURLE_OPERATION_TIMEDOUT)
			rc = s3_fail(s, r, -ETIMEDOUT, "%s (nothing moved for %ld s, or no connection "
				     "in %ld ms)", curl_easy_strerror(e), s->c.stall_timeout_s,
				     s->c.connect_timeout_ms);
		else
			rc = s3_fail(s, r, errno_of_curl(e), "%s", curl_easy_strerror(e));
		goto out;
	}
	if (r->status >= 200 && r->status < 300) {
		rc = 0;
		goto out;
	}
	/* HEAD replies carry no body: the status alone says it */
	if (s->reply.len)
		s3_xml_error(s->reply.data, s->reply.len, code, sizeof(code), msg, sizeof(msg));
	rc = errno_of_status(r->status, code);
	fail_quiet(s, r, rc, !((r->status == 404 && (quiet & S3_QUIET_404)) ||
			      (r->status == 416 && (quiet & S3_QUIET_416))), "HTTP %ld%s%s%s%s", r->status,
		   code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
out:
	curl_slist_free_all(h);
	buf_free(&url);
	return rc;
}
