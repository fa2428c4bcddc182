/* textindex_query.c — keyword search over search.db and hit snippets.
 *
 * Each WORD becomes one FTS5 phrase (tokenized by the "vigil" tokenizer,
 * so case, CJK runs and punctuation are handled the same way as in the
 * documents); a WORD that looks like a phone number also matches the
 * normalised numbers column.  A version matches a word when its path piece
 * or any piece of its content does; the query intersects that over all
 * words in one SQL statement. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "server/search/phone.h"
#include "server/search/textindex_int.h"
#include "server/search/tokenize.h"

#define WORD_MAX 1024
#define SNIP_BEFORE 60

struct qword {
	char expr[2 * WORD_MAX + 64];  /* FTS5 expression */
	char tok[TOK_MAX + 1];         /* first token, to place the snippet */
	size_t toklen;
	bool phone;
	char key[PHONE_KEY_MAX];
};

static int
first_token(void *arg, const char *tok, size_t len, size_t start, size_t end, bool colocated)
{
	struct qword *w = arg;

	memcpy(w->tok, tok, len);
	w->toklen = len;
	return 1;
}

/* 0, or 1 when the word has nothing searchable, or -EINVAL. */
static int
qword_make(struct qword *w, const char *word, int country)
{
	size_t n = strlen(word), i, o = 0;
	char phrase[2 * WORD_MAX + 3];

	memset(w, 0, sizeof(*w));
	if (n == 0 || n > WORD_MAX)
		return n == 0 ? 1 : -EINVAL;
	tok_run(word, n, TOK_QUERY, first_token, w);
	w->phone = phone_normalize(word, n, country, w->key);
	if (w->toklen == 0 && !w->phone)
		return 1;
	phrase[o++] = '"';
	for (i = 0; i < n; i++) {
		if (word[i] == '"')
			phrase[o++] = '"';
		phrase[o++] = word[i];
	}
	phrase[o++] = '"';
	phrase[o] = '\0';
	if (w->phone)
		snprintf(w->expr, sizeof(w->expr), "(phones : \"%s\") OR (%s)", w->key, phrase);
	else
		snprintf(w->expr, sizeof(w->expr), "%s", phrase);
	return 0;
}

/* Hits as (path, version, time_ns, piece): piece is the first piece of
 * the content (in text order) matching the first word that matches the
 * content at all (NULL: only paths matched), for the snippet. */
static int
build_sql(struct buf *b, size_t nwords, bool all_versions)
{
	size_t i;

	buf_printf(b, "WITH ");
	for (i = 0; i < nwords; i++)
		buf_printf(b, "%sm%zu(p) AS MATERIALIZED (SELECT rowid FROM fts WHERE fts MATCH ?%zu),"
			   " c%zu(c) AS MATERIALIZED (SELECT DISTINCT content FROM content_pieces"
			   " WHERE piece IN m%zu)", i ? ", " : "", i, i + 2, i, i);
	buf_printf(b, " SELECT v.path, v.version, v.time_ns, coalesce(NULL");
	for (i = 0; i < nwords; i++)
		buf_printf(b, ", (SELECT cp.piece FROM content_pieces cp WHERE cp.content = v.content"
			   " AND cp.piece IN m%zu ORDER BY cp.seq LIMIT 1)", i);
	buf_printf(b, ") FROM versions v WHERE v.device = ?1 AND v.deleted = 0");
	if (!all_versions)
		buf_printf(b, " AND v.version = (SELECT max(version) FROM versions x"
			   " WHERE x.device = v.device AND x.path = v.path)");
	for (i = 0; i < nwords; i++)
		buf_printf(b, " AND (v.path_piece IN m%zu OR v.content IN c%zu)", i, i);
	buf_printf(b, " ORDER BY v.path, v.version");
	return buf_cstr(b) != NULL ? 0 : -ENOMEM;
}

/* ---- snippets ---- */

struct find {
	const struct qword *w;
	size_t nw;
	size_t at;      /* byte offset of the first match, SIZE_MAX: none */
};

static int
find_token(void *arg, const char *tok, size_t len, size_t start, size_t end, bool colocated)
{
	struct find *f = arg;
	size_t i;

	for (i = 0; i < f->nw; i++)
		if (f->w[i].toklen == len && memcmp(f->w[i].tok, tok, len) == 0) {
			f->at = start;
			return 1;
		}
	return 0;
}

static int
find_phone(void *arg, const char *key, size_t start, size_t end)
{
	struct find *f = arg;
	size_t i;

	for (i = 0; i < f->nw; i++)
		if (f->w[i].phone && strcmp(f->w[i].key, key) == 0 && start < f->at) {
			f->at = start;
			return 1;
		}
	return 0;
}

/* <= TI_SNIPPET_MAX bytes of body around the first match, UTF-8 safe. */
static void
snippet_cut(const char *body, size_t len, const struct qword *w, size_t nw, int country,
	    char *out, size_t cap)
{
	struct find f = { w, nw, SIZE_MAX };
	size_t s, e, o = 0, max = cap - 1 < TI_SNIPPET_MAX ? cap - 1 : TI_SNIPPET_MAX;

	tok_run(body, len, TOK_DOCUMENT, find_token, &f);
	phone_scan(body, f.at < len ? f.at + 32 < len ? f.at + 32 : len : len, country, find_phone, &f);
	s = f.at == SIZE_MAX ? 0 : f.at > SNIP_BEFORE ? f.at - SNIP_BEFORE : 0;
	while (s > 0 && ((uint8_t)body[s] & 0xc0) == 0x80)
		s--;
	e = s + max < len ? s + max : len;
	while (e > s && e < len && ((uint8_t)body[e] & 0xc0) == 0x80)
		e--;
	for (; s < e; s++)
		out[o++] = (body[s] == '\n' || body[s] == '\t' || body[s] == '\r') ? ' ' : body[s];
	out[o] = '\0';
}

