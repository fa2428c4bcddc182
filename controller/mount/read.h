/* read.h — reading file content through the mount: open handles,
 * block reads through the content cache (cache.h) and sequential
 * readahead by a small pool of worker threads, so several MSG_CTL_READ
 * requests, each of up to MREAD_RUN blocks, are in flight while an
 * application reads a file front to back. */
#ifndef VIGIL_MOUNT_READ_H
#define VIGIL_MOUNT_READ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "controller/mount/cache.h"
#include "controller/mount/conn.h"

#define MREAD_BLOCK      (1024 * 1024)   /* bytes per cached block and per request */
#define MREAD_CACHE      (24u << 20)    /* content cache, bytes (24 blocks) */
#define MREAD_WORKERS    4              /* readahead threads */
#define MREAD_RA_MAX     8              /* blocks read ahead at most */
#define MREAD_RUN        4              /* consecutive blocks one readahead request fetches */
#define MREAD_QUEUE_MAX  32             /* readahead jobs waiting at most */

struct mread;

/* An open file: one version of one path. */
struct mfile {
	char *path;
	uint64_t version, size;
	uint8_t id[32];
	uint64_t next_off;   /* where the last read ended (sequential detection) */
	unsigned ra;         /* current readahead window, blocks */
};

/* Starts the workers (call after any fork).  dev and mc outlive it. */
struct mread *mread_new(struct mconn *mc, const char *dev, size_t block, size_t cache_bytes,
			int workers);
void mread_free(struct mread *rd);   /* stops the workers; NULL-safe */

struct mfile *mfile_new(const char *path, uint64_t version, uint64_t size, const uint8_t id[32]);
void mfile_free(struct mfile *f);

/* Copies up to size bytes at off into buf: the count (0 at or past the
 * end) or -errno (-EIO when the server cannot be reached). */
ssize_t mread_read(struct mread *rd, struct mfile *f, char *buf, size_t size, uint64_t off);

void mread_stats(struct mread *rd, struct mcache_stats *st);

#endif
