/* threadcaps.c — per-thread capability sets for the shippers (threadcaps.h),
 * through the raw capset(2)/capget(2) of the calling thread. */
#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/threadcaps.h"

struct caps {
	uint64_t eff, prm, inh;
};

static __thread bool dropped;   /* this thread runs with the shipper's sets */
/* ... and these are its sets (only the functions below change them, so
 * raise and lower need no capget: one capset each, per file shipped) */
static __thread struct caps mine;

static int get(struct caps *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	c->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	c->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int set(const struct caps *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)c->eff, (uint32_t)c->prm, (uint32_t)c->inh },
		{ (uint32_t)(c->eff >> 32), (uint32_t)(c->prm >> 32), (uint32_t)(c->inh >> 32) },
	};

	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

int threadcaps_shipper(void)
{
	struct caps c;
	int r;

	if ((r = get(&c)) < 0)
		return r;
	/* the bounding set first, while CAP_SETPCAP may still be effective */
	for (int cap = 0; cap <= 63; cap++)
		if (!(THREADCAPS_SHIP_PRM & (uint64_t)1 << cap) &&
		    prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			(void)prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	c.prm &= THREADCAPS_SHIP_PRM;
	c.eff &= THREADCAPS_SHIP_EFF;
	c.inh = 0;
	if ((r = set(&c)) < 0)
		return r;
	mine = c;
	dropped = true;
	return 0;
}

int threadcaps_raise(int cap)
{
	struct caps c = mine;
	uint64_t bit = (uint64_t)1 << cap;

	if (!dropped || (c.eff & bit) || !(c.prm & bit))
		return -1;
	c.eff |= bit;
	if (set(&c) < 0)
		return -1;
	mine = c;
	return cap;
}

void threadcaps_lower(int raised)
{
	struct caps c = mine;

	if (raised < 0)
		return;
	c.eff &= ~((uint64_t)1 << raised);
	if (set(&c) == 0)
		mine = c;
}

uint64_t threadcaps_effective(void)
{
	struct caps c;

	return get(&c) == 0 ? c.eff : 0;
}
