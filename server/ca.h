/* ca.h — the server's certificate authority: made once by `init`, used by
 * `enroll` to issue device and controller certificates.  Only these offline
 * commands read DIR/ca.key; the running server never loads it. */
#ifndef VIGIL_CA_H
#define VIGIL_CA_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/tls.h"

/* Creates DIR/ca.pem, DIR/ca.key, DIR/server.pem, DIR/server.key (keys
 * 0600), Ed25519 keys, 10-year validity; server cert CN and SAN DNS
 * "vigil-server".  Refuses (-EEXIST) when any of them exists. */
int ca_init(const char *dir, char *err, size_t errlen);
/* Issues a certificate for a device or controller: subject OU = role,
 * CN = name; a fresh Ed25519 key.  The caller frees *cert and *key. */
int ca_issue(const char *dir, enum vg_role role, const char *name,
	     X509 **cert, EVP_PKEY **key, char *err, size_t errlen);
/* Loads DIR/ca.pem (for putting into bundles); NULL with err. */
X509 *ca_load_cert(const char *dir, char *err, size_t errlen);

#endif
