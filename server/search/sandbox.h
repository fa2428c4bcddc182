/* sandbox.h — what the extractor child gives up before it reads anything:
 * root (setgid/setuid to nobody/nogroup, no supplementary groups), new
 * privileges (no_new_privs), the filesystem (a Landlock ruleset that
 * handles every access right and allows none; TCP and, where the kernel
 * has them, abstract sockets and signals too) and every system call but
 * the few it needs on its socket and its memory (a seccomp filter that
 * kills the process on anything else); and it dies with the server.
 *
 * Each step that the kernel or the build lacks is skipped and reported in
 * the returned bits (exwire.h EXW_SB_*) so the parent can log it once;
 * a step the kernel refuses is an error: the child must not run half
 * sandboxed without saying so. */
#ifndef VIGIL_SANDBOX_H
#define VIGIL_SANDBOX_H

#include <stdint.h>
#include <sys/types.h>

#define SANDBOX_DATA_MAX (512ull << 20)   /* heap and private maps: RLIMIT_DATA */

/* Drops everything; only fd may be read and written afterwards.  Also no
 * core dumps, no file writes, SANDBOX_DATA_MAX of memory, and SIGKILL when
 * the parent (its pid: parent) dies.  Fills *held with the EXW_SB_* bits
 * that hold; 0 or -errno. */
int sandbox_enter(int fd, pid_t parent, uint64_t *held);

#endif
