/* srvkey.c — finding the secret of an encrypted store and unwrapping its
 * data key (srvkey.h). */
#include "server/srvkey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>


/* One line (without its newline) from fd, at most SRVKEY_PASS_MAX bytes. */
static int line_read(int fd, char *out, size_t *n)
{
	size_t len = 0;
	char c;
	ssize_t k;

	while ((k = read(fd, &c, 1)) == 1 && c != '\n') {
		if (len == SRVKEY_PASS_MAX)
			return -EMSGSIZE;
		out[len++] = c;
	}
	if (k < 0)
		return -errno;
	if (len > 0 && out[len - 1] == '\r')
		len--;
	*n = len;
	return len ? 0 : -ENODATA;
}

static int pass_file_read(const char *path, char *out, size_t *n)
{
	int fd, r;

	if (!strcmp(path, "-"))
		return line_read(STDIN_FILENO, out, n);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return -errno;
	r = line_read(fd, out, n);
	close(fd);
	return r;
}

/* Fills s (the passphrase in pass, SRVKEY_PASS_MAX bytes) from the
 * options, else the environment.  create: a key file that does not
 * exist is made.  0, or -errno with err. */
static int secret_get(const struct srvkey_opts *o, bool create, struct store_secret *s,
		      char *pass, char *err, size_t errlen)
{
	const char *kf = o->key_file, *pf = o->pass_file, *pe = NULL;
	int r;

	memset(s, 0, sizeof(*s));
	if (!kf && !pf) {
		kf = getenv("VIGIL_KEY_FILE");
		pf = kf ? NULL : getenv("VIGIL_PASSPHRASE_FILE");
		pe = kf || pf ? NULL : getenv("VIGIL_PASSPHRASE");
	}
	if (kf) {
		r = store_key_file_read(kf, s->key);
		if (r == -ENOENT && create && (r = store_key_file_make(kf, s->key)) == 0)
			fprintf(stderr, "%s: made the key file %s: keep a copy away from this server\n",
				"vigil-server", kf);
		if (r < 0)
			return snprintf(err, errlen, "key file %s: %s", kf, r == -EINVAL ?
					"not 32 bytes or 64 hex digits" : strerror(-r)), r;
		s->has_key = true;
		return 0;
	}
	if (pe) {
		size_t n = strlen(pe);

		if (!n || n > SRVKEY_PASS_MAX)
			return snprintf(err, errlen, "VIGIL_PASSPHRASE is empty or too long"), -EINVAL;
		memcpy(pass, pe, n);
		s->pass = pass;
		s->plen = n;
		return 0;
	}
	if (!pf)
		return snprintf(err, errlen, "%s: give --key-file or --passphrase-file (or "
				"VIGIL_KEY_FILE, VIGIL_PASSPHRASE_FILE)", create ?
				"--encrypt needs a secret" : "the store is encrypted"), -ENOKEY;
	if ((r = pass_file_read(pf, pass, &s->plen)) < 0)
		return snprintf(err, errlen, "passphrase file %s: %s", pf, r == -ENODATA ?
				"empty" : strerror(-r)), r;
	s->pass = pass;
	return 0;
}

static void store_path(const char *dir, char *out, size_t cap)
{
	snprintf(out, cap, "%s/store", dir);
}

int srvkey_load(const char *dir, const struct srvkey_opts *o, struct store_key *key, bool *enc,
		char *err, size_t errlen)
{
	char path[4096], pass[SRVKEY_PASS_MAX];
	struct store_secret s;
	int r;

	store_path(dir, path, sizeof(path));
	*enc = store_key_present(path);
	if (!*enc)
		return 0;
	if ((r = secret_get(o, false, &s, pass, err, errlen)) < 0)
		return r;
	r = store_key_load(path, &s, key);
	if (r == -EKEYREJECTED)
		snprintf(err, errlen, "%s/%s: wrong %s", path, STOREKEY_FILE,
			 s.has_key ? "key file" : "passphrase");
	else if (r < 0)
		snprintf(err, errlen, "%s/%s: %s", path, STOREKEY_FILE,
			 r == -EINVAL ? "damaged or of an unknown kind" : strerror(-r));
	store_secret_clear(&s);
	OPENSSL_cleanse(pass, sizeof(pass));
	return r;
}

int srvkey_create(const char *dir, const struct srvkey_opts *o, struct store_key *key,
		  char *err, size_t errlen)
{
	char path[4096], pass[SRVKEY_PASS_MAX];
	struct store_secret s;
	int r;

	store_path(dir, path, sizeof(path));
	if ((r = secret_get(o, true, &s, pass, err, errlen)) < 0)
		return r;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		r = -errno;
	if (r == 0)
		r = store_key_create(path, &s, key);
	if (r < 0)
		snprintf(err, errlen, "%s/%s: %s", path, STOREKEY_FILE, strerror(-r));
	store_secret_clear(&s);
	OPENSSL_cleanse(pass, sizeof(pass));
	return r;
}
