/* deadline.h — absolute CLOCK_REALTIME deadlines for pthread_cond_timedwait
 * on condition variables with the default clock. */
#ifndef VIGIL_DEADLINE_H
#define VIGIL_DEADLINE_H

#include <time.h>

/* Now plus ms milliseconds (ms >= 0), normalised. */
struct timespec deadline_in_ms(long ms);

#endif
