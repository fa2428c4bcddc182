/* test_s3.c — the S3 client (server/objstore/) against a real radosgw:
 * byte-exact round trips (0 B, 1 B, 5 MiB + 1, from memory and from an fd
 * range), ranged gets at the edges, a 20 MiB multipart upload (a part sent
 * twice, parts from an fd), abort, wrong credentials, missing objects,
 * idempotent deletes, a listing of 1,100 keys (two pages), keys that need
 * encoding, HTTPS with its certificate checked, radosgw restarted between
 * two requests of one client; and, without radosgw, a server that accepts and never answers
 * (a timeout, not a hang), a refused connection and the credentials file's
 * refusals.
 *
 * The radosgw tests need the environment tests/scale/ceph.sh writes
 * (VIGIL_S3_ENDPOINT, VIGIL_S3_BUCKET, AWS_ACCESS_KEY_ID...): without it
 * they are skipped, saying so.  tests/scale/t_s3.sh runs this. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/fdio.h"
#include "common/log.h"
#include "server/objstore/s3.h"
#include "tests/unit/fill.h"
#include "server/objstore/s3_int.h"

#define MiB (1u << 20)

static struct s3_config cfg;
static bool have_rgw;
static char run[64];   /* this run's key prefix: runs never see each other's keys */

static const char *key(const char *name)
{
	static char k[2][256];
	static int i;

	i ^= 1;
	snprintf(k[i], sizeof(k[i]), "%s/%s", run, name);
	return k[i];
}

static struct s3 *client(void)
{
	struct s3 *s;

	if (!have_rgw)
		skip();
	s = s3_new(&cfg);
	assert_non_null(s);
	return s;
}

/* a temp file holding n bytes of seed after pad bytes of something else */
static int temp_file(size_t pad, const uint8_t *p, size_t n)
{
	char path[] = "/tmp/vigil-test-s3-XXXXXX";
	int fd = mkstemp(path);
	uint8_t junk[64];

	assert_true(fd >= 0);
	unlink(path);
	memset(junk, 0xA5, sizeof(junk));
	for (size_t done = 0; done < pad; done += sizeof(junk))
		assert_int_equal(fd_write_all(fd, junk, pad - done < sizeof(junk) ? pad - done
										   : sizeof(junk)), 0);
	assert_int_equal(fd_write_all(fd, p, n), 0);
	return fd;
}

/* the object holds exactly p[0..n) */
static void expect_object(struct s3 *s, const char *k, const uint8_t *p, size_t n)
{
	uint8_t *back = malloc(n + 100);
	uint64_t size = 0;
	size_t got = 0;

	assert_non_null(back);
	assert_int_equal(s3_head(s, k, &size), 0);
	assert_int_equal(size, n);
	assert_int_equal(s3_get(s, k, 0, back, n + 100, &got), 0);
	assert_int_equal(got, n);
	if (n && memcmp(back, p, n))
		fail_msg("%s: the bytes read back differ", k);
	free(back);
}

static void test_roundtrip(void **state)
{
	static const size_t sizes[] = { 0, 1, 5 * MiB + 1 };
	struct s3 *s = client();
	uint8_t *p = malloc(5 * MiB + 1);

	assert_non_null(p);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		char name[64];
		int fd;

		fill(p, n, i + 1);
		snprintf(name, sizeof(name), "mem-%zu", n);
		assert_int_equal(s3_put(s, key(name), p, n), 0);
		expect_object(s, key(name), p, n);
		/* the same bytes from the middle of a file */
		fd = temp_file(4097, p, n);
		snprintf(name, sizeof(name), "fd-%zu", n);
		assert_int_equal(s3_put_fd(s, key(name), fd, 4097, n), 0);
		expect_object(s, key(name), p, n);
		/* a range past the file's end is refused before anything is sent */
		assert_int_equal(s3_put_fd(s, key("short"), fd, 4097, n + 1), -ENODATA);
		close(fd);
	}
	/* an overwrite replaces the whole object */
	fill(p, 10, 99);
	assert_int_equal(s3_put(s, key("mem-1"), p, 10), 0);
	expect_object(s, key("mem-1"), p, 10);
	assert_int_equal(s3_head(s, key("short"), &(uint64_t){ 0 }), -ENOENT);
	/* every request of this client went over one kept-alive connection */
	assert_int_equal(s3_connects(s), 1);
	free(p);
	s3_free(s);
}

