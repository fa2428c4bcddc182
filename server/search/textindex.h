/* textindex.h — the server's keyword index: SQLite FTS5 in DIR/search.db
 * (WAL), separate from the metadata index so indexing never holds
 * index.db's lock.
 *
 * Indexed BY CONTENT.  A version's content is known by a key (the chunk
 * tree root): a content is extracted and indexed once, and every version
 * holding it costs one row.  A content's text is cut into pieces at
 * content-defined line boundaries (8-32 KiB); pieces are keyed by their
 * sha256 and stored once, so a new version of a large database that
 * changed a few rows adds only the pieces around those rows.  The path of
 * a version is indexed as a piece of its own.  Phone numbers found in a
 * piece are stored, normalised (server/search/phone.h), in a second FTS column.
 *
 * Writers (content_*, add_version) are the indexer's worker; search and
 * stats may run from any thread at the same time (each side has its own
 * connection and mutex).  Returns are 0 (or a count) or -errno; SQLite
 * errors are logged once here and returned as -EIO. */
#ifndef VIGIL_TEXTINDEX_H
#define VIGIL_TEXTINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proto.h"

#define TI_KEY_LEN      32
#define TI_WORDS_MAX    16      /* words of one query */
#define TI_SNIPPET_MAX  200     /* bytes of a hit's snippet */
#define TI_HITS_BYTES_MAX (64u << 20)  /* hits of one search held at once (~200,000) */

enum ti_status {
	TI_TEXT = 0,        /* text indexed */
	TI_PATH_ONLY = 1,   /* binary: path only, by design */
	TI_MALFORMED = 2,   /* could not be parsed (all or part): counted */
};

struct textindex;
struct ti_content;

/* Opens (creating) DIR/search.db; country is the default calling code for
 * phone numbers (e.g. 86, 44, 1). */
int  textindex_open(const char *dir, int country, struct textindex **out);
void textindex_close(struct textindex *ti);   /* NULL-safe */
int  textindex_country(const struct textindex *ti);

/* ---- writing (one writer thread) ---- */
/* 1 when the content key is fully indexed, 0 when not, -errno. */
int  textindex_has_content(struct textindex *ti, const uint8_t key[TI_KEY_LEN]);
/* Starts indexing a content; feed its text with textindex_content_text
 * (the signature of extract.h's ex_emit_fn: pass it as emit, the handle as
 * arg), then end (or abort).  Commits every few pieces, so other writers
 * are never blocked long; a crash before end leaves nothing visible. */
int  textindex_content_begin(struct textindex *ti, const uint8_t key[TI_KEY_LEN],
			     struct ti_content **out);
int  textindex_content_text(void *content, const char *text, size_t len);
int  textindex_content_end(struct ti_content *c, enum ti_status status, const char *kind,
			   const char *reason);
void textindex_content_abort(struct ti_content *c);   /* NULL-safe */
/* Records one version: key NULL for a deleted version (no content), else
 * a content already ended.  Replaces a row of the same (device, path,
 * version).  -ENOENT when key is not indexed. */
int  textindex_add_version(struct textindex *ti, int64_t device_id, const char *path,
			   uint64_t version, int64_t time_ns, const uint8_t *key);
/* Groups the writes of several contents and versions into one transaction
 * (one WAL commit instead of two or three per version; a content that
 * aborts drops only its own rows).  Nothing in it is visible to searches
 * or durable until end.  0 or -errno; end is a no-op without a batch. */
int  textindex_batch_begin(struct textindex *ti);
int  textindex_batch_end(struct textindex *ti);

/* ---- crash recovery ---- */
/* Whether the previous run stopped cleanly (textindex_mark_clean after its
 * indexer saved its queue).  Opening clears the mark for this run. */
bool textindex_was_clean(const struct textindex *ti);
int  textindex_mark_clean(struct textindex *ti);
/* After an unclean stop the in-memory queue is lost: every file or
 * deletion version in index_db (the server's index.db) that search.db
 * has not indexed goes into the pending table.  Returns how many, or
 * -errno. */
int64_t textindex_recover(struct textindex *ti, const char *index_db);

/* ---- queue overflow (see indexer.h) ---- */
struct ti_pending {
	int64_t id, device_id;
	char path[PATH_MAX];
	uint64_t version;
	int64_t time_ns;
	bool deleted;
	uint8_t key[TI_KEY_LEN];
	uint64_t size;
};
int  textindex_pending_add(struct textindex *ti, const struct ti_pending *p);
/* The oldest pending items, at most max into out[]: how many (0: none),
 * or -errno. */
int  textindex_pending_next(struct textindex *ti, struct ti_pending *out, size_t max);
/* Every pending item up to id is done (those next() gave: a row added
 * since has a higher id). */
int  textindex_pending_done(struct textindex *ti, int64_t id);

/* ---- versions that are gone ---- */
#define TI_PRUNE_PAGE 256   /* rows looked up, then deleted in one transaction */
/* 1 when the server's index still holds (device, path, version), 0 when
 * not (retention dropped it), -errno to stop. */
typedef int textindex_exists_fn(void *arg, int64_t device_id, const char *path, uint64_t version);
/* Deletes the version rows exists() says are gone, TI_PRUNE_PAGE at a time
 * (stops between pages when *cancel becomes nonzero), and the contents and
 * pieces (text) that only they referred to.  Returns the number of version
 * rows deleted, or -errno. */
int64_t textindex_prune(struct textindex *ti, textindex_exists_fn *exists, void *arg,
			const volatile int *cancel);

/* ---- querying ---- */
/* Every word must match a version (case-insensitive; CJK inside runs;
 * a word that looks like a phone number also matches its normalised
 * forms; a word matches the text or the path).  Default: for each path,
 * its latest indexed version, when that one is not deleted and matches;
 * all_versions: every matching non-deleted version.  Hits come in path
 * then version order; h->snippet holds <= 200 bytes of UTF-8 around the
 * first match ("" when only the path matched).  Hits are gathered first
 * (at most TI_HITS_BYTES_MAX of them; more are left out and logged) and cb
 * is called after the index's lock is released, so cb may block on the
 * network; cb returns non-zero to stop (returned).  A word with nothing searchable in it (only
 * punctuation) matches nothing.  Returns the number of hits or -errno
 * (-EINVAL: no words or more than TI_WORDS_MAX). */
int  textindex_search(struct textindex *ti, int64_t device_id, char *const words[], size_t nwords,
		      bool all_versions, int (*cb)(void *arg, const struct vg_hit *h), void *arg);

/* Counters for `vigil status` (device_id < 0: all devices). */
struct ti_stats {
	uint64_t files;        /* distinct paths with an indexed version */
	uint64_t versions;     /* indexed versions (deleted included) */
	uint64_t text;         /* ...whose content is indexed text */
	uint64_t path_only;    /* ...binary, indexed by path only */
	uint64_t malformed;    /* ...that could not be parsed (all or part) */
	uint64_t pending;      /* queue overflow waiting to be indexed (all devices) */
	uint64_t contents, pieces;   /* distinct contents and text pieces (all devices) */
};
int  textindex_stats(struct textindex *ti, int64_t device_id, struct ti_stats *out);

#endif
