/* fuzz_hostport.c — libFuzzer harness for common/hostport.c: any string,
 * either flag set, any buffer sizes.  Whatever is accepted must be a host
 * without forbidden bytes and a port of 1 to 65535, and must parse again to
 * the same parts once written back as "HOST:PORT" or "[V6]:PORT". */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/hostport.h"
#include "tests/fuzz/fuzz_util.h"

static void check(const char *s, unsigned flags, size_t hostcap, size_t portcap)
{
	char host[HOSTPORT_MAX + 8], port[HOSTPORT_PORT_SIZE + 8], again[HOSTPORT_MAX + 16];
	char h2[HOSTPORT_MAX + 8], p2[HOSTPORT_PORT_SIZE + 8];
	int r = hostport_split(s, flags, host, hostcap, port, portcap);
	long v;

	if (r != 0 && r != -EINVAL)
		abort();
	if (r != 0)
		return;
	if (strlen(host) >= hostcap || strlen(port) >= portcap ||
	    strspn(port, "0123456789") != strlen(port) || strpbrk(host, " \t\r\n/#[]"))
		abort();
	v = strtol(port, NULL, 10);
	if (v < 1 || v > 65535 || (!(flags & HOSTPORT_BIND) && !host[0]))
		abort();
	snprintf(again, sizeof(again), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	if (strlen(again) >= HOSTPORT_MAX)
		return;   /* "HOST" alone near the limit: no room to spell the port */
	if (hostport_split(again, flags, h2, sizeof(h2), p2, sizeof(p2)) != 0 ||
	    strcmp(host, h2) || strcmp(port, p2))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t hcaps[] = { 1, 2, 8, HOSTPORT_MAX };
	static const size_t pcaps[] = { 1, 3, HOSTPORT_PORT_SIZE };
	char *s;

	if (size < 1 || size > 2 * HOSTPORT_MAX)
		return 0;
	if (!(s = malloc(size)))
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	check(s, data[0] & HOSTPORT_BIND, hcaps[data[0] >> 1 & 3], pcaps[(data[0] >> 3) % 3]);
	check(s, data[0] & HOSTPORT_BIND, HOSTPORT_MAX, HOSTPORT_PORT_SIZE);
	free(s);
	return 0;
}
