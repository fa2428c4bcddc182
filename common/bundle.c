/* bundle.c — reading and writing bundle files.
 *
 * A bundle is text: header lines ("vigil-bundle 1", "role R", "name N",
 * "server HOST:PORT"), then keyword lines each followed by one PEM block
 * ("trust NAME" + PUBLIC KEY, "cert" + CERTIFICATE, "key" + PRIVATE KEY,
 * "ca" + CERTIFICATE, "sign-key" + PRIVATE KEY, "sign-pub" + PUBLIC KEY),
 * and a final "end" line, so that a truncated file never parses. */
#include "common/buf.h"
#include "common/fdio.h"
#include "common/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/names.h"
#include "common/sign.h"

struct bparse {
	const char *path;
	char *p, *end;       /* cursor in the NUL-terminated file text */
	int line;
	char *err;
	size_t errlen;
};

static int perr(struct bparse *bp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct bparse *bp, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(bp->err, bp->errlen, "%s: line %d: %s", bp->path, bp->line, msg);
	ERR_clear_error();
	return -EINVAL;
}

struct bundle *bundle_new(void)
{
	return calloc(1, sizeof(struct bundle));
}

void bundle_free(struct bundle *b)
{
	size_t i;

	if (!b)
		return;
	X509_free(b->cert);
	X509_free(b->ca);
	EVP_PKEY_free(b->key);
	EVP_PKEY_free(b->sign_key);
	EVP_PKEY_free(b->sign_pub);
	for (i = 0; i < b->ntrust; i++)
		EVP_PKEY_free(b->trust[i].pub);
	free(b->trust);
	free(b);
}

/* The next line, NUL-terminated in place; NULL at the end of the text or
 * when the last line has no newline (a truncated file). */
static char *next_line(struct bparse *bp)
{
	char *nl, *s = bp->p;

	if (s >= bp->end || !(nl = memchr(s, '\n', (size_t)(bp->end - s))))
		return NULL;
	*nl = '\0';
	bp->p = nl + 1;
	bp->line++;
	return s;
}

/* Reads one PEM block ("-----BEGIN label-----" ... "-----END label-----")
 * and parses it with the matching reader.  kind: 'c' cert, 'k' private key,
 * 'p' public key. */
static int read_pem(struct bparse *bp, char kind, void **out)
{
	static const char *const labels[] = { "CERTIFICATE", "PRIVATE KEY", "PUBLIC KEY" };
	const char *label = labels[kind == 'c' ? 0 : kind == 'k' ? 1 : 2];
	char begin[64], endl[64], *first, *l;
	BIO *mem;

	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(endl, sizeof(endl), "-----END %s-----", label);
	if (!(first = next_line(bp)) || strcmp(first, begin))
		return perr(bp, "expected %s", begin);
	for (;;) {
		if (!(l = next_line(bp)))
			return perr(bp, "truncated %s block", label);
		if (!strcmp(l, endl))
			break;
		if (!strncmp(l, "-----", 5))
			return perr(bp, "garbled %s block", label);
	}
	/* Give the block back its newlines for the PEM reader. */
	for (l = first; l < bp->p - 1; l++)
		if (*l == '\0')
			*l = '\n';
	if (!(mem = BIO_new_mem_buf(first, (int)(bp->p - first))))
		return -ENOMEM;
	if (kind == 'c')
		*out = PEM_read_bio_X509(mem, NULL, NULL, NULL);
	else if (kind == 'k')
		*out = PEM_read_bio_PrivateKey(mem, NULL, NULL, NULL);
	else
		*out = PEM_read_bio_PUBKEY(mem, NULL, NULL, NULL);
	BIO_free(mem);
	for (l = first; l < bp->p; l++)
		if (*l == '\n')
			*l = '\0';
	if (!*out)
		return perr(bp, "bad %s", label);
	return 0;
}

static int once(struct bparse *bp, const void *field, const char *kw)
{
	return field ? perr(bp, "duplicate \"%s\"", kw) : 0;
}

static int parse_trust(struct bparse *bp, struct bundle *b, const char *name)
{
	EVP_PKEY *pub = NULL;
	int r;

	if (!name_valid(name))
		return perr(bp, "bad trusted controller name");
	if (bundle_find_trust(b, name))
		return perr(bp, "controller %s trusted twice", name);
	if ((r = read_pem(bp, 'p', (void **)&pub)) < 0)
		return r;
	if (!sign_is_ed25519(pub)) {
		EVP_PKEY_free(pub);
		return perr(bp, "trusted key of %s is not Ed25519", name);
	}
	r = bundle_add_trust(b, name, pub);
	EVP_PKEY_free(pub);
	return r < 0 ? perr(bp, "too many trusted controllers") : 0;
}

