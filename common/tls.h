/* tls.h — TLS 1.3 with mutual authentication: the server's context and
 * handshake, the client's context, and the peer identity taken from a
 * verified certificate (role in subject OU, name in CN). */
#ifndef VIGIL_TLS_H
#define VIGIL_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/proto.h"

#define TLS_SERVER_NAME "vigil-server"   /* CN and SAN DNS of the server cert */

enum vg_role { ROLE_DEVICE = 1, ROLE_CONTROLLER = 2, ROLE_SERVER = 3 };

/* "device", "controller", "server"; "?" for anything else. */
const char *role_name(enum vg_role role);
/* The role named s, or 0 when s names none. */
enum vg_role role_parse(const char *s);

struct peer {
	enum vg_role role;               /* ROLE_DEVICE or ROLE_CONTROLLER */
	char name[VG_NAME_MAX];          /* CN, checked with name_valid */
	uint8_t cert_sha256[32];         /* sha256 of the certificate's DER */
};

/* sha256 of a certificate's DER encoding (what the index stores). */
int tls_cert_sha256(X509 *cert, uint8_t out[32]);
/* Role (OU) and name (CN) of a certificate's subject; -EINVAL with a reason
 * in err when either is missing or not valid. */
int tls_cert_identity(X509 *cert, enum vg_role *role, char name[VG_NAME_MAX],
		      char *err, size_t errlen);

/* Server context from DIR/server.pem, DIR/server.key, DIR/ca.pem: TLS 1.3
 * only, client certificate required and verified by the CA.  NULL with a
 * reason in err on failure. */
SSL_CTX *tls_server_ctx_new(const char *dir, char *err, size_t errlen);
/* Runs the server side of the handshake on fd (made non-blocking) within
 * timeout_ms.  On success *ssl is bound to fd (the caller still owns fd,
 * and hands both to mux_new) and *peer names the client: a device or a
 * controller.  On failure returns -errno (-ETIMEDOUT, -EPROTO, -EACCES for
 * a certificate that names no valid identity) with a reason in err; fd is
 * left open for the caller to close. */
int tls_server_handshake(SSL_CTX *ctx, int fd, int timeout_ms, SSL **ssl,
			 struct peer *peer, char *err, size_t errlen);

/* Client context: own cert+key, trusts only ca, TLS 1.3 only.  The server
 * is checked against TLS_SERVER_NAME in tls_client_handshake. */
SSL_CTX *tls_client_ctx_new(X509 *cert, EVP_PKEY *key, X509 *ca, char *err, size_t errlen);
/* Client side of the handshake on a connected fd (made non-blocking); same
 * ownership rules as tls_server_handshake. */
int tls_client_handshake(SSL_CTX *ctx, int fd, int timeout_ms, SSL **ssl,
			 char *err, size_t errlen);

#endif
