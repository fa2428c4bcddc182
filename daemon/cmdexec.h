/* cmdexec.h — vigild obeying signed commands (docs/commands.md): one
 * executor thread takes what the command link received, checks it
 * (cmdcheck.h), records its sequence number durably before acting, runs
 * freeze, thaw, erase, trust or direct fetch, and reports running and the
 * result.  A result is kept (cmdseq.h) so that a command delivered again
 * is answered, never run twice.
 *
 * At start, before anything else watches or ships: a device recorded as
 * frozen is frozen again, and an erase cut short by a crash or a reboot
 * is finished and reported (cmdexec_start does both). */
#ifndef VIGIL_DAEMON_CMDEXEC_H
#define VIGIL_DAEMON_CMDEXEC_H

struct vigild;
struct cmdexec;

#define CMDEXEC_SHIP_WAIT_MS 60000  /* erase: how long the queue gets to reach the server */

/* Opens the freezer, restores a freeze, resumes an erase, then starts the
 * command link and the executor.  0, or -errno (logged: the caller exits
 * 1).  When a resumed erase finished, sets vigild_quit. */
int cmdexec_start(struct vigild *d, struct cmdexec **out);
/* Stops both threads (the command in hand finishes first); NULL: no-op. */
void cmdexec_stop(struct cmdexec *x);
/* The command link (the device report goes on it too: intake.c). */
struct cmdlink *cmdexec_link(struct cmdexec *x);

#endif
