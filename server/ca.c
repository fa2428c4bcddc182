/* ca.c — the certificate authority of one server directory.  Makes the CA
 * and the server's certificate at init, and device/controller certificates
 * at enroll.  Keys are Ed25519 (TLS 1.3 signature scheme ed25519). */
#include "server/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "common/fdio.h"
#include "common/names.h"

#define CA_DAYS 3650L

static void ca_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char ebuf[200] = "";

	if (e)
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
	snprintf(err, errlen, "%s%s%s", what, *ebuf ? ": " : "", ebuf);
	ERR_clear_error();
}

static EVP_PKEY *keygen(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	if (!(ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)))
		return -EINVAL;
	ok = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return ok ? 0 : -ENOMEM;
}

/* A certificate for key with subject (ou, cn), signed by issuer_key; when
 * issuer is NULL it is self-signed (the CA). */
static X509 *make_cert(EVP_PKEY *key, const char *ou, const char *cn,
		       X509 *issuer, EVP_PKEY *issuer_key)
{
	X509 *c = X509_new();
	X509_NAME *n;
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	bool ca = issuer == NULL;
	bool server = !ca && !strcmp(ou, "server");

	if (!c || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;  /* positive */
	if (!(bn = BN_bin2bn(serial, sizeof(serial), NULL)) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)))
		goto fail;
	X509_set_version(c, 2);
	if (!X509_gmtime_adj(X509_getm_notBefore(c), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(c), CA_DAYS * 86400L))
		goto fail;
	n = X509_get_subject_name(c);
	if (!X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"vigil", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8, (const unsigned char *)ou, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
		goto fail;
	if (!X509_set_issuer_name(c, ca ? n : X509_get_subject_name(issuer)) ||
	    !X509_set_pubkey(c, key))
		goto fail;
	if (add_ext(c, ca ? c : issuer, NID_basic_constraints, ca ? "critical,CA:TRUE,pathlen:0" : "critical,CA:FALSE") ||
	    add_ext(c, ca ? c : issuer, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") ||
	    add_ext(c, ca ? c : issuer, NID_subject_key_identifier, "hash") ||
	    (!ca && add_ext(c, issuer, NID_authority_key_identifier, "keyid:always")) ||
	    (!ca && add_ext(c, issuer, NID_ext_key_usage, server ? "serverAuth" : "clientAuth")) ||
	    (server && add_ext(c, issuer, NID_subject_alt_name, "DNS:" TLS_SERVER_NAME)))
		goto fail;
	if (!X509_sign(c, ca ? key : issuer_key, NULL))
		goto fail;
	BN_free(bn);
	return c;
fail:
	BN_free(bn);
	X509_free(c);
	return NULL;
}

/* Writes PEM data to DIR/name, atomically and durably; never replaces a file. */
static int write_pem(const char *dir, const char *name, X509 *cert, EVP_PKEY *key,
		     char *err, size_t errlen)
{
	char path[4096];
	BIO *mem = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!mem || !(cert ? PEM_write_bio_X509(mem, cert)
		      : PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL))) {
		ca_err(err, errlen, "PEM encoding");
		BIO_free(mem);
		return -ENOMEM;
	}
	len = BIO_get_mem_data(mem, &data);
	r = file_write_atomic(path, data, (size_t)len, 0600, FILE_NOREPLACE);
	if (r < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	BIO_free(mem);
	return r;
}

/* DIR/ca, 0700; an existing one is fine. */
static int make_key_dir(const char *dir, char *err, size_t errlen)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, CA_KEY_DIR);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