static void test_range(void **state)
{
	static const struct { uint64_t off; size_t cap, want; } cases[] = {
		{ 0, 1, 1 }, { 0, 1000, 1000 }, { 0, 5000, 1000 }, { 1, 998, 998 },
		{ 999, 1, 1 }, { 999, 10, 1 }, { 998, 2, 2 }, { 500, 500, 500 },
		{ 1000, 1, 0 }, { 1000, 100, 0 }, { 5000, 1, 0 }, { 0, 0, 0 }, { 10, 0, 0 },
	};
	struct s3 *s = client();
	uint8_t p[1000], back[5000];
	size_t got;

	fill(p, sizeof(p), 7);
	assert_int_equal(s3_put(s, key("r"), p, sizeof(p)), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = s3_get(s, key("r"), cases[i].off, back, cases[i].cap, &got);

		if (rc || got != cases[i].want ||
		    (got && memcmp(back, p + cases[i].off, got)))
			fail_msg("range %llu+%zu: rc %d, %zu bytes (want %zu)",
				 (unsigned long long)cases[i].off, cases[i].cap, rc, got, cases[i].want);
	}
	/* an empty object: nothing at offset 0 */
	assert_int_equal(s3_put(s, key("empty"), "", 0), 0);
	assert_int_equal(s3_get(s, key("empty"), 0, back, 10, &got), 0);
	assert_int_equal(got, 0);
	s3_free(s);
}

static void test_multipart(void **state)
{
	const size_t n = 20 * MiB, part = 8 * MiB;
	struct s3_part parts[3];
	char id[S3_UPLOADID_MAX];
	struct s3 *s = client();
	uint8_t *p = malloc(n), *back = malloc(2 * MiB);
	size_t got;
	int fd;

	assert_non_null(p);
	assert_non_null(back);
	fill(p, n, 20);
	fd = temp_file(100, p, n);
	assert_int_equal(s3_mpu_create(s, key("big"), id), 0);
	for (int i = 0; i < 3; i++) {
		size_t off = (size_t)i * part, len = n - off < part ? n - off : part;

		parts[i].number = i + 1;
		/* part 2 first from memory with the wrong bytes, then again, right */
		if (i == 1) {
			assert_int_equal(s3_mpu_part(s, key("big"), id, &parts[i], p, len), 0);
		}
		assert_int_equal(s3_mpu_part_fd(s, key("big"), id, &parts[i], fd, 100 + off, len), 0);
	}
	assert_int_equal(s3_mpu_complete(s, key("big"), id, parts, 3), 0);
	expect_object(s, key("big"), p, n);
	/* across the first part boundary, and the last byte */
	assert_int_equal(s3_get(s, key("big"), part - MiB, back, 2 * MiB, &got), 0);
	assert_int_equal(got, 2 * MiB);
	assert_memory_equal(back, p + part - MiB, 2 * MiB);
	assert_int_equal(s3_get(s, key("big"), n - 1, back, 2 * MiB, &got), 0);
	assert_int_equal(got, 1);
	assert_int_equal(back[0], p[n - 1]);
	close(fd);

	/* abort: the upload is gone, aborting again is no error, nothing was made */
	assert_int_equal(s3_mpu_create(s, key("aborted"), id), 0);
	parts[0].number = 1;
	assert_int_equal(s3_mpu_part(s, key("aborted"), id, &parts[0], p, S3_PART_MIN), 0);
	assert_int_equal(s3_mpu_abort(s, key("aborted"), id), 0);
	assert_int_equal(s3_mpu_abort(s, key("aborted"), id), 0);
	assert_int_equal(s3_mpu_part(s, key("aborted"), id, &parts[0], p, 1), -ENOENT);
	assert_non_null(strstr(s3_errmsg(s), "NoSuchUpload"));
	assert_int_equal(s3_head(s, key("aborted"), &(uint64_t){ 0 }), -ENOENT);
	/* a part under 5 MiB but the last: S3 refuses the complete */
	assert_int_equal(s3_mpu_create(s, key("small"), id), 0);
	for (int i = 0; i < 2; i++) {
		parts[i].number = i + 1;
		assert_int_equal(s3_mpu_part(s, key("small"), id, &parts[i], p, MiB), 0);
	}
	assert_int_equal(s3_mpu_complete(s, key("small"), id, parts, 2), -EINVAL);
	assert_non_null(strstr(s3_errmsg(s), "EntityTooSmall"));
	assert_int_equal(s3_mpu_abort(s, key("small"), id), 0);
	free(back);
	free(p);
	s3_free(s);
}

