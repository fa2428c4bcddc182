/* tls.c — TLS 1.3 contexts and handshakes, and the peer identity read from
 * a verified certificate.  A certificate names exactly one identity: its
 * subject OU is the role and its CN the name. */
#include "common/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/clock.h"
#include "common/names.h"

static void set_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char ebuf[256] = "";

	if (e)
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", what, *ebuf ? ": " : "", ebuf);
	ERR_clear_error();
}

const char *role_name(enum vg_role role)
{
	switch (role) {
	case ROLE_DEVICE: return "device";
	case ROLE_CONTROLLER: return "controller";
	case ROLE_SERVER: return "server";
	}
	return "?";
}

enum vg_role role_parse(const char *s)
{
	if (!strcmp(s, "device"))
		return ROLE_DEVICE;
	if (!strcmp(s, "controller"))
		return ROLE_CONTROLLER;
	if (!strcmp(s, "server"))
		return ROLE_SERVER;
	return 0;
}

int tls_cert_sha256(X509 *cert, uint8_t out[32])
{
	unsigned int n = 0;

	if (!X509_digest(cert, EVP_sha256(), out, &n) || n != 32)
		return -EIO;
	return 0;
}

/* The single entry of nid in name as a C string; -EINVAL if absent,
 * repeated, too long or holding a NUL. */
static int subject_field(X509_NAME *xn, int nid, char *out, size_t cap)
{
	int i = X509_NAME_get_index_by_NID(xn, nid, -1);
	ASN1_STRING *s;
	const unsigned char *d;
	int len;

	if (i < 0 || X509_NAME_get_index_by_NID(xn, nid, i) >= 0)
		return -EINVAL;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(xn, i));
	d = ASN1_STRING_get0_data(s);
	len = ASN1_STRING_length(s);
	if (!d || len <= 0 || (size_t)len >= cap || memchr(d, 0, (size_t)len))
		return -EINVAL;
	memcpy(out, d, (size_t)len);
	out[len] = '\0';
	return 0;
}

int tls_cert_identity(X509 *cert, enum vg_role *role, char name[VG_NAME_MAX],
		      char *err, size_t errlen)
{
	X509_NAME *xn = X509_get_subject_name(cert);
	char ou[32];

	if (!xn || subject_field(xn, NID_organizationalUnitName, ou, sizeof(ou)) < 0 ||
	    !(*role = role_parse(ou))) {
		snprintf(err, errlen, "certificate names no role (subject OU)");
		return -EINVAL;
	}
	if (subject_field(xn, NID_commonName, name, VG_NAME_MAX) < 0 ||
	    (*role != ROLE_SERVER && !name_valid(name))) {
		snprintf(err, errlen, "certificate names no valid identity (subject CN)");
		return -EINVAL;
	}
	return 0;
}

