/* threadcaps.h — the shipping threads' capabilities, dropped per thread.
 *
 * Linux keeps capability sets per thread, and capset(2) on the calling
 * thread changes only that thread (glibc's set*id broadcast is for uid
 * and gid changes, which vigild never makes; capset is never broadcast).
 * A shipper (worker.c) calls threadcaps_shipper() first: its effective set
 * becomes CAP_DAC_READ_SEARCH alone (read any watched file, search any
 * directory), its permitted set adds only CAP_SYS_ADMIN, which listing
 * and reading trusted.* attributes needs for a moment (xattrs.c), and its
 * bounding set loses the rest.  Not kept: CAP_DAC_OVERRIDE — SQLite's
 * backup of another user's WAL database opens its -shm read-only when it
 * cannot write it, and still sees the WAL (t_privsep.sh).
 * threadcaps_raise()/threadcaps_lower() put a permitted one in the
 * effective set around such a call; in a thread that never dropped (the
 * main thread, `once`'s scan) they do nothing.
 *
 * This guards against a shipper being misled into a privileged act (a
 * path trick, a bug), not against code running in it: a thread that
 * can write the process's memory can act through another thread. */
#ifndef VIGIL_THREADCAPS_H
#define VIGIL_THREADCAPS_H

#include <stdint.h>

#define THREADCAPS_SHIP_EFF ((uint64_t)1 << 2)                                   /* DAC_READ_SEARCH */
#define THREADCAPS_SHIP_PRM (THREADCAPS_SHIP_EFF | (uint64_t)1 << 21)                /* + SYS_ADMIN */

/* Drops the calling thread's capabilities to the shipper's sets (only
 * those the process holds).  0 or -errno (the thread keeps what it had). */
int  threadcaps_shipper(void);
/* cap: a CAP_* number.  Returns what to pass to threadcaps_lower. */
int  threadcaps_raise(int cap);
void threadcaps_lower(int raised);
/* The calling thread's effective set (for tests and `vigild status`). */
uint64_t threadcaps_effective(void);

#endif