static void test_auth(void **state)
{
	static const struct { const char *id, *secret, *code; } cases[] = {
		{ NULL, "wrong-secret", "SignatureDoesNotMatch" },
		{ "NOSUCHKEYID0000000", NULL, "InvalidAccessKeyId" },
	};
	struct s3_config bad;
	struct s3 *s;

	if (!have_rgw)
		skip();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad = cfg;
		if (cases[i].id)
			snprintf(bad.key_id, sizeof(bad.key_id), "%s", cases[i].id);
		if (cases[i].secret)
			snprintf(bad.secret, sizeof(bad.secret), "%s", cases[i].secret);
		s = s3_new(&bad);
		assert_non_null(s);
		assert_int_equal(s3_put(s, key("auth"), "x", 1), -EACCES);
		if (!strstr(s3_errmsg(s), cases[i].code) || !strstr(s3_errmsg(s), "HTTP 403") ||
		    !strstr(s3_errmsg(s), key("auth")))
			fail_msg("want %s, HTTP 403 and the key in \"%s\"", cases[i].code, s3_errmsg(s));
		assert_int_equal(s3_head(s, key("auth"), &(uint64_t){ 0 }), -EACCES);
		s3_free(s);
	}
	s = client();
	assert_int_equal(s3_head(s, key("auth"), &(uint64_t){ 0 }), -ENOENT);
	s3_free(s);
}

static void test_missing(void **state)
{
	struct s3 *s = client();
	uint64_t size = 77;
	uint8_t b[10];
	size_t got = 5;

	assert_int_equal(s3_head(s, key("none"), &size), -ENOENT);
	assert_int_equal(size, 77);
	assert_int_equal(s3_get(s, key("none"), 0, b, sizeof(b), &got), -ENOENT);
	assert_int_equal(got, 0);
	assert_int_equal(s3_get(s, key("none"), 0, b, 0, &got), -ENOENT);
	assert_int_equal(s3_delete(s, key("none")), 0);
	assert_int_equal(s3_put(s, key("del"), "abc", 3), 0);
	assert_int_equal(s3_delete(s, key("del")), 0);
	assert_int_equal(s3_head(s, key("del"), &size), -ENOENT);
	assert_int_equal(s3_delete(s, key("del")), 0);
	assert_string_equal(s3_errmsg(s), "");
	/* keys this client refuses to send */
	assert_int_equal(s3_put(s, "", "x", 1), -EINVAL);
	assert_int_equal(s3_put(s, "a/../b", "x", 1), -EINVAL);
	assert_int_equal(s3_put(s, "a//b", "x", 1), -EINVAL);
	assert_int_equal(s3_put(s, "/a", "x", 1), -EINVAL);
	s3_free(s);
}

struct seen {
	int n;
	char last[S3_KEY_MAX + 1];
	uint64_t bytes;
	int stop_at;
};

static int on_key(void *arg, const char *k, uint64_t size)
{
	struct seen *z = arg;

	if (z->n && strcmp(z->last, k) >= 0)
		fail_msg("%s listed after %s", k, z->last);
	snprintf(z->last, sizeof(z->last), "%s", k);
	z->bytes += size;
	return ++z->n == z->stop_at ? 7 : 0;
}

static void test_list(void **state)
{
	const int n = 1100;
	struct s3 *s = client();
	struct seen z = { 0 };
	uint64_t bytes = 0;
	char name[128];

	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "list/%05d", i);
		assert_int_equal(s3_put(s, key(name), name, (size_t)(i % 7)), 0);
	}
	assert_int_equal(s3_put(s, key("listnot"), "x", 1), 0);
	assert_int_equal(s3_list(s, key("list/"), on_key, &z), 0);
	assert_int_equal(z.n, n);
	for (int i = 0; i < n; i++)
		bytes += (uint64_t)(i % 7);
	assert_int_equal(z.bytes, bytes);
	snprintf(name, sizeof(name), "%s/list/%05d", run, n - 1);
	assert_string_equal(z.last, name);
	/* the callback stops it, on the second page */
	memset(&z, 0, sizeof(z));
	z.stop_at = 1050;
	assert_int_equal(s3_list(s, key("list/"), on_key, &z), 7);
	assert_int_equal(z.n, 1050);
	/* nothing under a prefix nothing has */
	memset(&z, 0, sizeof(z));
	assert_int_equal(s3_list(s, key("nothing/"), on_key, &z), 0);
	assert_int_equal(z.n, 0);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "list/%05d", i);
		assert_int_equal(s3_delete(s, key(name)), 0);
	}
	memset(&z, 0, sizeof(z));
	assert_int_equal(s3_list(s, key("list/"), on_key, &z), 0);
	assert_int_equal(z.n, 0);
	s3_free(s);
}

