/* check.c — `vigil-server check` (check.h): the index's rows against the
 * packs (store_check_rows), then every live file version: its tree pages
 * through a vreader (each page checked against its sha256), each chunk it
 * names indexed and not among the damaged rows; with --read-data the
 * chunks are read by the vreader, which checks each against its sha256.
 * A page whose subtree was found sound before in the run is not walked
 * again (docs/store-format.md, "Checking the store": shared pages once);
 * a version read whole is compared with its sha256 too. */
#include "server/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/clock.h"
#include "common/timefmt.h"
#include "common/vec.h"
#include "controller/jsonout.h"
#include "server/index.h"
#include "server/store/content.h"
#include "server/store/content_int.h"
#include "server/store/store.h"

#define CHECK_VPAGE     64     /* versions read from the index at once */
#define CHECK_LOCS      64     /* chunks located at once */
#define CHECK_EVENTS    20     /* damage events recorded per device and run */
#define CHECK_OPEN      64     /* pages begun at once (a path from a leaf up, and more) */

/* A set of 16-byte keys, open addressing (below). */
struct seenset {
	struct seen *t;
	size_t n, cap;
};

struct badrow {
	uint8_t id[STORE_ID_LEN];
	uint32_t pack;
	uint64_t off;
	const char *why;
	bool used;               /* some version names it */
};

struct check {
	const struct admin_env *env;
	bool read_data, json;
	double sample;           /* percent of versions read (100: all) */
	uint64_t seed;
	struct vec bad;          /* struct badrow, sorted by id once the rows are checked */
	struct store_check_stats rows;
	uint64_t versions, read_versions, read_bytes, damaged;
	int64_t last_dev;        /* for the per-device event cap */
	int dev_events;
	json_t *jdamaged;
	FILE *out;
	struct seenset contents; /* contents checked (many versions share one) */
	struct seenset pages;    /* tree pages whose whole subtree was checked */
	uint64_t shared_bytes;   /* read: bytes under pages read before */
};

static int badrow_cmp(const void *a, const void *b)
{
	return memcmp(((const struct badrow *)a)->id, ((const struct badrow *)b)->id, STORE_ID_LEN);
}

static int on_bad_row(void *arg, const uint8_t id[STORE_ID_LEN], const struct store_loc *l,
		      const char *why)
{
	struct check *c = arg;
	struct badrow *b = vec_add(&c->bad);

	if (!b)
		return -ENOMEM;
	*b = (struct badrow){ .pack = l->pack, .off = l->off, .why = why };
	memcpy(b->id, id, STORE_ID_LEN);
	return 0;
}

static struct badrow *bad_find(struct check *c, const uint8_t id[STORE_ID_LEN])
{
	struct badrow k;

	memcpy(k.id, id, STORE_ID_LEN);
	return c->bad.n ? bsearch(&k, c->bad.p, c->bad.n, sizeof(k), badrow_cmp) : NULL;
}

/* splitmix64: whether version row id is in the sample. */
static bool sampled(const struct check *c, int64_t id)
{
	uint64_t z = c->seed + (uint64_t)id * 0x9e3779b97f4a7c15ull;

	if (c->sample >= 100)
		return true;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (double)(z % 1000000) < c->sample * 10000;
}

/* Looks up n chunk hashes: what is wrong with the first faulty one, or
 * NULL; what[] is the caller's buffer. */
static const char *chunks_fault(struct check *c, struct store_idmac *mac, uint8_t (*sha)[32],
				size_t n, char *what, size_t cap)
{
	uint8_t ids[CHECK_LOCS][STORE_ID_LEN];
	struct store_loc loc[CHECK_LOCS];
	struct badrow *b;
	int r;

	for (size_t i = 0; i < n; i++)
		if (store_idmac(mac, sha[i], ids[i]) < 0)
			return "cannot compute chunk ids";
	if ((r = store_locate(c->env->st, (const uint8_t (*)[STORE_ID_LEN])ids, n, loc)) < 0)
		return snprintf(what, cap, "index lookup failed: %s", strerror(-r)), what;
	for (size_t i = 0; i < n; i++) {
		if (!loc[i].found)
			return "a chunk is missing from the index";
		if ((b = bad_find(c, ids[i]))) {
			b->used = true;
			snprintf(what, cap, "chunk record in pack %u at %llu: %s", b->pack,
				 (unsigned long long)b->off, b->why);
			return what;
		}
	}
	return NULL;
}