/* The snippet from one piece (0 or NULL: none). */
static int
snippet(struct textindex *ti, sqlite3_stmt *body, int64_t piece, const struct qword *w,
	size_t nw, char *out, size_t cap)
{
	int rc;

	out[0] = '\0';
	if (piece <= 0)
		return 0;
	sqlite3_bind_int64(body, 1, piece);
	rc = sqlite3_step(body);
	if (rc == SQLITE_ROW)
		snippet_cut((const char *)sqlite3_column_text(body, 0),
			    (size_t)sqlite3_column_bytes(body, 0), w, nw, ti->country, out, cap);
	sqlite3_reset(body);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : ti_fail(ti->r, "snippet");
}

/* Hits are gathered compactly (under the read lock, which must not be
 * held while a caller sends them to a slow peer), then handed out. */
struct rec { uint64_t version; int64_t time_ns; uint16_t plen, slen; };

static int
run_query(struct textindex *ti, sqlite3_stmt *st, const struct qword *w, size_t nw,
	  struct buf *out)
{
	sqlite3_stmt *body = NULL;
	char snip[TI_SNIPPET_MAX + 1];
	struct rec r;
	const char *path;
	int src, ret = 0, hits = 0;

	if ((ret = ti_prepare(ti->r, "SELECT body FROM fts WHERE rowid = ?1", &body)) < 0)
		return ret;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		path = (const char *)sqlite3_column_text(st, 0);
		r.plen = (uint16_t)(sqlite3_column_bytes(st, 0) < PATH_MAX ? sqlite3_column_bytes(st, 0) :
				    PATH_MAX - 1);
		r.version = (uint64_t)sqlite3_column_int64(st, 1);
		r.time_ns = sqlite3_column_int64(st, 2);
		if ((ret = snippet(ti, body, sqlite3_column_int64(st, 3), w, nw, snip,
				   sizeof(snip))) < 0)
			break;
		r.slen = (uint16_t)strlen(snip);
		if ((ret = buf_reserve(out, sizeof(r) + r.plen + r.slen)) < 0) {
			log_warnx("search index: more hits than the reply cap; the rest is left out");
			ret = 0;
			break;
		}
		buf_append(out, &r, sizeof(r));
		buf_append(out, path, r.plen);
		buf_append(out, snip, r.slen);
		hits++;
	}
	sqlite3_finalize(body);
	if (ret != 0)
		return ret;
	return src == SQLITE_DONE || src == SQLITE_ROW ? hits : ti_fail(ti->r, "search");
}

static int
deliver(const struct buf *b, int (*cb)(void *, const struct vg_hit *), void *arg)
{
	struct vg_hit *h = malloc(sizeof(*h));
	size_t off = 0;
	struct rec r;
	int rc = 0;

	if (h == NULL)
		return -ENOMEM;
	while (off + sizeof(r) <= b->len && rc == 0) {
		memcpy(&r, b->data + off, sizeof(r));
		off += sizeof(r);
		memset(h, 0, sizeof(*h));
		memcpy(h->path, b->data + off, r.plen);
		off += r.plen;
		memcpy(h->snippet, b->data + off, r.slen);
		off += r.slen;
		h->version = r.version;
		h->time_ns = r.time_ns;
		rc = cb(arg, h);
	}
	free(h);
	return rc;
}

int
textindex_search(struct textindex *ti, int64_t device_id, char *const words[], size_t nwords,
		 bool all_versions, int (*cb)(void *arg, const struct vg_hit *h), void *arg)
{
	struct qword *w;
	sqlite3_stmt *st = NULL;
	struct buf sql, hits;
	size_t i;
	int rc = 0, n;

	if (nwords == 0 || nwords > TI_WORDS_MAX)
		return -EINVAL;
	if ((w = calloc(nwords, sizeof(*w))) == NULL)
		return -ENOMEM;
	for (i = 0; i < nwords && rc == 0; i++)
		rc = qword_make(&w[i], words[i], ti->country);
	if (rc != 0) {
		free(w);
		return rc < 0 ? rc : 0;   /* a word with nothing to search: no hits */
	}
	buf_init(&sql, 64 * 1024);
	buf_init(&hits, TI_HITS_BYTES_MAX);
	pthread_mutex_lock(&ti->rlock);
	if ((rc = build_sql(&sql, nwords, all_versions)) < 0 ||
	    (rc = ti_prepare(ti->r, (const char *)sql.data, &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, device_id);
	for (i = 0; i < nwords; i++)
		sqlite3_bind_text(st, (int)i + 2, w[i].expr, -1, SQLITE_STATIC);
	rc = run_query(ti, st, w, nwords, &hits);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ti->rlock);
	if (rc > 0) {
		n = rc;
		if ((rc = deliver(&hits, cb, arg)) == 0)
			rc = n;
	}
	buf_free(&hits);
	buf_free(&sql);
	free(w);
	return rc;
}
