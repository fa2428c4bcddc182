/* srvkey.c — finding the secret of an encrypted store and unwrapping its
 * data key (srvkey.h). */
#include "server/srvkey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/conffile.h"
#include "server/store/dbcrypt.h"

/* --key-file / --passphrase-file taken off a subcommand's arguments by
 * srvkey_cli_take (used when a call gives neither) */
static struct srvkey_opts cli;
static const char *tty_prompt = "passphrase: ";

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

/* A line of the terminal on stdin: a prompt on stderr, echo off while
 * it is typed (restored on every way out). */
static int tty_read(char *out, size_t *n)
{
	struct termios old, quiet;
	int r;

	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return line_read(STDIN_FILENO, out, n);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
		return -errno;
	fputs(tty_prompt, stderr);   /* after: what is typed from now is not shown */
	fflush(stderr);
	r = line_read(STDIN_FILENO, out, n);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return r;
}

static int pass_file_read(const char *path, char *out, size_t *n)
{
	int fd, r;

	if (!strcmp(path, "-"))
		return isatty(STDIN_FILENO) ? tty_read(out, n) : line_read(STDIN_FILENO, out, n);
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
		kf = cli.key_file;
		pf = cli.pass_file;
	}
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
	if (r == 0)
		dbcrypt_key_set(key);
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
	if (r == 0)
		dbcrypt_key_set(key);
	if (r < 0)
		snprintf(err, errlen, "%s/%s: %s", path, STOREKEY_FILE, strerror(-r));
	store_secret_clear(&s);
	OPENSSL_cleanse(pass, sizeof(pass));
	return r;
}

int srvkey_rekey(const char *dir, const struct srvkey_opts *nw, char *err, size_t errlen)
{
	char path[4096], pass[SRVKEY_PASS_MAX];
	const struct srvkey_opts none = { 0 };
	struct store_secret s;
	struct store_key key;
	bool enc = false;
	int r;

	if ((r = srvkey_load(dir, &none, &key, &enc, err, errlen)) < 0)
		return r;
	store_path(dir, path, sizeof(path));
	if (!enc)
		return snprintf(err, errlen, "%s: not an encrypted store", path), -EINVAL;
	tty_prompt = "new passphrase: ";
	if ((r = secret_get(nw, true, &s, pass, err, errlen)) == 0) {
		r = store_key_rewrap(path, &s, &key);
		if (r < 0)
			snprintf(err, errlen, "%s/%s: %s", path, STOREKEY_FILE, strerror(-r));
	}
	store_secret_clear(&s);
	OPENSSL_cleanse(pass, sizeof(pass));
	OPENSSL_cleanse(&key, sizeof(key));
	return r;
}

int srvkey_cli_take(int *argc, char **argv, const struct srvkey_opts *dflt)
{
	bool bad = false;
	const char *v;

	for (int i = 1; i < *argc && !bad;) {
		if ((v = conf_argv_take(argc, argv, i, "--key-file", &bad)))
			cli.key_file = v;
		else if ((v = conf_argv_take(argc, argv, i, "--passphrase-file", &bad)))
			cli.pass_file = v;
		else if (!bad)
			i++;
	}
	if (bad || (cli.key_file && cli.pass_file)) {
		fprintf(stderr, "%s: %s\n", "vigil-server", bad ? "--key-file and --passphrase-file"
			" need a FILE" : "give one of --key-file, --passphrase-file");
		return 2;
	}
	if (!cli.key_file && !cli.pass_file)
		cli = *dflt;
	return 0;
}

int srvkey_cli_load(const char *dir)
{
	const struct srvkey_opts none = { 0 };
	char err[4096 + 128] = "";
	struct store_key key;
	bool enc = false;
	int r;

	r = srvkey_load(dir, &none, &key, &enc, err, sizeof(err));
	OPENSSL_cleanse(&key, sizeof(key));
	if (r < 0)
		fprintf(stderr, "%s: %s\n", "vigil-server", err);
	return r < 0 ? 1 : 0;
}