/* ---- sets of 16-byte keys: contents checked (many versions share one:
 * META, renames), and tree pages whose whole subtree was checked (versions
 * of one file share most of their pages).  A set stops growing at SEEN_MAX
 * slots (32 MiB), after which the rest is simply checked again. */
#define SEEN_MAX (1u << 20)
struct seen {
	uint8_t key[16];
	bool used, read;
	char *fault;             /* contents: NULL when sound */
};

static size_t seen_pos(const uint8_t key[16], size_t cap)
{
	size_t h;

	memcpy(&h, key, sizeof(h));
	return h & (cap - 1);
}

static bool seen_grow(struct seenset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	struct seen *t;

	if (cap > SEEN_MAX || !(t = calloc(cap, sizeof(*t))))
		return false;
	for (size_t i = 0; i < s->cap; i++) {
		size_t j = seen_pos(s->t[i].key, cap);

		if (!s->t[i].used)
			continue;
		while (t[j].used)
			j = (j + 1) & (cap - 1);
		t[j] = s->t[i];
	}
	free(s->t);
	s->t = t;
	s->cap = cap;
	return true;
}

/* The slot of key (found, or free for it), NULL when the set is full. */
static struct seen *seen_slot(struct seenset *s, const uint8_t key[16])
{
	if (s->n * 2 >= s->cap && !seen_grow(s) && (!s->cap || s->n * 4 >= s->cap * 3))
		return NULL;
	for (size_t j = seen_pos(key, s->cap);; j = (j + 1) & (s->cap - 1))
		if (!s->t[j].used || !memcmp(s->t[j].key, key, 16))
			return &s->t[j];
}

/* Records key (read: its bytes were read too); the slot or NULL. */
static struct seen *seen_put(struct seenset *s, const uint8_t key[16], bool read)
{
	struct seen *e = seen_slot(s, key);

	if (e && !e->used) {
		memcpy(e->key, key, 16);
		e->used = true;
		s->n++;
	}
	if (e)
		e->read = read || e->read;
	return e;
}

static void seen_free(struct seenset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->t[i].fault);
	free(s->t);
}

/* ---- one version's tree, chunks and (reading) bytes ----
 * At each chunk boundary the pages that start there (vreader_subtrees_at,
 * highest first) are looked up in c->pages by their chunk id (keyed by the
 * device, like the pages themselves): one checked before — with its bytes
 * read, when reading — is skipped whole; the others are walked and enter
 * the set once every chunk below them was found sound.  Pages that reach
 * the content's end are never skipped (vreader_subtrees_at leaves them
 * out), nor is a version's root. */
struct walk {
	struct check *c;
	struct vreader *vr;
	struct store_idmac *mac;
	bool read, skipped;      /* skipped: some subtree was checked before */
	uint8_t sha[CHECK_LOCS][32];
	size_t n;                /* chunks waiting for their lookup */
	struct vsubtree open[CHECK_OPEN];   /* pages begun, not yet sound */
	size_t nopen;
	EVP_MD_CTX *md;          /* the whole content's sha256 (nothing skipped) */
	uint8_t *buf;
};

static void page_key(struct walk *w, const uint8_t hash[32], uint8_t key[16])
{
	uint8_t id[STORE_ID_LEN];

	if (store_idmac(w->mac, hash, id) < 0)
		memset(id, 0, sizeof(id));   /* never skipped: the all-zero key is not entered */
	memcpy(key, id, 16);
}

/* The bytes of the highest page starting at off that was checked before
 * (0: none); the others are noted as begun.  -errno on a tree fault. */
static int64_t walk_boundary(struct walk *w, uint64_t off)
{
	struct vsubtree sub[VSUBTREE_MAX];
	uint8_t key[16], zero[16] = { 0 };
	struct seen *e;
	int k = vreader_subtrees_at(w->vr, off, vreader_size(w->vr) - off, sub);

	if (k < 0)
		return k;
	for (int i = 0; i < k; i++) {
		page_key(w, sub[i].hash, key);
		e = memcmp(key, zero, 16) ? seen_slot(&w->c->pages, key) : NULL;
		if (e && e->used && (e->read || !w->read))
			return (int64_t)sub[i].bytes;
		if (w->nopen < CHECK_OPEN)
			w->open[w->nopen++] = sub[i];
	}
	return 0;
}

/* Looks the waiting chunks up; then every begun page that ends by off is
 * sound and enters the set.  NULL or what is wrong. */
