/* storekey.h — the data key of an encrypted store (`vigil-server init
 * --encrypt`): a random 32-byte key, kept in DIR/store/datakey wrapped
 * (AES-256-GCM) by a key-encryption key that comes from a key file or from
 * a passphrase through scrypt.  Format and reasons: docs/store-format.md,
 * "Encryption at rest". */
#ifndef VIGIL_STOREKEY_H
#define VIGIL_STOREKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STOREKEY_FILE     "datakey"    /* in the store directory */
#define STOREKEY_LEN      32

struct store_key { uint8_t k[STOREKEY_LEN]; };

/* Where the key-encryption key comes from: exactly one of key (a key
 * file's 32 bytes) or pass (a passphrase, plen bytes). */
struct store_secret {
	bool has_key;
	uint8_t key[32];
	const char *pass;
	size_t plen;
};

/* scrypt parameters written by store_key_create (stored in the file, so a
 * later build may raise them for new stores).  N = 2^17, r = 8: 128 MiB
 * and a few tenths of a second, the cost OWASP recommends for scrypt;
 * Argon2id would be preferred but needs OpenSSL 3.2 (Debian 12 has 3.0). */
#define STOREKEY_SCRYPT_N  (1u << 17)
#define STOREKEY_SCRYPT_R  8u
#define STOREKEY_SCRYPT_P  1u

/* True when the store directory holds a datakey file. */
bool store_key_present(const char *store_dir);
/* A new random data key, wrapped under s into store_dir/datakey (which
 * must not exist).  0 or -errno. */
int  store_key_create(const char *store_dir, const struct store_secret *s, struct store_key *out);
/* Unwraps store_dir/datakey with s.  0; -ENOENT without a datakey file;
 * -EKEYREJECTED when s is not the secret it was wrapped with; -EINVAL
 * for a damaged or unknown file; -errno. */
int  store_key_load(const char *store_dir, const struct store_secret *s, struct store_key *out);
/* Wraps the data key key under another secret s, replacing
 * store_dir/datakey atomically and durably (a crash leaves the old wrap
 * or the new one, never neither); the data key itself stays.  0, -ENOENT
 * (no datakey), -errno. */
int  store_key_rewrap(const char *store_dir, const struct store_secret *s, const struct store_key *key);
/* Reads a key file: 32 raw bytes, or 64 hex digits and an optional
 * newline.  0, -ENOENT, -EINVAL (another content), -errno. */
int  store_key_file_read(const char *path, uint8_t key[32]);
/* Makes a new key file at path (64 hex digits and a newline, 0600, never
 * over an existing file).  0 or -errno. */
int  store_key_file_make(const char *path, uint8_t key[32]);
/* A subkey for one purpose: HMAC-SHA256(data key, label). */
void store_key_derive(const struct store_key *k, const char *label, uint8_t out[32]);
/* Erases a secret's or key's bytes (NULL-safe). */
void store_secret_clear(struct store_secret *s);

#endif
