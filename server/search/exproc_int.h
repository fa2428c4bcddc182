/* exproc_int.h — the extractor parent's state, shared by exproc.c (the
 * child's life) and exproc_job.c (one file's exchange). */
#ifndef VIGIL_EXPROC_INT_H
#define VIGIL_EXPROC_INT_H

#include <limits.h>
#include <stdint.h>

#include "server/search/exproc.h"
#include "server/search/exwire.h"

struct exproc {
	char exe[PATH_MAX];
	char *envp[4];
	int fd;                  /* our end, non-blocking; -1 without a child */
	pid_t pid;
	long file_ms;            /* 0: EXPROC_BASE_MS plus the size term */
	unsigned fails;          /* in a row, for the backoff */
	int64_t next_spawn_ms;
	uint64_t warned;         /* EXW_SB_* bits already reported missing */
	struct exproc_stats st;
	uint8_t *buf;            /* EXW_MSG_MAX */
};

int  exproc_child_ready(struct exproc *ep);            /* 0 or -errno (logged) */
void exproc_child_kill(struct exproc *ep, const char *why, char *reason, size_t len);
int  exproc_send(struct exproc *ep, int64_t deadline, uint32_t type, int64_t a,
		 const void *p, size_t len);
int  exproc_recv(struct exproc *ep, int64_t deadline, struct exw_hdr *h);

#endif
