/* simstore.h — the rendered sim/ files of vigil-simfs, held in memory.
 *
 * The poller thread replaces files; FUSE threads stat, list and read them.
 * Content lives in immutable, reference-counted blobs: a reader takes a
 * reference (an open file keeps the bytes it opened) and never waits on
 * the modem, only on the store's short lock.  A file's inode number
 * follows from its name (stable across rewrites and restarts); its mtime is
 * when its current bytes first appeared, so rewriting the same bytes
 * changes nothing.
 *
 * Names are relative to sim/: "" (sim/ itself), "identity",
 * "phonebook.vcf", "sms" (the directory, present while it holds files),
 * "sms/<index>.txt". */
#ifndef VIGIL_FUSE_SIMSTORE_H
#define VIGIL_FUSE_SIMSTORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuse/sim.h"

#define SIMSTORE_NAME_MAX  64                 /* "sms/4294967295.txt" fits */
#define SIMSTORE_FILES_MAX (SIM_SMS_MAX + 8)  /* identity, phonebook, messages */
/* Inode numbers of sim/: far above what a backing filesystem hands out in
 * practice, so they do not meet the passthrough's (use_ino). */
#define SIMSTORE_INO_BASE  (1ULL << 62)

/* One version of one file's bytes; immutable once published. */
struct simblob {
	atomic_uint refs;
	size_t len;
	uint8_t data[];
};

struct simstore_stat {
	uint64_t ino;
	int64_t mtime_ns;
	size_t size;
	bool dir;
};

struct simstore;

/* The stable inode number of a name; 0 for a name the store never holds. */
uint64_t simstore_ino(const char *name);

struct simstore *simstore_new(int64_t now_ns);   /* NULL: out of memory */
void simstore_free(struct simstore *s);          /* NULL-safe */

/* 0 with st filled, or -ENOENT. */
int simstore_stat(struct simstore *s, const char *name, struct simstore_stat *st);
/* A reference to name's current bytes (release with simblob_put), or NULL
 * with errno ENOENT (no such file) or EISDIR. */
struct simblob *simstore_open(struct simstore *s, const char *name);
void simblob_put(struct simblob *b);             /* NULL-safe */

/* Calls fn for each entry directly in dir ("" or "sms"), with the store
 * locked (fn must not call back into it).  -ENOENT when dir is none;
 * otherwise 0, or the first non-zero return of fn. */
typedef int (*simstore_fn)(void *arg, const char *name, const struct simstore_stat *st);
int simstore_list(struct simstore *s, const char *dir, simstore_fn fn, void *arg);

/* One file of a new set. */
struct simstore_in {
	char name[SIMSTORE_NAME_MAX];
	const void *data;
	size_t len;
};

/* Replaces every file whose name is group (a file name) or starts with it
 * (a group ending in '/', e.g. "sms/") by the n files of in, whose names
 * must belong to the group.  Unchanged bytes keep their blob and mtime.
 * notify(arg, name) is called for every file (and the "sms" directory)
 * that appeared, changed or went, after the store is unlocked.
 * 0, or -ENOMEM / -E2BIG (and the store is unchanged). */
typedef void (*simstore_notify)(void *arg, const char *name);
int simstore_replace(struct simstore *s, const char *group, const struct simstore_in *in,
		     size_t n, int64_t now_ns, simstore_notify notify, void *arg);

#endif