/* keys with bytes SigV4 percent-encodes come back as they were */
static void test_odd_keys(void **state)
{
	static const char *const names[] = { "sp ace", "plus+eq=amp&", "pct%41", "utf8-\xc3\xa9",
					     "tilde~star*", "q?h#" };
	struct s3 *s = client();
	struct seen z = { 0 };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "odd/%s", names[i]);
		if (s3_put(s, key(name), names[i], strlen(names[i])))
			fail_msg("put %s: %s", name, s3_errmsg(s));
		expect_object(s, key(name), (const uint8_t *)names[i], strlen(names[i]));
	}
	assert_int_equal(s3_list(s, key("odd/"), on_key, &z), 0);
	assert_int_equal(z.n, sizeof(names) / sizeof(names[0]));
	s3_free(s);
}

/* radosgw over HTTPS: the certificate checked against the CA file given,
 * refused without it (the system's CAs) and for a name it does not hold. */
static void test_tls(void **state)
{
	const char *ep = getenv("VIGIL_S3_TLS_ENDPOINT"), *ca = getenv("VIGIL_S3_CA");
	struct s3_config c = cfg;
	const char *port;
	uint8_t *p = malloc(MiB + 3);
	struct s3 *s;

	if (!have_rgw || !ep || !ca || !(port = strrchr(ep, ':')))
		skip();
	assert_non_null(p);
	fill(p, MiB + 3, 443);
	snprintf(c.endpoint, sizeof(c.endpoint), "%s", ep);
	snprintf(c.cafile, sizeof(c.cafile), "%s", ca);
	s = s3_new(&c);
	assert_non_null(s);
	assert_int_equal(s3_put(s, key("tls"), p, MiB + 3), 0);
	expect_object(s, key("tls"), p, MiB + 3);
	assert_int_equal(s3_delete(s, key("tls")), 0);
	assert_int_equal(s3_connects(s), 1);
	s3_free(s);

	c.cafile[0] = '\0';
	s = s3_new(&c);
	assert_non_null(s);
	assert_int_equal(s3_put(s, key("tls"), p, 1), -EPROTO);
	s3_free(s);
	snprintf(c.cafile, sizeof(c.cafile), "%s", ca);
	snprintf(c.endpoint, sizeof(c.endpoint), "https://localhost%s", port);
	s = s3_new(&c);
	assert_non_null(s);
	assert_int_equal(s3_put(s, key("tls"), p, 1), -EPROTO);
	s3_free(s);
	snprintf(c.endpoint, sizeof(c.endpoint), "%s", ep);
	snprintf(c.cafile, sizeof(c.cafile), "/nonexistent-vigil/ca.pem");
	s = s3_new(&c);
	assert_non_null(s);
	assert_int_equal(s3_put(s, key("tls"), p, 1), -EPROTO);
	s3_free(s);
	free(p);
}

/* radosgw restarted between two requests: the connection the client kept
 * is gone; the next request (a body over 1 MiB, sent with Expect:
 * 100-continue) opens a new one and succeeds. */
static void test_restart(void **state)
{
	const char *cmd = getenv("VIGIL_S3_RESTART_RGW");
	uint8_t *p = malloc(2 * MiB);
	struct s3 *s;

	if (!have_rgw || !cmd)
		skip();
	s = client();
	assert_non_null(p);
	fill(p, 2 * MiB, 5);
	assert_int_equal(s3_put(s, key("restart"), p, MiB), 0);
	assert_int_equal(s3_connects(s), 1);
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
	assert_int_equal(s3_put(s, key("restart"), p, 2 * MiB), 0);
	expect_object(s, key("restart"), p, 2 * MiB);
	assert_int_equal(s3_connects(s), 2);
	s3_free(s);
	free(p);
}

