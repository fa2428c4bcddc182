/* tokenize.c — vigil's FTS5 tokenizer: folded words of any script, CJK
 * runs as unigrams + bigrams (see tokenize.h for the position rules). */
#include <errno.h>
#include <string.h>

#include "server/search/tokenize.h"

size_t
tok_utf8_decode(const uint8_t *p, size_t n, int32_t *cp)
{
	uint8_t c = p[0];
	size_t len, i;
	int32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2; v = c & 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3; v = c & 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4; v = c & 0x07; min = 0x10000;
	} else {
		*cp = -1;
		return 1;
	}
	if (n < len) {
		*cp = -1;
		return 1;
	}
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*cp = -1;
			return 1;
		}
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
		*cp = -1;
		return 1;
	}
	*cp = v;
	return len;
}

static size_t
utf8_encode(int32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int32_t
tok_fold(int32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
	if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
		return cp + 32;
	if (cp >= 0x100 && cp <= 0x17f) {
		if (cp == 0x130)
			return 'i';
		if (cp == 0x178)
			return 0xff;
		if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e))
			return (cp & 1) ? cp + 1 : cp;
		if (cp == 0x138 || cp == 0x149 || cp == 0x17f)
			return cp;
		return (cp & 1) ? cp : cp + 1;
	}
	if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2)
		return cp + 32;
	if (cp >= 0x410 && cp <= 0x42f)
		return cp + 32;
	if (cp >= 0x400 && cp <= 0x40f)
		return cp + 80;
	if (cp >= 0xff01 && cp <= 0xff5e)   /* fullwidth ASCII */
		return tok_fold(cp - 0xff01 + 0x21);
	return cp;
}

bool
tok_is_cjk(int32_t cp)
{
	return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
	    (cp >= 0x20000 && cp <= 0x2ffff) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0x3040 && cp <= 0x30ff) || (cp >= 0x31f0 && cp <= 0x31ff) ||
	    (cp >= 0xff66 && cp <= 0xff9f) || (cp >= 0xac00 && cp <= 0xd7af) ||
	    (cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0x3130 && cp <= 0x318f);
}

bool
tok_is_word(int32_t cp)
{
	if (cp < 0)
		return false;
	if (cp < 0x80)
		return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') ||
		    (cp >= 'A' && cp <= 'Z');
	if (tok_is_cjk(cp))
		return false;
	if (cp <= 0xbf)
		return cp == 0xaa || cp == 0xb5 || cp == 0xba;
	if (cp == 0xd7 || cp == 0xf7)
		return false;
	if ((cp >= 0x2000 && cp <= 0x206f) || (cp >= 0x2190 && cp <= 0x2bff) ||
	    (cp >= 0x3000 && cp <= 0x303f) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
	    (cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xfff0 && cp <= 0xffff) ||
	    (cp >= 0x1f000 && cp <= 0x1faff))
		return false;
	if (cp >= 0xff01 && cp <= 0xff5e)   /* fullwidth ASCII: only letters/digits */
		return tok_is_word(tok_fold(cp));
	if (cp >= 0xff5f && cp <= 0xff65)   /* fullwidth/halfwidth punctuation (fold keeps them) */
		return false;
	return true;
}

struct cjk_char { int32_t cp; size_t start, end; };

static int
emit_cps(tok_fn cb, void *arg, const struct cjk_char *a, const struct cjk_char *b,
	 bool colocated)
{
	char t[8];
	size_t n = utf8_encode(tok_fold(a->cp), t);

	if (b != NULL)
		n += utf8_encode(tok_fold(b->cp), t + n);
	return cb(arg, t, n, a->start, b != NULL ? b->end : a->end, colocated);
}

/* One run of CJK characters starting at *offp (known CJK); advances *offp.
 * Document: each character, then the bigram it starts at the same position.
 * Query: the bigrams, then the last character alone. */
