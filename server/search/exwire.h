/* exwire.h — the messages between the indexer and its extractor child
 * (exproc.c, the parent side; exchild.c, the child side).
 *
 * One SOCK_SEQPACKET socketpair, one message per packet: a fixed header
 * and at most EXW_DATA_MAX bytes of payload.  The parent sends a JOB; the
 * child asks for the content in READs of at most EXW_DATA_MAX bytes, each
 * answered by one DATA; it sends the text it extracts as TEXT pieces (no
 * answer) and ends with DONE.  Small files go several at a time instead:
 * one BATCH carries each file whole (no READ), and the child answers
 * every item in order with its TEXT pieces and a DONE whose b is the
 * item's index in the BATCH.  The child is hostile: the parent checks
 * every length, offset, index and byte it receives (exproc_job.c). */
#ifndef VIGIL_EXWIRE_H
#define VIGIL_EXWIRE_H

#include <stdint.h>

#include "server/search/extract.h"

#define EXW_DATA_MAX 65536
#define EXW_PATH_MAX 1024     /* the path only helps detection: longer ones are cut */
#define EXW_FD 3              /* the child's end of the socketpair */

enum exw_type {
	EXW_HELLO = 1,   /* child → parent once: a = 0 or -errno, b = EXW_SB_* bits */
	EXW_JOB,         /* parent → child: a = size, payload struct exw_job */
	EXW_READ,        /* child → parent: a = offset, b = length */
	EXW_DATA,        /* parent → child: a = bytes or -errno, payload the bytes */
	EXW_TEXT,        /* child → parent: payload UTF-8 text, <= EX_PIECE_MAX */
	EXW_DONE,        /* child → parent: a = extract()'s value, b = the item's index
			  * in a BATCH (0 after a JOB), payload struct exw_done */
	EXW_BATCH,       /* parent → child: a = items (1..EXW_BATCH_ITEMS), payload
			  * struct exw_batch, then per item struct exw_item, its
			  * path (path_len bytes, no NUL) and its size bytes */
};

#define EXW_BATCH_ITEMS 64
#define EXW_ITEM_MAX    16384  /* files up to this size travel whole in a BATCH */

/* What the child's sandbox holds, in HELLO's b. */
#define EXW_SB_UNPRIV   1u   /* runs as an unprivileged uid */
#define EXW_SB_NNP      2u   /* no_new_privs */
#define EXW_SB_LANDLOCK 4u   /* no filesystem access */
#define EXW_SB_SECCOMP  8u   /* the syscall filter is loaded */

struct exw_hdr {
	uint32_t type;
	uint32_t len;    /* payload bytes after the header */
	int64_t a;
	uint64_t b;
};

struct exw_job {
	uint64_t max_out, sqlite_max_size, sqlite_cache_kib;
	int32_t sqlite_budget_ms;
	uint32_t path_len;
	char path[EXW_PATH_MAX];
};

struct exw_done {
	uint32_t kind;
	uint8_t malformed, truncated;
	char reason[128];
	uint64_t out_bytes;
};

struct exw_batch {
	uint64_t max_out, sqlite_max_size, sqlite_cache_kib;
	int32_t sqlite_budget_ms;
	uint32_t pad;
};

struct exw_item {
	uint32_t size;       /* <= EXW_ITEM_MAX */
	uint32_t path_len;   /* < EXW_PATH_MAX */
};

/* One item of a BATCH's payload p[0..len) at *off (after the struct
 * exw_batch): its header, path and bytes, *off moved past it.  0, or
 * -EPROTO when it does not fit or breaks a limit. */
int exw_batch_item(const uint8_t *p, size_t len, size_t *off, struct exw_item *it,
		   const char **path, const uint8_t **bytes);

#define EXW_MSG_MAX (sizeof(struct exw_hdr) + EXW_DATA_MAX)

#endif
