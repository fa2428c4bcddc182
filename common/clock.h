/* clock.h — every clock vigil reads: monotonic time for timeouts and
 * intervals, wall-clock time for what is recorded (capture and event
 * times), boot time for BPF timestamps, and absolute CLOCK_REALTIME
 * deadlines for pthread_cond_timedwait on condition variables with the
 * default clock.  No other file calls clock_gettime. */
#ifndef VIGIL_CLOCK_H
#define VIGIL_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_S 1000000000LL

/* CLOCK_MONOTONIC in milliseconds. */
int64_t mono_ms(void);
/* CLOCK_MONOTONIC in nanoseconds. */
int64_t mono_ns(void);
/* CLOCK_REALTIME in nanoseconds since the epoch.
 * Test hook, for jumping a device's clock without changing the machine's
 * (CLOCK_REALTIME is not namespaced): when the environment has
 * VIGIL_TEST_HOOKS=1 and VIGIL_TEST_CLOCK_OFFSET_FILE=PATH, the signed
 * number of seconds in PATH is added, the file being re-read at most once
 * a second.  Without both variables it costs one pthread_once. */
int64_t real_ns(void);
/* CLOCK_BOOTTIME in nanoseconds (the clock of bpf_ktime_get_boot_ns). */
int64_t boot_ns(void);
/* Now plus ms milliseconds (ms >= 0), normalised: CLOCK_REALTIME, for
 * condition variables with the default clock... */
struct timespec deadline_in_ms(long ms);
/* ...and CLOCK_MONOTONIC, for those set up with pthread_condattr_setclock. */
struct timespec mono_deadline_in_ms(long ms);

#endif
