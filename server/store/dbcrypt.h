/* dbcrypt.h — index.db and search.db of an encrypted store, encrypted page
 * by page (AES-256-GCM under a key derived from the store's data key) by
 * an SQLite VFS layered over the default one.  Plain databases (every
 * store made before, every unencrypted store) open through it unchanged.
 * Format and reasons: docs/store-format.md, "Encryption at rest". */
#ifndef VIGIL_DBCRYPT_H
#define VIGIL_DBCRYPT_H

#include <stdbool.h>
#include <sqlite3.h>

#include "server/store/storekey.h"

#define DBCRYPT_VFS      "vigil-sealed"
#define DBCRYPT_PAGE     4096   /* the page size of an encrypted database */
#define DBCRYPT_RESERVE  32     /* per page: nonce[12] tag[16] 4 zero bytes */

/* Registers the VFS (once; the process serves one store) with a page key
 * derived from the data key.  Call before any thread opens a database. */
void dbcrypt_key_set(const struct store_key *key);
/* True once a key was set. */
bool dbcrypt_on(void);
/* sqlite3_open_v2 of path: through the VFS when a key is set (a new file
 * is then made encrypted), else the default VFS.  An encrypted file
 * without a key: SQLITE_AUTH (*db NULL).  Closes *db itself on failure. */
int  dbcrypt_open(const char *path, int flags, sqlite3 **db);

#endif