int ca_key_migrate(const char *dir, char *err, size_t errlen)
{
	char from[4096], to[4096];
	int r;

	snprintf(from, sizeof(from), "%s/%s", dir, CA_KEY_OLD);
	snprintf(to, sizeof(to), "%s/%s", dir, CA_KEY_FILE);
	if (access(from, F_OK) < 0)
		return 0;
	if (access(to, F_OK) == 0) {
		snprintf(err, errlen, "%s and %s both exist; keep the one that matches ca.pem "
			 "in %s and remove the other", from, to, to);
		return -EEXIST;
	}
	if ((r = make_key_dir(dir, err, errlen)) < 0)
		return r;
	if ((r = rename_noreplace(AT_FDCWD, from, to)) < 0) {
		snprintf(err, errlen, "%s -> %s: %s", from, to, strerror(-r));
		return r;
	}
	if ((r = fsync_parent(to)) < 0 || (r = fsync_parent(from)) < 0) {
		snprintf(err, errlen, "%s: fsync: %s", dir, strerror(-r));
		return r;
	}
	return 1;
}

int ca_init(const char *dir, char *err, size_t errlen)
{
	static const char *const files[] = { "ca.pem", CA_KEY_FILE, "server.pem", "server.key" };
	EVP_PKEY *cakey = NULL, *skey = NULL;
	X509 *ca = NULL, *srv = NULL;
	char path[4096];
	size_t i;
	int r = -ENOMEM;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (access(path, F_OK) == 0) {
			snprintf(err, errlen, "%s already exists", path);
			return -EEXIST;
		}
	}
	if (!(cakey = keygen()) || !(skey = keygen()) ||
	    !(ca = make_cert(cakey, "ca", "vigil CA", NULL, NULL)) ||
	    !(srv = make_cert(skey, "server", TLS_SERVER_NAME, ca, cakey))) {
		ca_err(err, errlen, "cannot make CA");
		goto out;
	}
	if ((r = make_key_dir(dir, err, errlen)) < 0 ||
	    (r = write_pem(dir, CA_KEY_FILE, NULL, cakey, err, errlen)) < 0 ||
	    (r = write_pem(dir, "ca.pem", ca, NULL, err, errlen)) < 0 ||
	    (r = write_pem(dir, "server.key", NULL, skey, err, errlen)) < 0 ||
	    (r = write_pem(dir, "server.pem", srv, NULL, err, errlen)) < 0)
		goto out;
	r = 0;
out:
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(skey);
	X509_free(ca);
	X509_free(srv);
	return r;
}

/* dir/name opened for reading; NULL with the reason in err. */
static FILE *ca_open(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "re")))
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return f;
}

X509 *ca_load_cert(const char *dir, char *err, size_t errlen)
{
	FILE *f = ca_open(dir, "ca.pem", err, errlen);
	X509 *c;

	if (!f)
		return NULL;
	c = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!c)
		ca_err(err, errlen, "ca.pem: not a certificate");
	return c;
}

static EVP_PKEY *load_key(const char *dir, char *err, size_t errlen)
{
	FILE *f = ca_open(dir, CA_KEY_FILE, err, errlen);
	EVP_PKEY *k;

	if (!f)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		ca_err(err, errlen, "ca.key: not a private key");
	return k;
}

int ca_issue(const char *dir, enum vg_role role, const char *name,
	     X509 **cert, EVP_PKEY **key, char *err, size_t errlen)
{
	X509 *ca = NULL;
	EVP_PKEY *cakey = NULL;
	int r = -EINVAL;

	*cert = NULL;
	*key = NULL;
	if ((role != ROLE_DEVICE && role != ROLE_CONTROLLER) || !name_valid(name)) {
		snprintf(err, errlen, "cannot issue a %s certificate named \"%s\"",
			 role_name(role), name);
		return -EINVAL;
	}
	if (!(ca = ca_load_cert(dir, err, errlen)) || !(cakey = load_key(dir, err, errlen))) {
		r = -ENOENT;
		goto out;
	}
	if (X509_check_private_key(ca, cakey) != 1) {
		ca_err(err, errlen, "ca.key does not match ca.pem");
		goto out;
	}
	if (!(*key = keygen()) ||
	    !(*cert = make_cert(*key, role_name(role), name, ca, cakey))) {
		ca_err(err, errlen, "cannot issue certificate");
		EVP_PKEY_free(*key);
		*key = NULL;
		r = -ENOMEM;
		goto out;
	}
	r = 0;
out:
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return r;
}
