/* store.c — the chunk store: opening (with tail repair), the pack fd table,
 * reading chunks, and the SQLite index.  Appending lives in store_batch.c.
 * Format and crash rules: docs/store-format.md, "Pack store". */
#include "server/store/store_int.h"
#include "server/store/crc32.h"
#include "server/store/storekey.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include "common/byteorder.h"
#include "common/log.h"

/* The server is this database's only user: exclusive locking spares every
 * chunk lookup SQLite's shared-lock round (fcntl calls on the WAL index),
 * which was a third of the read path, and keeps a second server off it. */
#define STR_(x) #x
#define STR(x)  STR_(x)   /* STORE_FORMAT as a literal for the schema */

static const char *schema =
	"PRAGMA locking_mode=EXCLUSIVE;"
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	/* every chunk of an upload is looked up and inserted by its HMAC id,
	 * at random places in the index: SQLite's default 2 MB page cache
	 * misses (a pread each) once a device holds a few GiB; 16 MiB, fixed
	 * whatever the store holds, keeps ~2.5 M ids' index pages in memory */
	"PRAGMA cache_size=-16384;"
	"CREATE TABLE IF NOT EXISTS chunks(id BLOB PRIMARY KEY, pack INTEGER NOT NULL,"
	" off INTEGER NOT NULL, clen INTEGER NOT NULL, rlen INTEGER NOT NULL,"
	" gen INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS packs(pack INTEGER PRIMARY KEY, committed_end INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO meta VALUES('format', " STR(STORE_FORMAT) ");"
	"INSERT OR IGNORE INTO meta VALUES('gen', 1);"
	"INSERT OR IGNORE INTO meta VALUES('freed_records', 0);"
	"INSERT OR IGNORE INTO meta VALUES('freed_bytes', 0);";

uint32_t store_crc32(uint32_t crc, const void *p, size_t n)
{
	return crc32_fast(crc, p, n);   /* zlib's, faster (crc32.h) */
}

void store_chunk_id(const struct devkey *key, const uint8_t sha[32], uint8_t id[STORE_ID_LEN])
{
	unsigned int len = STORE_ID_LEN;

	HMAC(EVP_sha256(), key->k, sizeof(key->k), sha, 32, id, &len);
}

struct store_idmac {
	EVP_MAC_CTX *ctx;
};

static EVP_MAC *idmac_hmac;
static pthread_once_t idmac_once = PTHREAD_ONCE_INIT;

/* HMAC fetched once for the process, as content_md_sha256 does for
 * SHA-256: a fetch per builder (one per item of a batched put) was a
 * provider lookup under OpenSSL's locks each time.  A context holds its
 * own reference; this one is never freed. */