/* A listening socket nobody accepts on: the kernel completes the
 * handshake, the request is sent, no byte ever comes back. */
static void test_stalled_server(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct s3_config c = cfg;
	uint8_t b[16];
	size_t got;
	uint64_t t0;
	struct s3 *s;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 16), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
	snprintf(c.endpoint, sizeof(c.endpoint), "http://127.0.0.1:%u", ntohs(a.sin_port));
	snprintf(c.bucket, sizeof(c.bucket), "stalled");
	snprintf(c.key_id, sizeof(c.key_id), "id");
	snprintf(c.secret, sizeof(c.secret), "secret");
	c.stall_timeout_s = 2;
	s = s3_new(&c);
	assert_non_null(s);
	t0 = mono_ms();
	assert_int_equal(s3_put(s, "k", "abc", 3), -ETIMEDOUT);
	assert_int_equal(s3_get(s, "k", 0, b, sizeof(b), &got), -ETIMEDOUT);
	assert_non_null(strstr(s3_errmsg(s), "GET stalled/k"));
	fprintf(stderr, "stalled server: two requests ended in %llu ms (stall timeout 2 s)\n",
		(unsigned long long)(mono_ms() - t0));
	s3_free(s);
	/* nobody listening: refused at once */
	close(l);
	s = s3_new(&c);
	assert_non_null(s);
	assert_int_equal(s3_put(s, "k", "abc", 3), -ECONNREFUSED);
	s3_free(s);
}

static void test_config(void **state)
{
	struct s3_config c = cfg;

	snprintf(c.key_id, sizeof(c.key_id), "id");
	snprintf(c.secret, sizeof(c.secret), "secret");
	snprintf(c.endpoint, sizeof(c.endpoint), "http://127.0.0.1:1");
	snprintf(c.bucket, sizeof(c.bucket), "ok-bucket");
	{
		struct s3 *s = s3_new(&c);

		assert_non_null(s);
		s3_free(s);
	}
	static const char *const bad_endpoints[] = { "127.0.0.1:80", "http://h/", "ftp://h",
						     "http://u@h", "http://" };
	for (size_t i = 0; i < sizeof(bad_endpoints) / sizeof(bad_endpoints[0]); i++) {
		struct s3_config b = c;

		snprintf(b.endpoint, sizeof(b.endpoint), "%s", bad_endpoints[i]);
		errno = 0;
		assert_null(s3_new(&b));
		assert_int_equal(errno, EINVAL);
	}
	static const char *const bad_buckets[] = { "", "ab", "Upper", "-a-", "a_b", "x/y" };
	for (size_t i = 0; i < sizeof(bad_buckets) / sizeof(bad_buckets[0]); i++) {
		struct s3_config b = c;

		snprintf(b.bucket, sizeof(b.bucket), "%s", bad_buckets[i]);
		assert_null(s3_new(&b));
	}
	c.secret[0] = '\0';
	assert_null(s3_new(&c));
	s3_free(NULL);
}

static int count_key(void *arg, const char *k, uint64_t size)
{
	struct seen *z = arg;

	snprintf(z->last, sizeof(z->last), "%s", k);
	z->bytes += size;
	z->n++;
	return 0;
}

#define NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define LIST(body) "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult " NS ">" body \
	"</ListBucketResult>"

/* The reply parsers on good and hostile replies: a refusal, never a crash,
 * never a file read or an entity expanded. */
