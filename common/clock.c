/* clock.c — see clock.h. */
#include "common/clock.h"

static int64_t read_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int64_t mono_ms(void)
{
	return read_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t mono_ns(void)
{
	return read_ns(CLOCK_MONOTONIC);
}

int64_t real_ns(void)
{
	return read_ns(CLOCK_REALTIME);
}

int64_t boot_ns(void)
{
	return read_ns(CLOCK_BOOTTIME);
}

struct timespec deadline_in_ms(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}
