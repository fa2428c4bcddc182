/* backoff.h — the waits between attempts to reach the server: doubling
 * from min to max, each drawn within +-25% of its base (jitter: devices
 * that lost the network together do not all come back in the same
 * second).  vigild's shippers (daemon/ship.c) and its command link
 * (daemon/cmdlink.c) each keep one; a network change or a connection that
 * came back resets it (docs/daemon.md, "Idle and battery"). */
#ifndef VIGIL_BACKOFF_H
#define VIGIL_BACKOFF_H

struct backoff {
	int min_ms, max_ms;
	int base_ms;       /* the base of the next wait */
	unsigned seed;     /* rand_r's: one owner thread */
};

/* min_ms >= 4, max_ms >= min_ms. */
void backoff_init(struct backoff *b, int min_ms, int max_ms);
/* The wait before the next attempt (ms, in [0.75, 1.25] x its base);
 * the base of the one after doubles, up to max_ms. */
int  backoff_next(struct backoff *b);
void backoff_reset(struct backoff *b);

#endif
