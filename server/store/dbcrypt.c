/* dbcrypt.c — an SQLite VFS that keeps database pages encrypted on the disk
 * (dbcrypt.h; format in docs/store-format.md, "Encryption at rest").
 *
 * A database of DBCRYPT_PAGE-byte pages, each with DBCRYPT_RESERVE bytes
 * that SQLite leaves unused (reserve bytes, set before the first write).
 * A page on the disk: AES-256-GCM of bytes [c, PAGE - RESERVE) in place,
 * then nonce[12] (random per write), tag[16], 4 zero bytes.  c is 0,
 * except on page 1, whose bytes 0..23 stay readable: 0..15 say
 * "vigil-sealed-db" instead of SQLite's magic, 16..23 are the page size,
 * versions and reserve (so a reader knows the layout before any key).
 * Additional data: a kind byte ('D' database, 'W' write-ahead log), the
 * page's number (its frame's index in a WAL) and page 1's clear bytes.
 *
 * The WAL: its 32-byte header and each frame's 24-byte header stay clear
 * (page number, commit size, salts, and SQLite's checksums, computed over
 * the plain page); each frame's page is sealed as above.  A WAL page that
 * fails its tag reads as zeros, so recovery stops at a torn frame as its
 * checksum fails; a database page that fails is SQLITE_IOERR_DATA.  Other
 * files (rollback journals, which a WAL database uses only while it is
 * created, and temporary files, kept in memory: temp_store) pass through. */
#include "server/store/dbcrypt.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define PG        DBCRYPT_PAGE
#define BODY      (PG - DBCRYPT_RESERVE)   /* nonce at BODY, tag at BODY + 12 */
#define NONCE     12
#define TAG       16
#define CLEAR1    24                       /* page 1's clear bytes */
#define WAL_HDR   32
#define WAL_FHDR  24
#define FCNTL_KIND 0x76670001              /* dbcrypt_open asks a file's kind */

enum { K_PLAIN, K_DB, K_WAL };

static const char sqlite_magic[16] = "SQLite format 3";
static const char sealed_magic[16] = "vigil-sealed-db";

static uint8_t page_key[32];
static bool key_on;
static sqlite3_vfs vfs;

struct dbc_file {
	sqlite3_file base;
	int kind;
	EVP_CIPHER_CTX *ex, *dx;
	const char *name;      /* a database file's (registered while open) */
	struct dbc_file *next;
	uint8_t raw[PG];
	sqlite3_file *real;    /* the default VFS's file, right after this */
};
/* SQLite allocates files 8-byte aligned; the default VFS's file follows */
_Static_assert(sizeof(struct dbc_file) % 8 == 0, "struct dbc_file keeps its successor aligned");

#define REAL(f) (((struct dbc_file *)(f))->real)

static sqlite3_vfs *real_vfs(void) { return vfs.pAppData; }

/* The encrypted span holding offset off: [*start, *start + PG), its id;
 * false when off lies in a clear part (then *start, *len: that part). */
static bool unit_of(int kind, sqlite3_int64 off, sqlite3_int64 *start, sqlite3_int64 *len,
		    uint64_t *id)
{
	sqlite3_int64 f, fo;

	if (kind == K_DB) {
		*start = off / PG * PG;
		*len = PG;
		*id = (uint64_t)(off / PG) + 1;
		return true;
	}
	if (off < WAL_HDR) {
		*start = 0;
		*len = WAL_HDR;
		return false;
	}
	f = (off - WAL_HDR) / (PG + WAL_FHDR);
	fo = WAL_HDR + f * (PG + WAL_FHDR);
	*id = (uint64_t)f;
	if (off < fo + WAL_FHDR) {
		*start = fo;
		*len = WAL_FHDR;
		return false;
	}
	*start = fo + WAL_FHDR;
	*len = PG;
	return true;
}

static int clear_len(int kind, uint64_t id) { return kind == K_DB && id == 1 ? CLEAR1 : 0; }

/* kind, id (big-endian) and page 1's clear bytes: what the tag covers
 * besides the ciphertext */
static void aad_make(int kind, uint64_t id, const uint8_t *page, uint8_t *aad, int *n)
{
	int c = clear_len(kind, id);

	aad[0] = kind == K_DB ? 'D' : 'W';
	for (int i = 8; i >= 1; i--, id >>= 8)
		aad[i] = (uint8_t)id;
	memcpy(aad + 9, page, c);
	*n = 9 + c;
}

