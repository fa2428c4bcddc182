/* check.c — `vigil-server check` (check.h): the index's rows against the
 * packs (store_check_rows), then every live file version: its tree pages
 * through a vreader (each page checked against its sha256), each chunk it
 * names indexed and not among the damaged rows; with --read-data the
 * version is read whole by the vreader, which checks every chunk against
 * its sha256, and the result against the version's sha256. */
#include "server/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/clock.h"
#include "common/timefmt.h"
#include "controller/jsonout.h"
#include "server/index.h"
#include "server/store/content.h"
#include "server/store/content_int.h"
#include "server/store/store.h"

#define CHECK_VPAGE     64     /* versions read from the index at once */
#define CHECK_LOCS      64     /* chunks located at once */
#define CHECK_EVENTS    20     /* damage events recorded per device and run */

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
	struct badrow *bad;
	size_t nbad, capbad;
	struct store_check_stats rows;
	uint64_t versions, read_versions, read_bytes, damaged;
	int64_t last_dev;        /* for the per-device event cap */
	int dev_events;
	json_t *jdamaged;
	FILE *out;
	struct seen *seen;       /* contents checked, open addressing */
	size_t nseen, capseen;
};

static int badrow_cmp(const void *a, const void *b)
{
	return memcmp(((const struct badrow *)a)->id, ((const struct badrow *)b)->id, STORE_ID_LEN);
}