static void test_xml(void **state)
{
	static const struct { const char *what, *xml; int want, keys; uint64_t bytes;
			      bool truncated; const char *next, *last; } lists[] = {
		{ "two keys, more to come", LIST("<IsTruncated>true</IsTruncated><Contents><Key>a/1</Key>"
		  "<Size>5</Size></Contents><Contents><Key>a/2</Key><Size>18446744073709551615</Size>"
		  "</Contents><NextContinuationToken>tok+/=</NextContinuationToken>"),
		  0, 2, 4, true, "tok+/=", "a/2" },
		{ "empty listing", LIST("<IsTruncated>false</IsTruncated>"), 0, 0, 0, false, "", "" },
		{ "escaped key", LIST("<Contents><Key>a&amp;b&lt;c</Key><Size>1</Size></Contents>"),
		  0, 1, 1, false, "", "a&b<c" },
		{ "not XML", "HTTP/1.1 200 OK", -EBADMSG, 0, 0, false, "", "" },
		{ "empty", "", -EBADMSG, 0, 0, false, "", "" },
		{ "truncated", "<ListBucketResult><Contents><Key>a</Key>", -EBADMSG, 0, 0, false, "", "" },
		{ "another root", "<Error><Code>NoSuchBucket</Code></Error>", -EBADMSG, 0, 0, false, "", "" },
		{ "no size", LIST("<Contents><Key>a</Key></Contents>"), -EBADMSG, 0, 0, false, "", "" },
		{ "no key", LIST("<Contents><Size>1</Size></Contents>"), -EBADMSG, 0, 0, false, "", "" },
		{ "empty key", LIST("<Contents><Key></Key><Size>1</Size></Contents>"), -EBADMSG, 0, 0,
		  false, "", "" },
		{ "negative size", LIST("<Contents><Key>a</Key><Size>-1</Size></Contents>"), -EBADMSG, 0,
		  0, false, "", "" },
		{ "size overflows", LIST("<Contents><Key>a</Key><Size>18446744073709551616</Size>"
		  "</Contents>"), -EBADMSG, 0, 0, false, "", "" },
		{ "size not a number", LIST("<Contents><Key>a</Key><Size>1e3</Size></Contents>"),
		  -EBADMSG, 0, 0, false, "", "" },
		{ "entities not expanded", "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaa\">"
		  "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
		  "<ListBucketResult><Contents><Key>&c;</Key><Size>1</Size></Contents></ListBucketResult>",
		  -EBADMSG, 0, 0, false, "", "" },
		{ "no external entity", "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY x SYSTEM "
		  "\"file:///etc/hostname\">]><ListBucketResult><Contents><Key>k&x;</Key><Size>1</Size>"
		  "</Contents></ListBucketResult>", 0, 1, 1, false, "", "k" },
	};
	char next[64], code[32], msg[64], id[S3_UPLOADID_MAX];
	static char big[S3_KEY_MAX + 200];
	bool truncated;

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		struct seen z = { 0 };
		int stop = 0;
		int rc = s3_xml_list(lists[i].xml, strlen(lists[i].xml), count_key, &z, &stop,
				     &truncated, next, sizeof(next));

		if (rc != lists[i].want)
			fail_msg("%s: %d (want %d)", lists[i].what, rc, lists[i].want);
		if (!rc && (stop || z.n != lists[i].keys || z.bytes != lists[i].bytes ||
			    truncated != lists[i].truncated || strcmp(next, lists[i].next) ||
			    strcmp(z.last, lists[i].last)))
			fail_msg("%s: %d keys, %llu bytes, truncated %d, next \"%s\", last \"%s\"",
				 lists[i].what, z.n, (unsigned long long)z.bytes, truncated, next, z.last);
	}
	/* a key over S3's 1,024 bytes, a token over its buffer */
	memset(big, 'k', sizeof(big));
	snprintf(big, sizeof(big), "<ListBucketResult><Contents><Key>");
	static const char tail[] = "</Key><Size>1</Size></Contents></ListBucketResult>";
	memcpy(big + sizeof(big) - sizeof(tail), tail, sizeof(tail));
	assert_int_equal(s3_xml_list(big, strlen(big), count_key, &(struct seen){ 0 }, &(int){ 0 },
				     &truncated, next, sizeof(next)), -EBADMSG);
	static const char longtok[] = LIST("<NextContinuationToken>0123456789012345678901234567890"
					   "1234567890123456789012345678901234567890</NextContinuationToken>");
	assert_int_equal(s3_xml_list(longtok, strlen(longtok), count_key, &(struct seen){ 0 },
				     &(int){ 0 }, &truncated, next, sizeof(next)), -EBADMSG);

	static const char err[] = "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>a\nb"
				  "</Message><RequestId>r</RequestId></Error>";
	assert_int_equal(s3_xml_error(err, strlen(err), code, sizeof(code), msg, sizeof(msg)), 0);
	assert_string_equal(code, "SlowDown");
	assert_string_equal(msg, "a\nb");
	assert_int_equal(s3_xml_error(longtok, strlen(longtok), code, sizeof(code), msg, sizeof(msg)),
			 -EBADMSG);
	assert_int_equal(s3_xml_error("<Error><Code>0123456789012345678901234567890123456789</Code>"
				      "</Error>", 67, code, sizeof(code), msg, sizeof(msg)), -EBADMSG);

	static const char init[] = "<InitiateMultipartUploadResult " NS "><Bucket>b</Bucket><Key>k"
				   "</Key><UploadId>2~abc</UploadId></InitiateMultipartUploadResult>";
	assert_int_equal(s3_xml_field(init, strlen(init), "InitiateMultipartUploadResult", "UploadId",
				      id, sizeof(id)), 0);
	assert_string_equal(id, "2~abc");
	assert_int_equal(s3_xml_field(err, strlen(err), "InitiateMultipartUploadResult", "UploadId",
				      id, sizeof(id)), -EBADMSG);
	assert_int_equal(s3_xml_field(init, strlen(init), "InitiateMultipartUploadResult", "Nope",
				      id, sizeof(id)), -EBADMSG);
}