/* in (plain, PG bytes) -> out (sealed).  SQLITE_OK or an I/O error. */
static int seal(struct dbc_file *f, uint64_t id, const uint8_t *in, uint8_t *out)
{
	uint8_t aad[9 + CLEAR1];
	int c = clear_len(f->kind, id), n = 0, k = 0;

	for (int i = BODY; i < PG; i++)   /* SQLite must leave the reserve alone */
		if (in[i])
			return SQLITE_IOERR_WRITE;
	if (c && (memcmp(in, sqlite_magic, 16) || in[20] < DBCRYPT_RESERVE))
		return SQLITE_IOERR_WRITE;
	memcpy(out, in, c);
	if (c)
		memcpy(out, sealed_magic, 16);
	memset(out + BODY, 0, DBCRYPT_RESERVE);
	aad_make(f->kind, id, out, aad, &n);
	if (RAND_bytes(out + BODY, NONCE) != 1 ||
	    EVP_EncryptInit_ex(f->ex, NULL, NULL, NULL, out + BODY) != 1 ||
	    EVP_EncryptUpdate(f->ex, NULL, &k, aad, n) != 1 ||
	    EVP_EncryptUpdate(f->ex, out + c, &k, in + c, BODY - c) != 1 ||
	    EVP_EncryptFinal_ex(f->ex, out + c + k, &k) != 1 ||
	    EVP_CIPHER_CTX_ctrl(f->ex, EVP_CTRL_GCM_GET_TAG, TAG, out + BODY + NONCE) != 1)
		return SQLITE_IOERR_WRITE;
	return SQLITE_OK;
}

