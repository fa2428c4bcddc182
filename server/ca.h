/* ca.h — the server's certificate authority: made once by `init`, used by
 * `enroll` to issue device and controller certificates.  Only these offline
 * commands read the CA key, DIR/ca/ca.key; the running server never loads
 * it and cannot: its Landlock ruleset (runlock.h) leaves DIR/ca out. */
#ifndef VIGIL_CA_H
#define VIGIL_CA_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/tls.h"

#define CA_KEY_DIR  "ca"          /* in DIR, 0700: the CA key alone */
#define CA_KEY_FILE "ca/ca.key"
#define CA_KEY_OLD  "ca.key"      /* where servers before it kept the key */

/* Creates DIR/ca.pem, DIR/ca/ca.key, DIR/server.pem, DIR/server.key (keys
 * 0600, DIR/ca 0700), Ed25519 keys, 10-year validity; server cert CN and
 * SAN DNS "vigil-server".  Refuses (-EEXIST) when any of them exists. */
int ca_init(const char *dir, char *err, size_t errlen);
/* Moves the CA key of an older DIR (DIR/ca.key) to DIR/ca/ca.key, durably,
 * without reading it.  1 moved, 0 nothing to move, or -errno with a
 * one-line reason in err (-EEXIST: both exist). */
int ca_key_migrate(const char *dir, char *err, size_t errlen);
/* Issues a certificate for a device or controller: subject OU = role,
 * CN = name; a fresh Ed25519 key.  The caller frees *cert and *key. */
int ca_issue(const char *dir, enum vg_role role, const char *name,
	     X509 **cert, EVP_PKEY **key, char *err, size_t errlen);
/* Loads DIR/ca.pem (for putting into bundles); NULL with err. */
X509 *ca_load_cert(const char *dir, char *err, size_t errlen);

#endif
