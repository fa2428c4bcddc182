/* exchild.h — the extractor child: `vigil-server extractor`, a hidden
 * subcommand that exproc.c starts with its socket as fd EXW_FD and
 * nothing else.  It enters its sandbox (sandbox.h), says HELLO, then runs
 * one extraction per JOB (exwire.h) until the parent closes the socket.
 *
 * Test hook: with VIGIL_TEST_EXTRACT_HOOK=1 in its environment, a content
 * that starts with "VIGIL-TEST-CRASH" makes the child crash and one that
 * starts with "VIGIL-TEST-HANG" makes it spin forever. */
#ifndef VIGIL_EXCHILD_H
#define VIGIL_EXCHILD_H

/* The process's exit status: 0 when the parent closed the socket. */
int exchild_main(void);

#endif