static void idmac_fetch(void)
{
	idmac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

void store_idmac_free(struct store_idmac *m)
{
	if (!m)
		return;
	EVP_MAC_CTX_free(m->ctx);
	free(m);
}

struct store_idmac *store_idmac_new(const struct devkey *key)
{
	struct store_idmac *m = calloc(1, sizeof(*m));
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	if (!m)
		return NULL;
	pthread_once(&idmac_once, idmac_fetch);
	if (!idmac_hmac || !(m->ctx = EVP_MAC_CTX_new(idmac_hmac)) ||
	    EVP_MAC_init(m->ctx, key->k, sizeof(key->k), p) != 1) {
		store_idmac_free(m);
		return NULL;
	}
	return m;
}

int store_idmac(struct store_idmac *m, const uint8_t sha[32], uint8_t id[STORE_ID_LEN])
{
	size_t n = 0;

	/* a NULL key starts over with the key set at new */
	if (EVP_MAC_init(m->ctx, NULL, 0, NULL) != 1 || EVP_MAC_update(m->ctx, sha, 32) != 1 ||
	    EVP_MAC_final(m->ctx, id, &n, STORE_ID_LEN) != 1 || n != STORE_ID_LEN)
		return -EIO;
	return 0;
}

const char *store_dir(const struct store *st) { return st->dir; }

int store_db_err(struct store *st, int rc)
{
	int e = st->db ? sqlite3_system_errno(st->db) : 0;

	if (rc == SQLITE_FULL || e == ENOSPC || e == EDQUOT)
		return -ENOSPC;
	if (rc == SQLITE_NOMEM)
		return -ENOMEM;
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return -EBUSY;
	return -EIO;
}

int store_txn_end(struct store *st, int rc)
{
	int r;

	if (rc == SQLITE_OK && (rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL)) == SQLITE_OK)
		return 0;
	r = store_db_err(st, rc);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int pack_open(struct store *st, uint32_t pack, bool create)
{
	char name[32];
	int fd;

	snprintf(name, sizeof(name), "%08u.pack", pack);
	fd = openat(st->packsfd, name, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0600);
	if (fd < 0)
		return -errno;
	return fd;
}

int store_slot_get_locked(struct store *st, uint32_t pack)
{
	int i, freei = -1, fd;

	for (i = 0; i < STORE_FDS; i++) {
		if (st->slot[i].pack == pack && !st->slot[i].gone) {
			st->slot[i].refs++;
			return i;
		}
		if (freei < 0 && st->slot[i].pack == 0)
			freei = i;
	}
	if (freei < 0) {
		for (i = 0; i < STORE_FDS; i++)
			if (st->slot[i].refs == 0)
				break;
		if (i == STORE_FDS)
			return -EMFILE;
		close(st->slot[i].fd);
		st->slot[i].pack = 0;
		freei = i;
	}
	fd = pack_open(st, pack, false);
	if (fd < 0)
		return fd;
	st->slot[freei] = (struct pack_slot){ .pack = pack, .fd = fd, .refs = 1 };
	return freei;
}

void store_slot_put_locked(struct store *st, int slot)
{
	struct pack_slot *s = slot >= 0 ? &st->slot[slot] : NULL;

	if (s && s->refs > 0 && --s->refs == 0 && s->gone) {
		close(s->fd);   /* the last reader of a removed pack: its space goes */
		*s = (struct pack_slot){ 0 };
	}
}

int store_pack_remove(struct store *st, uint32_t pack)
{
	char name[32];
	int i, r = 0;

	snprintf(name, sizeof(name), "%08u.pack", pack);
	pthread_mutex_lock(&st->mu);
	if (pack == st->active)
		r = -EBUSY;
	else if (unlinkat(st->packsfd, name, 0) < 0)
		r = -errno;
	for (i = 0; i < STORE_FDS && r != -EBUSY; i++) {
		struct pack_slot *s = &st->slot[i];

		if (s->pack != pack || s->gone)
			continue;
		if (s->refs == 0) {
			close(s->fd);
			*s = (struct pack_slot){ 0 };
		} else {
			s->gone = true;
		}
	}
	pthread_mutex_unlock(&st->mu);
	return r;
}

int store_roll_locked(struct store *st)
{
	uint32_t next = st->active + 1;
	int fd, i;

	fd = pack_open(st, next, true);
	if (fd == -EEXIST)        /* left over empty from a failed roll */
		fd = pack_open(st, next, false);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, 0) < 0 || fsync(st->packsfd) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	for (i = 0; i < STORE_FDS && st->slot[i].pack; i++)
		;
	if (i == STORE_FDS) {
		for (i = 0; i < STORE_FDS; i++)
			if (st->slot[i].refs == 0)
				break;
		if (i == STORE_FDS) {
			close(fd);
			return -EMFILE;
		}
		close(st->slot[i].fd);
	}
	st->slot[i] = (struct pack_slot){ .pack = next, .fd = fd, .refs = 1 };
	if (st->active_slot >= 0)
		store_slot_put_locked(st, st->active_slot);
	st->active = next;
	st->active_slot = i;
	st->tail = 0;
	st->need_roll = false;
	return 0;
}

