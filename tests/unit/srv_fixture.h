/* srv_fixture.h — test helper shared by the unit tests that run the real
 * server binary (test_session, test_putcaps, ship_fixture.h): run() for
 * shell commands, a free loopback port, a server started in the
 * background and waited for until it accepts connections, and stopped
 * with its exit status.  Include after cmocka.h. */
#ifndef VIGIL_TEST_SRV_FIXTURE_H
#define VIGIL_TEST_SRV_FIXTURE_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* the Makefile names the server of the test's own build tree (build-arm64/
 * for make test-arm64) */
#ifndef SERVER_BIN
#define SERVER_BIN "build/bin/vigil-server"
#endif

/* system() of a printf-formatted command line: its wait status. */
static inline int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Whether a socket listens on 127.0.0.1:port (/proc/net/tcp: no
 * connection is made, so the server sees nothing). */
static inline int srvfix_listening(int port)
{
	char line[256], want[32];
	FILE *f = fopen("/proc/net/tcp", "r");
	int found = 0;

	if (!f)
		return 0;
	/* "  sl  local_address rem_address   st": 127.0.0.1 is 0100007F, LISTEN 0A */
	snprintf(want, sizeof(want), "0100007F:%04X 00000000:0000 0A", (unsigned)port);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, want) != NULL;
	fclose(f);
	return found;
}

/* A loopback port no socket holds now, below the kernel's ephemeral range
 * (a port in it may be any client's local port at any moment), as
 * tests/integration/lib.sh's free_port.  A port made from the pid alone
 * could be another test's server: the test then spoke to a stranger. */
static inline int srvfix_free_port(void)
{
	unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	int low = 32768;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (f) {
		if (fscanf(f, "%d", &low) != 1 || low <= 20100)
			low = 32768;
		fclose(f);
	}
	for (int i = 0; i < 1000; i++) {
		int port = 20000 + rand_r(&seed) % (low - 20000), fd, ok;
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			break;
		ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return port;
	}
	fail_msg("no free loopback port");
	return -1;
}

/* Starts `SERVER_BIN run srvdir` (stderr appended to log) and waits until
 * it accepts connections on port, or fails the test with its log when it
 * exits first or takes over 60 s.  Returns its pid. */
static inline pid_t srvfix_start(const char *srvdir, int port, const char *log)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (!freopen(log, "a", stderr))
			_exit(126);
		execl(SERVER_BIN, SERVER_BIN, "run", srvdir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1200 && !srvfix_listening(port); i++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			run("cat %s >&2", log);
			fail_msg("vigil-server run exited (status %d) before listening", status);
		}
		usleep(50000);
	}
	if (!srvfix_listening(port)) {
		run("cat %s >&2", log);
		fail_msg("vigil-server not listening on port %d after 60 s", port);
	}
	return pid;
}

/* SIGTERM to the server and its wait status (-1 without one). */
static inline int srvfix_stop(pid_t pid)
{
	int status = -1;

	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
	}
	return status;
}

/* Stops the server (SIGTERM) in tmp: it must exit 0, else its log
 * (tmp/server.log) goes to stderr and tmp is kept; tmp is removed unless
 * $KEEP is set.  0 or -1. */
static inline int srvfix_finish(pid_t pid, const char *tmp)
{
	int status = srvfix_stop(pid);

	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		fprintf(stderr, "server did not exit 0 on SIGTERM (status %d)\n", status);
		run("cat %s/server.log >&2", tmp);
		return -1;
	}
	if (getenv("KEEP"))
		fprintf(stderr, "kept %s\n", tmp);
	else
		run("rm -rf %s", tmp);
	return 0;
}

#endif
