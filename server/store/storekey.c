/* storekey.c — wrapping and unwrapping an encrypted store's data key
 * (storekey.h; format in docs/store-format.md, "Encryption at rest").
 *
 * DIR/store/datakey, 108 bytes (integers big-endian):
 *   0 magic "VGKEY001"   8 u8 kind (1 key file, 2 passphrase), 7 zero
 *  16 u64 scrypt N      24 u32 r      28 u32 p      (zero for a key file)
 *  32 salt[16]          48 nonce[12]  60 wrapped data key[32]  92 tag[16]
 * The wrap is AES-256-GCM under the key-encryption key with bytes 0..47 as
 * additional data, so the KDF parameters cannot be weakened unnoticed and
 * a wrong secret fails the tag: a clear error at start, never garbage. */
#include "server/store/storekey.h"
#include "common/fdio.h"
#include "common/hex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "common/buf.h"

#define KF_LEN      108
#define KF_AAD      48
#define KF_KEYFILE  1
#define KF_PASS     2
/* what a datakey file may ask of scrypt: 1 GiB at most */
#define KF_N_MAX    (1ull << 20)
#define KF_R_MAX    16u
#define KF_P_MAX    16u

static const uint8_t kf_magic[8] = { 'V', 'G', 'K', 'E', 'Y', '0', '0', '1' };

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

void store_key_derive(const struct store_key *k, const char *label, uint8_t out[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), k->k, sizeof(k->k), (const uint8_t *)label, strlen(label), out, &len);
}

void store_secret_clear(struct store_secret *s)
{
	if (s)
		OPENSSL_cleanse(s->key, sizeof(s->key));
}

static int file_path(const char *dir, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", dir, STOREKEY_FILE);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

bool store_key_present(const char *store_dir)
{
	char path[4096];

	return file_path(store_dir, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

/* The key-encryption key from the secret and the file's header. */
static int kek_derive(const struct store_secret *s, const uint8_t *hdr, uint8_t kek[32])
{
	uint64_t n = get_be(hdr + 16, 8);
	uint32_t r = (uint32_t)get_be(hdr + 24, 4), p = (uint32_t)get_be(hdr + 28, 4);
	uint64_t maxmem = 2 * 128ull * r * n + (1u << 20);
	EVP_KDF *kdf;
	EVP_KDF_CTX *ctx;
	OSSL_PARAM prm[7], *q = prm;
	unsigned int len = 32;
	int ok;

	if (hdr[8] == KF_KEYFILE) {
		if (!s->has_key)
			return -EKEYREJECTED;
		HMAC(EVP_sha256(), s->key, 32, hdr + 32, 16, kek, &len);
		return 0;
	}
	if (hdr[8] != KF_PASS || n < 2 || (n & (n - 1)) || n > KF_N_MAX || !r || r > KF_R_MAX ||
	    !p || p > KF_P_MAX)
		return -EINVAL;
	if (!s->pass)
		return -EKEYREJECTED;
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)s->pass, s->plen);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(hdr + 32), 16);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	*q = OSSL_PARAM_construct_end();
	kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	ok = ctx && EVP_KDF_derive(ctx, kek, 32, prm) == 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -ENOMEM;
}

/* AES-256-GCM of 32 bytes in -> out under kek, aad = hdr[0..48). */
static int wrap(bool enc, const uint8_t kek[32], const uint8_t *hdr, const uint8_t *nonce,
		const uint8_t *in, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, kek, nonce, enc) == 1 &&
	     EVP_CipherUpdate(c, NULL, &n, hdr, KF_AAD) == 1 &&
	     EVP_CipherUpdate(c, out, &n, in, 32) == 1 &&
	     (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1) &&
	     EVP_CipherFinal_ex(c, out + n, &n) == 1 &&
	     (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		OPENSSL_cleanse(out, 32);
	return ok ? 0 : enc ? -EIO : -EKEYREJECTED;
}

