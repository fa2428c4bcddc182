/* content_expire.c — abandoned resumable uploads: a state file untouched
 * for the expiry is removed with the provisional chunks it owns (rules in
 * content.h and store.h), by a walk of DIR/store/uploads run from a small
 * thread of its own. */
#include "server/store/content_vb.h"
#include "server/store/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

#define GC_INTERVAL_MAX_S 3600

int64_t upload_expire_s(void)
{
	const char *v = getenv("VIGIL_UPLOAD_EXPIRE_S");
	char *end;
	long long s;

	if (!v || !*v)
		return UPLOAD_EXPIRE_S;
	errno = 0;
	s = strtoll(v, &end, 10);
	if (errno || *end || s < 1 || s > UPLOAD_EXPIRE_S)
		return UPLOAD_EXPIRE_S;
	return s;
}

bool upload_expired_fd(int fd, int64_t now_ns)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return false;
	return (int64_t)sb.st_mtime + upload_expire_s() <= now_ns / 1000000000;
}

/* One state file: collected and removed when expired and not in use. */
static int expire_one(struct store *st, int dirfd, const char *name, int64_t now_ns,
		      struct upload_expired *out)
{
	uint64_t owner;
	int fd, r = 0;

	fd = upload_lock_open(dirfd, name, O_RDONLY);
	if (fd < 0)   /* in use (-EBUSY), gone, or not a state file: not ours now */
		return 0;
	if (!upload_expired_fd(fd, now_ns))
		goto out;
	owner = upload_owner_fd(fd);
	if (owner && (r = store_owner_collect(st, owner, &out->records, &out->bytes)) < 0)
		goto out;   /* the state stays: the next round tries again */
	if (unlinkat(dirfd, name, 0) == 0)
		out->uploads++;
out:
	close(fd);
	return r;
}

/* Every state file of one device's directory; removes it when emptied. */
static int expire_dir(struct store *st, int upfd, const char *sub, int64_t now_ns,
		      struct upload_expired *out)
{
	struct dirent *e;
	DIR *d;
	int fd, r = 0;

	if ((fd = openat(upfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -errno;
	}
	while (r == 0 && (e = readdir(d)))
		if (e->d_name[0] != '.')
			r = expire_one(st, dirfd(d), e->d_name, now_ns, out);
	closedir(d);
	(void)unlinkat(upfd, sub, AT_REMOVEDIR);   /* only when nothing is left */
	return r;
}

int vbuild_expire(struct store *st, int64_t now_ns, struct upload_expired *out)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if ((size_t)snprintf(path, sizeof(path), "%s/uploads", store_dir(st)) >= sizeof(path))
		return -ENAMETOOLONG;
	if (!(d = opendir(path)))
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && (e = readdir(d)))
		if (e->d_name[0] != '.')
			r = expire_dir(st, dirfd(d), e->d_name, now_ns, out);
	closedir(d);
	return r;
}

/* ------------------------------------------------------------- thread */

struct upload_gc {
	struct store *st;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool quit;
};

static void *gc_main(void *arg)
{
	struct upload_gc *gc = arg;
	int64_t every = upload_expire_s() / 4;
	struct upload_expired x;
	int r;

	every = every < 1 ? 1 : every > GC_INTERVAL_MAX_S ? GC_INTERVAL_MAX_S : every;
	pthread_setname_np(pthread_self(), "upload-expiry");   /* top -H */
	pthread_mutex_lock(&gc->mu);
	while (!gc->quit) {
		pthread_mutex_unlock(&gc->mu);
		if ((r = vbuild_expire(gc->st, real_ns(), &x)) < 0)
			log_errno(r, "%s/uploads: expiring abandoned uploads", store_dir(gc->st));
		else if (x.uploads)
			log_info("%s/uploads: %llu abandoned upload(s) expired, %llu records "
				 "(%llu bytes) given back", store_dir(gc->st),
				 (unsigned long long)x.uploads, (unsigned long long)x.records,
				 (unsigned long long)x.bytes);
		pthread_mutex_lock(&gc->mu);
		if (!gc->quit) {
			struct timespec until = deadline_in_ms(every * 1000);

			pthread_cond_timedwait(&gc->cv, &gc->mu, &until);
		}
	}
	pthread_mutex_unlock(&gc->mu);
	return NULL;
}

struct upload_gc *upload_gc_start(struct store *st)
{
	struct upload_gc *gc = calloc(1, sizeof(*gc));

	if (!gc)
		return NULL;
	gc->st = st;
	pthread_mutex_init(&gc->mu, NULL);
	pthread_cond_init(&gc->cv, NULL);
	if (pthread_create(&gc->th, NULL, gc_main, gc) != 0) {
		pthread_mutex_destroy(&gc->mu);
		pthread_cond_destroy(&gc->cv);
		free(gc);
		return NULL;
	}
	return gc;
}

void upload_gc_stop(struct upload_gc *gc)
{
	if (!gc)
		return;
	pthread_mutex_lock(&gc->mu);
	gc->quit = true;
	pthread_cond_signal(&gc->cv);
	pthread_mutex_unlock(&gc->mu);
	pthread_join(gc->th, NULL);
	pthread_mutex_destroy(&gc->mu);
	pthread_cond_destroy(&gc->cv);
	free(gc);
}
