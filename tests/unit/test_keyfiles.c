/* test_keyfiles.c — key and bundle files against planted names (issue 10,
 * finding 1.4): sign_key_save (`vigil keygen`) and bundle_save (`enroll
 * --out`) once wrote OUT.tmp and OUT.tmp.PID without O_EXCL | O_NOFOLLOW.
 * Here a symlink to a victim file, or a file owned by another user, is
 * planted at each of those names and at OUT itself; after the save the
 * victim holds its old bytes, OUT is a regular file of ours with mode 0600
 * (0644 for a public key) holding the key, and no temp file is left. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/bundle.h"
#include "common/log.h"
#include "common/sign.h"
#include "tests/unit/pki_fixture.h"

#define FOREIGN_UID 4242   /* an owner that is not us (the tests run as root) */

static struct pki pki;
static char dir[64];

static void at(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void expect_text(const char *path, const char *text)
{
	char b[64] = "";
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_true(read(fd, b, sizeof(b) - 1) >= 0);
	close(fd);
	assert_string_equal(b, text);
}

/* Plants, for OUT = dir/name: kind 0 a symlink to the victim at OUT.tmp
 * and OUT.tmp.PID; kind 1 foreign-owned 0666 files there and at OUT;
 * kind 2 a symlink to the victim at OUT itself. */
static void plant(const char *name, int kind, const char *victim)
{
	static const char *const fmt[] = { "%s/%s.tmp", "%s/%s.tmp.%d" };
	char p[256];

	for (size_t i = 0; i < 2 && kind < 2; i++) {
		snprintf(p, sizeof(p), fmt[i], dir, name, (int)getpid());
		if (kind == 0)
			assert_int_equal(symlink(victim, p), 0);
		else {
			put(p, "planted", 0666);
			if (geteuid() == 0)
				assert_int_equal(chown(p, FOREIGN_UID, FOREIGN_UID), 0);
		}
	}
	at(p, sizeof(p), name);
	if (kind == 1) {
		put(p, "planted", 0644);
		if (geteuid() == 0)
			assert_int_equal(chown(p, FOREIGN_UID, FOREIGN_UID), 0);
	} else if (kind == 2)
		assert_int_equal(symlink(victim, p), 0);
}

/* OUT is ours, regular, mode; no ".tmp-" temp file remains in dir. */
static void expect_out(const char *name, mode_t mode)
{
	char p[256];
	struct stat sb;
	struct dirent *e;
	DIR *d;

	at(p, sizeof(p), name);
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_uid, geteuid());
	assert_int_equal(sb.st_mode & 07777, mode);
	assert_non_null(d = opendir(dir));
	while ((e = readdir(d)))
		assert_null(strstr(e->d_name, ".tmp-"));
	closedir(d);
}

static void test_sign_key_planted(void **state)
{
	char name[32], p[256], victim[256], err[256];
	EVP_PKEY *k = sign_keygen(), *l = NULL;

	assert_non_null(k);
	at(victim, sizeof(victim), "victim");
	for (int kind = 0; kind < 3; kind++) {
		put(victim, "victim", 0644);
		snprintf(name, sizeof(name), "ctl%d.key", kind);
		plant(name, kind, victim);
		at(p, sizeof(p), name);
		assert_int_equal(sign_key_save(p, k, true), 0);
		expect_text(victim, "victim");
		expect_out(name, 0600);
		assert_int_equal(sign_key_load(p, &l, err, sizeof(err)), 0);
		assert_true(sign_has_private(l));
		EVP_PKEY_free(l);
		snprintf(name, sizeof(name), "ctl%d.key.pub", kind);
		plant(name, kind, victim);
		at(p, sizeof(p), name);
		assert_int_equal(sign_key_save(p, k, false), 0);
		expect_text(victim, "victim");
		expect_out(name, 0644);
	}
	EVP_PKEY_free(k);
}

static void test_bundle_planted(void **state)
{
	char name[32], p[256], victim[256], err[256];
	struct bundle *b = bundle_new(), *l = NULL;

	assert_non_null(b);
	b->role = ROLE_DEVICE;
	snprintf(b->name, sizeof(b->name), "phone1");
	snprintf(b->server, sizeof(b->server), "127.0.0.1:7445");
	b->cert = pki.dev_cert;
	b->key = pki.dev_key;
	b->ca = pki.ca;
	X509_up_ref(b->cert);
	EVP_PKEY_up_ref(b->key);
	X509_up_ref(b->ca);
	at(victim, sizeof(victim), "victim");
	for (int kind = 0; kind < 3; kind++) {
		put(victim, "victim", 0644);
		snprintf(name, sizeof(name), "dev%d.bundle", kind);
		plant(name, kind, victim);
		at(p, sizeof(p), name);
		assert_int_equal(bundle_save(p, b), 0);
		expect_text(victim, "victim");
		expect_out(name, 0600);
		assert_int_equal(bundle_load(p, &l, err, sizeof(err)), 0);
		assert_string_equal(l->name, "phone1");
		bundle_free(l);
		l = NULL;
	}
	bundle_free(b);
}

static int setup(void **state)
{
	log_init("test_keyfiles", LOG_LVL_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/vigil-keyfiles-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return pki_setup(&pki);
}

static int teardown(void **state)
{
	char cmd[128];

	pki_teardown(&pki);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_key_planted),
		cmocka_unit_test(test_bundle_planted),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
