/* bundle.h — the one file an enrolled device or controller holds: its
 * TLS identity, the CA, the server's address, the controller's signing key
 * and (devices) the controllers it trusts.  Format in docs/protocol.md. */
#ifndef VIGIL_BUNDLE_H
#define VIGIL_BUNDLE_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/proto.h"
#include "common/tls.h"

#define BUNDLE_MAX      (1024 * 1024)   /* bytes; larger files are refused */
#define BUNDLE_TRUST_MAX 256

struct bundle_trust { char name[VG_NAME_MAX]; EVP_PKEY *pub; };

struct bundle {
	enum vg_role role;
	char name[VG_NAME_MAX];
	char server[256];          /* HOST:PORT */
	X509 *cert;                /* TLS identity */
	EVP_PKEY *key;
	X509 *ca;
	EVP_PKEY *sign_key;        /* controller: Ed25519 private half, NULL if absent */
	EVP_PKEY *sign_pub;        /* controller: Ed25519 public half */
	size_t ntrust;             /* device: trusted controllers */
	struct bundle_trust *trust;
};

/* An empty bundle (all NULL/0); NULL on ENOMEM. */
struct bundle *bundle_new(void);
/* Reads and checks a bundle: header, PEM blocks, key matches cert, cert
 * issued by the bundled CA, cert's OU/CN equal role/name.  Returns 0, or
 * -errno with a one-line reason in err (never crashes on garbage). */
int bundle_load(const char *path, struct bundle **out, char *err, size_t errlen);
/* Writes b to path: tmp + fsync + rename, mode 0600.  0 or -errno. */
int bundle_save(const char *path, const struct bundle *b);
/* Frees b and every key/cert it holds.  NULL is a no-op. */
void bundle_free(struct bundle *b);
/* Adds (or replaces, by name) a trusted controller key; takes a reference
 * of its own to pub.  0, -EINVAL, -ENOSPC (BUNDLE_TRUST_MAX), -ENOMEM. */
int bundle_add_trust(struct bundle *b, const char *name, EVP_PKEY *pub);
/* Removes a trusted controller; 0 or -ENOENT. */
int bundle_remove_trust(struct bundle *b, const char *name);
/* The trusted key for name, or NULL. */
EVP_PKEY *bundle_find_trust(const struct bundle *b, const char *name);

#endif
