/* srvdir.h — the server directory's permissions (issue 10, finding 1.5).
 *
 * DIR holds index.db (every device's content key), search.db (the text of
 * every backed-up file), ca/ca.key and the store: nobody but the server's own
 * user may reach into it.  vigil-server sets umask 077 before it creates
 * anything, so every file (SQLite's -wal and -shm included) is 0600 and
 * every directory 0700; these checks cover the directory itself, which may
 * exist before init. */
#ifndef VIGIL_SRVDIR_H
#define VIGIL_SRVDIR_H

#include <stddef.h>

/* For init, after DIR exists.  A DIR with group or other permission bits is
 * tightened to 0700 when it is an empty directory owned by the caller (what
 * `mkdir DIR` under the usual umask 022 makes: refusing it would only cost
 * a chmod); any other such DIR (not empty, another owner's, /tmp) is
 * refused: its other contents and its other users are not ours to change.
 * Returns 0, or -EPERM / -errno with a one-line reason in err. */
int srvdir_secure_new(const char *dir, char *err, size_t errlen);

/* For run (and the other subcommands): 0 when DIR is a directory without
 * group or other permission bits, else -EPERM / -errno with a one-line
 * reason in err. */
int srvdir_check(const char *dir, char *err, size_t errlen);

#endif
