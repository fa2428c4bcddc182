/* netwatch.h — network changes for vigild's event loop: a NETLINK_ROUTE
 * socket subscribed to links (up, down), IPv4 and IPv6 addresses and IPv4
 * routes.  While a connection to the server is down, such a change ends
 * its backoff (vigild_reachable): a phone that finds a network connects
 * within a second instead of at the end of a wait of up to 5 minutes.
 * Online, a change costs the loop one wake-up and nothing else. */
#ifndef VIGIL_DAEMON_NETWATCH_H
#define VIGIL_DAEMON_NETWATCH_H

#include <stdbool.h>

/* A non-blocking, close-on-exec socket, bound to the groups above.
 * fd or -errno (the caller goes on without it: backoff alone). */
int  netwatch_open(void);
/* Reads every pending message; true when one says the network changed
 * (or the socket overran: something changed, unknown what). */
bool netwatch_read(int fd);

#endif
