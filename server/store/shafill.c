/* shafill.c — background sha256 of versions committed with it pending
 * (shafill.h). */
#include "server/store/shafill.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/store/content.h"

#define READ_BUF (1u << 20)

struct shafill {
	struct index *idx;
	struct store *st;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake, idle_cv;
	bool kicked;       /* a pass is due */
	bool idle;         /* the last pass found nothing left pending */
	bool quit;
	int delay_ms;      /* VIGIL_TEST_SHAFILL_DELAY_MS: tests see rows pending */
};

static bool stopping(struct shafill *sf)
{
	bool q;

	pthread_mutex_lock(&sf->lock);
	q = sf->quit;
	pthread_mutex_unlock(&sf->lock);
	return q;
}

/* sha256 of one stored content, read in READ_BUF pieces; -ECANCELED at stop. */
static int hash_content(struct shafill *sf, const struct index_pending *pd, uint8_t *buf,
			uint8_t sha[32])
{
	struct content_ref ref = { .size = pd->size };
	struct vreader *vr = NULL;
	struct devkey key;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t off = 0;
	ssize_t k;
	int r;

	memcpy(ref.root, pd->content_root, 32);
	memcpy(key.k, pd->devkey, 32);
	r = vreader_open(sf->st, &key, &ref, &vr);
	memset(&key, 0, sizeof(key));
	if (r == 0 && (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1))
		r = -ENOMEM;
	while (r == 0 && off < pd->size) {
		if (stopping(sf)) {
			r = -ECANCELED;
			break;
		}
		k = vreader_pread(vr, buf, READ_BUF, off);
		if (k <= 0)
			r = k < 0 ? (int)k : -EIO;
		else if (EVP_DigestUpdate(md, buf, (size_t)k) != 1)
			r = -EIO;
		else
			off += (uint64_t)k;
	}
	if (r == 0 && EVP_DigestFinal_ex(md, sha, NULL) != 1)
		r = -EIO;
	EVP_MD_CTX_free(md);
	vreader_free(vr);
	return r;
}

/* One pass over every pending row.  Returns the number left pending
 * (failures), or -errno when the index could not be read. */
static int pass(struct shafill *sf, uint8_t *buf)
{
	struct index_pending pd[SHAFILL_PAGE];
	int64_t after = 0;
	uint8_t sha[32];
	int n, r, left = 0;

	while ((n = index_sha_pending(sf->idx, after, pd, SHAFILL_PAGE)) > 0) {
		for (int i = 0; i < n; i++) {
			after = pd[i].id;
			/* copies of one content in this page: the first update did them all */
			bool dup = false;

			for (int j = 0; j < i && !dup; j++)
				dup = pd[j].dev == pd[i].dev &&
				      !memcmp(pd[j].content_root, pd[i].content_root, 32);
			if (dup)
				continue;
			if ((r = hash_content(sf, &pd[i], buf, sha)) == -ECANCELED)
				return left + 1;
			if (r == 0)
				r = index_sha_done(sf->idx, pd[i].dev, pd[i].content_root, sha);
			if (r < 0) {
				log_errno(r, "sha256 of a stored version (row %lld); retried later",
					  (long long)pd[i].id);
				left++;
			}
		}
		if (stopping(sf))
			return left + 1;
	}
	return n < 0 ? n : left;
}

static void *worker(void *arg)
{
	struct shafill *sf = arg;
	uint8_t *buf = malloc(READ_BUF);
	struct timespec until;
	int left;

	pthread_mutex_lock(&sf->lock);
	while (!sf->quit) {
		if (!sf->kicked) {
			until = deadline_in_ms(SHAFILL_RETRY_S * 1000L);
			if (pthread_cond_timedwait(&sf->wake, &sf->lock, &until) == ETIMEDOUT && !sf->idle)
				sf->kicked = true;
			continue;
		}
		/* the test delay counts from the latest kick, so the newest
		 * commit stays pending for the whole delay */
		while (sf->delay_ms > 0 && !sf->quit) {
			until = deadline_in_ms(sf->delay_ms);
			if (pthread_cond_timedwait(&sf->wake, &sf->lock, &until) == ETIMEDOUT)
				break;
		}
		if (sf->quit)
			break;
		sf->kicked = false;
		sf->idle = false;
		pthread_mutex_unlock(&sf->lock);
		left = buf ? pass(sf, buf) : -ENOMEM;
		pthread_mutex_lock(&sf->lock);
		if (left == 0 && !sf->kicked) {
			sf->idle = true;
			pthread_cond_broadcast(&sf->idle_cv);
		}
	}
	sf->idle = true;
	pthread_cond_broadcast(&sf->idle_cv);
	pthread_mutex_unlock(&sf->lock);
	free(buf);
	return NULL;
}

int shafill_new(struct index *idx, struct store *st, struct shafill **out)
{
	struct shafill *sf = calloc(1, sizeof(*sf));
	const char *delay;
	int rc;

	*out = NULL;
	if (!sf)
		return -ENOMEM;
	sf->idx = idx;
	sf->st = st;
	sf->kicked = true;   /* rows a previous run left pending */
	if ((delay = getenv("VIGIL_TEST_SHAFILL_DELAY_MS"))) {
		long ms = strtol(delay, NULL, 10);

		sf->delay_ms = ms > 0 && ms <= 3600000 ? (int)ms : 0;   /* at most an hour */
	}
	pthread_mutex_init(&sf->lock, NULL);
	pthread_cond_init(&sf->wake, NULL);
	pthread_cond_init(&sf->idle_cv, NULL);
	if ((rc = pthread_create(&sf->thread, NULL, worker, sf)) != 0) {
		pthread_mutex_destroy(&sf->lock);
		pthread_cond_destroy(&sf->wake);
		pthread_cond_destroy(&sf->idle_cv);
		free(sf);
		return -rc;
	}
	*out = sf;
	return 0;
}

void shafill_kick(struct shafill *sf)
{
	if (!sf)
		return;
	pthread_mutex_lock(&sf->lock);
	sf->kicked = true;
	sf->idle = false;
	pthread_cond_signal(&sf->wake);
	pthread_mutex_unlock(&sf->lock);
}

int shafill_wait_idle(struct shafill *sf, int timeout_ms)
{
	struct timespec until = deadline_in_ms(timeout_ms);
	int r = 0;

	pthread_mutex_lock(&sf->lock);
	while (!sf->idle && r == 0)
		if (pthread_cond_timedwait(&sf->idle_cv, &sf->lock, &until) == ETIMEDOUT)
			r = -ETIMEDOUT;
	pthread_mutex_unlock(&sf->lock);
	return r;
}

void shafill_free(struct shafill *sf)
{
	if (!sf)
		return;
	pthread_mutex_lock(&sf->lock);
	sf->quit = true;
	pthread_cond_signal(&sf->wake);
	pthread_mutex_unlock(&sf->lock);
	pthread_join(sf->thread, NULL);
	pthread_mutex_destroy(&sf->lock);
	pthread_cond_destroy(&sf->wake);
	pthread_cond_destroy(&sf->idle_cv);
	free(sf);
}
