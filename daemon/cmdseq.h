/* cmdseq.h — the device's durable memory of the commands it has accepted,
 * per controller: the highest seq seen, the sha256 of that command's body,
 * and the last result reported for it (STATE/cmdseq).
 *
 * This is what makes a replay fail after a kill -9 or a reboot
 * (docs/commands.md): the executor commits the new highest seq *before*
 * the command runs, and commits again with the result once it has one, so
 * a redelivered command (same controller, seq and body) is answered with
 * the stored result instead of running twice.
 *
 * The file is all or nothing: a missing file is an empty record, but a
 * file that does not parse or whose checksum does not match is an error,
 * never an empty record (that would reopen every replay).  Writes are
 * tmp + fsync + rename + fsync of the directory.
 *
 * Not thread-safe: one owner (the command executor) loads, reads and
 * commits it. */
#ifndef VIGIL_DAEMON_CMDSEQ_H
#define VIGIL_DAEMON_CMDSEQ_H

#include <stddef.h>
#include <stdint.h>

#include "common/bundle.h"
#include "common/command.h"

#define CMDSEQ_FILE "cmdseq"
/* Records are never dropped (dropping one would reopen its replays), so a
 * revoked controller keeps its record; at most this many controllers. */
#define CMDSEQ_MAX BUNDLE_TRUST_MAX

struct cmdseq_rec {
	char controller[VG_NAME_MAX];
	uint64_t seq;                   /* highest accepted from controller */
	uint8_t body_sha256[32];        /* of the command with that seq */
	struct vg_cmdstate result;      /* last reported; state "running" until done */
};

struct cmdseq {
	size_t n;
	struct cmdseq_rec *rec;         /* n records, no two for one controller */
};

/* Reads STATE/cmdseq into a new record set (*out; free with cmdseq_free).
 * A missing file gives an empty set (a missing state_dir is -ENOENT).  0, or -EBADMSG (corrupt: bad magic,
 * version, checksum, a duplicate or invalid controller, too many records,
 * trailing bytes), -EFBIG (file larger than any valid one), -ENOMEM, or the
 * -errno of open/read (a symlink there is -ELOOP). */
int cmdseq_load(const char *state_dir, struct cmdseq **out);
/* The record for controller, or NULL if none was ever committed. */
const struct cmdseq_rec *cmdseq_get(const struct cmdseq *s, const char *controller);
/* Inserts or replaces rec (by controller) and writes the whole set
 * durably.  On any failure s is unchanged and the file holds the previous
 * set (or, when only the directory fsync failed, possibly the new one: a
 * higher seq on disk than in memory only refuses more).  The caller must
 * not run a command whose commit failed.
 * 0, -EINVAL (invalid controller name or result state — nothing that
 * cmdseq_load would refuse is ever written), -ENOSPC (CMDSEQ_MAX
 * controllers already), or -errno from the write. */
int cmdseq_commit(struct cmdseq *s, const char *state_dir, const struct cmdseq_rec *rec);
/* NULL is a no-op. */
void cmdseq_free(struct cmdseq *s);

#endif