/* in (sealed) -> out (plain).  0, or -1 when the tag fails (out zeroed). */
static int unseal(struct dbc_file *f, uint64_t id, const uint8_t *in, uint8_t *out)
{
	uint8_t aad[9 + CLEAR1];
	int c = clear_len(f->kind, id), n = 0, k = 0, ok;

	aad_make(f->kind, id, in, aad, &n);
	ok = (!c || !memcmp(in, sealed_magic, 16)) &&
	     EVP_DecryptInit_ex(f->dx, NULL, NULL, NULL, in + BODY) == 1 &&
	     EVP_DecryptUpdate(f->dx, NULL, &k, aad, n) == 1 &&
	     EVP_DecryptUpdate(f->dx, out + c, &k, in + c, BODY - c) == 1 &&
	     EVP_CIPHER_CTX_ctrl(f->dx, EVP_CTRL_GCM_SET_TAG, TAG, (void *)(in + BODY + NONCE)) == 1 &&
	     EVP_DecryptFinal_ex(f->dx, out + c + k, &k) == 1;
	memset(out + BODY, 0, DBCRYPT_RESERVE);
	if (!ok) {
		OPENSSL_cleanse(out, PG);
		return -1;
	}
	if (c) {
		memcpy(out, sqlite_magic, 16);
		memcpy(out + 16, in + 16, c - 16);
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The open database files and their kinds, for their WALs: SQLite
 * names a WAL by its database's name (sqlite3_filename_database).  Never
 * an open() of a database file here: closing that descriptor would drop
 * every POSIX lock this process holds on the file (the unix VFS shares
 * one descriptor per inode for that reason). */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dbc_file *reg_head;

static void reg_add(struct dbc_file *f)
{
	pthread_mutex_lock(&reg_mu);
	f->next = reg_head;
	reg_head = f;
	pthread_mutex_unlock(&reg_mu);
}

static void reg_del(struct dbc_file *f)
{
	pthread_mutex_lock(&reg_mu);
	for (struct dbc_file **p = &reg_head; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	pthread_mutex_unlock(&reg_mu);
}

static int wal_kind(const char *db)
{
	int kind = K_PLAIN;

	pthread_mutex_lock(&reg_mu);
	for (struct dbc_file *f = reg_head; f; f = f->next)
		if (!strcmp(f->name, db)) {
			kind = f->kind == K_DB ? K_WAL : K_PLAIN;
			break;
		}
	pthread_mutex_unlock(&reg_mu);
	return kind;
}

/* The plain page of the unit at start into out.  SQLITE_OK, or
 * SQLITE_IOERR_SHORT_READ when it lies past the end (zeros), or an error. */
static int unit_read(struct dbc_file *f, sqlite3_int64 start, uint64_t id, uint8_t *out)
{
	int rc = f->real->pMethods->xRead(f->real, f->raw, PG, start);

	if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ)
		return rc;
	if (all_zero(f->raw, PG)) {   /* past the end, or never written */
		memset(out, 0, PG);
		return rc;
	}
	if (unseal(f, id, f->raw, out) == 0)
		return SQLITE_OK;
	return f->kind == K_WAL ? SQLITE_OK : SQLITE_IOERR_DATA;
}

static int x_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
	struct dbc_file *f = (struct dbc_file *)file;
	uint8_t *p = buf, plain[PG];
	sqlite3_int64 start, len, n;
	int rc, short_rd = 0;
	uint64_t id = 0;

	if (f->kind == K_PLAIN)
		return f->real->pMethods->xRead(f->real, buf, amt, off);
	while (amt > 0) {
		bool sealed = unit_of(f->kind, off, &start, &len, &id);

		n = start + len - off < amt ? start + len - off : amt;
		if (!sealed) {
			rc = f->real->pMethods->xRead(f->real, p, (int)n, off);
		} else if ((rc = unit_read(f, start, id, plain)) == SQLITE_OK ||
			   rc == SQLITE_IOERR_SHORT_READ) {
			memcpy(p, plain + (off - start), (size_t)n);
		}
		if (rc == SQLITE_IOERR_SHORT_READ)
			short_rd = 1;
		else if (rc != SQLITE_OK)
			return rc;
		p += n, off += n, amt -= (int)n;
	}
	OPENSSL_cleanse(plain, sizeof(plain));
	return short_rd ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

static int x_write(sqlite3_file *file, const void *buf, int amt, sqlite3_int64 off)
{
	struct dbc_file *f = (struct dbc_file *)file;
	const uint8_t *p = buf;
	sqlite3_int64 start, len, n;
	uint64_t id = 0;
	int rc;

	if (f->kind == K_PLAIN)
		return f->real->pMethods->xWrite(f->real, buf, amt, off);
	while (amt > 0) {
		bool sealed = unit_of(f->kind, off, &start, &len, &id);

		n = start + len - off < amt ? start + len - off : amt;
		if (!sealed) {
			rc = f->real->pMethods->xWrite(f->real, p, (int)n, off);
		} else if (off != start || n != PG) {   /* SQLite writes whole pages */
			rc = SQLITE_IOERR_WRITE;
		} else if ((rc = seal(f, id, p, f->raw)) == SQLITE_OK) {
			rc = f->real->pMethods->xWrite(f->real, f->raw, PG, off);
		}
		if (rc != SQLITE_OK)
			return rc;
		p += n, off += n, amt -= (int)n;
	}
	return SQLITE_OK;
}

static int x_close(sqlite3_file *file)
{
	struct dbc_file *f = (struct dbc_file *)file;
	int rc = f->real->pMethods->xClose(f->real);

	if (f->name)
		reg_del(f);
	EVP_CIPHER_CTX_free(f->ex);
	EVP_CIPHER_CTX_free(f->dx);
	OPENSSL_cleanse(f->raw, sizeof(f->raw));
	return rc;
}

static int x_file_control(sqlite3_file *file, int op, void *arg)
{
	if (op == FCNTL_KIND) {
		*(int *)arg = ((struct dbc_file *)file)->kind;
		return SQLITE_OK;
	}
	return REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}

/* ---- the rest passes through ---- */
static int x_truncate(sqlite3_file *f, sqlite3_int64 size) { return REAL(f)->pMethods->xTruncate(REAL(f), size); }
static int x_sync(sqlite3_file *f, int flags) { return REAL(f)->pMethods->xSync(REAL(f), flags); }
static int x_size(sqlite3_file *f, sqlite3_int64 *size) { return REAL(f)->pMethods->xFileSize(REAL(f), size); }
static int x_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int x_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int x_reserved(sqlite3_file *f, int *out) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out); }
static int x_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int x_devchar(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int x_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **p)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, p);
}
static int x_shm_lock(sqlite3_file *f, int o, int n, int fl) { return REAL(f)->pMethods->xShmLock(REAL(f), o, n, fl); }
static void x_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int x_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }

/* version 2: no xFetch, so SQLite never maps pages past the decryption */
static const sqlite3_io_methods io = {
	2, x_close, x_read, x_write, x_truncate, x_sync, x_size, x_lock, x_unlock, x_reserved,
	x_file_control, x_sector, x_devchar, x_shm_map, x_shm_lock, x_shm_barrier, x_shm_unmap,
	NULL, NULL,
};

/* A database file's kind from its first bytes (read through the real
 * file): sealed or new (empty) K_DB, anything else K_PLAIN. */
static int db_kind(sqlite3_file *real)
{
	char h[16] = { 0 };
	int rc = real->pMethods->xRead(real, h, sizeof(h), 0);

	if (rc == SQLITE_IOERR_SHORT_READ && all_zero((const uint8_t *)h, sizeof(h)))
		return K_DB;
	return rc == SQLITE_OK && !memcmp(h, sealed_magic, 16) ? K_DB : K_PLAIN;
}

