/* jsonout.h — how the controller shows server data: JSON documents (jansson)
 * and the escaping of bytes from devices into printable UTF-8.
 *
 * Device paths are arbitrary bytes.  DESIGN.md's rule: valid UTF-8 passes
 * through, a byte that is not part of a valid UTF-8 sequence becomes the four
 * characters \xHH (lowercase hex), and a backslash becomes \\ — so the
 * mapping is reversible.  For terminals, text_escape(.., true) also writes
 * control characters (< 0x20, 0x7f) as \xHH. */
#ifndef VIGIL_JSONOUT_H
#define VIGIL_JSONOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/proto.h"

/* Escapes s into a new string (caller frees), NULL on ENOMEM.
 * ctl: escape control characters too (human output). */
char *text_escape(const char *s, bool ctl);
/* Escapes at most n bytes of s (which need not be NUL-terminated). */
char *text_escape_n(const char *s, size_t n, bool ctl);

/* JSON values; each returns a new reference or NULL on ENOMEM. */
json_t *jsonout_str(const char *s);          /* escaped string */
json_t *jsonout_time(int64_t ns);            /* RFC 3339 string; null when ns == 0 */
json_t *jsonout_hex(const uint8_t *p, size_t n);
const char *jsonout_type(uint8_t type);      /* "file" | "dir" | "symlink" | "unknown" */

json_t *jsonout_ls_entry(const struct vg_entry *e);   /* {path,type,size,mtime,mode,...} */
/* {version,time,size,sha256,sha256_pending,deleted,...}; sha256_pending is
 * false here: jsonout_log_pending decides it over the whole log. */
json_t *jsonout_log_entry(const struct vg_entry *e);
/* log: a live file version whose sha256 the server has not computed (all
 * zeros) is pending when its content is still its path's latest — it and
 * every later version are live files with its tree root, the server's
 * rule — and the server computes it once that content rests
 * (docs/index.md); otherwise it was superseded first and stays not
 * computed, even if the same content comes back later.  rows[i] is
 * version i of n, oldest first; sets pending[i]. */
struct jsonout_logsha {
	uint8_t tree_root[32];
	bool live_file;
	bool missing;   /* sha256 all zeros */
};
void jsonout_log_pending(const struct jsonout_logsha *rows, size_t n, bool *pending);
json_t *jsonout_device(const struct vg_device *d);
json_t *jsonout_status(const struct vg_status *s);
json_t *jsonout_hit(const struct vg_hit *h);

/* Prints one document on stdout followed by a newline; steals doc.
 * Returns 0 or -EIO. */
int jsonout_print(json_t *doc);

#endif