/* One keyword line and its PEM block if it has one. 1 at "end". */
static int parse_line(struct bparse *bp, struct bundle *b, char *l)
{
	char *arg = strchr(l, ' ');
	int r;

	if (arg)
		*arg++ = '\0';
	if (!strcmp(l, "role") && arg) {
		if (b->role)
			return perr(bp, "duplicate \"role\"");
		b->role = role_parse(arg);
		if (b->role != ROLE_DEVICE && b->role != ROLE_CONTROLLER)
			return perr(bp, "role must be device or controller");
	} else if (!strcmp(l, "name") && arg) {
		if (*b->name)
			return perr(bp, "duplicate \"name\"");
		if (!name_valid(arg))
			return perr(bp, "bad name");
		snprintf(b->name, sizeof(b->name), "%s", arg);
	} else if (!strcmp(l, "server") && arg) {
		if (*b->server)
			return perr(bp, "duplicate \"server\"");
		if (!*arg || strlen(arg) >= sizeof(b->server))
			return perr(bp, "bad server address");
		snprintf(b->server, sizeof(b->server), "%s", arg);
	} else if (!strcmp(l, "trust") && arg) {
		return parse_trust(bp, b, arg);
	} else if (arg) {
		return perr(bp, "unexpected \"%s\"", l);
	} else if (!strcmp(l, "cert")) {
		return (r = once(bp, b->cert, l)) ? r : read_pem(bp, 'c', (void **)&b->cert);
	} else if (!strcmp(l, "key")) {
		return (r = once(bp, b->key, l)) ? r : read_pem(bp, 'k', (void **)&b->key);
	} else if (!strcmp(l, "ca")) {
		return (r = once(bp, b->ca, l)) ? r : read_pem(bp, 'c', (void **)&b->ca);
	} else if (!strcmp(l, "sign-key")) {
		return (r = once(bp, b->sign_key, l)) ? r : read_pem(bp, 'k', (void **)&b->sign_key);
	} else if (!strcmp(l, "sign-pub")) {
		return (r = once(bp, b->sign_pub, l)) ? r : read_pem(bp, 'p', (void **)&b->sign_pub);
	} else if (!strcmp(l, "end")) {
		return 1;
	} else {
		return perr(bp, "unexpected \"%s\"", l);
	}
	return 0;
}

/* Everything present and consistent with itself. */
static int check(struct bparse *bp, struct bundle *b)
{
	enum vg_role crole;
	char cname[VG_NAME_MAX], why[128];
	uint8_t a[32], c[32];

	if (!b->role || !*b->name || !*b->server || !b->cert || !b->key || !b->ca)
		return perr(bp, "incomplete bundle (role, name, server, cert, key, ca needed)");
	if (X509_check_private_key(b->cert, b->key) != 1)
		return perr(bp, "key does not match certificate");
	if (X509_verify(b->cert, X509_get0_pubkey(b->ca)) != 1)
		return perr(bp, "certificate was not issued by the bundled CA");
	if (tls_cert_identity(b->cert, &crole, cname, why, sizeof(why)) < 0)
		return perr(bp, "%s", why);
	if (crole != b->role || strcmp(cname, b->name))
		return perr(bp, "certificate is for %s %s, bundle claims %s %s",
			    role_name(crole), cname, role_name(b->role), b->name);
	if (b->sign_key && !sign_has_private(b->sign_key))
		return perr(bp, "sign-key is not an Ed25519 private key");
	if (b->sign_pub && !sign_is_ed25519(b->sign_pub))
		return perr(bp, "sign-pub is not an Ed25519 key");
	if (b->sign_key && !b->sign_pub && !(b->sign_pub = sign_pub_dup(b->sign_key)))
		return -ENOMEM;
	if (b->sign_key && (sign_pub_raw(b->sign_key, a) || sign_pub_raw(b->sign_pub, c) ||
			    memcmp(a, c, 32)))
		return perr(bp, "sign-key and sign-pub do not match");
	if (b->role == ROLE_CONTROLLER && !b->sign_pub)
		return perr(bp, "controller bundle without signing key");
	return 0;
}

static int parse(struct bparse *bp, struct bundle *b)
{
	char *l = next_line(bp);
	int r;

	if (!l || strncmp(l, "vigil-bundle ", 13))
		return perr(bp, "not a vigil bundle");
	if (strcmp(l + 13, "1"))
		return perr(bp, "unsupported bundle version \"%.16s\"", l + 13);
	for (;;) {
		if (!(l = next_line(bp)))
			return perr(bp, "truncated (no \"end\" line)");
		if ((r = parse_line(bp, b, l)) < 0)
			return r;
		if (r == 1)
			break;
	}
	if (bp->p != bp->end)
		return perr(bp, "data after \"end\"");
	return check(bp, b);
}