/* The format the store was created with, or -1 when it cannot be read. */
static int meta_format(struct store *st)
{
	sqlite3_stmt *q;
	int fmt = -1;

	if (sqlite3_prepare_v2(st->db, "SELECT v FROM meta WHERE k='format'", -1, &q, NULL) ==
	    SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		fmt = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return fmt;
}

/* Says once why an encrypted (or plain) store does not open: the caller
 * (srv_open, init) adds only the path and errno text. */
static int seal_err(const char *path, int r)
{
	if (r == -ENOKEY)
		log_warnx("%s: the store is encrypted and no key was given", path);
	else if (r == -EKEYREJECTED)
		log_warnx("%s: the data key is not this store's", path);
	else if (r == -EINVAL)
		log_warnx("%s: the store holds unencrypted chunks; it cannot be encrypted", path);
	return r;
}

static int db_open(struct store *st, const struct store_key *key)
{
	char path[4096];
	char *err = NULL;
	int rc, fmt;

	snprintf(path, sizeof(path), "%s/chunks.db", st->dir);
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(st->db, 2000);   /* only another process can hold it */
	rc = sqlite3_exec(st->db, schema, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		goto fail;
	if ((fmt = meta_format(st)) != STORE_FORMAT) {
		log_warnx("%s: store format %d, this vigil-server reads format %d only", path, fmt,
			  STORE_FORMAT);
		return -EPROTO;
	}
	if ((rc = store_owner_migrate(st)) < 0)
		return rc;
	if ((rc = store_seal_open(st, key)) < 0)
		return seal_err(path, rc);
	rc = sqlite3_prepare_v2(st->db, "SELECT pack, off, clen, rlen, owner FROM chunks WHERE id=?",
				-1, &st->q_get, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO chunks(id, pack, off, clen,"
					" rlen, gen, owner) VALUES(?,?,?,?,?,?,?)", -1, &st->q_ins, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "INSERT INTO packs VALUES(?1,?2) ON CONFLICT(pack)"
					" DO UPDATE SET committed_end=max(committed_end,?2)",
					-1, &st->q_end, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	return 0;
fail:
	if (rc == SQLITE_BUSY)   /* exclusive locking: another server has it open */
		log_warnx("%s: in use by another vigil-server", path);
	else
		log_warnx("%s: %s", path, err ? err : sqlite3_errmsg(st->db));
	sqlite3_free(err);
	return store_db_err(st, rc);
}

static int64_t pack_committed_end(struct store *st, uint32_t pack)
{
	sqlite3_stmt *q;
	int64_t end = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT committed_end FROM packs WHERE pack=?",
			       -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(q, 1, pack);
	if (sqlite3_step(q) == SQLITE_ROW)
		end = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return end;
}

static int truncate_at(struct store *st, const char *name, int64_t end)
{
	int fd = openat(st->packsfd, name, O_RDWR | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, end) < 0 || fdatasync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The highest pack number the index knows, 0 for none, or -errno. */
static int packs_max_indexed(struct store *st)
{
	sqlite3_stmt *q;
	int rc, n = 0;

	if ((rc = sqlite3_prepare_v2(st->db, "SELECT coalesce(max(pack), 0) FROM packs", -1, &q,
				     NULL)) != SQLITE_OK)
		return store_db_err(st, rc);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		n = (int)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? n : store_db_err(st, rc);
}

/* Makes pack the active one again when it has room, else rolls (also when
 * it is missing). */
static int packs_activate(struct store *st, uint32_t maxp)
{
	struct stat sb;
	int slot;

	st->active = maxp;
	if (maxp == 0)
		return store_roll_locked(st);
	slot = store_slot_get_locked(st, maxp);
	if (slot == -ENOENT) {   /* indexed, but gone: `check` names what it held */
		log_warnx("%s/packs/%08u.pack: missing; new records go to the next pack",
			  st->dir, maxp);
		return store_roll_locked(st);
	}
	if (slot < 0)
		return slot;
	if (fstat(st->slot[slot].fd, &sb) < 0) {
		store_slot_put_locked(st, slot);
		return -errno;
	}
	if ((uint64_t)sb.st_size >= STORE_PACK_ROLL) {
		store_slot_put_locked(st, slot);
		return store_roll_locked(st);
	}
	st->active_slot = slot;
	st->tail = (uint64_t)sb.st_size;
	return 0;
}

/* Cuts every pack back to its committed end: whatever lies beyond was never
 * indexed (a crash or failed write), and may be a torn record. */
static int packs_repair(struct store *st)
{
	DIR *d;
	struct dirent *de;
	uint32_t maxp = 0;
	int r = 0, dfd = dup(st->packsfd);

	if (dfd < 0 || !(d = fdopendir(dfd))) {
		r = -errno;
		if (dfd >= 0)
			close(dfd);
		return r;
	}
	while ((de = readdir(d))) {
		unsigned p;
		char tail[8];
		struct stat sb;
		int64_t end;

		if (sscanf(de->d_name, "%8u.%5s", &p, tail) != 2 || strcmp(tail, "pack") || !p)
			continue;
		if (p > maxp)
			maxp = p;
		if (fstatat(st->packsfd, de->d_name, &sb, 0) < 0)
			continue;
		end = pack_committed_end(st, p);
		if (end < 0) {
			r = (int)end;
			break;
		}
		if (sb.st_size > end) {
			if (truncate_at(st, de->d_name, end) < 0)
				log_warn("%s/packs/%s: truncate", st->dir, de->d_name);
		} else if (sb.st_size < end) {
			log_warnx("%s/packs/%s: shorter than its index says (%lld < %lld)",
				  st->dir, de->d_name, (long long)sb.st_size, (long long)end);
		}
	}
	closedir(d);
	if (r == 0 && (r = packs_max_indexed(st)) > 0 && (uint32_t)r > maxp)
		maxp = (uint32_t)r;   /* the last pack was lost: never reuse its number */
	if (r >= 0)
		r = packs_activate(st, maxp);
	return r;
}

static int mkdir_at(int dfd, const char *name)
{
	if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int store_open(const char *dir, struct store **out)
{
	return store_open_key(dir, NULL, out);
}

bool store_encrypted(const struct store *st) { return st->enc; }

int store_open_key(const char *dir, const struct store_key *key, struct store **out)
{
	struct store *st;
	int r, dfd = -1;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->packsfd = -1;
	st->active_slot = -1;
	pthread_mutex_init(&st->mu, NULL);
	pthread_mutex_init(&st->dbmu, NULL);
	pthread_mutex_init(&st->fltmu, NULL);
	pthread_mutex_init(&st->gcmu, NULL);
	pthread_mutex_init(&st->nmu, NULL);
	pthread_cond_init(&st->gccv, NULL);
	pthread_mutex_init(&st->swmu, NULL);
	pthread_mutex_init(&st->gmu, NULL);
	pthread_cond_init(&st->gcv, NULL);
	st->gc_tail = &st->gc_head;
	st->dir = strdup(dir);
	if (!st->dir) {
		r = -ENOMEM;
		goto fail;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || (r = mkdir_at(dfd, "packs")) < 0 || (r = mkdir_at(dfd, "uploads")) < 0) {
		r = dfd < 0 ? -errno : r;
		goto fail;
	}
	st->packsfd = openat(dfd, "packs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->packsfd < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = db_open(st, key)) < 0)
		goto fail;
	if ((r = store_sweep_open(st)) < 0 || (r = packs_repair(st)) < 0)
		goto fail;
	store_filter_start(st);
	close(dfd);
	*out = st;
	return 0;
fail:   /* the caller logs r with its context */
	if (dfd >= 0)
		close(dfd);
	store_close(st);
	return r;
}

void store_close(struct store *st)
{
	int i;

	if (!st)
		return;
	for (i = 0; i < STORE_FDS; i++)
		if (st->slot[i].pack)
			close(st->slot[i].fd);
	store_filter_stop(st);   /* its thread uses the database */
	for (i = 0; i < st->ndctx; i++)
		ZSTD_freeDCtx(st->dctx[i]);
	store_seal_close(st);
	sqlite3_finalize(st->q_get);
	sqlite3_finalize(st->q_ins);
	sqlite3_finalize(st->q_end);
	sqlite3_finalize(st->q_claim);
	sqlite3_finalize(st->q_provq);
	sqlite3_finalize(st->q_prov);
	if (st->db)
		sqlite3_close(st->db);
	if (st->packsfd >= 0)
		close(st->packsfd);
	pthread_mutex_destroy(&st->mu);
	pthread_mutex_destroy(&st->dbmu);
	pthread_mutex_destroy(&st->fltmu);
	pthread_mutex_destroy(&st->gcmu);
	pthread_mutex_destroy(&st->nmu);
	pthread_cond_destroy(&st->gccv);
	store_sweep_close(st);
	free(st->dir);
	free(st);
}

int store_lookup_locked(struct store *st, const uint8_t id[STORE_ID_LEN], struct store_loc *l)
{
	int rc, r;

	if (!store_filter_maybe_locked(st, id)) {
		l->found = false;
		return 0;
	}
	sqlite3_bind_blob(st->q_get, 1, id, STORE_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st->q_get);
	if (rc == SQLITE_ROW) {
		l->pack = (uint32_t)sqlite3_column_int64(st->q_get, 0);
		l->off = (uint64_t)sqlite3_column_int64(st->q_get, 1);
		l->clen = (uint32_t)sqlite3_column_int64(st->q_get, 2);
		l->rlen = (uint32_t)sqlite3_column_int64(st->q_get, 3);
		l->owner = (uint64_t)sqlite3_column_int64(st->q_get, 4);
		r = 1;
	} else {
		r = rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
	}
	l->found = r == 1;
	sqlite3_reset(st->q_get);
	sqlite3_clear_bindings(st->q_get);
	return r;
}

static int lookup(struct store *st, const uint8_t id[STORE_ID_LEN], struct store_loc *l)
{
	int r;

	pthread_mutex_lock(&st->dbmu);
	r = store_lookup_locked(st, id, l);
	pthread_mutex_unlock(&st->dbmu);
	return r;
}

int store_locate(struct store *st, const uint8_t (*ids)[STORE_ID_LEN], size_t n,
		 struct store_loc *out)
{
	size_t i;
	bool txn;
	int r = 0;

	pthread_mutex_lock(&st->dbmu);
	/* one read transaction for them all: SQLite begins one per statement
	 * otherwise, each with an fstat of the database (one per chunk read) */
	txn = n > 1 && sqlite3_get_autocommit(st->db) &&
	      sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	for (i = 0; i < n && r >= 0; i++)
		r = store_lookup_locked(st, ids[i], &out[i]);
	if (txn)
		sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	pthread_mutex_unlock(&st->dbmu);
	return r < 0 ? r : 0;
}

int store_has(struct store *st, const uint8_t id[STORE_ID_LEN])
{
	struct store_loc l;

	return lookup(st, id, &l);
}

ssize_t store_read_upto(struct store *st, uint32_t pack, uint64_t off, size_t max, void *buf)
{
	uint8_t *rec = buf;
	size_t got = 0;
	ssize_t k;
	int slot, fd, err = 0;

	pthread_mutex_lock(&st->mu);
	slot = store_slot_get_locked(st, pack);
	pthread_mutex_unlock(&st->mu);
	if (slot < 0)
		return slot == -ENOENT ? -EIO : slot;
	fd = st->slot[slot].fd;
	while (got < max) {
		k = pread(fd, rec + got, max - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			err = -errno;
		if (k <= 0)
			break;   /* an error, or the pack's end */
		got += (size_t)k;
	}
	pthread_mutex_lock(&st->mu);
	store_slot_put_locked(st, slot);
	pthread_mutex_unlock(&st->mu);
	return err ? err : (ssize_t)got;
}

int store_read_span(struct store *st, uint32_t pack, uint64_t off, size_t want, void *buf)
{
	ssize_t got = store_read_upto(st, pack, off, want, buf);

	return got < 0 ? (int)got : (size_t)got == want ? 0 : -EIO;
}

/* Counts one more record read (store_stats). */
static void count_read(struct store *st)
{
	pthread_mutex_lock(&st->mu);
	st->records_read++;
	pthread_mutex_unlock(&st->mu);
}

static int rec_read(struct store *st, const struct store_loc *l, uint8_t *rec)
{
	count_read(st);
	return store_read_span(st, l->pack, l->off, REC_HDR + (size_t)l->clen, rec);
}

/* Decompresses (or copies) the payload p of the record's clen bytes into
 * buf, rlen bytes. */
static int rec_plain(struct store *st, uint8_t flags, const uint8_t *p, size_t clen,
		     size_t rlen, void *buf)
{
	ZSTD_DCtx *dc = NULL;
	size_t k;

	if (!(flags & REC_F_ZSTD)) {
		if (clen != rlen)
			return -EIO;
		if (buf != p)
			memcpy(buf, p, rlen);
		return 0;
	}
	pthread_mutex_lock(&st->mu);
	if (st->ndctx > 0)
		dc = st->dctx[--st->ndctx];
	pthread_mutex_unlock(&st->mu);
	if (!dc && !(dc = ZSTD_createDCtx()))
		return -ENOMEM;
	k = ZSTD_decompressDCtx(dc, buf, rlen, p, clen);
	pthread_mutex_lock(&st->mu);
	if (st->ndctx < STORE_DCTX)
		st->dctx[st->ndctx++] = dc, dc = NULL;
	pthread_mutex_unlock(&st->mu);
	ZSTD_freeDCtx(dc);
	return ZSTD_isError(k) || k != rlen ? -EIO : 0;
}

/* An encrypted store's record: the GCM tag authenticates the header's
 * fields and the payload (stronger than the CRC-32, which is not checked
 * then); a raw chunk is opened straight into buf. */
static int rec_open_sealed(struct store *st, const uint8_t *rec, const struct store_loc *l,
			   void *buf)
{
	size_t n = l->clen - REC_SEAL;
	uint8_t *tmp;
	int r;

	if (!(rec[4] & REC_F_ZSTD))
		return n != l->rlen ? -EIO : store_unseal(st, rec, l->clen, buf);
	if (!(tmp = malloc(n ? n : 1)))
		return -ENOMEM;
	r = store_unseal(st, rec, l->clen, tmp);
	if (r == 0)
		r = rec_plain(st, rec[4], tmp, n, l->rlen, buf);
	free(tmp);
	return r;
}

/* crc: check the record's CRC-32 (not needed by a caller that checks the
 * plain bytes against the sha256 naming them, which covers the payload;
 * the header's fields are compared with the index's here either way).
 * A record of the other kind than the store's (plain in an encrypted
 * store, or the reverse) is damage. */
static int rec_decode(struct store *st, const uint8_t *rec, const struct store_loc *l,
		      const uint8_t id[STORE_ID_LEN], void *buf, bool crc)
{
	if (be32_get(rec) != (st->enc ? REC_MAGIC_ENC : REC_MAGIC) || memcmp(rec + 8, id, STORE_ID_LEN) ||
	    be32_get(rec + 40) != l->rlen || be32_get(rec + 44) != l->clen)
		return -EIO;
	if (st->enc)
		return l->clen < REC_SEAL ? -EIO : rec_open_sealed(st, rec, l, buf);
	if (crc && store_crc32(store_crc32(0, rec, 48), rec + REC_HDR, l->clen) != be32_get(rec + 48))
		return -EIO;
	return rec_plain(st, rec[4], rec + REC_HDR, l->clen, l->rlen, buf);
}

/* The checks store_get_at and store_decode share before reading. */
static int loc_check(const struct store_loc *l, size_t cap)
{
	if (!l->found)
		return -ENOENT;
	if (l->rlen > STORE_CHUNK_MAX || l->clen > STORE_CHUNK_MAX + 1024)
		return -EIO;
	if (l->rlen > cap)
		return -EMSGSIZE;
	return 0;
}

int store_get_at(struct store *st, const uint8_t id[STORE_ID_LEN], const struct store_loc *l,
		 void *buf, size_t cap, size_t *n)
{
	uint8_t *rec;
	int r;

	*n = 0;
	if ((r = loc_check(l, cap)) < 0)
		return r;
	rec = malloc(REC_HDR + (size_t)l->clen);
	if (!rec)
		return -ENOMEM;
	r = rec_read(st, l, rec);
	if (r == 0)
		r = rec_decode(st, rec, l, id, buf, true);
	free(rec);
	if (r == 0)
		*n = l->rlen;
	return r;
}

size_t store_rec_bytes(const struct store_loc *l)
{
	return REC_HDR + (size_t)l->clen;
}

size_t store_rec_max(uint64_t rlen)
{
	return REC_HDR + REC_SEAL + (size_t)rlen;   /* stored raw when zstd does not shrink it */
}

bool store_rec_named(struct store *st, const void *rec, size_t avail,
		     const uint8_t id[STORE_ID_LEN], uint32_t rlen, struct store_loc *l)
{
	const uint8_t *h = rec;

	if (avail < REC_HDR || be32_get(h) != (st->enc ? REC_MAGIC_ENC : REC_MAGIC) ||
	    memcmp(h + 8, id, STORE_ID_LEN) || be32_get(h + 40) != rlen ||
	    be32_get(h + 44) > avail - REC_HDR)
		return false;
	l->rlen = rlen;
	l->clen = be32_get(h + 44);
	l->owner = 0;
	l->found = true;
	return true;
}

int store_decode(struct store *st, const uint8_t id[STORE_ID_LEN], const struct store_loc *l,
		 const void *rec, bool check_crc, void *buf, size_t cap, size_t *n)
{
	int r;

	*n = 0;
	if ((r = loc_check(l, cap)) < 0)
		return r;
	count_read(st);
	if ((r = rec_decode(st, rec, l, id, buf, check_crc)) == 0)
		*n = l->rlen;
	return r;
}

/* Whether a and b name different places (or one names none). */
static bool loc_moved(const struct store_loc *a, const struct store_loc *b)
{
	return a->found != b->found || a->pack != b->pack || a->off != b->off;
}

int store_get(struct store *st, const uint8_t id[STORE_ID_LEN], void *buf, size_t cap, size_t *n)
{
	struct store_loc l, again;
	int r;

	*n = 0;
	if ((r = lookup(st, id, &l)) < 0)
		return r;
	r = store_get_at(st, id, &l, buf, cap, n);
	/* compaction moved the record and removed its pack meanwhile: once
	 * more where the index says now (the same place: real damage) */
	if (r == -EIO && lookup(st, id, &again) >= 0 && loc_moved(&l, &again))
		r = store_get_at(st, id, &again, buf, cap, n);
	return r;
}

int store_stats(struct store *st, struct store_stats *out)
{
	sqlite3_stmt *q;
	uint32_t p;
	int rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->dbmu);
	rc = sqlite3_prepare_v2(st->db, "SELECT (SELECT count(*) FROM chunks),"
				" (SELECT v FROM meta WHERE k='freed_records'),"
				" (SELECT v FROM meta WHERE k='freed_bytes')", -1, &q, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		out->chunks = (uint64_t)sqlite3_column_int64(q, 0);
		out->freed_records = (uint64_t)sqlite3_column_int64(q, 1);
		out->freed_bytes = (uint64_t)sqlite3_column_int64(q, 2);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->dbmu);
	if (rc != SQLITE_OK)
		return store_db_err(st, rc);
	pthread_mutex_lock(&st->mu);
	out->records_read = st->records_read;
	for (p = 1; p <= st->active; p++) {
		char name[32];
		struct stat sb;

		snprintf(name, sizeof(name), "%08u.pack", p);
		if (fstatat(st->packsfd, name, &sb, 0) == 0) {
			out->packs++;
			out->pack_bytes += (uint64_t)sb.st_size;
			out->pack_disk += (uint64_t)sb.st_blocks * 512;
		}
	}
	pthread_mutex_unlock(&st->mu);
	return 0;
}
