/* freezer.h — the set of `--freeze-cgroup` directories vigild freezes on a
 * signed freeze command and thaws on a thaw, each confirmed by the kernel,
 * and the frozen state kept in STATE/frozen so that a restart or a reboot
 * freezes again before anything else (freezer_restore), until a thaw.
 *
 * freezer_open refuses a cgroup holding vigild itself or one of its
 * ancestor processes (its supervisor, its shell): freezing it would stop
 * the process that has to obey the thaw.  Rules: docs/commands.md. */
#ifndef VIGIL_DAEMON_FREEZER_H
#define VIGIL_DAEMON_FREEZER_H

#include <stdbool.h>
#include <stddef.h>

/* How long the kernel gets to confirm a freeze or a thaw of the whole set.
 * A freeze normally lands in milliseconds; a task in uninterruptible sleep
 * (D state, e.g. stuck NFS or flash I/O) delays it, and a stuck one must
 * fail the command visibly rather than hang the daemon. */
#define FREEZER_TIMEOUT_MS 5000
#define FREEZER_STATE_FILE "frozen"   /* in the state dir: "frozen\n" or "thawed\n" */

struct freezer;

/* Validates every path (an existing cgroup v2 directory with
 * cgroup.freeze, or a v1 freezer cgroup) and refuses one that holds
 * vigild or an ancestor of it; reads STATE/frozen (absent: thawed).
 * n may be 0 (then freeze fails with a clear reason).  0, or -errno with
 * one line naming the path in err (-EPERM: refused). */
int freezer_open(struct freezer **out, const char *state_dir, char *const *paths, size_t n,
		 char *err, size_t errlen);
void freezer_free(struct freezer *f);   /* NULL is a no-op; leaves cgroups as they are */

/* Records "frozen" durably first (so a crash half-way freezes again at the
 * next start), then freezes every cgroup and waits for the kernel to
 * confirm.  Checks the refusal again: a cgroup may have gained vigild
 * since start.  0, or -errno with the first failure in err (the others
 * are still frozen). */
int freezer_freeze(struct freezer *f, int timeout_ms, char *err, size_t errlen);
/* Thaws every cgroup, and records "thawed" once all confirmed.  0 or
 * -errno (err); on failure the record stays "frozen". */
int freezer_thaw(struct freezer *f, int timeout_ms, char *err, size_t errlen);
/* At start, before anything else: when STATE/frozen says frozen, freezes
 * again.  1 froze, 0 nothing to do, -errno (err). */
int freezer_restore(struct freezer *f, int timeout_ms, char *err, size_t errlen);

bool freezer_recorded_frozen(const struct freezer *f);   /* STATE/frozen */
size_t freezer_count(const struct freezer *f);

/* For `vigild check`: true when this system can freeze (cgroup v2
 * cgroup.freeze, or a v1 freezer mount); msg says where, or why not. */
bool freezer_probe(char *msg, size_t len);

#endif
