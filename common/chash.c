/* chash.c — sha256 and chunk-tree root of a stream in one pass.
 *
 * With both asked for, a feed of CHASH_PAR_MIN bytes or more gives the
 * whole-stream sha256 to a helper thread (started at the first such feed)
 * while the caller chunks the same bytes and hashes the chunks: the two
 * sha256 passes are most of what a big capture costs, and the machines
 * vigild runs on have two CPUs or more.  The feed returns once both are
 * done with the bytes, so the caller may reuse its buffer as before.
 *
 * With a fingerprint secret (chash_set_fp) each chunk is fingerprinted
 * (keyed XXH3-128, ~20x cheaper than sha256 here) and its sha256 taken
 * from the caller when the caller knows a chunk of that length and
 * fingerprint: a capture against a shipped version's chunk list hashes
 * only the chunks that changed; the tree root is the same either way.
 *
 * CHASH_DIGEST | CHASH_CHUNKS is a first upload's read (docs/daemon.md):
 * XXH3-128 of the whole, chunk boundaries and fingerprints, and no sha256
 * at all; the server computes the chunk sha256s and the tree root. */
#include "common/chash.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#define XXH_STATIC_LINKING_ONLY   /* XXH3_generateSecret */
#include <xxhash.h>

#include "common/chunker.h"
#include "common/chunktree.h"

#define CHASH_PAR_MIN (32 * 1024)

/* The helper thread and the one job it may hold. */
struct shajob {
	pthread_t t;
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	EVP_MD_CTX *md;
	const void *p;
	size_t n;
	bool pending, quit;
	int rc;
};

struct chash {
	unsigned what;
	XXH3_state_t *xx;            /* CHASH_DIGEST */
	uint8_t digest[CHASH_DIGEST_LEN];
	struct shajob *job;          /* NULL: sha256 in the caller's thread */
	bool no_job;                 /* starting the helper failed: do not retry */
	uint64_t fed;
	EVP_MD_CTX *md;              /* CHASH_SHA256 */
	struct chunker *ck;          /* CHASH_TREE */
	struct ctree_builder *tb;    /* CHASH_TREE; NULL after a failed reset */
	bool md_ok;                  /* md initialised */
	chash_chunk_fn chunk_fn;
	void *chunk_arg;
	const uint8_t *fp_secret;    /* NULL: no fingerprints */
	chash_known_fn known;
	void *known_arg;
	uint64_t n_sha, n_fp;        /* chunks sha256-hashed, fingerprinted */
};

struct chash *chash_new(unsigned what)
{
	struct chash *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->what = what & (CHASH_BOTH | CHASH_DIGEST | CHASH_CHUNKS);
	if (((h->what & CHASH_SHA256) && !(h->md = EVP_MD_CTX_new())) ||
	    ((h->what & CHASH_DIGEST) && !(h->xx = XXH3_createState())) ||
	    ((h->what & (CHASH_TREE | CHASH_CHUNKS)) && !(h->ck = chunker_new()))) {
		chash_free(h);
		return NULL;
	}
	chash_reset(h);
	if (((h->what & CHASH_SHA256) && !h->md_ok) || ((h->what & CHASH_TREE) && !h->tb)) {
		chash_free(h);
		return NULL;
	}
	return h;
}

void chash_reset(struct chash *h)
{
	h->fed = 0;
	if (h->what & CHASH_SHA256)
		h->md_ok = EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) == 1;
	if (h->what & CHASH_DIGEST)
		(void)XXH3_128bits_reset(h->xx);   /* fails only on a NULL state */
	if (h->what & (CHASH_TREE | CHASH_CHUNKS))
		chunker_reset(h->ck);
	if (h->what & CHASH_TREE) {
		ctree_builder_free(h->tb);
		h->tb = ctree_builder_new(NULL, NULL);
	}
}

/* A live hash: everything asked for is set up. */
static bool ready(const struct chash *h)
{
	return (!(h->what & CHASH_SHA256) || h->md_ok) && (!(h->what & CHASH_TREE) || h->tb);
}

static void *sha_main(void *arg)
{
	struct shajob *j = arg;

	pthread_mutex_lock(&j->mu);
	for (;;) {
		while (!j->pending && !j->quit)
			pthread_cond_wait(&j->go, &j->mu);
		if (j->quit)
			break;
		pthread_mutex_unlock(&j->mu);
		int rc = EVP_DigestUpdate(j->md, j->p, j->n) == 1 ? 0 : -EIO;

		pthread_mutex_lock(&j->mu);
		j->rc = rc;
		j->pending = false;
		pthread_cond_signal(&j->done);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

static void job_stop(struct shajob *j)
{
	pthread_mutex_lock(&j->mu);
	j->quit = true;
	pthread_cond_signal(&j->go);
	pthread_mutex_unlock(&j->mu);
	pthread_join(j->t, NULL);
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->go);
	pthread_cond_destroy(&j->done);
	free(j);
}

/* The helper, started once; NULL (hash in this thread) if it cannot be. */
static struct shajob *job_get(struct chash *h)
{
	struct shajob *j;

	if (h->job || h->no_job)
		return h->job;
	h->no_job = true;
	if (!(j = calloc(1, sizeof(*j))))
		return NULL;
	j->md = h->md;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->go, NULL);
	pthread_cond_init(&j->done, NULL);
	if (pthread_create(&j->t, NULL, sha_main, j) != 0) {
		pthread_mutex_destroy(&j->mu);
		pthread_cond_destroy(&j->go);
		pthread_cond_destroy(&j->done);
		free(j);
		return NULL;
	}
	h->no_job = false;
	return h->job = j;
}

