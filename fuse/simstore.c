/* simstore.c — the in-memory sim/ files (simstore.h): a small array of
 * named blobs under one mutex.  Only the poller thread replaces files;
 * FUSE threads take references to blobs and never see one change. */
#include "fuse/simstore.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sfile {
	char name[SIMSTORE_NAME_MAX];
	int64_t mtime_ns;
	struct simblob *blob;
};

struct simstore {
	pthread_mutex_t mu;
	struct sfile *f;          /* SIMSTORE_FILES_MAX slots, n used */
	size_t n;
	int64_t mtime_root;       /* sim/: when an entry last came or went */
	int64_t mtime_sms;        /* sim/sms/: likewise */
};

#define SMS_PREFIX "sms/"

static bool in_sms(const char *name)
{
	return strncmp(name, SMS_PREFIX, strlen(SMS_PREFIX)) == 0;
}

/* "sms/<decimal>.txt" -> the index; -1 otherwise. */
static long long sms_index(const char *name)
{
	const char *p = name + strlen(SMS_PREFIX);
	char *end;
	unsigned long long v;

	if (!in_sms(name) || *p < '0' || *p > '9' || (*p == '0' && p[1] != '.'))
		return -1;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || v > UINT32_MAX || strcmp(end, ".txt") != 0)
		return -1;
	return (long long)v;
}

uint64_t simstore_ino(const char *name)
{
	long long i;

	if (!strcmp(name, ""))
		return SIMSTORE_INO_BASE + 1;
	if (!strcmp(name, "identity"))
		return SIMSTORE_INO_BASE + 2;
	if (!strcmp(name, "phonebook.vcf"))
		return SIMSTORE_INO_BASE + 3;
	if (!strcmp(name, "sms"))
		return SIMSTORE_INO_BASE + 4;
	if ((i = sms_index(name)) >= 0)
		return SIMSTORE_INO_BASE + 16 + (uint64_t)i;
	return 0;
}

struct simstore *simstore_new(int64_t now_ns)
{
	struct simstore *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (!(s->f = calloc(SIMSTORE_FILES_MAX, sizeof(*s->f)))) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	s->mtime_root = s->mtime_sms = now_ns;
	return s;
}

void simblob_put(struct simblob *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1)
		free(b);
}

void simstore_free(struct simstore *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		simblob_put(s->f[i].blob);
	pthread_mutex_destroy(&s->mu);
	free(s->f);
	free(s);
}

static struct sfile *find(struct simstore *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->f[i].name, name))
			return &s->f[i];
	return NULL;
}

static bool has_sms(const struct simstore *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (in_sms(s->f[i].name))
			return true;
	return false;
}

/* Locked: the attributes of name. */
static int stat_locked(struct simstore *s, const char *name, struct simstore_stat *st)
{
	struct sfile *f;

	memset(st, 0, sizeof(*st));
	st->ino = simstore_ino(name);
	if (!strcmp(name, "") || (!strcmp(name, "sms") && has_sms(s))) {
		st->dir = true;
		st->mtime_ns = name[0] ? s->mtime_sms : s->mtime_root;
		return 0;
	}
	if (!(f = find(s, name)))
		return -ENOENT;
	st->mtime_ns = f->mtime_ns;
	st->size = f->blob->len;
	return 0;
}

int simstore_stat(struct simstore *s, const char *name, struct simstore_stat *st)
{
	int e;

	pthread_mutex_lock(&s->mu);
	e = stat_locked(s, name, st);
	pthread_mutex_unlock(&s->mu);
	return e;
}

struct simblob *simstore_open(struct simstore *s, const char *name)
{
	struct simblob *b = NULL;
	struct sfile *f;

	pthread_mutex_lock(&s->mu);
	if ((f = find(s, name))) {
		b = f->blob;
		atomic_fetch_add(&b->refs, 1);
	}
	pthread_mutex_unlock(&s->mu);
	if (!b)
		errno = (!strcmp(name, "") || !strcmp(name, "sms")) ? EISDIR : ENOENT;
	return b;
}

/* Locked: fn for each entry of dir. */
static int list_locked(struct simstore *s, const char *dir, simstore_fn fn, void *arg)
{
	struct simstore_stat st;
	bool root = !strcmp(dir, "");
	int e;

	if (!root && (strcmp(dir, "sms") || !has_sms(s)))
		return -ENOENT;
	if (root && has_sms(s) && stat_locked(s, "sms", &st) == 0 && (e = fn(arg, "sms", &st)))
		return e;
	for (size_t i = 0; i < s->n; i++) {
		const char *name = s->f[i].name;

		if (root == in_sms(name))
			continue;
		stat_locked(s, name, &st);
		if ((e = fn(arg, root ? name : name + strlen(SMS_PREFIX), &st)))
			return e;
	}
	return 0;
}

