/* hostport.h — the one parser of "HOST:PORT" addresses: the server's
 * listen and advertise settings, vigild's and vigil's --server, bundles. */
#ifndef VIGIL_HOSTPORT_H
#define VIGIL_HOSTPORT_H

#include <stddef.h>

#define HOSTPORT_MAX          256     /* a whole "HOST:PORT", NUL included */
#define HOSTPORT_PORT_SIZE    6       /* "65535" and its NUL */
#define HOSTPORT_DEFAULT_PORT "7445"

/* An address to bind, not to dial: an empty host or "*" means every
 * address, and a missing port means HOSTPORT_DEFAULT_PORT. */
#define HOSTPORT_BIND 0x1

/* Splits "HOST:PORT" or "[V6]:PORT" (with HOSTPORT_BIND also "HOST",
 * "[V6]", ":PORT") into host (brackets removed) and port.  The port is
 * decimal digits, 1 to 65535; a bare IPv6 address needs brackets and the
 * brackets hold one; a host has no blanks, controls, '/', '#' or brackets.
 * Returns 0, or -EINVAL when malformed or when a part does not fit. */
int hostport_split(const char *s, unsigned flags, char *host, size_t hostcap,
		   char *port, size_t portcap);

#endif