static int x_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *file, int flags, int *out)
{
	struct dbc_file *f = (struct dbc_file *)file;
	int rc;

	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	if ((rc = real_vfs()->xOpen(real_vfs(), name, f->real, flags, out)) != SQLITE_OK)
		return rc;
	if (name && (flags & SQLITE_OPEN_MAIN_DB)) {
		f->kind = db_kind(f->real);
		f->name = name;
		reg_add(f);
	} else if (name && (flags & SQLITE_OPEN_WAL)) {
		f->kind = wal_kind(sqlite3_filename_database(name));
	}
	if (f->kind != K_PLAIN) {
		f->ex = EVP_CIPHER_CTX_new();
		f->dx = EVP_CIPHER_CTX_new();
		if (!f->ex || !f->dx ||
		    EVP_EncryptInit_ex(f->ex, EVP_aes_256_gcm(), NULL, page_key, NULL) != 1 ||
		    EVP_DecryptInit_ex(f->dx, EVP_aes_256_gcm(), NULL, page_key, NULL) != 1) {
			x_close(file);
			return SQLITE_NOMEM;
		}
	}
	f->base.pMethods = &io;
	return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *v, const char *p, int sync) { return real_vfs()->xDelete(real_vfs(), p, sync); }
static int v_access(sqlite3_vfs *v, const char *p, int fl, int *out) { return real_vfs()->xAccess(real_vfs(), p, fl, out); }
static int v_full(sqlite3_vfs *v, const char *p, int n, char *out) { return real_vfs()->xFullPathname(real_vfs(), p, n, out); }
static int v_random(sqlite3_vfs *v, int n, char *out) { return real_vfs()->xRandomness(real_vfs(), n, out); }
static int v_sleep(sqlite3_vfs *v, int us) { return real_vfs()->xSleep(real_vfs(), us); }
static int v_time(sqlite3_vfs *v, double *t) { return real_vfs()->xCurrentTime(real_vfs(), t); }
static int v_err(sqlite3_vfs *v, int n, char *out) { return real_vfs()->xGetLastError(real_vfs(), n, out); }
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *t) { return real_vfs()->xCurrentTimeInt64(real_vfs(), t); }

void dbcrypt_key_set(const struct store_key *key)
{
	sqlite3_vfs *def;

	store_key_derive(key, "vigil sqlite pages v1", page_key);
	if (key_on || !(def = sqlite3_vfs_find(NULL)))
		return;
	vfs = (sqlite3_vfs){
		.iVersion = 2, .szOsFile = (int)sizeof(struct dbc_file) + def->szOsFile,
		.mxPathname = def->mxPathname, .zName = DBCRYPT_VFS, .pAppData = def,
		.xOpen = x_open, .xDelete = v_delete, .xAccess = v_access, .xFullPathname = v_full,
		.xDlOpen = def->xDlOpen, .xDlError = def->xDlError, .xDlSym = def->xDlSym,
		.xDlClose = def->xDlClose, .xRandomness = v_random, .xSleep = v_sleep,
		.xCurrentTime = v_time, .xGetLastError = v_err, .xCurrentTimeInt64 = v_time64,
	};
	if (sqlite3_vfs_register(&vfs, 0) == SQLITE_OK)
		key_on = true;
}

bool dbcrypt_on(void) { return key_on; }

/* The first 16 bytes of db's main file, read through SQLite's own file
 * (never a second descriptor: see reg_mu). */
static bool conn_sealed(sqlite3 *db)
{
	sqlite3_file *fp = NULL;
	char h[16];

	return sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &fp) == SQLITE_OK && fp &&
	       fp->pMethods && fp->pMethods->xRead(fp, h, sizeof(h), 0) == SQLITE_OK &&
	       !memcmp(h, sealed_magic, 16);
}

int dbcrypt_open(const char *path, int flags, sqlite3 **db)
{
	int kind = K_PLAIN, reserve = DBCRYPT_RESERVE, rc;

	*db = NULL;
	rc = sqlite3_open_v2(path, db, flags, key_on ? DBCRYPT_VFS : NULL);
	if (rc == SQLITE_OK && !key_on && conn_sealed(*db))
		rc = SQLITE_AUTH;
	if (rc == SQLITE_OK && key_on)
		sqlite3_file_control(*db, "main", FCNTL_KIND, &kind);
	/* before the first write: the reserve that holds nonce and tag, and
	 * no temporary file of plain pages outside DIR */
	if (rc == SQLITE_OK && kind == K_DB) {
		sqlite3_file_control(*db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
		rc = sqlite3_exec(*db, "PRAGMA page_size=4096; PRAGMA temp_store=MEMORY", NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		sqlite3_close(*db);
		*db = NULL;
	}
	return rc;
}