static void job_post(struct shajob *j, const void *p, size_t n)
{
	pthread_mutex_lock(&j->mu);
	j->p = p;
	j->n = n;
	j->pending = true;
	pthread_cond_signal(&j->go);
	pthread_mutex_unlock(&j->mu);
}

static int job_wait(struct shajob *j)
{
	int rc;

	pthread_mutex_lock(&j->mu);
	while (j->pending)
		pthread_cond_wait(&j->done, &j->mu);
	rc = j->rc;
	pthread_mutex_unlock(&j->mu);
	return rc;
}

static int chash_chunk(void *arg, const uint8_t *p, size_t n)
{
	struct chash *h = arg;
	uint8_t d[32], fp[CHASH_FP_LEN];
	bool have = false;
	int rc = 0;

	if (h->fp_secret) {
		chash_fingerprint(h->fp_secret, p, n, fp);
		h->n_fp++;
		if (!(h->what & CHASH_TREE))   /* CHASH_CHUNKS: no sha256 asked for */
			return h->chunk_fn ? h->chunk_fn(h->chunk_arg, NULL, (uint32_t)n, fp) : 0;
		if (h->known && (rc = h->known(h->known_arg, fp, (uint32_t)n, d)) < 0)
			return rc;
		have = h->known && rc == 1;
	}
	if (!(h->what & CHASH_TREE))   /* CHASH_CHUNKS without a secret: lengths only */
		return h->chunk_fn ? h->chunk_fn(h->chunk_arg, NULL, (uint32_t)n, NULL) : 0;
	if (!have) {
		if ((rc = ctree_sha256(p, n, d)) < 0)
			return rc;
		h->n_sha++;
	}
	if (h->chunk_fn &&
	    (rc = h->chunk_fn(h->chunk_arg, d, (uint32_t)n, h->fp_secret ? fp : NULL)) < 0)
		return rc;
	return ctree_add(h->tb, d, (uint32_t)n);
}

int chash_feed(struct chash *h, const void *p, size_t n)
{
	struct shajob *j = NULL;
	int rc = 0, src;

	if (!ready(h))
		return -ENOMEM;
	if (n == 0)
		return 0;
	h->fed += n;
	if (h->what == CHASH_BOTH && n >= CHASH_PAR_MIN && (j = job_get(h)))
		job_post(j, p, n);
	else if ((h->what & CHASH_SHA256) && EVP_DigestUpdate(h->md, p, n) != 1)
		return -EIO;
	if ((h->what & CHASH_DIGEST) && XXH3_128bits_update(h->xx, p, n) != XXH_OK)
		return -EIO;
	if (h->what & (CHASH_TREE | CHASH_CHUNKS))
		rc = chunker_feed(h->ck, p, n, chash_chunk, h);
	/* the helper is done with p before p goes back to the caller */
	if (j && (src = job_wait(j)) < 0 && rc == 0)
		rc = src;
	return rc;
}

int chash_finish(struct chash *h, uint8_t sha256[32], uint8_t root[32], uint64_t *size)
{
	unsigned olen = 0;
	int rc;

	if (!ready(h))
		return -ENOMEM;
	memset(sha256, 0, 32);
	memset(root, 0, 32);
	*size = h->fed;
	if ((h->what & CHASH_SHA256) && EVP_DigestFinal_ex(h->md, sha256, &olen) != 1)
		return -EIO;
	if (h->what & CHASH_DIGEST) {
		XXH128_canonical_t c;

		XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h->xx));
		memcpy(h->digest, c.digest, CHASH_DIGEST_LEN);
	}
	if ((h->what & (CHASH_TREE | CHASH_CHUNKS)) &&
	    (rc = chunker_flush(h->ck, chash_chunk, h)) != 0)
		return rc;
	if (!(h->what & CHASH_TREE))
		return 0;
	return ctree_finish(h->tb, root, size);
}

void chash_digest(const struct chash *h, uint8_t d[CHASH_DIGEST_LEN])
{
	memcpy(d, h->digest, CHASH_DIGEST_LEN);
}

void chash_digest_of(const void *p, size_t n, uint8_t d[CHASH_DIGEST_LEN])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(p, n));
	memcpy(d, c.digest, CHASH_DIGEST_LEN);
}

void chash_set_chunk_fn(struct chash *h, chash_chunk_fn fn, void *arg)
{
	h->chunk_fn = fn;
	h->chunk_arg = arg;
}

int chash_fp_secret(uint8_t secret[CHASH_FP_SECRET], const void *seed, size_t n)
{
	if (n < 16)
		return -EINVAL;
	return XXH3_generateSecret(secret, CHASH_FP_SECRET, seed, n) == XXH_OK ? 0 : -EINVAL;
}

void chash_fingerprint(const uint8_t secret[CHASH_FP_SECRET], const void *p, size_t n,
		       uint8_t fp[CHASH_FP_LEN])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits_withSecret(p, n, secret, CHASH_FP_SECRET));
	memcpy(fp, c.digest, CHASH_FP_LEN);
}

void chash_set_fp(struct chash *h, const uint8_t *secret, chash_known_fn known, void *arg)
{
	h->fp_secret = secret;
	h->known = secret ? known : NULL;
	h->known_arg = arg;
}

void chash_counts(const struct chash *h, uint64_t *sha_chunks, uint64_t *fp_chunks)
{
	*sha_chunks = h->n_sha;
	*fp_chunks = h->n_fp;
}

void chash_free(struct chash *h)
{
	if (!h)
		return;
	if (h->job)
		job_stop(h->job);
	EVP_MD_CTX_free(h->md);
	XXH3_freeState(h->xx);
	chunker_free(h->ck);
	ctree_builder_free(h->tb);
	free(h);
}
