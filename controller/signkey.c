/* signkey.c — finding and checking the controller's signing key (signkey.h). */
#include "controller/signkey.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/sign.h"

#define BUNDLE_SUFFIX ".bundle"

int signkey_default_path(const char *bundle_file, char *out, size_t cap)
{
	size_t n = strlen(bundle_file), sl = strlen(BUNDLE_SUFFIX);
	int w;

	/* "x.bundle" -> "x.key"; a bare ".bundle" keeps its name and gets ".key" */
	if (n > sl && !strcmp(bundle_file + n - sl, BUNDLE_SUFFIX) && bundle_file[n - sl - 1] != '/')
		n -= sl;
	w = snprintf(out, cap, "%.*s.key", (int)n, bundle_file);
	return w < 0 || (size_t)w >= cap ? -ENAMETOOLONG : 0;
}

static int copy_path(const char *p, char *out, size_t cap)
{
	int w = snprintf(out, cap, "%s", p);

	return w < 0 || (size_t)w >= cap ? -ENAMETOOLONG : 0;
}

int signkey_locate(const char *opt, const char *env, bool bundle_private,
		   const char *bundle_file, enum signkey_src *src, char *out, size_t cap)
{
	if (opt) {
		*src = SIGNKEY_OPTION;
		return copy_path(opt, out, cap);
	}
	if (env && *env) {
		*src = SIGNKEY_ENV;
		return copy_path(env, out, cap);
	}
	if (bundle_private) {
		*src = SIGNKEY_BUNDLE;
		return copy_path("", out, cap);
	}
	*src = SIGNKEY_DEFAULT;
	return signkey_default_path(bundle_file, out, cap);
}

int signkey_keygen_path(const char *opt, const char *env, const char *bundle_file,
			char *out, size_t cap)
{
	enum signkey_src src;

	return signkey_locate(opt, env, false, bundle_file, &src, out, cap);
}

const char *signkey_src_name(enum signkey_src src)
{
	switch (src) {
	case SIGNKEY_OPTION:  return "--sign-key";
	case SIGNKEY_ENV:     return "$VIGIL_SIGN_KEY";
	case SIGNKEY_BUNDLE:  return "the bundle";
	case SIGNKEY_DEFAULT: return "the default next to the bundle";
	}
	return "?";
}

/* 0 when key's public half is the enrolled one; -EKEYREJECTED otherwise. */
static int same_public(EVP_PKEY *key, EVP_PKEY *enrolled)
{
	uint8_t a[SIGN_PUB_LEN], b[SIGN_PUB_LEN];

	if (!enrolled || sign_pub_raw(enrolled, b) < 0 || sign_pub_raw(key, a) < 0)
		return -EKEYREJECTED;
	return CRYPTO_memcmp(a, b, SIGN_PUB_LEN) == 0 ? 0 : -EKEYREJECTED;
}

/* The key file at path (named by src in messages): a private Ed25519 key. */
static int load_file(const char *path, enum signkey_src src, const char *bundle_file,
		     EVP_PKEY **out, char *err, size_t errlen)
{
	char why[512] = "";
	int r = sign_key_load(path, out, why, sizeof(why));

	if (r == -ENOENT && src == SIGNKEY_DEFAULT) {
		snprintf(err, errlen, "%s holds no command-signing private key (enrolled with "
			 "--pubkey) and %s does not exist: give --sign-key FILE or set "
			 "VIGIL_SIGN_KEY", bundle_file, path);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "signing key (%s): %s", signkey_src_name(src), why);
		return r;
	}
	if (!sign_has_private(*out)) {
		snprintf(err, errlen, "%s (%s): a public key; signing needs the private key "
			 "`vigil keygen` wrote beside it", path, signkey_src_name(src));
		EVP_PKEY_free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

int signkey_load(const struct bundle *b, const char *bundle_file, const char *opt,
		 const char *env, EVP_PKEY **out, char *err, size_t errlen)
{
	bool priv = b->sign_key && sign_has_private(b->sign_key);
	enum signkey_src src;
	char path[PATH_MAX];
	EVP_PKEY *k = NULL;
	int r;

	*out = NULL;
	if (signkey_locate(opt, env, priv, bundle_file, &src, path, sizeof(path)) < 0) {
		snprintf(err, errlen, "signing key (%s): name too long", signkey_src_name(src));
		return -ENAMETOOLONG;
	}
	if (src == SIGNKEY_BUNDLE) {
		if (!EVP_PKEY_up_ref(b->sign_key))
			return -ENOMEM;
		k = b->sign_key;
	} else if ((r = load_file(path, src, bundle_file, &k, err, errlen)) < 0) {
		return r;
	}
	if (same_public(k, b->sign_pub) < 0) {
		snprintf(err, errlen, "%s (%s) is not the signing key controller %s was enrolled "
			 "with (%s holds another public key)", src == SIGNKEY_BUNDLE ? bundle_file :
			 path, signkey_src_name(src), b->name, bundle_file);
		EVP_PKEY_free(k);
		return -EKEYREJECTED;
	}
	*out = k;
	return 0;
}