static int
cjk_run(const uint8_t *p, size_t len, size_t *offp, enum tok_mode mode,
	tok_fn cb, void *arg)
{
	struct cjk_char a, b;
	size_t off = *offp, cl;
	int32_t cp;
	bool have_b;
	int rc = 0;

	cl = tok_utf8_decode(p + off, len - off, &cp);
	a.cp = cp; a.start = off; a.end = off + cl;
	off += cl;
	for (;;) {
		have_b = false;
		if (off < len) {
			cl = tok_utf8_decode(p + off, len - off, &cp);
			if (cp >= 0 && tok_is_cjk(cp)) {
				b.cp = cp; b.start = off; b.end = off + cl;
				have_b = true;
				off += cl;
			}
		}
		if (mode == TOK_DOCUMENT) {
			if ((rc = emit_cps(cb, arg, &a, NULL, false)) != 0)
				break;
			if (have_b && (rc = emit_cps(cb, arg, &a, &b, true)) != 0)
				break;
		} else if ((rc = emit_cps(cb, arg, &a, have_b ? &b : NULL, false)) != 0) {
			break;
		}
		if (!have_b)
			break;
		a = b;
	}
	*offp = off;
	return rc;
}

int
tok_run(const char *text, size_t len, enum tok_mode mode, tok_fn cb, void *arg)
{
	const uint8_t *p = (const uint8_t *)text;
	char word[TOK_MAX + 4];
	size_t off = 0, wlen = 0, wstart = 0, wend = 0, cl;
	int32_t cp;
	int rc;

	while (off <= len) {
		cp = -1;
		cl = 1;
		if (off < len)
			cl = tok_utf8_decode(p + off, len - off, &cp);
		if (cp >= 0 && tok_is_word(cp)) {
			if (wlen == 0)
				wstart = off;
			if (wlen + 4 <= TOK_MAX)
				wlen += utf8_encode(tok_fold(cp), word + wlen);
			wend = off + cl;
			off += cl;
			continue;
		}
		if (wlen > 0) {
			if ((rc = cb(arg, word, wlen, wstart, wend, false)) != 0)
				return rc;
			wlen = 0;
		}
		if (cp >= 0 && tok_is_cjk(cp)) {
			if ((rc = cjk_run(p, len, &off, mode, cb, arg)) != 0)
				return rc;
			continue;
		}
		off += cl;
	}
	return 0;
}

/* ---- FTS5 glue ---- */

struct fts_ctx {
	void *ctx;
	int (*xToken)(void *, int, const char *, int, int, int);
};

static int
fts_token(void *arg, const char *tok, size_t len, size_t start, size_t end, bool colocated)
{
	struct fts_ctx *c = arg;

	return c->xToken(c->ctx, colocated ? FTS5_TOKEN_COLOCATED : 0, tok, (int)len,
			 (int)start, (int)end);
}

static int
fts_create(void *unused, const char **argv, int argc, Fts5Tokenizer **out)
{
	static int dummy;

	*out = (Fts5Tokenizer *)&dummy;   /* stateless */
	return SQLITE_OK;
}

static void
fts_delete(Fts5Tokenizer *t)
{
}

static int
fts_tokenize(Fts5Tokenizer *t, void *ctx, int flags, const char *text, int n,
	     int (*xToken)(void *, int, const char *, int, int, int))
{
	struct fts_ctx c = { ctx, xToken };

	if (n <= 0)
		return SQLITE_OK;
	return tok_run(text, (size_t)n, (flags & FTS5_TOKENIZE_QUERY) ? TOK_QUERY : TOK_DOCUMENT,
		       fts_token, &c);
}

static fts5_api *
fts5_api_of(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
	sqlite3_step(st);
	sqlite3_finalize(st);
	return api;
}

int
tokenize_register(sqlite3 *db)
{
	static fts5_tokenizer tk = { fts_create, fts_delete, fts_tokenize };
	fts5_api *api = fts5_api_of(db);

	if (api == NULL || api->iVersion < 2)
		return -ENOTSUP;
	if (api->xCreateTokenizer(api, "vigil", NULL, &tk, NULL) != SQLITE_OK)
		return -EIO;
	return 0;
}
