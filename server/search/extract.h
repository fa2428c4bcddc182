/* extract.h — searchable text out of one stored file version, streamed.
 *
 * The input is a positional read callback (the indexer wraps a vreader,
 * tests wrap a memory buffer or a file), so nothing is ever loaded whole:
 * text formats are read front to back in 64 KiB blocks and SQLite
 * databases are opened through a read-only VFS over the same callback.
 * Output goes to emit() in pieces of at most EX_PIECE_MAX bytes of valid
 * UTF-8 (invalid bytes and control characters become spaces; '\n' ends a
 * record: a vCard property, a CSV line, a database row).
 *
 * Formats: plain text, vCard and iCalendar (unfolding, QUOTED-PRINTABLE,
 * escapes; photos and other binary values skipped), JSON (strings and
 * numbers, \u escapes), CSV (quotes removed), XML/HTML (tags and comments
 * stripped, attribute values and CDATA kept, entities decoded) and the
 * TEXT values of every ordinary table of an SQLite database.  Anything
 * else (NUL bytes, mostly invalid UTF-8) is binary: no text, the caller
 * indexes its path only.
 *
 * Everything read is hostile.  Malformed input is never an error: extract()
 * returns 0 with res->malformed set and a one-line reason, after emitting
 * whatever could be recovered.  SQLite files are opened read-only and
 * immutable, with trusted_schema off, defensive mode, views and triggers
 * disabled, SQL functions refused by an authorizer, length limits, a small
 * page cache and a progress-handler time budget. */
#ifndef VIGIL_EXTRACT_H
#define VIGIL_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EX_PIECE_MAX 16384

struct ex_source {
	void *arg;
	uint64_t size;   /* bytes of content */
	/* Like pread(2): bytes read (short only at the end), or -errno. */
	ssize_t (*pread)(void *arg, void *buf, size_t n, uint64_t off);
};

/* A source over n bytes at p, which outlive it (the extractor child's
 * batch items, the indexer's handed-over small contents). */
struct ex_mem {
	const uint8_t *p;
	size_t n;
};
struct ex_source ex_source_mem(struct ex_mem *m, const void *p, size_t n);

/* text: valid UTF-8, 0 < len <= EX_PIECE_MAX.  Non-zero stops extraction. */
typedef int (*ex_emit_fn)(void *arg, const char *text, size_t len);

enum ex_kind { EX_BINARY, EX_TEXT, EX_VCARD, EX_ICAL, EX_JSON, EX_CSV, EX_XML, EX_SQLITE };

struct ex_limits {
	uint64_t max_out;          /* text bytes emitted per file; the rest is cut (truncated) */
	uint64_t sqlite_max_size;  /* larger databases: path only, malformed */
	int sqlite_budget_ms;      /* wall-clock budget for one database */
	size_t sqlite_cache_kib;   /* page cache of the database connection */
};

struct ex_result {
	enum ex_kind kind;
	bool malformed;       /* part or all could not be parsed */
	bool truncated;       /* max_out or the time budget cut the output */
	char reason[128];     /* why, when malformed or truncated */
	uint64_t out_bytes;   /* text emitted */
};

/* One small file of a batch extraction (exproc_extract_batch, the
 * indexer's extract_batch): its whole content in memory. */
struct ex_item {
	const char *path;
	const void *bytes;
	size_t size;
	ex_emit_fn emit;
	void *arg;
	struct ex_result res;   /* out */
	int rc;                 /* out: as extract()'s value */
};

/* max_out 1 GiB, sqlite_max_size 4 GiB, 30 s, 4 MiB cache */
void ex_limits_default(struct ex_limits *lim);
const char *ex_kind_name(enum ex_kind kind);

/* path (may be NULL) helps to recognise the format by its extension.
 * lim NULL means defaults.  0 with *res filled, -errno when the source
 * could not be read, or emit's non-zero value. */
int extract(const char *path, const struct ex_source *src, const struct ex_limits *lim,
	    ex_emit_fn emit, void *arg, struct ex_result *res);

#endif
