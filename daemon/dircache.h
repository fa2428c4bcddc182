/* dircache.h — the real path (realpath(3)) of directories, remembered for
 * one generation of the kernel's name counter.  The bpf tracker resolves
 * the parent directory of every path operation it hears of outside the
 * watched roots (a symlink on the way may lead into one); realpath costs
 * a readlink per component, and the same few directories (/tmp, a build
 * tree, the server's store) come back in every batch.  The caller passes
 * the counter the kernel bumps on every rename, link, symlink and mount
 * (trk_names_gen, bpf/tracker.bpf.c): only those make a directory's path
 * resolve elsewhere, so an entry is valid while the counter is where it
 * was when the entry was resolved. */
#ifndef VIGIL_DAEMON_DIRCACHE_H
#define VIGIL_DAEMON_DIRCACHE_H

#include <stddef.h>
#include <stdint.h>

/* Entries, direct-mapped by a hash of the path: each holds two strings of
 * at most PATH_MAX, so at most 2 * 64 * 4 KiB = 512 KiB, a few KiB in
 * practice (the directories a phone's processes rename and unlink in). */
#define DIRCACHE_SLOTS 64

struct dircache;

/* NULL when out of memory; dircache_free(NULL) is a no-op. */
struct dircache *dircache_new(void);
void dircache_free(struct dircache *c);

/* The real path of directory dir into out (cap bytes): from the cache when
 * stored at generation gen, else by realpath(3) (and stored when it fits).
 * 0, or -errno of realpath (nothing stored: a missing directory may appear
 * without the counter moving) or -ENAMETOOLONG. */
int dircache_real(struct dircache *c, uint64_t gen, const char *dir, char *out, size_t cap);

/* Lookups answered from the cache, and by realpath. */
void dircache_stats(const struct dircache *c, uint64_t *hits, uint64_t *misses);

#endif