/* Reads at most BUNDLE_MAX bytes of path into a NUL-terminated buffer. */
static int slurp(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	struct buf b;
	int r;

	buf_init(&b, BUNDLE_MAX);
	r = file_read_all(AT_FDCWD, path, 0, &b);
	if (r == -EMSGSIZE) {
		snprintf(err, errlen, "%s: bundle larger than 1 MiB", path);
		r = -EFBIG;
	} else if (r == -EINVAL) {
		snprintf(err, errlen, "%s: not a regular file", path);
	} else if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	} else if (b.len && memchr(b.data, '\0', b.len)) {
		snprintf(err, errlen, "%s: not a text file", path);
		r = -EINVAL;
	} else if (!buf_cstr(&b)) {
		r = -ENOMEM;
	}
	if (r < 0) {
		if (b.data)
			OPENSSL_cleanse(b.data, b.cap);
		buf_free(&b);
		return r;
	}
	*out = (char *)b.data;
	*len = b.len;
	return 0;
}

int bundle_load(const char *path, struct bundle **out, char *err, size_t errlen)
{
	struct bparse bp = { .path = path, .err = err, .errlen = errlen };
	struct bundle *b = NULL;
	char *text = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = slurp(path, &text, &len, err, errlen)) < 0)
		return r;
	if (!(b = bundle_new())) {
		r = -ENOMEM;
		goto out;
	}
	bp.p = text;
	bp.end = text + len;
	if ((r = parse(&bp, b)) < 0)
		goto out;
	*out = b;
	b = NULL;
out:
	if (r == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
	bundle_free(b);
	OPENSSL_cleanse(text, len);
	free(text);
	ERR_clear_error();
	return r;
}

static int encode(BIO *m, const struct bundle *b)
{
	size_t i;
	int ok = 1;

	ok &= BIO_printf(m, "vigil-bundle 1\nrole %s\nname %s\nserver %s\n",
			 role_name(b->role), b->name, b->server) > 0;
	for (i = 0; i < b->ntrust; i++) {
		ok &= BIO_printf(m, "trust %s\n", b->trust[i].name) > 0;
		ok &= PEM_write_bio_PUBKEY(m, b->trust[i].pub);
	}
	ok &= BIO_puts(m, "cert\n") > 0 && PEM_write_bio_X509(m, b->cert);
	ok &= BIO_puts(m, "key\n") > 0 &&
	      PEM_write_bio_PrivateKey(m, b->key, NULL, NULL, 0, NULL, NULL);
	ok &= BIO_puts(m, "ca\n") > 0 && PEM_write_bio_X509(m, b->ca);
	if (b->sign_key)
		ok &= BIO_puts(m, "sign-key\n") > 0 &&
		      PEM_write_bio_PrivateKey(m, b->sign_key, NULL, NULL, 0, NULL, NULL);
	if (b->sign_pub)
		ok &= BIO_puts(m, "sign-pub\n") > 0 && PEM_write_bio_PUBKEY(m, b->sign_pub);
	ok &= BIO_puts(m, "end\n") > 0;
	return ok ? 0 : -EINVAL;
}

int bundle_save(const char *path, const struct bundle *b)
{
	BIO *m;
	char *data;
	long len;
	int r;

	if (!b->cert || !b->key || !b->ca || !name_valid(b->name))
		return -EINVAL;
	if (!(m = BIO_new(BIO_s_mem())))
		return -ENOMEM;
	if ((r = encode(m, b)) == 0) {
		len = BIO_get_mem_data(m, &data);
		r = file_write_atomic(path, data, (size_t)len, 0600, 0);
	}
	BIO_free(m);   /* BIO_s_mem: frees (does not scrub) the private key text */
	ERR_clear_error();
	return r;
}

int bundle_add_trust(struct bundle *b, const char *name, EVP_PKEY *pub)
{
	struct bundle_trust *t;
	size_t i;

	if (!name_valid(name) || !sign_is_ed25519(pub))
		return -EINVAL;
	for (i = 0; i < b->ntrust; i++) {
		if (!strcmp(b->trust[i].name, name)) {
			EVP_PKEY_up_ref(pub);
			EVP_PKEY_free(b->trust[i].pub);
			b->trust[i].pub = pub;
			return 0;
		}
	}
	if (b->ntrust >= BUNDLE_TRUST_MAX)
		return -ENOSPC;
	if (!(t = realloc(b->trust, (b->ntrust + 1) * sizeof(*t))))
		return -ENOMEM;
	b->trust = t;
	snprintf(t[b->ntrust].name, sizeof(t->name), "%s", name);
	EVP_PKEY_up_ref(pub);
	t[b->ntrust++].pub = pub;
	return 0;
}

int bundle_remove_trust(struct bundle *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->ntrust; i++) {
		if (!strcmp(b->trust[i].name, name)) {
			EVP_PKEY_free(b->trust[i].pub);
			memmove(&b->trust[i], &b->trust[i + 1],
				(b->ntrust - i - 1) * sizeof(*b->trust));
			b->ntrust--;
			return 0;
		}
	}
	return -ENOENT;
}

EVP_PKEY *bundle_find_trust(const struct bundle *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->ntrust; i++)
		if (!strcmp(b->trust[i].name, name))
			return b->trust[i].pub;
	return NULL;
}
