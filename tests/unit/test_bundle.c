/* test_bundle.c — bundle files (round trip, truncation at every 97th
 * byte, hostile variants), Ed25519 signing, and the identities they carry
 * through a real TLS handshake over loopback TCP: wrong CA rejected, role
 * taken from the certificate, server name checked. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "common/bundle.h"
#include "common/client.h"
#include "common/log.h"
#include "common/sign.h"
#include "tests/unit/pki_fixture.h"

static struct pki pki, pki2;   /* pki2: a different CA */
static char tmp[64];

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmp, name);
}

static struct bundle *make_bundle(enum vg_role role, X509 *cert, EVP_PKEY *key, X509 *ca,
				  const char *name, const char *server)
{
	struct bundle *b = bundle_new();

	assert_non_null(b);
	b->role = role;
	snprintf(b->name, sizeof(b->name), "%s", name);
	snprintf(b->server, sizeof(b->server), "%s", server);
	X509_up_ref(cert);
	b->cert = cert;
	EVP_PKEY_up_ref(key);
	b->key = key;
	X509_up_ref(ca);
	b->ca = ca;
	return b;
}

static void write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap);
	close(fd);
	assert_true(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

static void test_roundtrip_device(void **state)
{
	char path[128], err[256];
	struct bundle *b, *l = NULL;
	EVP_PKEY *ctl = sign_keygen(), *ctl2 = sign_keygen();
	uint8_t a[32], c[32], h1[32], h2[32];
	struct stat sb;

	b = make_bundle(ROLE_DEVICE, pki.dev_cert, pki.dev_key, pki.ca, "phone1", "127.0.0.1:7445");
	assert_int_equal(bundle_add_trust(b, "ctl1", ctl), 0);
	assert_int_equal(bundle_add_trust(b, "ctl2", ctl2), 0);
	assert_int_equal(bundle_add_trust(b, "Bad", ctl2), -EINVAL);
	path_of(path, sizeof(path), "dev.bundle");
	assert_int_equal(bundle_save(path, b), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(bundle_load(path, &l, err, sizeof(err)), 0);
	assert_int_equal(l->role, ROLE_DEVICE);
	assert_string_equal(l->name, "phone1");
	assert_string_equal(l->server, "127.0.0.1:7445");
	assert_int_equal(tls_cert_sha256(l->cert, h1), 0);
	assert_int_equal(tls_cert_sha256(pki.dev_cert, h2), 0);
	assert_memory_equal(h1, h2, 32);
	assert_int_equal(X509_check_private_key(l->cert, l->key), 1);
	assert_int_equal(X509_cmp(l->ca, pki.ca), 0);
	assert_null(l->sign_key);
	assert_null(l->sign_pub);
	assert_int_equal(l->ntrust, 2);
	assert_string_equal(l->trust[0].name, "ctl1");
	assert_int_equal(sign_pub_raw(l->trust[0].pub, a), 0);
	assert_int_equal(sign_pub_raw(ctl, c), 0);
	assert_memory_equal(a, c, 32);
	assert_non_null(bundle_find_trust(l, "ctl2"));
	assert_int_equal(bundle_remove_trust(l, "ctl1"), 0);
	assert_int_equal(bundle_remove_trust(l, "ctl1"), -ENOENT);
	assert_null(bundle_find_trust(l, "ctl1"));
	assert_int_equal(l->ntrust, 1);
	/* Re-saving what was loaded works, and replaces the file atomically. */
	assert_int_equal(bundle_save(path, l), 0);
	bundle_free(l);
	assert_int_equal(bundle_load(path, &l, err, sizeof(err)), 0);
	assert_int_equal(l->ntrust, 1);
	bundle_free(l);
	bundle_free(b);
	bundle_free(NULL);
	EVP_PKEY_free(ctl);
	EVP_PKEY_free(ctl2);
}

static void test_roundtrip_controller_and_sign(void **state)
{
	char path[128], err[256];
	struct bundle *b, *l = NULL;
	uint8_t sig[64], raw[32];
	EVP_PKEY *pub;
	static const char msg[] = "freeze phone1 seq 7";

	b = make_bundle(ROLE_CONTROLLER, pki.ctl_cert, pki.ctl_key, pki.ca, "ctl1", "[::1]:7445");
	assert_non_null(b->sign_key = sign_keygen());
	path_of(path, sizeof(path), "ctl.bundle");
	assert_int_equal(bundle_save(path, b), 0);
	assert_int_equal(bundle_load(path, &l, err, sizeof(err)), 0);
	assert_int_equal(l->role, ROLE_CONTROLLER);
	assert_true(sign_has_private(l->sign_key));
	assert_false(sign_has_private(l->sign_pub));
	/* Signed with the loaded key, verified with the original's public half. */
	assert_int_equal(sign_data(l->sign_key, msg, sizeof(msg), sig), 0);
	assert_non_null(pub = sign_pub_dup(b->sign_key));
	assert_int_equal(sign_verify(pub, msg, sizeof(msg), sig), 0);
	assert_int_equal(sign_verify(l->sign_pub, msg, sizeof(msg), sig), 0);
	sig[10] ^= 1;
	assert_int_equal(sign_verify(pub, msg, sizeof(msg), sig), -EBADMSG);
	sig[10] ^= 1;
	assert_int_equal(sign_verify(pub, msg, sizeof(msg) - 1, sig), -EBADMSG);
	assert_int_equal(sign_data(pub, msg, sizeof(msg), sig), -EIO);   /* no private half */
	assert_int_equal(sign_pub_raw(pub, raw), 0);
	EVP_PKEY_free(pub);
	assert_non_null(pub = sign_pub_from_raw(raw));
	assert_int_equal(sign_verify(pub, msg, sizeof(msg), sig), 0);
	EVP_PKEY_free(pub);
	assert_int_equal(sign_verify(pki.dev_key, msg, sizeof(msg), sig), -EBADMSG);
	bundle_free(l);

	/* Public half only (vigil-server enroll --pubkey). */
	EVP_PKEY_free(b->sign_key);
	b->sign_key = NULL;
	assert_non_null(b->sign_pub = sign_keygen());
	assert_int_equal(bundle_save(path, b), 0);
	assert_int_equal(bundle_load(path, &l, err, sizeof(err)), 0);
	assert_null(l->sign_key);
	assert_non_null(l->sign_pub);
	assert_false(sign_has_private(l->sign_pub));
	bundle_free(l);

	/* A controller bundle needs a signing key. */
	EVP_PKEY_free(b->sign_pub);
	b->sign_pub = NULL;
	assert_int_equal(bundle_save(path, b), 0);
	assert_int_equal(bundle_load(path, &l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "signing key"));
	bundle_free(b);
}

static void test_sign_key_files(void **state)
{
	char path[128], err[256];
	EVP_PKEY *k = sign_keygen(), *l = NULL;
	uint8_t a[32], c[32];
	struct stat sb;

	path_of(path, sizeof(path), "ctl.key");
	assert_int_equal(sign_key_save(path, k, true), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sign_key_load(path, &l, err, sizeof(err)), 0);
	assert_true(sign_has_private(l));
	EVP_PKEY_free(l);
	assert_int_equal(sign_key_save(path, k, false), 0);
	assert_int_equal(sign_key_load(path, &l, err, sizeof(err)), 0);
	assert_false(sign_has_private(l));
	sign_pub_raw(k, a);
	sign_pub_raw(l, c);
	assert_memory_equal(a, c, 32);
	EVP_PKEY_free(l);
	write_file(path, "garbage\n", 8);
	assert_int_equal(sign_key_load(path, &l, err, sizeof(err)), -EINVAL);
	assert_null(l);
	/* A P-256 or TLS key is not a signing key. */
	path_of(path, sizeof(path), "nope.key");
	assert_int_equal(sign_key_load(path, &l, err, sizeof(err)), -ENOENT);
	EVP_PKEY_free(k);
}

static void test_truncated(void **state)
{
	char path[128], tpath[128], err[256];
	static char text[65536];
	struct bundle *b, *l;
	size_t n, cut;
	int fails = 0, tries = 0;

	b = make_bundle(ROLE_CONTROLLER, pki.ctl_cert, pki.ctl_key, pki.ca, "ctl1", "h:1");
	b->sign_key = sign_keygen();
	assert_int_equal(bundle_add_trust(b, "ctl0", b->sign_key), 0);
	path_of(path, sizeof(path), "full.bundle");
	path_of(tpath, sizeof(tpath), "cut.bundle");
	assert_int_equal(bundle_save(path, b), 0);
	n = read_file(path, text, sizeof(text));
	for (cut = 0; cut < n; cut += 97) {
		write_file(tpath, text, cut);
		l = (struct bundle *)1;
		err[0] = '\0';
		tries++;
		if (bundle_load(tpath, &l, err, sizeof(err)) < 0 && !l && err[0])
			fails++;
	}
	write_file(tpath, text, n - 1);
	assert_true(bundle_load(tpath, &l, err, sizeof(err)) < 0);
	assert_int_equal(fails, tries);
	bundle_free(b);
}

/* Variants of a good bundle text: each must be refused with a reason. */
static void test_hostile(void **state)
{
	static const struct { const char *from, *to, *why; } edits[] = {
		{ "vigil-bundle 1", "vigil-bundle 2", "version" },
		{ "vigil-bundle 1", "vigil-bundlx 1", "not a vigil bundle" },
		{ "role device", "role controller", "certificate is for device" },
		{ "role device", "role server", "role" },
		{ "role device", "role device\nrole device", "duplicate" },
		{ "name phone1", "name phone2", "certificate is for device phone1" },
		{ "name phone1", "name Phone1", "bad name" },
		{ "name phone1", "name ../x", "bad name" },
		{ "server h:1", "server ", "server" },
		{ "\nca\n", "\nca\nca\n", "expected" },
		{ "\nkey\n", "\nkeys\n", "unexpected" },
		{ "-----BEGIN CERTIFICATE-----", "-----BEGIN PUBLIC KEY-----", "expected" },
		{ "-----END PRIVATE KEY-----", "-----END PUBLIC KEY-----", "garbled" },
		{ "MII", "!!!", "bad" },
		{ "\nend\n", "\nend\nmore\n", "after" },
		{ "\nend\n", "\n", "truncated" },
		{ "trust ctl0", "trust CTL0", "bad trusted" },
	};
	char path[128], tpath[128], err[256];
	static char text[65536], edited[70000];
	struct bundle *b, *l;
	size_t n, i;

	b = make_bundle(ROLE_DEVICE, pki.dev_cert, pki.dev_key, pki.ca, "phone1", "h:1");
	{
		EVP_PKEY *k = sign_keygen();

		bundle_add_trust(b, "ctl0", k);
		EVP_PKEY_free(k);
	}
	path_of(path, sizeof(path), "good.bundle");
	path_of(tpath, sizeof(tpath), "bad.bundle");
	assert_int_equal(bundle_save(path, b), 0);
	n = read_file(path, text, sizeof(text) - 1);
	text[n] = '\0';
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *at = strstr(text, edits[i].from);
		size_t pre;

		assert_non_null(at);
		pre = (size_t)(at - text);
		snprintf(edited, sizeof(edited), "%.*s%s%s", (int)pre, text, edits[i].to,
			 at + strlen(edits[i].from));
		write_file(tpath, edited, strlen(edited));
		l = NULL;
		err[0] = '\0';
		if (bundle_load(tpath, &l, err, sizeof(err)) == 0 || !strstr(err, edits[i].why))
			fail_msg("edit %zu (%s): got \"%s\"", i, edits[i].to, err);
		assert_null(l);
	}
	/* A NUL byte, a directory, a missing file, an empty file, > 1 MiB. */
	memcpy(edited, text, n);
	edited[n / 2] = '\0';
	write_file(tpath, edited, n);
	assert_int_equal(bundle_load(tpath, &l, err, sizeof(err)), -EINVAL);
	assert_int_equal(bundle_load(tmp, &l, err, sizeof(err)), -EINVAL);
	path_of(edited, sizeof(edited), "missing.bundle");
	assert_int_equal(bundle_load(edited, &l, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "missing.bundle"));
	write_file(tpath, "", 0);
	assert_int_equal(bundle_load(tpath, &l, err, sizeof(err)), -EINVAL);
	assert_int_equal(truncate(tpath, 2 << 20), 0);
	assert_int_equal(bundle_load(tpath, &l, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "1 MiB"));
	/* Cert from one CA with the other CA: refused at load. */
	X509_free(b->ca);
	X509_up_ref(pki2.ca);
	b->ca = pki2.ca;
	assert_int_equal(bundle_save(tpath, b), 0);
	assert_int_equal(bundle_load(tpath, &l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not issued by the bundled CA"));
	/* Key of another identity. */
	X509_free(b->ca);
	X509_up_ref(pki.ca);
	b->ca = pki.ca;
	EVP_PKEY_free(b->key);
	EVP_PKEY_up_ref(pki.ctl_key);
	b->key = pki.ctl_key;
	assert_int_equal(bundle_save(tpath, b), 0);
	assert_int_equal(bundle_load(tpath, &l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does not match"));
	bundle_free(b);
}

/* --- handshakes over loopback TCP --- */

struct srv {
	SSL_CTX *ctx;
	int lfd, port;
	pthread_t t;
	int r;
	struct peer peer;
	char err[256];
	char cipher[64];         /* the TLS 1.3 suite the handshake agreed on */
	struct mux *m;
};

static void echo(struct mux *m, struct mux_stream *s, uint16_t type, const uint8_t *msg,
		 size_t len, void *arg)
{
	mux_send_msg(s, MSG_OK, msg, len);
	mux_send_end(s);
	mux_stream_close(s);
}

static const struct mux_ops echo_ops = { .on_stream = echo };

static void *srv_main(void *arg)
{
	struct srv *sv = arg;
	int fd = accept(sv->lfd, NULL, NULL);
	SSL *ssl;

	if (fd < 0) {
		sv->r = -errno;
		return NULL;
	}
	sv->r = tls_server_handshake(sv->ctx, fd, 3000, &ssl, &sv->peer, sv->err, sizeof(sv->err));
	if (sv->r == 0)
		snprintf(sv->cipher, sizeof(sv->cipher), "%s",
			 SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
	if (sv->r == 0)
		sv->m = mux_new(ssl, fd, &echo_ops, NULL);
	else
		close(fd);
	return NULL;
}

static void srv_start(struct srv *sv, SSL_CTX *ctx, bool run)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(a);

	memset(sv, 0, sizeof(*sv));
	sv->ctx = ctx;
	sv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(sv->lfd >= 0);
	assert_int_equal(bind(sv->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(sv->lfd, 4), 0);
	getsockname(sv->lfd, (struct sockaddr *)&a, &sl);
	sv->port = ntohs(a.sin_port);
	if (run)
		pthread_create(&sv->t, NULL, srv_main, sv);
}

static void srv_stop(struct srv *sv)
{
	pthread_join(sv->t, NULL);
	mux_free(sv->m);
	close(sv->lfd);
}

/* client_connect with bundle b to a fresh server; returns its result. */
static int try_connect(struct bundle *b, SSL_CTX *sctx, struct srv *sv, char *err, size_t errlen)
{
	char hp[64];
	struct mux *m = NULL;
	int r;

	srv_start(sv, sctx, true);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", sv->port);
	r = client_connect(b, hp, 3000, NULL, NULL, &m, err, errlen);
	if (r == 0) {
		struct buf req, rep;
		uint16_t t;

		buf_init(&req, 16);
		buf_init(&rep, MUX_FRAME_MAX);
		buf_printf(&req, "hello");
		assert_int_equal(mux_call(m, 1, &req, &t, &rep, 3000), 0);
		assert_int_equal(rep.len, 5);
		buf_free(&req);
		buf_free(&rep);
	}
	srv_stop(sv);
	mux_free(m);
	return r;
}

static void test_handshake_identities(void **state)
{
	struct bundle *b;
	struct srv sv;
	char err[256];

	/* A device and a controller: the server learns role and name from
	 * the certificate, whatever the bundle says. */
	b = make_bundle(ROLE_DEVICE, pki.dev_cert, pki.dev_key, pki.ca, "phone1", "x:1");
	assert_int_equal(try_connect(b, pki.sctx, &sv, err, sizeof(err)), 0);
	assert_int_equal(sv.r, 0);
	assert_int_equal(sv.peer.role, ROLE_DEVICE);
	assert_string_equal(sv.peer.name, "phone1");
	/* both ends prefer AES-128-GCM (common/tls.c): the cheapest suite */
	assert_string_equal(sv.cipher, "TLS_AES_128_GCM_SHA256");
	b->role = ROLE_CONTROLLER;   /* a device cannot claim controller */
	snprintf(b->name, sizeof(b->name), "ctl1");
	assert_int_equal(try_connect(b, pki.sctx, &sv, err, sizeof(err)), 0);
	assert_int_equal(sv.peer.role, ROLE_DEVICE);
	assert_string_equal(sv.peer.name, "phone1");
	bundle_free(b);
	b = make_bundle(ROLE_CONTROLLER, pki.ctl_cert, pki.ctl_key, pki.ca, "ctl1", "x:1");
	assert_int_equal(try_connect(b, pki.sctx, &sv, err, sizeof(err)), 0);
	assert_int_equal(sv.peer.role, ROLE_CONTROLLER);
	assert_string_equal(sv.peer.name, "ctl1");
	bundle_free(b);
}

static void test_handshake_wrong_ca(void **state)
{
	struct bundle *b;
	struct srv sv;
	char err[256];

	/* Client cert from another CA: the server refuses it. */
	b = make_bundle(ROLE_DEVICE, pki2.dev_cert, pki2.dev_key, pki.ca, "phone1", "x:1");
	assert_int_equal(try_connect(b, pki.sctx, &sv, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "alert"));
	assert_int_equal(sv.r, -EACCES);
	assert_non_null(strstr(sv.err, "certificate"));
	bundle_free(b);
	/* Client trusting another CA: it refuses the server. */
	b = make_bundle(ROLE_DEVICE, pki.dev_cert, pki.dev_key, pki2.ca, "phone1", "x:1");
	assert_int_equal(try_connect(b, pki.sctx, &sv, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "certificate rejected"));
	assert_true(sv.r < 0);
	bundle_free(b);
	/* A server whose cert is a client cert of the right CA (no SAN
	 * vigil-server, clientAuth only): refused by name/purpose. */
	{
		SSL_CTX *fake = tls_client_ctx_new(pki.dev_cert, pki.dev_key, pki.ca, err, sizeof(err));
		SSL_CTX *sfake = SSL_CTX_new(TLS_server_method());

		assert_non_null(fake);
		SSL_CTX_use_certificate(sfake, pki.dev_cert);
		SSL_CTX_use_PrivateKey(sfake, pki.dev_key);
		SSL_CTX_set_verify(sfake, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_min_proto_version(sfake, TLS1_3_VERSION);
		b = make_bundle(ROLE_CONTROLLER, pki.ctl_cert, pki.ctl_key, pki.ca, "ctl1", "x:1");
		assert_int_equal(try_connect(b, sfake, &sv, err, sizeof(err)), -EACCES);
		bundle_free(b);
		SSL_CTX_free(fake);
		SSL_CTX_free(sfake);
	}
}

static void test_connect_errors(void **state)
{
	struct bundle *b = make_bundle(ROLE_DEVICE, pki.dev_cert, pki.dev_key, pki.ca, "phone1", "x:1");
	struct mux *m = NULL;
	struct srv sv;
	char err[256], hp[64];
	long t0;

	/* A listener that never speaks TLS: the timeout holds. */
	srv_start(&sv, pki.sctx, false);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", sv.port);
	t0 = time(NULL);
	assert_int_equal(client_connect(b, hp, 300, NULL, NULL, &m, err, sizeof(err)), -ETIMEDOUT);
	assert_true(time(NULL) - t0 <= 2);
	assert_non_null(strstr(err, "timed out"));
	close(sv.lfd);
	/* Nobody listening. */
	assert_true(client_connect(b, hp, 1000, NULL, NULL, &m, err, sizeof(err)) < 0);
	assert_null(m);
	/* Malformed addresses. */
	assert_int_equal(client_connect(b, "nocolon", 1000, NULL, NULL, &m, err, sizeof(err)), -EINVAL);
	assert_int_equal(client_connect(b, "h:", 1000, NULL, NULL, &m, err, sizeof(err)), -EINVAL);
	assert_int_equal(client_connect(b, "h:12x", 1000, NULL, NULL, &m, err, sizeof(err)), -EINVAL);
	assert_int_equal(client_connect(b, "[::1]7445", 1000, NULL, NULL, &m, err, sizeof(err)),
			 -EINVAL);   /* the parser itself: test_hostport */
	bundle_free(b);
}

static void test_ca(void **state)
{
	char err[256];
	X509 *c = NULL;
	EVP_PKEY *k = NULL;
	enum vg_role role;
	char name[VG_NAME_MAX];

	assert_int_equal(ca_init(pki.dir, err, sizeof(err)), -EEXIST);
	assert_int_equal(ca_issue(pki.dir, ROLE_SERVER, "x", &c, &k, err, sizeof(err)), -EINVAL);
	assert_int_equal(ca_issue(pki.dir, ROLE_DEVICE, "Bad Name", &c, &k, err, sizeof(err)), -EINVAL);
	assert_int_equal(ca_issue("/nonexistent", ROLE_DEVICE, "a", &c, &k, err, sizeof(err)), -ENOENT);
	assert_int_equal(ca_issue(pki.dir, ROLE_DEVICE, "a.b-c_9", &c, &k, err, sizeof(err)), 0);
	assert_int_equal(tls_cert_identity(c, &role, name, err, sizeof(err)), 0);
	assert_int_equal(role, ROLE_DEVICE);
	assert_string_equal(name, "a.b-c_9");
	assert_int_equal(X509_verify(c, X509_get0_pubkey(pki.ca)), 1);
	X509_free(c);
	EVP_PKEY_free(k);
	{
		char p[128];
		struct stat sb;

		snprintf(p, sizeof(p), "%s/ca/ca.key", pki.dir);
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
		snprintf(p, sizeof(p), "%s/ca", pki.dir);
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0700);
		snprintf(p, sizeof(p), "%s/server.key", pki.dir);
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	assert_string_equal(role_name(ROLE_CONTROLLER), "controller");
	assert_int_equal(role_parse("device"), ROLE_DEVICE);
	assert_int_equal(role_parse("devices"), 0);
}

static int setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	log_init("test_bundle", LOG_LVL_ERROR);
	snprintf(tmp, sizeof(tmp), "/tmp/vigil-bundle-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	return pki_setup(&pki) || pki_setup(&pki2);
}

static int teardown(void **state)
{
	char cmd[128];

	pki_teardown(&pki);
	pki_teardown(&pki2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_device),
		cmocka_unit_test(test_roundtrip_controller_and_sign),
		cmocka_unit_test(test_sign_key_files),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_handshake_identities),
		cmocka_unit_test(test_handshake_wrong_ca),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_ca),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
