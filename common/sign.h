/* sign.h — Ed25519 signatures for controller commands, through EVP_PKEY. */
#ifndef VIGIL_SIGN_H
#define VIGIL_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define SIGN_SIG_LEN 64
#define SIGN_PUB_LEN 32

EVP_PKEY *sign_keygen(void);                     /* NULL on failure */
/* 0, or -EINVAL (not an Ed25519 private key) / -EIO */
int sign_data(EVP_PKEY *key, const void *p, size_t n, uint8_t sig[SIGN_SIG_LEN]);
/* 0 when sig is a valid signature of p by pub, -EBADMSG otherwise. */
int sign_verify(EVP_PKEY *pub, const void *p, size_t n, const uint8_t sig[SIGN_SIG_LEN]);

/* Raw 32-byte public half (for the wire), and back. */
int sign_pub_raw(EVP_PKEY *key, uint8_t out[SIGN_PUB_LEN]);
EVP_PKEY *sign_pub_from_raw(const uint8_t raw[SIGN_PUB_LEN]);
/* A new key holding only the public half of key. */
EVP_PKEY *sign_pub_dup(EVP_PKEY *key);
bool sign_has_private(EVP_PKEY *key);
bool sign_is_ed25519(EVP_PKEY *key);

/* PEM files: save writes the private half when private_half and the key
 * has one (file mode 0600, tmp+fsync+rename), else the public half (0644).
 * load reads either ("PRIVATE KEY" or "PUBLIC KEY"), Ed25519 only;
 * -errno with a reason in err. */
int sign_key_save(const char *path, EVP_PKEY *key, bool private_half);
int sign_key_load(const char *path, EVP_PKEY **out, char *err, size_t errlen);

#endif
