/* store_seal.c — pack records of an encrypted store: AES-256-GCM under a
 * key derived from the data key, a nonce that is never used twice, the
 * record's header as additional data (docs/store-format.md, "Encryption
 * at rest").
 *
 * Nonce: 4 bytes chosen at random when the store is opened, then a 64-bit
 * counter.  The counter is reserved in chunks.db's meta ('nonce_next')
 * NONCE_RESERVE at a time, durably, before any nonce of the reservation
 * is used, so after a crash the counter resumes above every nonce that
 * may have reached the disk (records cut from a pack tail and rewritten
 * at the same offset get fresh nonces: a nonce from the pack offset would
 * repeat there).  The random prefix makes even a rolled-back chunks.db
 * (restored from a copy) repeat a nonce only with probability 2^-32 per
 * record. */
#include "server/store/store_int.h"
#include "server/store/storekey.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* one durable meta update per this many records (~10 GiB of chunks) */
#define NONCE_RESERVE  (1u << 20)

static const char *const meta_get_sql = "SELECT v FROM meta WHERE k=?";

static int meta_get(struct store *st, const char *k, int64_t *v)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = sqlite3_prepare_v2(st->db, meta_get_sql, -1, &q, NULL)) != SQLITE_OK)
		return store_db_err(st, rc);
	sqlite3_bind_text(q, 1, k, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
}

static int meta_set(struct store *st, const char *k, int64_t v)
{
	sqlite3_stmt *q;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "INSERT INTO meta VALUES(?1,?2) ON CONFLICT(k)"
				" DO UPDATE SET v=?2", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_db_err(st, rc);
	sqlite3_bind_text(q, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, v);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
}

/* 8 bytes of HMAC(data key, label) as meta's integer: tells a wrong data
 * key (another store's datakey file) at open, not at the first read. */
static int64_t key_check(const struct store_key *key)
{
	uint8_t h[32];
	uint64_t v = 0;

	store_key_derive(key, "vigil keycheck v1", h);
	for (int i = 0; i < 8; i++)   /* big-endian: the same on every machine */
		v = v << 8 | h[i];
	return (int64_t)v;
}

/* A new store: records whether it is encrypted (a store holding chunks
 * already never changes). */
static int seal_first(struct store *st, const struct store_key *key)
{
	int64_t n = 0;
	sqlite3_stmt *q;
	int r, rc;

	/* (an older store opened without a key: no scan of its rows) */
	if (key && (rc = sqlite3_prepare_v2(st->db, "SELECT EXISTS(SELECT 1 FROM chunks)", -1, &q,
					    NULL)) != SQLITE_OK)
		return store_db_err(st, rc);
	if (key && sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	if (key)
		sqlite3_finalize(q);
	if (key && n > 0)
		return -EINVAL;
	if ((r = meta_set(st, "cipher", key ? 1 : 0)) < 0)
		return r;
	return key ? meta_set(st, "keycheck", key_check(key)) : 0;
}

int store_seal_open(struct store *st, const struct store_key *key)
{
	int64_t cipher = 0, check = 0, next = 0;
	int r;

	if ((r = meta_get(st, "cipher", &cipher)) < 0)
		return r;
	if (r == 0) {
		if ((r = seal_first(st, key)) < 0)
			return r;
		cipher = key ? 1 : 0;
	}
	if (!cipher)
		return key ? -EINVAL : 0;
	if (!key)
		return -ENOKEY;
	if ((r = meta_get(st, "keycheck", &check)) < 0)
		return r;
	if (r == 0 || check != key_check(key))
		return -EKEYREJECTED;
	if ((r = meta_get(st, "nonce_next", &next)) < 0)
		return r;
	if (RAND_bytes(st->nsalt, sizeof(st->nsalt)) != 1)
		return -EIO;
	store_key_derive(key, "vigil pack records v1", st->pkey);
	st->nonce_next = st->nonce_lim = (uint64_t)next;
	st->enc = true;
	return 0;
}

void store_seal_close(struct store *st)
{
	for (int i = 0; i < st->ndcx; i++)
		EVP_CIPHER_CTX_free(st->dcx[i]);
	st->ndcx = 0;
	OPENSSL_cleanse(st->pkey, sizeof(st->pkey));
}

static EVP_CIPHER_CTX *ctx_new(struct store *st, int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, st->pkey, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(c);
		c = NULL;
	}
	return c;
}

EVP_CIPHER_CTX *store_seal_ctx(struct store *st) { return ctx_new(st, 1); }

/* The next nonce; reserves more counters durably when they run out. */
static int nonce_take(struct store *st, uint8_t nonce[REC_NONCE])
{
	uint64_t ctr;
	int r = 0;

	pthread_mutex_lock(&st->nmu);
	if (st->nonce_next == st->nonce_lim) {
		pthread_mutex_lock(&st->dbmu);
		r = meta_set(st, "nonce_next", (int64_t)(st->nonce_lim + NONCE_RESERVE));
		pthread_mutex_unlock(&st->dbmu);
		if (r == 0)
			st->nonce_lim += NONCE_RESERVE;
	}
	ctr = st->nonce_next;
	if (r == 0)
		st->nonce_next++;
	pthread_mutex_unlock(&st->nmu);
	memcpy(nonce, st->nsalt, 4);
	for (int i = 11; i >= 4; i--, ctr >>= 8)
		nonce[i] = (uint8_t)ctr;
	return r;
}

int store_seal(struct store *st, EVP_CIPHER_CTX *c, uint8_t *rec, const void *in, size_t n)
{
	uint8_t *nonce = rec + REC_HDR, *out = nonce + REC_NONCE;
	int k = 0, r;

	if ((r = nonce_take(st, nonce)) < 0)
		return r;
	if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &k, rec, 48) != 1 ||
	    EVP_EncryptUpdate(c, out, &k, in, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(c, out + k, &k) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, REC_TAG, out + n) != 1)
		return -EIO;
	return 0;
}

int store_unseal(struct store *st, const uint8_t *rec, size_t clen, void *out)
{
	const uint8_t *nonce = rec + REC_HDR, *ct = nonce + REC_NONCE;
	size_t n = clen - REC_SEAL;
	EVP_CIPHER_CTX *c = NULL;
	int k = 0, ok;

	if (clen < REC_SEAL)
		return -EIO;
	pthread_mutex_lock(&st->mu);
	if (st->ndcx > 0)
		c = st->dcx[--st->ndcx];
	pthread_mutex_unlock(&st->mu);
	if (!c && !(c = ctx_new(st, 0)))
		return -ENOMEM;
	ok = EVP_DecryptInit_ex(c, NULL, NULL, NULL, nonce) == 1 &&
	     EVP_DecryptUpdate(c, NULL, &k, rec, 48) == 1 &&
	     EVP_DecryptUpdate(c, out, &k, ct, (int)n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, REC_TAG, (void *)(ct + n)) == 1 &&
	     EVP_DecryptFinal_ex(c, (uint8_t *)out + k, &k) == 1;
	pthread_mutex_lock(&st->mu);
	if (st->ndcx < STORE_DCTX)
		st->dcx[st->ndcx++] = c, c = NULL;
	pthread_mutex_unlock(&st->mu);
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		OPENSSL_cleanse(out, n);   /* never hand on unauthenticated bytes */
	return ok ? 0 : -EIO;
}
