/* tokenize.h — vigil's word splitter, and its registration as the SQLite
 * FTS5 tokenizer "vigil".
 *
 * Words are runs of letters and digits (any script), case-folded (ASCII,
 * Latin-1, Latin Extended-A, Greek, Cyrillic, fullwidth forms).  Runs of
 * CJK characters (Han, Hiragana, Katakana, Hangul) are not words: a
 * document emits every character as a unigram and, at the same position,
 * the bigram it starts; a query emits the bigrams of the run followed by
 * its last character, so "张三" matches inside "李张三丰" and "张" alone
 * matches too.  Everything else (punctuation, spaces, symbols, invalid
 * UTF-8) separates words. */
#ifndef VIGIL_TOKENIZE_H
#define VIGIL_TOKENIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define TOK_MAX 128   /* bytes of one emitted token; longer words are cut */

enum tok_mode { TOK_DOCUMENT, TOK_QUERY };

/* Called once per token; tok is folded UTF-8 (not NUL-terminated), start/end
 * are byte offsets of the source text, colocated means "same position as
 * the previous token".  A non-zero return stops tokenizing and is returned. */
typedef int (*tok_fn)(void *arg, const char *tok, size_t len, size_t start,
		      size_t end, bool colocated);

int tok_run(const char *text, size_t len, enum tok_mode mode, tok_fn cb, void *arg);

/* Decodes one UTF-8 code point at p (n > 0 bytes available); returns its
 * length (1..4) and sets *cp, or returns 1 with *cp = -1 on invalid input. */
size_t tok_utf8_decode(const uint8_t *p, size_t n, int32_t *cp);
int32_t tok_fold(int32_t cp);     /* simple case folding */
bool tok_is_cjk(int32_t cp);
bool tok_is_word(int32_t cp);     /* letter or digit, not CJK */

/* Registers the FTS5 tokenizer "vigil" on db.  0 or -errno. */
int tokenize_register(sqlite3 *db);

#endif
