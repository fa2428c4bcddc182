/* poller.h — the modem thread of vigil-simfs: the only one that talks to
 * the modem (modem.h).  It reads the SIM at start, every poll interval,
 * and ~200 ms after the last of a burst of SIM-related unsolicited codes;
 * between reads it sleeps in poll() on the modem's fd with a timeout to
 * the next due read, and wakes for nothing else.  Modem trouble keeps the
 * last good files: one log line when it starts, one when it ends, and the
 * modem is reopened with backoff (1 s doubling to 8 s).  At each wake it
 * also lets the reporter resend what could not go (reporter.h). */
#ifndef VIGIL_FUSE_POLLER_H
#define VIGIL_FUSE_POLLER_H

#include <stddef.h>

#include "fuse/modem.h"
#include "fuse/reporter.h"
#include "fuse/simstore.h"

#define POLLER_QUIET_MS     200     /* a URC burst is over after this much quiet */
#define POLLER_NOTREADY_MS  1000    /* a SIM still starting up is read again after this */
#define POLLER_BACKOFF_MS   1000    /* first reopen delay ... */
#define POLLER_BACKOFF_MAX  8000    /* ... doubling to this: a returning modem
				     * is seen within ~10 s */

struct poller_cfg {
	const struct modem_ops *ops;
	const char *spec;               /* tty path, or "mm" */
	unsigned baud;
	unsigned poll_s;
	char *const *allow;             /* --allow-iccid */
	size_t nallow;
};

struct poller;

/* Starts the thread.  0 or -errno. */
int poller_start(struct poller **out, const struct poller_cfg *cfg, struct simstore *store,
		 struct reporter *rep);
/* Stops it, waiting at most wait_ms for a modem read in progress.  true
 * when the thread ended (and p was freed); false: it is left running and
 * what it uses must not be freed (the process is about to exit). */
bool poller_stop(struct poller *p, long wait_ms);

#endif
