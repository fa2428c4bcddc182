/* seqfile.h — the controller's command sequence number, kept in
 * `<bundle>.seq` next to its bundle: the last number used, in decimal.
 *
 * A device refuses a command whose number is not higher than any it has
 * seen from this controller, so a number must never be used twice: the
 * next one is written durably (file_write_atomic) before the command that
 * carries it leaves, so a crash can skip a number but never reuse one, and
 * the file is held under flock(LOCK_EX) from reading it until the server
 * has queued the command, so two `vigil` runs neither share a number nor
 * reach the server's queue out of order. */
#ifndef VIGIL_SEQFILE_H
#define VIGIL_SEQFILE_H

#include <limits.h>
#include <stdint.h>

struct seqfile {
	int fd;                   /* the locked file; -1 when not held */
	char path[PATH_MAX];
};

/* Opens path (creating it, mode 0600) and locks it, waiting for another
 * holder.  The file is replaced by rename on every use, so after the lock
 * is granted it checks that path still names the locked file and tries
 * again when not.  0 or -errno. */
int seqfile_lock(struct seqfile *s, const char *path);
/* Reads the last number (an empty file: 0), stores last + 1 durably and
 * returns it in *seq.  -EBADMSG when the file holds anything but a number
 * and a newline (never guessed: a guess could reuse a number), -EOVERFLOW,
 * or -errno. */
int seqfile_next(struct seqfile *s, uint64_t *seq);
/* Releases the lock.  Safe on a seqfile that is not held. */
void seqfile_unlock(struct seqfile *s);

#endif