static int on_bad_row(void *arg, const uint8_t id[STORE_ID_LEN], const struct store_loc *l,
		      const char *why)
{
	struct check *c = arg;

	if (c->nbad == c->capbad) {
		size_t cap = c->capbad ? c->capbad * 2 : 64;
		struct badrow *n = realloc(c->bad, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->bad = n, c->capbad = cap;
	}
	c->bad[c->nbad] = (struct badrow){ .pack = l->pack, .off = l->off, .why = why };
	memcpy(c->bad[c->nbad++].id, id, STORE_ID_LEN);
	return 0;
}

static struct badrow *bad_find(struct check *c, const uint8_t id[STORE_ID_LEN])
{
	struct badrow k;

	memcpy(k.id, id, STORE_ID_LEN);
	return c->nbad ? bsearch(&k, c->bad, c->nbad, sizeof(k), badrow_cmp) : NULL;
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

/* The version's tree and chunks (and, reading, its bytes): NULL when
 * sound, else what is wrong (in what[] or static). */
static const char *version_fault(struct check *c, const struct index_content *v, bool read,
				 char *what, size_t cap)
{
	struct content_ref ref = { .size = v->size };
	struct devkey key;
	struct vreader *vr = NULL;
	struct store_idmac *mac;
	uint8_t sha[CHECK_LOCS][32], h[32];
	const char *f = NULL;
	uint64_t off = 0;
	size_t n = 0;
	int r;

	memcpy(ref.root, v->content_root, 32);
	memcpy(key.k, v->devkey, 32);
	if (!(mac = store_idmac_new(&key)))
		return "out of memory";
	if ((r = vreader_open(c->env->st, &key, &ref, &vr)) < 0) {
		store_idmac_free(mac);
		return r == -ENOENT ? "the tree's root page is missing" :
		       (snprintf(what, cap, "tree root page: %s", strerror(-r)), what);
	}
	while (!f && off < v->size) {
		struct vchunk ch;

		if ((r = vreader_chunk_at(vr, off, &ch)) < 0 || !ch.len || ch.start != off) {
			snprintf(what, cap, "tree page damaged at byte %llu: %s",
				 (unsigned long long)off, strerror(r < 0 ? -r : EBADMSG));
			f = what;
			break;
		}
		memcpy(sha[n++], ch.sha, 32);
		off += ch.len;
		if (n == CHECK_LOCS || off >= v->size)
			f = chunks_fault(c, mac, sha, n, what, cap), n = 0;
	}
	if (!f && read) {
		c->read_versions++;
		c->read_bytes += v->size;
		if ((r = content_sha256(vr, h)) < 0)
			f = (snprintf(what, cap, "reading it: %s", strerror(-r)), what);
		else if (v->sha_known && memcmp(h, v->sha256, 32))
			f = "its content does not match its sha256";
	}
	vreader_free(vr);
	store_idmac_free(mac);
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

/* ---- contents already checked (many versions share one: META, renames).
 * A content is known by 16 bytes of sha256(dev, root, sha256, size); the
 * table stops growing at SEEN_MAX slots (32 MiB), after which the rest is
 * simply checked again. */
#define SEEN_MAX (1u << 20)
struct seen {
	uint8_t key[16];
	bool used, read;
	char *fault;             /* NULL: sound */
};

static void seen_key(const struct index_content *v, uint8_t key[16])
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

static size_t seen_pos(const uint8_t key[16], size_t cap)
{
	size_t h;

	memcpy(&h, key, sizeof(h));
	return h & (cap - 1);
}

static bool seen_grow(struct check *c)
{
	size_t cap = c->capseen ? c->capseen * 2 : 1024;
	struct seen *t;

	if (cap > SEEN_MAX || !(t = calloc(cap, sizeof(*t))))
		return false;
	for (size_t i = 0; i < c->capseen; i++) {
		size_t j = seen_pos(c->seen[i].key, cap);

		if (!c->seen[i].used)
			continue;
		while (t[j].used)
			j = (j + 1) & (cap - 1);
		t[j] = c->seen[i];
	}
	free(c->seen);
	c->seen = t;
	c->capseen = cap;
	return true;
}

/* The slot of key (found, or free for it), NULL when the table is full. */
static struct seen *seen_slot(struct check *c, const uint8_t key[16])
{
	if (c->nseen * 2 >= c->capseen && !seen_grow(c) && c->nseen * 4 >= c->capseen * 3)
		return NULL;
	for (size_t j = seen_pos(key, c->capseen);; j = (j + 1) & (c->capseen - 1))
		if (!c->seen[j].used || !memcmp(c->seen[j].key, key, 16))
			return &c->seen[j];
}

/* version_fault once per content (again when it must now be read). */
static const char *content_fault(struct check *c, const struct index_content *v, bool read,
				 char *what, size_t cap)
{
	uint8_t key[16];
	struct seen *e;
	const char *f;

	seen_key(v, key);
	e = seen_slot(c, key);
	if (e && e->used && (e->read || !read || e->fault))
		return e->fault;
	f = version_fault(c, v, read, what, cap);
	if (!e)
		return f;
	if (!e->used) {
		memcpy(e->key, key, 16);
		e->used = true;
		c->nseen++;
	}
	e->read = read;
	free(e->fault);
	e->fault = f ? strdup(f) : NULL;
	return f;
}

static void seen_free(struct check *c)
{
	for (size_t i = 0; i < c->capseen; i++)
		free(c->seen[i].fault);
	free(c->seen);
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
	for (size_t i = 0; i < c->nbad; i++) {
		const struct badrow *b = &c->bad[i];

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
	size_t unused = 0;
	json_t *j, *jrows;

	for (size_t i = 0; i < c->nbad; i++)
		unused += !c->bad[i].used;
	if (!c->json) {
		report_rows(c, NULL);
		fprintf(c->out, "checked %llu records (%llu bytes) and %llu versions",
			(unsigned long long)c->rows.rows, (unsigned long long)c->rows.bytes,
			(unsigned long long)c->versions);
		if (c->read_data)
			fprintf(c->out, "; read %llu versions (%llu bytes, sample %g%%, seed %llu)",
				(unsigned long long)c->read_versions,
				(unsigned long long)c->read_bytes, c->sample,
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
		json_object_set_new(j, "read", json_pack("{s:I, s:I, s:f, s:I}", "versions",
			(json_int_t)c->read_versions, "bytes", (json_int_t)c->read_bytes,
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
	struct check c = { .env = env, .sample = 100, .out = out, .last_dev = -1 };
	int r;

	if ((r = parse(&c, argc, argv, err)) != 0)
		return r;
	if (c.json && !(c.jdamaged = json_array()))
		return fprintf(err, "vigil-server: out of memory\n"), 1;
	r = store_check_rows(env->st, on_bad_row, &c, &env->quit, &c.rows);
	if (r == 0) {
		if (c.nbad)   /* qsort of NULL is undefined, even for 0 */
			qsort(c.bad, c.nbad, sizeof(*c.bad), badrow_cmp);
		r = check_versions(&c);
	}
	if (r == 0)
		summary(&c);
	else
		fprintf(err, "vigil-server: check: %s\n", strerror(-r));
	json_decref(c.jdamaged);
	r = r < 0 ? 1 : (c.damaged || c.nbad) ? 1 : 0;
	free(c.bad);
	seen_free(&c);
	return r;
}
