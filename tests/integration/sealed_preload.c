/* sealed_preload.c — lets the sqlite3 shell open the index.db and
 * search.db of an encrypted test store (VIGIL_TEST_ENCRYPT=1): loaded with
 * LD_PRELOAD by the sqlite3 wrapper lib.sh puts first on PATH, it takes
 * over sqlite3_open_v2 and at the first call unwraps
 * VIGIL_SEALED_DIR's data key with the key file VIGIL_KEY_FILE and makes
 * server/store/dbcrypt.c's VFS the default (plain databases pass through
 * it unchanged).  Test tooling only: never linked into a program. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#include "server/store/dbcrypt.h"
#include "server/store/storekey.h"

/* The VFS, registered at the shell's first open: registering initializes
 * SQLite, which must come after the shell's sqlite3_config calls. */
static void sealed_register(void)
{
	const char *dir = getenv("VIGIL_SEALED_DIR"), *kf = getenv("VIGIL_KEY_FILE");
	struct store_secret s = { .has_key = true };
	struct store_key key;
	char path[4096];
	sqlite3_vfs *v;

	if (dbcrypt_on() || !dir || !kf || store_key_file_read(kf, s.key) < 0)
		return;
	snprintf(path, sizeof(path), "%s/store", dir);
	if (store_key_load(path, &s, &key) < 0) {
		fprintf(stderr, "sealed_preload: %s: cannot unwrap the data key\n", path);
		exit(1);
	}
	dbcrypt_key_set(&key);
	OPENSSL_cleanse(&key, sizeof(key));
	store_secret_clear(&s);
	if ((v = sqlite3_vfs_find(DBCRYPT_VFS)))
		sqlite3_vfs_register(v, 1);
}

/* the shell's open, interposed */
int sqlite3_open_v2(const char *name, sqlite3 **db, int flags, const char *vfs)
{
	static int (*real)(const char *, sqlite3 **, int, const char *);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "sqlite3_open_v2");
	sealed_register();
	return real(name, db, flags, vfs);
}
