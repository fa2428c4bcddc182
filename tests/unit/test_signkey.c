/* test_signkey.c — controller/signkey.c: which key `vigil` signs with
 * (--sign-key, $VIGIL_SIGN_KEY, the bundle's private half, the file next
 * to the bundle; a table), where keygen writes by default, and the checks
 * on a real key file: the enrolled key is taken, another controller's key,
 * a public half, a missing file and garbage are refused with their errno. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/bundle.h"
#include "common/sign.h"
#include "controller/signkey.h"

static char dir[] = "/tmp/vigil-test-signkey-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_locate(void **state)
{
	static const struct {
		const char *opt, *env;
		bool priv;
		const char *bundle;
		enum signkey_src src;
		const char *want;
	} t[] = {
		{ "/k/opt.key", "/k/env.key", true, "/b/c.bundle", SIGNKEY_OPTION, "/k/opt.key" },
		{ "rel.key", NULL, false, "/b/c.bundle", SIGNKEY_OPTION, "rel.key" },
		{ NULL, "/k/env.key", true, "/b/c.bundle", SIGNKEY_ENV, "/k/env.key" },
		{ NULL, "", true, "/b/c.bundle", SIGNKEY_BUNDLE, "" },
		{ NULL, NULL, true, "/b/c.bundle", SIGNKEY_BUNDLE, "" },
		{ NULL, NULL, false, "/home/a/.config/vigil/controller.bundle", SIGNKEY_DEFAULT,
		  "/home/a/.config/vigil/controller.key" },
		{ NULL, "", false, "ops.bundle", SIGNKEY_DEFAULT, "ops.key" },
		{ NULL, NULL, false, "/b/ops", SIGNKEY_DEFAULT, "/b/ops.key" },
		{ NULL, NULL, false, "/b/x.bundle.old", SIGNKEY_DEFAULT, "/b/x.bundle.old.key" },
		{ NULL, NULL, false, "/b/.bundle", SIGNKEY_DEFAULT, "/b/.bundle.key" },
		{ NULL, NULL, false, ".bundle", SIGNKEY_DEFAULT, ".bundle.key" },
		{ NULL, NULL, false, "a.bundle", SIGNKEY_DEFAULT, "a.key" },
	};
	char out[PATH_MAX];
	enum signkey_src src;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(signkey_locate(t[i].opt, t[i].env, t[i].priv, t[i].bundle, &src,
						out, sizeof(out)), 0);
		if (src != t[i].src || strcmp(out, t[i].want) != 0)
			fail_msg("case %zu: source %d path \"%s\", want %d \"%s\"", i, src, out,
				 t[i].src, t[i].want);
		/* keygen writes where signing looks when the bundle has no private half */
		assert_int_equal(signkey_keygen_path(t[i].opt, t[i].env, t[i].bundle, out,
						     sizeof(out)), 0);
		if (!t[i].priv || t[i].src != SIGNKEY_BUNDLE)
			assert_string_equal(out, t[i].want);
	}
	assert_int_equal(signkey_locate(NULL, NULL, false, "/b/c.bundle", &src, out, 8),
			 -ENAMETOOLONG);
	assert_int_equal(signkey_locate("/a/very/long/name", NULL, false, "x", &src, out, 8),
			 -ENAMETOOLONG);
}

