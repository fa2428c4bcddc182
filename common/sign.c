/* sign.c — Ed25519 key handling, signing and verification (EVP_PKEY). */
#include "common/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/buf.h"
#include "common/fdio.h"

EVP_PKEY *sign_keygen(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	ERR_clear_error();
	return k;
}

bool sign_is_ed25519(EVP_PKEY *key)
{
	return key && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519;
}

bool sign_has_private(EVP_PKEY *key)
{
	uint8_t raw[64];
	size_t n = sizeof(raw);
	bool ok;

	if (!sign_is_ed25519(key))
		return false;
	ok = EVP_PKEY_get_raw_private_key(key, raw, &n) == 1;
	OPENSSL_cleanse(raw, sizeof(raw));
	ERR_clear_error();
	return ok;
}

int sign_data(EVP_PKEY *key, const void *p, size_t n, uint8_t sig[SIGN_SIG_LEN])
{
	EVP_MD_CTX *md;
	size_t slen = SIGN_SIG_LEN;
	int r = -EIO;

	if (!sign_is_ed25519(key))
		return -EINVAL;
	if (!(md = EVP_MD_CTX_new()))
		return -ENOMEM;
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestSign(md, sig, &slen, p, n) == 1 && slen == SIGN_SIG_LEN)
		r = 0;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return r;
}

int sign_verify(EVP_PKEY *pub, const void *p, size_t n, const uint8_t sig[SIGN_SIG_LEN])
{
	EVP_MD_CTX *md;
	int r = -EBADMSG;

	if (!sign_is_ed25519(pub))
		return -EBADMSG;
	if (!(md = EVP_MD_CTX_new()))
		return -ENOMEM;
	if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, pub) == 1 &&
	    EVP_DigestVerify(md, sig, SIGN_SIG_LEN, p, n) == 1)
		r = 0;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return r;
}

int sign_pub_raw(EVP_PKEY *key, uint8_t out[SIGN_PUB_LEN])
{
	size_t n = SIGN_PUB_LEN;

	if (!sign_is_ed25519(key) || EVP_PKEY_get_raw_public_key(key, out, &n) != 1 ||
	    n != SIGN_PUB_LEN) {
		ERR_clear_error();
		return -EINVAL;
	}
	return 0;
}

EVP_PKEY *sign_pub_from_raw(const uint8_t raw[SIGN_PUB_LEN])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, SIGN_PUB_LEN);

	ERR_clear_error();
	return k;
}

EVP_PKEY *sign_pub_dup(EVP_PKEY *key)
{
	uint8_t raw[SIGN_PUB_LEN];

	if (sign_pub_raw(key, raw) < 0)
		return NULL;
	return sign_pub_from_raw(raw);
}

/* Writes a PEM key to path, atomically and durably; 0 or -errno. */
int sign_key_save(const char *path, EVP_PKEY *key, bool private_half)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int r, ok;
	bool priv = private_half && sign_has_private(key);

	if (!mem)
		return -ENOMEM;
	ok = priv ? PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL)
		  : PEM_write_bio_PUBKEY(mem, key);
	len = BIO_get_mem_data(mem, &data);
	if (!ok || len <= 0)
		r = -EINVAL;
	else
		r = file_write_atomic(path, data, (size_t)len, priv ? 0600 : 0644, 0);
	BIO_free(mem);
	ERR_clear_error();
	return r;
}

int sign_key_load(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	struct buf b;
	int r;
	BIO *mem;
	EVP_PKEY *k;

	*out = NULL;
	buf_init(&b, 16383);
	if ((r = file_read_all(AT_FDCWD, path, 0, &b)) < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 r == -EMSGSIZE ? "file too large" : strerror(-r));
		if (b.data)
			OPENSSL_cleanse(b.data, b.cap);
		buf_free(&b);
		return r == -EMSGSIZE ? -EFBIG : r;
	}
	if (!(mem = BIO_new_mem_buf(b.data ? (const void *)b.data : "", (int)b.len))) {
		if (b.data)
			OPENSSL_cleanse(b.data, b.cap);
		buf_free(&b);
		return -ENOMEM;
	}
	k = PEM_read_bio_PrivateKey(mem, NULL, NULL, NULL);
	if (!k) {
		BIO_free(mem);
		mem = BIO_new_mem_buf(b.data ? (const void *)b.data : "", (int)b.len);
		k = mem ? PEM_read_bio_PUBKEY(mem, NULL, NULL, NULL) : NULL;
	}
	BIO_free(mem);
	if (b.data)
		OPENSSL_cleanse(b.data, b.cap);
	buf_free(&b);
	ERR_clear_error();
	if (!sign_is_ed25519(k)) {
		EVP_PKEY_free(k);
		snprintf(err, errlen, "%s: not an Ed25519 key in PEM form", path);
		return -EINVAL;
	}
	*out = k;
	return 0;
}