static void test_cred_file(void **state)
{
	static const struct { const char *text; mode_t mode; int want; const char *why; } cases[] = {
		{ "access_key_id = AK\nsecret_access_key = SK\n", 0600, 0, NULL },
		{ "# c\naccess_key_id=AK\nsecret_access_key=SK", 0400, 0, NULL },
		{ "access_key_id = AK\nsecret_access_key = SK\n", 0644, -EPERM, "chmod 600" },
		{ "access_key_id = AK\nsecret_access_key = SK\n", 0640, -EPERM, "mode 0640" },
		{ "access_key_id = AK\n", 0600, -EINVAL, "needs both" },
		{ "access_key_id = AK\nsecret = SK\n", 0600, -EINVAL, ":2:" },
		{ "access_key_id = AK\naccess_key_id = AK\n", 0600, -EINVAL, ":2:" },
	};
	char path[] = "/tmp/vigil-test-s3cred-XXXXXX", err[256];
	struct s3_config c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = mkstemp(path);
		int rc;

		assert_true(fd >= 0);
		assert_int_equal(fd_write_all(fd, cases[i].text, strlen(cases[i].text)), 0);
		assert_int_equal(fchmod(fd, cases[i].mode), 0);
		close(fd);
		memset(&c, 0, sizeof(c));
		err[0] = '\0';
		rc = s3_cred_file(&c, path, err, sizeof(err));
		if (rc != cases[i].want || (cases[i].why && !strstr(err, cases[i].why)))
			fail_msg("case %zu: %d (want %d), \"%s\"", i, rc, cases[i].want, err);
		if (!rc && (strcmp(c.key_id, "AK") || strcmp(c.secret, "SK")))
			fail_msg("case %zu: read \"%s\" \"%s\"", i, c.key_id, c.secret);
		if (rc && (c.key_id[0] || c.secret[0]))
			fail_msg("case %zu: a refused file left credentials", i);
		unlink(path);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	}
	assert_int_equal(s3_cred_file(&c, "/tmp", err, sizeof(err)), -EINVAL);
	assert_int_equal(s3_cred_file(&c, "/nonexistent-vigil/cred", err, sizeof(err)), -ENOENT);
}

int main(void)
{
	const char *ep = getenv("VIGIL_S3_ENDPOINT"), *bucket = getenv("VIGIL_S3_BUCKET");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_cred_file),
		cmocka_unit_test(test_xml),
		cmocka_unit_test(test_stalled_server),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_odd_keys),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_restart),
	};

	log_init("test_s3", LOG_LVL_INFO);
	assert_int_equal(s3_global_init(), 0);
	if (ep && bucket && s3_cred_env(&cfg) == 0) {
		snprintf(cfg.endpoint, sizeof(cfg.endpoint), "%s", ep);
		snprintf(cfg.bucket, sizeof(cfg.bucket), "%s", bucket);
		snprintf(cfg.region, sizeof(cfg.region), "%s",
			 getenv("VIGIL_S3_REGION") ? getenv("VIGIL_S3_REGION") : "");
		have_rgw = true;
	} else {
		fprintf(stderr, "test_s3: no VIGIL_S3_ENDPOINT, VIGIL_S3_BUCKET and credentials in the "
			"environment: the radosgw tests are skipped (source the env file of "
			"tests/scale/ceph.sh up, or run make test-scale)\n");
	}
	snprintf(run, sizeof(run), "test-s3-%d-%lld", (int)getpid(), (long long)time(NULL));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