static const char *walk_flush(struct walk *w, uint64_t off, char *what, size_t cap)
{
	const char *f = w->n ? chunks_fault(w->c, w->mac, w->sha, w->n, what, cap) : NULL;
	size_t j = 0;
	uint8_t key[16];

	w->n = 0;
	if (f)
		return f;
	for (size_t i = 0; i < w->nopen; i++) {
		if (w->open[i].start + w->open[i].bytes <= off) {
			page_key(w, w->open[i].hash, key);
			(void)seen_put(&w->c->pages, key, w->read);
		} else {
			w->open[j++] = w->open[i];
		}
	}
	w->nopen = j;
	return NULL;
}

/* Whether a begun page ends by off (its chunks are all waiting or found). */
static bool walk_ended(const struct walk *w, uint64_t off)
{
	for (size_t i = 0; i < w->nopen; i++)
		if (w->open[i].start + w->open[i].bytes <= off)
			return true;
	return false;
}

/* Reads chunk ch whole (the vreader checks it against its sha256). */
static int walk_read(struct walk *w, const struct vchunk *ch)
{
	ssize_t k = vreader_pread(w->vr, w->buf, ch->len, ch->start);

	if (k != (ssize_t)ch->len)
		return k < 0 ? (int)k : -EIO;
	w->c->read_bytes += ch->len;
	if (!w->skipped && EVP_DigestUpdate(w->md, w->buf, ch->len) != 1)
		return -EIO;
	return 0;
}

/* Walks the content from its first byte: NULL when sound. */
static const char *walk_content(struct walk *w, char *what, size_t cap)
{
	uint64_t size = vreader_size(w->vr), off = 0;
	const char *f = NULL;
	struct vchunk ch;
	int64_t skip;
	int r = 0;

	while (!f && off < size && !w->c->env->quit) {
		if ((skip = walk_boundary(w, off)) > 0) {
			w->skipped = true;
			w->c->shared_bytes += w->read ? (uint64_t)skip : 0;
			off += (uint64_t)skip;
			continue;
		}
		if (skip < 0 || (r = vreader_chunk_at(w->vr, off, &ch)) < 0 || !ch.len ||
		    ch.start != off) {
			r = skip < 0 ? (int)skip : r;
			snprintf(what, cap, "tree page damaged at byte %llu: %s",
				 (unsigned long long)off, strerror(r < 0 ? -r : EBADMSG));
			return what;
		}
		memcpy(w->sha[w->n++], ch.sha, 32);
		if (w->read && (r = walk_read(w, &ch)) < 0)
			return snprintf(what, cap, "reading it: %s", strerror(-r)), what;
		off += ch.len;
		if (w->n == CHECK_LOCS || off >= size || walk_ended(w, off))
			f = walk_flush(w, off, what, cap);
	}
	return f;
}

/* The version's tree and chunks (and, reading, its bytes): NULL when
 * sound, else what is wrong (in what[] or static). */
static const char *version_fault(struct check *c, const struct index_content *v, bool read,
				 char *what, size_t cap)
{
	struct content_ref ref = { .size = v->size };
	struct walk *w = calloc(1, sizeof(*w));
	struct devkey key;
	uint8_t h[32];
	unsigned int hl = 32;
	const char *f = "out of memory";
	int r;

	memcpy(ref.root, v->content_root, 32);
	memcpy(key.k, v->devkey, 32);
	if (!w || !(w->mac = store_idmac_new(&key)) || !(w->md = EVP_MD_CTX_new()) ||
	    !(w->buf = malloc(STORE_CHUNK_MAX)) || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1)
		goto out;
	w->c = c;
	w->read = read;
	if ((r = vreader_open(c->env->st, &key, &ref, &w->vr)) < 0) {
		f = r == -ENOENT ? "the tree's root page is missing" :
		    (snprintf(what, cap, "tree root page: %s", strerror(-r)), what);
		goto out;
	}
	if (read)
		c->read_versions++;
	f = walk_content(w, what, cap);
	/* with nothing skipped the bytes were all read: the sha256 too */
	if (!f && read && !w->skipped && v->sha_known && !c->env->quit &&
	    (EVP_DigestFinal_ex(w->md, h, &hl) != 1 || memcmp(h, v->sha256, 32)))
		f = "its content does not match its sha256";
out:
	if (w) {
		vreader_free(w->vr);
		store_idmac_free(w->mac);
		EVP_MD_CTX_free(w->md);
		free(w->buf);
	}
	free(w);
	return f;
}

