/* shafill.c — background sha256 of versions committed with it pending
 * (shafill.h). */
#include "server/store/shafill.h"

#include <errno.h>
#include <stdint.h>
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
	int64_t due_ms;    /* mono_ms of the next pass; INT64_MAX: none */
	bool idle;         /* the last pass found nothing to hash or retry now */
	bool quit;
	int64_t quiet_ms;  /* SHAFILL_QUIET_S, or VIGIL_TEST_SHAFILL_QUIET_MS */
};

/* Sleeps until mono_ms reaches 'until' or the worker stops: -ECANCELED
 * then. */
static int pace(struct shafill *sf, int64_t until)
{
	struct timespec ts;
	int64_t now;
	bool q;

	pthread_mutex_lock(&sf->lock);
	while (!sf->quit && (now = mono_ms()) < until) {
		ts = deadline_in_ms((long)(until - now));
		pthread_cond_timedwait(&sf->wake, &sf->lock, &ts);
	}
	q = sf->quit;
	pthread_mutex_unlock(&sf->lock);
	return q ? -ECANCELED : 0;
}

/* sha256 of one stored content, read in READ_BUF pieces at most
 * SHAFILL_RATE bytes a second; -ECANCELED at stop. */
static int hash_content(struct shafill *sf, const struct index_pending *pd, uint8_t *buf,
			uint8_t sha[32])
{
	struct content_ref ref = { .size = pd->size };
	struct vreader *vr = NULL;
	struct devkey key;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int64_t t0 = mono_ms();
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
		if ((r = pace(sf, t0 + (int64_t)(off * 1000 / SHAFILL_RATE))) < 0)
			break;
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

/* One row of a pass: superseded -> marked; not due -> *next_ms lowered;
 * due -> hashed and stored.  0, or -errno (the row stays pending). */
static int one_row(struct shafill *sf, const struct index_pending *pd, uint8_t *buf,
		   int64_t *next_ms)
{
	int64_t rest_ms = (real_ns() - pd->recv_ns) / 1000000;
	uint8_t sha[32];
	int r;

	if (!pd->current)
		return index_sha_superseded(sf->idx, pd->id);
	if (pd->latest_has_sha) {   /* the same content came whole since: no read */
		r = index_sha_done(sf->idx, pd->dev, pd->content_root, pd->latest_sha);
		return r < 0 ? r : 0;
	}
	if (rest_ms < sf->quiet_ms) {
		if (mono_ms() + sf->quiet_ms - rest_ms < *next_ms)
			*next_ms = mono_ms() + sf->quiet_ms - rest_ms;
		return 0;
	}
	if ((r = hash_content(sf, pd, buf, sha)) < 0)
		return r;
	r = index_sha_done(sf->idx, pd->dev, pd->content_root, sha);
	return r < 0 ? r : 0;
}

/* One pass over every pending row.  Returns the number left to retry, or
 * -errno when the index could not be read; *next_ms: when the next row is
 * due (INT64_MAX: none). */
static int pass(struct shafill *sf, uint8_t *buf, int64_t *next_ms)
{
	struct index_pending pd[SHAFILL_PAGE];
	int64_t after = 0;
	int n, r, left = 0;

	*next_ms = INT64_MAX;
	while ((n = index_sha_pending(sf->idx, after, pd, SHAFILL_PAGE)) > 0) {
		for (int i = 0; i < n; i++) {
			after = pd[i].id;
			/* current copies of one content in this page: the first did them all */
			bool dup = false;

			for (int j = 0; j < i && !dup && pd[i].current; j++)
				dup = pd[j].current && pd[j].dev == pd[i].dev &&
				      !memcmp(pd[j].content_root, pd[i].content_root, 32);
			if (dup)
				continue;
			if ((r = one_row(sf, &pd[i], buf, next_ms)) == -ECANCELED)
				return left + 1;
			if (r < 0) {
				log_errno(r, "sha256 of a stored version (row %lld); retried later",
					  (long long)pd[i].id);
				left++;
			}
		}
	}
	return n < 0 ? n : left;
}

static void *worker(void *arg)
{
	struct shafill *sf = arg;
	uint8_t *buf = malloc(READ_BUF);
	struct timespec until;
	int64_t next, now;
	int left;

	pthread_setname_np(pthread_self(), "shafill");   /* top -H */
	pthread_mutex_lock(&sf->lock);
	while (!sf->quit) {
		if ((now = mono_ms()) < sf->due_ms) {
			/* INT64_MAX: nothing pending until a kick */
			until = deadline_in_ms((long)(sf->due_ms - now < SHAFILL_RETRY_S * 1000L ?
						      sf->due_ms - now : SHAFILL_RETRY_S * 1000L));
			pthread_cond_timedwait(&sf->wake, &sf->lock, &until);
			continue;
		}
		sf->due_ms = INT64_MAX;
		sf->idle = false;
		pthread_mutex_unlock(&sf->lock);
		left = buf ? pass(sf, buf, &next) : -ENOMEM;
		if (left != 0 && mono_ms() + SHAFILL_RETRY_S * 1000L < next)
			next = mono_ms() + SHAFILL_RETRY_S * 1000L;
		pthread_mutex_lock(&sf->lock);
		if (next < sf->due_ms)
			sf->due_ms = next;
		if (left == 0) {
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
	const char *quiet;
	int rc;

	*out = NULL;
	if (!sf)
		return -ENOMEM;
	sf->idx = idx;
	sf->st = st;
	sf->due_ms = 0;   /* a pass at once: rows a previous run left pending */
	sf->quiet_ms = SHAFILL_QUIET_S * 1000L;
	if ((quiet = getenv("VIGIL_TEST_SHAFILL_QUIET_MS"))) {
		long ms = strtol(quiet, NULL, 10);

		if (ms >= 0 && ms <= 3600000)   /* at most an hour */
			sf->quiet_ms = ms;
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
	/* the new row is due a quiet period from now; a pass then also sees
	 * everything committed meanwhile */
	if (mono_ms() + sf->quiet_ms < sf->due_ms) {
		sf->due_ms = mono_ms() + sf->quiet_ms;
		pthread_cond_signal(&sf->wake);
	}
	sf->idle = false;
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