#define TLS_READ_BUFFER (64 * 1024)   /* four full records */
#define TLS_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static SSL_CTX *ctx_base(bool server, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	if (!ctx) {
		set_err(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	/* AES-128-GCM first (OpenSSL's default puts AES-256-GCM first): TLS
	 * 1.3's mandatory suite, ~5-7 % cheaper per byte on both ends of an
	 * upload (docs/protocol.md); the client's order decides. */
	if (SSL_CTX_set_ciphersuites(ctx, TLS_SUITES) != 1) {
		set_err(err, errlen, "SSL_CTX_set_ciphersuites");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* No resumption: every connection proves its certificate afresh, and
	 * no post-handshake tickets arrive on the mux's first read. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Read whole socket bufferfuls, not a record header and then its body:
	 * half the read syscalls on a bulk transfer.  The mux polls only after
	 * SSL_read said WANT_READ, so nothing waits in OpenSSL's buffer.  With
	 * mux.c's 64 KiB write buffer a connection holds about 150 KiB. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, TLS_READ_BUFFER);
	return ctx;
}

SSL_CTX *tls_server_ctx_new(const char *dir, char *err, size_t errlen)
{
	char cert[4096], key[4096], ca[4096];
	SSL_CTX *ctx;

	snprintf(cert, sizeof(cert), "%s/server.pem", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	if (!(ctx = ctx_base(true, err, errlen)))
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		set_err(err, errlen, "cannot load server.pem");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		set_err(err, errlen, "cannot load server.key");
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		set_err(err, errlen, "cannot load ca.pem");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 1);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_client_ctx_new(X509 *cert, EVP_PKEY *key, X509 *ca, char *err, size_t errlen)
{
	SSL_CTX *ctx = ctx_base(false, err, errlen);
	X509_VERIFY_PARAM *vp;

	if (!ctx)
		return NULL;
	if (SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		set_err(err, errlen, "bundle certificate and key do not match");
		goto fail;
	}
	if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca) != 1) {
		set_err(err, errlen, "cannot use bundle CA");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_verify_depth(ctx, 1);
	vp = SSL_CTX_get0_param(ctx);
	/* Only the SAN counts: a client cert whose CN happens to be
	 * "vigil-server" has no SAN and cannot pose as the server. */
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
	if (X509_VERIFY_PARAM_set1_host(vp, TLS_SERVER_NAME, 0) != 1) {
		set_err(err, errlen, "X509_VERIFY_PARAM_set1_host");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Drives SSL_accept/SSL_connect on a non-blocking fd until done. */
static int handshake(SSL *ssl, int fd, bool server, int timeout_ms, char *err, size_t errlen)
{
	long deadline = mono_ms() + (timeout_ms < 0 ? 3600000L : timeout_ms);

	for (;;) {
		int r = server ? SSL_accept(ssl) : SSL_connect(ssl);
		struct pollfd pfd = { .fd = fd };
		long left;

		if (r == 1)
			return 0;
		switch (SSL_get_error(ssl, r)) {
		case SSL_ERROR_WANT_READ: pfd.events = POLLIN; break;
		case SSL_ERROR_WANT_WRITE: pfd.events = POLLOUT; break;
		default: {
			long vr = SSL_get_verify_result(ssl);

			if (vr != X509_V_OK) {
				snprintf(err, errlen, "TLS handshake: certificate rejected: %s",
					 X509_verify_cert_error_string(vr));
				ERR_clear_error();
				return -EACCES;
			}
			set_err(err, errlen, ERR_peek_last_error() ? "TLS handshake failed" :
				"TLS handshake failed: connection closed by peer");
			return -EPROTO;
		}
		}
		left = deadline - mono_ms();
		if (left <= 0) {
			snprintf(err, errlen, "TLS handshake timed out");
			return -ETIMEDOUT;
		}
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -errno;
		}
	}
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int start(SSL_CTX *ctx, int fd, SSL **out, char *err, size_t errlen)
{
	int r = set_nonblock(fd);

	if (r < 0) {
		snprintf(err, errlen, "fcntl: %s", strerror(-r));
		return r;
	}
	ERR_clear_error();
	if (!(*out = SSL_new(ctx)) || SSL_set_fd(*out, fd) != 1) {
		set_err(err, errlen, "SSL_new");
		SSL_free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* After a refused handshake: let the alert reach the client before the
 * caller's close() turns unread input into a reset that would hide it. */
static void linger_close(int fd)
{
	char sink[4096];
	long end = mono_ms() + 200;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	shutdown(fd, SHUT_WR);
	while (mono_ms() < end && poll(&pfd, 1, (int)(end - mono_ms())) > 0)
		if (read(fd, sink, sizeof(sink)) <= 0)
			break;
}

int tls_server_handshake(SSL_CTX *ctx, int fd, int timeout_ms, SSL **ssl,
			 struct peer *peer, char *err, size_t errlen)
{
	X509 *cert;
	int r;

	*ssl = NULL;
	memset(peer, 0, sizeof(*peer));
	if ((r = start(ctx, fd, ssl, err, errlen)) < 0)
		return r;
	if ((r = handshake(*ssl, fd, true, timeout_ms, err, errlen)) < 0)
		goto fail;
	cert = SSL_get0_peer_certificate(*ssl);
	if (!cert || SSL_get_verify_result(*ssl) != X509_V_OK) {
		snprintf(err, errlen, "client presented no verified certificate");
		r = -EACCES;
		goto fail;
	}
	if ((r = tls_cert_identity(cert, &peer->role, peer->name, err, errlen)) < 0 ||
	    (peer->role != ROLE_DEVICE && peer->role != ROLE_CONTROLLER)) {
		if (r == 0)
			snprintf(err, errlen, "client certificate has role %s",
				 role_name(peer->role));
		r = -EACCES;
		goto fail;
	}
	if ((r = tls_cert_sha256(cert, peer->cert_sha256)) < 0) {
		snprintf(err, errlen, "cannot hash client certificate");
		goto fail;
	}
	return 0;
fail:
	SSL_free(*ssl);
	*ssl = NULL;
	if (r != -ETIMEDOUT)
		linger_close(fd);
	return r;
}

int tls_client_handshake(SSL_CTX *ctx, int fd, int timeout_ms, SSL **ssl,
			 char *err, size_t errlen)
{
	int r;

	*ssl = NULL;
	if ((r = start(ctx, fd, ssl, err, errlen)) < 0)
		return r;
	SSL_set_tlsext_host_name(*ssl, TLS_SERVER_NAME);
	if ((r = handshake(*ssl, fd, false, timeout_ms, err, errlen)) < 0) {
		SSL_free(*ssl);
		*ssl = NULL;
	}
	return r;
}