/* Prints and records one damaged version. */
static void report_version(struct check *c, const struct index_content *v, const char *what)
{
	char t[TIMEFMT_MAX], detail[512];
	char *p = text_escape(v->path, true);

	c->damaged++;
	timefmt_format(v->capture_ns, t, sizeof(t));
	if (c->json) {
		json_array_append_new(c->jdamaged, json_pack("{s:s, s:o, s:I, s:s, s:s}",
			"device", v->devname, "path", jsonout_str(v->path),
			"version", (json_int_t)v->version, "time", t, "what", what));
	} else {
		fprintf(c->out, "damaged: %s %s version %llu captured %s: %s\n", v->devname,
			p ? p : "?", (unsigned long long)v->version, t, what);
	}
	if (c->last_dev != v->dev)
		c->last_dev = v->dev, c->dev_events = 0;
	if (c->dev_events++ < CHECK_EVENTS) {
		snprintf(detail, sizeof(detail), "%s version %llu: %s", p ? p : "?",
			 (unsigned long long)v->version, what);
		/* the trail is append-only: a damage already told is not told
		 * again by every later check */
		if (index_event_seen(c->env->idx, v->dev, "damage", detail) == 0)
			(void)index_event_add(c->env->idx, v->dev, real_ns(), "damage", detail);
	}
	free(p);
}

/* A fault stands only if the version is still indexed (retention may have
 * dropped it, and a sweep its chunks, since it was listed). */
static bool still_there(struct check *c, const struct index_content *v)
{
	struct index_version *iv = malloc(sizeof(*iv));
	bool there;

	if (!iv)
		return true;
	there = index_version_get(c->env->ridx, v->dev, v->path, v->version, iv) != -ENOENT;
	free(iv);
	return there;
}

/* A content is known by 16 bytes of sha256(dev, root, sha256, size). */
static void content_key(const struct index_content *v, uint8_t key[16])
{
	uint8_t in[8 + 32 + 32 + 8], h[32];
	unsigned int n = sizeof(h);

	memcpy(in, &v->dev, 8);
	memcpy(in + 8, v->content_root, 32);
	memcpy(in + 40, v->sha256, 32);
	memcpy(in + 72, &v->size, 8);
	EVP_Digest(in, sizeof(in), h, &n, EVP_sha256(), NULL);
	memcpy(key, h, 16);
}

/* version_fault once per content (again when it must now be read). */
static const char *content_fault(struct check *c, const struct index_content *v, bool read,
				 char *what, size_t cap)
{
	uint8_t key[16];
	struct seen *e;
	const char *f;

	content_key(v, key);
	e = seen_slot(&c->contents, key);
	if (e && e->used && (e->read || !read || e->fault))
		return e->fault;
	f = version_fault(c, v, read, what, cap);
	if (!(e = seen_put(&c->contents, key, read)))
		return f;
	e->read = read;
	free(e->fault);
	e->fault = f ? strdup(f) : NULL;
	return f;
}

static int check_versions(struct check *c)
{
	struct index_content *vs = malloc(CHECK_VPAGE * sizeof(*vs));
	char what[256];
	int64_t after = 0;
	int n;

	if (!vs)
		return -ENOMEM;
	while ((n = index_content_versions(c->env->ridx, after, vs, CHECK_VPAGE)) > 0) {
		for (int i = 0; i < n; i++) {
			const char *f;

			c->versions++;
			f = content_fault(c, &vs[i], c->read_data && sampled(c, vs[i].id), what,
					  sizeof(what));
			if (f && still_there(c, &vs[i]))
				report_version(c, &vs[i], f);
		}
		after = vs[n - 1].id;
		if (c->env->quit) {
			n = -ECANCELED;
			break;
		}
	}
	free(vs);
	return n < 0 ? n : 0;
}

/* Damaged rows no version names: still damage in the index. */
static void report_rows(struct check *c, json_t *jrows)
{
	for (size_t i = 0; i < c->bad.n; i++) {
		const struct badrow *b = (const struct badrow *)c->bad.p + i;

		if (b->used)
			continue;
		if (jrows)
			json_array_append_new(jrows, json_pack("{s:I, s:I, s:s}", "pack",
				(json_int_t)b->pack, "offset", (json_int_t)b->off, "what", b->why));
		else
			fprintf(c->out, "damaged: record in pack %u at %llu (no version uses it): %s\n",
				b->pack, (unsigned long long)b->off, b->why);
	}
}

