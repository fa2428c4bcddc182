/* clock.c — see clock.h. */
#include "common/clock.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

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

/* Test hook (clock.h): the offset file's name, read once from the
 * environment; the offset and when it was last read, shared by threads. */
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;
static const char *hook_file;
static int64_t hook_offset_ns, hook_read_mono;

static void hook_init(void)
{
	const char *on = getenv("VIGIL_TEST_HOOKS");

	if (on && on[0] == '1' && on[1] == '\0')
		hook_file = getenv("VIGIL_TEST_CLOCK_OFFSET_FILE");
}

/* The file holds a signed decimal number of seconds; anything else
 * (missing, empty, malformed) is an offset of 0. */
static int64_t hook_read_file(void)
{
	char buf[32];
	char *end;
	long long s;
	ssize_t n;
	int fd = open(hook_file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	s = strtoll(buf, &end, 10);
	if (end == buf || (*end != '\0' && *end != '\n') ||
	    s > 100LL * 365 * 86400 || s < -100LL * 365 * 86400)
		return 0;
	return (int64_t)s * NS_PER_S;
}

static int64_t hook_offset(void)
{
	int64_t now, last;

	pthread_once(&hook_once, hook_init);
	if (!hook_file)
		return 0;
	now = mono_ns();
	last = __atomic_load_n(&hook_read_mono, __ATOMIC_ACQUIRE);
	if (last == 0 || now - last >= NS_PER_S) {
		__atomic_store_n(&hook_offset_ns, hook_read_file(), __ATOMIC_RELEASE);
		__atomic_store_n(&hook_read_mono, now, __ATOMIC_RELEASE);
	}
	return __atomic_load_n(&hook_offset_ns, __ATOMIC_ACQUIRE);
}

int64_t real_ns(void)
{
	return read_ns(CLOCK_REALTIME) + hook_offset();
}

int64_t boot_ns(void)
{
	return read_ns(CLOCK_BOOTTIME);
}

static struct timespec deadline_on(clockid_t clk, long ms)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

struct timespec deadline_in_ms(long ms)
{
	return deadline_on(CLOCK_REALTIME, ms);
}

struct timespec mono_deadline_in_ms(long ms)
{
	return deadline_on(CLOCK_MONOTONIC, ms);
}