int simstore_list(struct simstore *s, const char *dir, simstore_fn fn, void *arg)
{
	int e;

	pthread_mutex_lock(&s->mu);
	e = list_locked(s, dir, fn, arg);
	pthread_mutex_unlock(&s->mu);
	return e;
}

static bool in_group(const char *name, const char *group)
{
	size_t n = strlen(group);

	if (n && group[n - 1] == '/')
		return strncmp(name, group, n) == 0;
	return strcmp(name, group) == 0;
}

static bool in_list(const struct simstore_in *in, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(in[i].name, name))
			return true;
	return false;
}

static struct simblob *blob_new(const void *p, size_t n)
{
	struct simblob *b = malloc(sizeof(*b) + n);

	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->len = n;
	if (n)
		memcpy(b->data, p, n);
	return b;
}

/* A replacement being built: the new array and what changed. */
struct repl {
	struct sfile *nf;
	size_t nn;
	char (*chg)[SIMSTORE_NAME_MAX];
	size_t nc;
	bool moved_root, moved_sms;   /* an entry came or went there */
};

static void note(struct repl *r, const char *name, bool moved)
{
	snprintf(r->chg[r->nc++], SIMSTORE_NAME_MAX, "%s", name);
	if (moved && in_sms(name))
		r->moved_sms = true;
	else if (moved)
		r->moved_root = true;
}

/* Locked: fills r->nf with the files outside the group and the new ones. */
static int build(struct simstore *s, const char *group, const struct simstore_in *in,
		 size_t n, int64_t now_ns, struct repl *r)
{
	for (size_t i = 0; i < s->n; i++) {
		struct sfile *f = &s->f[i];

		if (in_group(f->name, group) && !in_list(in, n, f->name)) {
			note(r, f->name, true);
			continue;
		}
		if (in_group(f->name, group))
			continue;
		atomic_fetch_add(&f->blob->refs, 1);
		r->nf[r->nn++] = *f;
	}
	for (size_t i = 0; i < n; i++) {
		struct sfile *old = find(s, in[i].name), *nf;

		if (r->nn >= SIMSTORE_FILES_MAX)
			return -E2BIG;
		nf = &r->nf[r->nn];
		memcpy(nf->name, in[i].name, SIMSTORE_NAME_MAX);
		if (old && old->blob->len == in[i].len &&
		    (in[i].len == 0 || !memcmp(old->blob->data, in[i].data, in[i].len))) {
			atomic_fetch_add(&old->blob->refs, 1);
			nf->blob = old->blob;
			nf->mtime_ns = old->mtime_ns;
			r->nn++;
			continue;
		}
		if (!(nf->blob = blob_new(in[i].data, in[i].len)))
			return -ENOMEM;
		nf->mtime_ns = now_ns;
		r->nn++;
		note(r, in[i].name, !old);
	}
	return 0;
}

/* Locked: r becomes the store's content; the old array goes into r. */
static void commit(struct simstore *s, struct repl *r, bool had_sms, int64_t now_ns)
{
	struct sfile *old = s->f;
	size_t nold = s->n;

	s->f = r->nf;
	s->n = r->nn;
	r->nf = old;
	r->nn = nold;
	if (r->moved_sms)
		s->mtime_sms = now_ns;
	if (had_sms != has_sms(s)) {
		note(r, "sms", true);
		s->mtime_sms = now_ns;
	}
	if (r->moved_root)
		s->mtime_root = now_ns;
}

int simstore_replace(struct simstore *s, const char *group, const struct simstore_in *in,
		     size_t n, int64_t now_ns, simstore_notify notify, void *arg)
{
	struct repl r = { 0 };
	int e = 0;

	for (size_t i = 0; i < n; i++)
		if (!in_group(in[i].name, group) || !simstore_ino(in[i].name))
			return -EINVAL;
	if (n > SIMSTORE_FILES_MAX)
		return -E2BIG;
	r.nf = calloc(SIMSTORE_FILES_MAX, sizeof(*r.nf));
	r.chg = calloc(2 * SIMSTORE_FILES_MAX + 1, sizeof(*r.chg));
	if (!r.nf || !r.chg) {
		e = -ENOMEM;
		goto out;
	}
	pthread_mutex_lock(&s->mu);
	bool had_sms = has_sms(s);

	if ((e = build(s, group, in, n, now_ns, &r)) == 0)
		commit(s, &r, had_sms, now_ns);
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; e == 0 && notify && i < r.nc; i++)
		notify(arg, r.chg[i]);
out:
	for (size_t i = 0; r.nf && i < r.nn; i++)
		simblob_put(r.nf[i].blob);
	free(r.nf);
	free(r.chg);
	return e;
}
