/* signkey.h — which command-signing private key `vigil` signs with, and
 * the check that it is the key the controller was enrolled with.
 *
 * A controller enrolled with `--pubkey` (its pair made by `vigil keygen`)
 * has only the public half in its bundle; the private half is a PEM file
 * of its own.  `vigil` takes the first of:
 *   1. --sign-key FILE
 *   2. $VIGIL_SIGN_KEY
 *   3. the private half in the bundle (a pair the server made at enrolment)
 *   4. the file next to the bundle: its path with a trailing ".bundle"
 *      replaced by ".key" (".key" appended otherwise), so the default
 *      ~/.config/vigil/controller.bundle goes with ~/.config/vigil/controller.key
 * `vigil keygen` without --out writes to 1, 2 or 4, in that order, so the
 * key it makes is the one signing finds.
 *
 * Whatever the source, the key's public half must be the bundle's enrolled
 * public key: a wrong key would only produce commands the server and the
 * device refuse, so it is refused here, before a sequence number is taken. */
#ifndef VIGIL_SIGNKEY_H
#define VIGIL_SIGNKEY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "common/bundle.h"

enum signkey_src {
	SIGNKEY_OPTION,    /* --sign-key FILE */
	SIGNKEY_ENV,       /* $VIGIL_SIGN_KEY */
	SIGNKEY_BUNDLE,    /* the bundle's own private half */
	SIGNKEY_DEFAULT,   /* next to the bundle */
};

/* The file next to bundle_file: ".bundle" -> ".key", else + ".key".
 * 0 or -ENAMETOOLONG. */
int signkey_default_path(const char *bundle_file, char *out, size_t cap);

/* The decision, without I/O: opt is --sign-key (NULL: not given), env is
 * $VIGIL_SIGN_KEY (NULL or "": unset), bundle_private whether the bundle
 * holds the private half.  Sets *src, and out to the file to read
 * (empty for SIGNKEY_BUNDLE).  0 or -ENAMETOOLONG. */
int signkey_locate(const char *opt, const char *env, bool bundle_private,
		   const char *bundle_file, enum signkey_src *src, char *out, size_t cap);

/* Where `vigil keygen` writes when --out is not given: as signkey_locate
 * with no private half in the bundle.  0 or -ENAMETOOLONG. */
int signkey_keygen_path(const char *opt, const char *env, const char *bundle_file,
			char *out, size_t cap);

/* How a source is named in messages ("--sign-key", "$VIGIL_SIGN_KEY", ...). */
const char *signkey_src_name(enum signkey_src src);

/* Loads the key signkey_locate names for b (a controller bundle loaded
 * from bundle_file) and checks it: a private Ed25519 key whose public half
 * is b->sign_pub.  *out is a new reference (caller frees).  Returns 0, or
 * -errno with one line in err that names the file and its source:
 * -ENOENT no key there, -EINVAL not an Ed25519 private key,
 * -EKEYREJECTED not the enrolled key. */
int signkey_load(const struct bundle *b, const char *bundle_file, const char *opt,
		 const char *env, EVP_PKEY **out, char *err, size_t errlen);

#endif
