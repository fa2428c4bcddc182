/* modem.h — where vigil-simfs gets the SIM from: the AT source
 * (modem_at.c: a serial port such as the EG25-G's /dev/ttyUSB2) or the
 * ModemManager source (modem_mm.c: D-Bus, `--modem mm`).
 *
 * One thread (simfs's poller) owns a source: it waits on modem_fd() with
 * its poll interval as timeout, calls modem_events() when the fd is
 * readable, and modem_read() at each poll or when events() asks.  No call
 * blocks longer than its own timeouts (MODEM_CMD_TIMEOUT_MS per AT command;
 * a full read is bounded by the number of commands).  -EPIPE from any
 * call: the modem went away (tty closed, unplugged, bus gone); close the
 * source and open it again later (the poller backs off). */
#ifndef VIGIL_FUSE_MODEM_H
#define VIGIL_FUSE_MODEM_H

#include <stddef.h>

#include "fuse/sim.h"

#define MODEM_CMD_TIMEOUT_MS   3000    /* one AT command; a phonebook slice too */
#define MODEM_EV_REREAD        1       /* a SIM-related event: read again now */

struct modem;

struct modem_ops {
	const char *name;                               /* "at", "mm" */
	/* spec: the tty path (AT) or "mm".  baud: AT only (0: as is).
	 * 0, or -errno with a one-line reason in err. */
	int (*open)(struct modem **out, const char *spec, unsigned baud, char *err,
		    size_t errlen);
	int (*fd)(struct modem *m);                     /* pollable, or -1 */
	/* fd readable: handles what arrived; returns a MODEM_EV_* mask, or -errno */
	int (*events)(struct modem *m);
	/* Reads identity, phonebook and SMS into out (zeroed first).  A SIM
	 * that is absent gives 0 with out->id.present false.  A phonebook or
	 * SMS list that could not be read leaves phonebook_ok / sms_ok false
	 * (the caller keeps its previous files).  -errno when the modem does
	 * not answer at all; err says why in one line.  -EAGAIN: the SIM is
	 * still starting (+CPIN: NOT READY): the modem is fine, read again
	 * soon. */
	int (*read)(struct modem *m, struct sim_snapshot *out, char *err, size_t errlen);
	void (*close)(struct modem *m);                 /* NULL-safe */
};

extern const struct modem_ops modem_at_ops, modem_mm_ops;

#endif