/* key wrapped under s (a fresh salt and nonce) into store_dir/datakey,
 * atomically and durably (file_write_atomic: the old file or the new,
 * never neither); flags: FILE_NOREPLACE for a new store. */
static int key_write(const char *store_dir, const struct store_secret *s,
		     const struct store_key *key, unsigned flags)
{
	uint8_t f[KF_LEN] = { 0 }, kek[32];
	char path[4096];
	int r;

	if ((r = file_path(store_dir, path, sizeof(path))) < 0)
		return r;
	memcpy(f, kf_magic, 8);
	f[8] = s->has_key ? KF_KEYFILE : KF_PASS;
	if (!s->has_key) {
		put_be(f + 16, STOREKEY_SCRYPT_N, 8);
		put_be(f + 24, STOREKEY_SCRYPT_R, 4);
		put_be(f + 28, STOREKEY_SCRYPT_P, 4);
	}
	if (RAND_bytes(f + 32, 16 + 12) != 1)
		return -EIO;
	if ((r = kek_derive(s, f, kek)) == 0 && (r = wrap(true, kek, f, f + 48, key->k, f + 60, f + 92)) == 0)
		r = file_write_atomic(path, f, sizeof(f), 0600, flags);
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(f, sizeof(f));
	return r;
}

int store_key_create(const char *store_dir, const struct store_secret *s, struct store_key *out)
{
	int r;

	if (RAND_bytes(out->k, sizeof(out->k)) != 1)
		return -EIO;
	if ((r = key_write(store_dir, s, out, FILE_NOREPLACE)) < 0)
		OPENSSL_cleanse(out->k, sizeof(out->k));
	return r;
}

int store_key_rewrap(const char *store_dir, const struct store_secret *s, const struct store_key *key)
{
	if (!store_key_present(store_dir))
		return -ENOENT;
	return key_write(store_dir, s, key, 0);
}

int store_key_load(const char *store_dir, const struct store_secret *s, struct store_key *out)
{
	uint8_t kek[32];
	char path[4096];
	struct buf b;
	int r;

	if ((r = file_path(store_dir, path, sizeof(path))) < 0)
		return r;
	buf_init(&b, KF_LEN + 1);
	if ((r = file_read_all(AT_FDCWD, path, O_NOFOLLOW, &b)) == 0 &&
	    (b.len != KF_LEN || memcmp(b.data, kf_magic, 8)))
		r = -EINVAL;
	if (r == 0 && (r = kek_derive(s, b.data, kek)) == 0)
		r = wrap(false, kek, b.data, b.data + 48, b.data + 60, out->k, b.data + 92);
	OPENSSL_cleanse(kek, sizeof(kek));
	buf_free(&b);
	return r == -EMSGSIZE ? -EINVAL : r;
}

int store_key_file_read(const char *path, uint8_t key[32])
{
	struct buf b;
	size_t n;
	int r;

	buf_init(&b, 128);
	if ((r = file_read_all(AT_FDCWD, path, 0, &b)) < 0)
		goto out;
	n = b.len;
	if (n == 32) {
		memcpy(key, b.data, 32);
		goto out;
	}
	if (n == 65 && b.data[64] == '\n')
		n = 64;
	r = hex_decode((const char *)b.data, n, key, 32);
out:
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
	return r == -EMSGSIZE ? -EINVAL : r;
}

int store_key_file_make(const char *path, uint8_t key[32])
{
	char text[HEX_SIZE(32) + 1];
	uint8_t k[32];
	int r;

	if (RAND_bytes(k, 32) != 1)
		return -EIO;
	hex_encode(k, 32, text);
	text[64] = '\n';
	r = file_write_atomic(path, text, 65, 0600, FILE_NOREPLACE);
	if (r == 0)
		memcpy(key, k, 32);
	OPENSSL_cleanse(text, sizeof(text));
	OPENSSL_cleanse(k, sizeof(k));
	return r;
}