/* dir/name, in one of four rotating buffers: copy what must outlive them. */
static char *path_in(const char *name)
{
	static char p[4][PATH_MAX];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

/* A controller bundle enrolled with --pubkey: only the public half of key. */
static struct bundle *pub_bundle(EVP_PKEY *key)
{
	struct bundle *b = bundle_new();

	assert_non_null(b);
	b->role = ROLE_CONTROLLER;
	snprintf(b->name, sizeof(b->name), "ops");
	assert_non_null(b->sign_pub = sign_pub_dup(key));
	return b;
}

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void assert_same_key(EVP_PKEY *a, EVP_PKEY *b)
{
	uint8_t ra[SIGN_PUB_LEN], rb[SIGN_PUB_LEN];

	assert_int_equal(sign_pub_raw(a, ra), 0);
	assert_int_equal(sign_pub_raw(b, rb), 0);
	assert_memory_equal(ra, rb, SIGN_PUB_LEN);
	assert_true(sign_has_private(a));
}

static void test_load(void **state)
{
	EVP_PKEY *mine = sign_keygen(), *other = sign_keygen(), *got = NULL;
	struct bundle *b = pub_bundle(mine);
	char err[1024], bf[PATH_MAX];

	snprintf(bf, sizeof(bf), "%s", path_in("ops.bundle"));

	assert_int_equal(sign_key_save(path_in("ops.key"), mine, true), 0);
	assert_int_equal(sign_key_save(path_in("mine.key"), mine, true), 0);
	assert_int_equal(sign_key_save(path_in("mine.key.pub"), mine, false), 0);
	assert_int_equal(sign_key_save(path_in("other.key"), other, true), 0);
	write_text(path_in("junk.key"), "-----BEGIN PRIVATE KEY-----\nnot base64\n");

	/* the default next to the bundle, --sign-key, $VIGIL_SIGN_KEY */
	assert_int_equal(signkey_load(b, bf, NULL, NULL, &got, err, sizeof(err)), 0);
	assert_same_key(got, mine);
	EVP_PKEY_free(got);
	assert_int_equal(signkey_load(b, bf, path_in("mine.key"), path_in("other.key"), &got,
				      err, sizeof(err)), 0);
	assert_same_key(got, mine);
	EVP_PKEY_free(got);
	assert_int_equal(signkey_load(b, bf, NULL, path_in("mine.key"), &got, err, sizeof(err)), 0);
	EVP_PKEY_free(got);

	/* refused: another key, the public half, garbage, a missing file */
	assert_int_equal(signkey_load(b, bf, path_in("other.key"), NULL, &got, err, sizeof(err)),
			 -EKEYREJECTED);
	assert_null(got);
	assert_int_equal(signkey_load(b, bf, NULL, path_in("other.key"), &got, err, sizeof(err)),
			 -EKEYREJECTED);
	assert_int_equal(signkey_load(b, bf, path_in("mine.key.pub"), NULL, &got, err,
				      sizeof(err)), -EINVAL);
	assert_int_equal(signkey_load(b, bf, path_in("junk.key"), NULL, &got, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(signkey_load(b, bf, path_in("none.key"), NULL, &got, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(signkey_load(b, path_in("lonely.bundle"), NULL, NULL, &got, err,
				      sizeof(err)), -ENOENT);
	assert_null(got);

	/* a bundle with no enrolled public key takes no key at all */
	EVP_PKEY_free(b->sign_pub);
	b->sign_pub = NULL;
	assert_int_equal(signkey_load(b, bf, NULL, NULL, &got, err, sizeof(err)), -EKEYREJECTED);
	bundle_free(b);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(other);
}

/* A bundle the server made the pair for: its own private half, unless an
 * explicit key is given, which must still be the enrolled one. */
static void test_bundle_private(void **state)
{
	EVP_PKEY *mine = sign_keygen(), *other = sign_keygen(), *got = NULL;
	struct bundle *b = pub_bundle(mine);
	char err[1024], bf[PATH_MAX];

	snprintf(bf, sizeof(bf), "%s", path_in("own.bundle"));

	assert_true(EVP_PKEY_up_ref(mine));
	b->sign_key = mine;
	assert_int_equal(sign_key_save(path_in("own-other.key"), other, true), 0);
	write_text(path_in("own.key"), "not a key at all");   /* never read */
	assert_int_equal(signkey_load(b, bf, NULL, NULL, &got, err, sizeof(err)), 0);
	assert_ptr_equal(got, mine);
	EVP_PKEY_free(got);
	assert_int_equal(signkey_load(b, bf, path_in("own-other.key"), NULL, &got, err,
				      sizeof(err)), -EKEYREJECTED);

	/* a bundle whose private half does not match its public one */
	EVP_PKEY_free(b->sign_pub);
	b->sign_pub = sign_pub_dup(other);
	assert_int_equal(signkey_load(b, bf, NULL, NULL, &got, err, sizeof(err)), -EKEYREJECTED);
	bundle_free(b);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locate),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_bundle_private),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
