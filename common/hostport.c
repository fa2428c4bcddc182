/* hostport.c — see hostport.h. */
#include "common/hostport.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool port_valid(const char *p)
{
	size_t n = strlen(p);
	long v;

	if (n == 0 || n > 5 || strspn(p, "0123456789") != n)
		return false;
	v = strtol(p, NULL, 10);
	return v > 0 && v < 65536;
}

static bool host_valid(const char *h, size_t n, bool bracketed)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c <= ' ' || c == 0x7f || c == '/' || c == '#' || c == '[' || c == ']')
			return false;
		if (c == ':' && !bracketed)
			return false;   /* a bare IPv6 address needs brackets */
	}
	return !bracketed || memchr(h, ':', n);
}

int hostport_split(const char *s, unsigned flags, char *host, size_t hostcap,
		   char *port, size_t portcap)
{
	bool bind = flags & HOSTPORT_BIND, br = s && *s == '[';
	const char *h = br ? s + 1 : s, *end, *p;
	size_t hlen;

	if (!s || !*s || strlen(s) >= HOSTPORT_MAX)
		return -EINVAL;
	if (br) {
		if (!(end = strchr(h, ']')) || (end[1] && end[1] != ':'))
			return -EINVAL;
		p = end[1] ? end + 2 : NULL;
	} else {
		end = strrchr(s, ':');
		p = end ? end + 1 : NULL;
		if (!end)
			end = s + strlen(s);
	}
	hlen = (size_t)(end - h);
	if (!p && !bind)
		return -EINVAL;
	if (!p)
		p = HOSTPORT_DEFAULT_PORT;
	if (!host_valid(h, hlen, br) || (br && hlen == 0) || hlen >= hostcap ||
	    !port_valid(p) || strlen(p) >= portcap)
		return -EINVAL;
	if (!bind && (hlen == 0 || (hlen == 1 && *h == '*')))
		return -EINVAL;   /* nothing a client can dial */
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	snprintf(port, portcap, "%s", p);
	return 0;
}