static void summary(struct check *c)
{
	const struct badrow *bad = c->bad.p;
	size_t unused = 0;
	json_t *j, *jrows;

	for (size_t i = 0; i < c->bad.n; i++)
		unused += !bad[i].used;
	if (!c->json) {
		report_rows(c, NULL);
		fprintf(c->out, "checked %llu records (%llu bytes) and %llu versions",
			(unsigned long long)c->rows.rows, (unsigned long long)c->rows.bytes,
			(unsigned long long)c->versions);
		if (c->read_data)
			fprintf(c->out, "; read %llu versions (%llu bytes, %llu more shared with"
				" versions read before, sample %g%%, seed %llu)",
				(unsigned long long)c->read_versions,
				(unsigned long long)c->read_bytes,
				(unsigned long long)c->shared_bytes, c->sample,
				(unsigned long long)c->seed);
		fprintf(c->out, ": %llu damaged versions, %zu damaged records unused\n",
			(unsigned long long)c->damaged, unused);
		return;
	}
	jrows = json_array();
	report_rows(c, jrows);
	j = json_pack("{s:b, s:I, s:I, s:I, s:o, s:o}", "ok", c->damaged == 0 && unused == 0,
		      "records", (json_int_t)c->rows.rows, "record_bytes",
		      (json_int_t)c->rows.bytes, "versions", (json_int_t)c->versions,
		      "damaged", c->jdamaged, "damaged_records", jrows);
	c->jdamaged = NULL;
	if (j && c->read_data)
		json_object_set_new(j, "read", json_pack("{s:I, s:I, s:I, s:f, s:I}", "versions",
			(json_int_t)c->read_versions, "bytes", (json_int_t)c->read_bytes,
			"shared_bytes", (json_int_t)c->shared_bytes,
			"sample", c->sample, "seed", (json_int_t)(c->seed & INT64_MAX)));
	if (j)
		json_dumpf(j, c->out, JSON_COMPACT);
	fputc('\n', c->out);
	json_decref(j);
}

static int usage(FILE *err, const char *what)
{
	fprintf(err, "vigil-server: %s (usage: vigil-server check DIR [--read-data"
		" [--sample PERCENT] [--seed N]] [--json])\n", what);
	return 2;
}

static int parse(struct check *c, int argc, char **argv, FILE *err)
{
	bool sample = false, seeded = false;
	char *end;

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--read-data")) {
			c->read_data = true;
		} else if (!strcmp(a, "--json")) {
			c->json = true;
		} else if (!strcmp(a, "--sample") && i + 1 < argc) {
			c->sample = strtod(argv[++i], &end);
			if (*end || end == argv[i] || !(c->sample > 0 && c->sample <= 100))
				return usage(err, "--sample takes a percentage in (0, 100]");
			sample = true;
		} else if (!strcmp(a, "--seed") && i + 1 < argc) {
			errno = 0;
			c->seed = strtoull(argv[++i], &end, 10);
			if (*end || end == argv[i] || errno || argv[i][0] == '-')
				return usage(err, "--seed takes a number");
			seeded = true;
		} else {
			return usage(err, "bad argument");
		}
	}
	if ((sample || seeded) && !c->read_data)
		return usage(err, "--sample and --seed go with --read-data");
	if (!seeded && sample && RAND_bytes((unsigned char *)&c->seed, sizeof(c->seed)) != 1)
		return fprintf(err, "vigil-server: no randomness\n"), 1;
	c->seed &= INT64_MAX;
	return 0;
}

int srvcheck_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err)
{
	struct check c = { .env = env, .sample = 100, .out = out, .last_dev = -1,
			   .bad = VEC_INIT(struct badrow) };
	int r;

	if ((r = parse(&c, argc, argv, err)) != 0)
		return r;
	if (c.json && !(c.jdamaged = json_array()))
		return fprintf(err, "vigil-server: out of memory\n"), 1;
	r = store_check_rows(env->st, on_bad_row, &c, &env->quit, &c.rows);
	if (r == 0) {
		if (c.bad.n)   /* qsort of NULL is undefined, even for 0 */
			qsort(c.bad.p, c.bad.n, c.bad.size, badrow_cmp);
		r = check_versions(&c);
	}
	if (r == 0)
		summary(&c);
	else
		fprintf(err, "vigil-server: check: %s\n", strerror(-r));
	json_decref(c.jdamaged);
	r = r < 0 ? 1 : (c.damaged || c.bad.n) ? 1 : 0;
	vec_free(&c.bad);
	seen_free(&c.contents);
	seen_free(&c.pages);
	return r;
}
