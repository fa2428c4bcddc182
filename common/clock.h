/* clock.h — the two clocks vigil waits with: monotonic milliseconds for
 * timeouts and intervals, and absolute CLOCK_REALTIME deadlines for
 * pthread_cond_timedwait on condition variables with the default clock. */
#ifndef VIGIL_CLOCK_H
#define VIGIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t mono_ms(void);
/* Now plus ms milliseconds (ms >= 0), normalised. */
struct timespec deadline_in_ms(long ms);

#endif
