/* runlock.h — what `vigil-server run` gives up before it serves (issue 10,
 * section 2): a Landlock ruleset that lets it open only what it needs, so
 * that code inside it, were it subverted, still cannot read the CA key.
 *
 * Landlock rules grant rights to a whole subtree and cannot exclude part
 * of it, so DIR itself gets no file right: each file run uses at DIR's top
 * level gets its own rule (the certificates and config read-only, the two
 * databases and their -wal/-shm read-write), DIR/store all rights, and
 * DIR/ca (the CA key, ca.h) none.  Rules hold inodes, so the files SQLite
 * would create later are made first (runlock_prepare).  Outside DIR: /usr,
 * /etc and the like to read and execute (the extractor is a re-execution
 * of this binary), /dev to read and write, /proc and /sys to read, and one
 * temporary directory for SQLite (SQLITE_TMPDIR).  A system directory that
 * holds DIR is left out: granting it would grant DIR/ca. */
#ifndef VIGIL_RUNLOCK_H
#define VIGIL_RUNLOCK_H

#include <stddef.h>

/* Before any thread starts: makes the SQLite files run will open (an empty
 * search.db gets its schema, index.db's and search.db's -wal and -shm are
 * created empty) and points SQLITE_TMPDIR at a directory outside DIR.
 * 0 or -errno with a one-line reason in err. */
int runlock_prepare(const char *dir, int country, char *err, size_t errlen);

/* Before any thread starts (Landlock binds the calling thread and what it
 * starts later): sets no_new_privs and applies the ruleset.  0 applied,
 * 1 this kernel has no Landlock (run goes on; the caller logs it), or
 * -errno with a one-line reason in err.
 *
 * Test hook: with VIGIL_TEST_HOOKS=1 and VIGIL_TEST_OPEN_PROBE=FILE, once
 * the ruleset holds, tries to open DIR/ca/ca.key, DIR/index.db and
 * /proc/self/root/DIR/ca/ca.key for reading and writes "ca/ca.key E\n
 * index.db E\nproc-root E\n" to FILE (E: 0 or the errno), FILE being
 * opened before the ruleset. */
int runlock_apply(const char *dir, char *err, size_t errlen);

#endif
