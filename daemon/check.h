/* check.h — `vigild check`: what this kernel offers (BPF+BTF, FUSE, freezer).
 * Implemented in daemon/check.c.  Exit status: 0 when the preferred tracker
 * works, 1 otherwise, 2 on a usage error. */
#ifndef VIGIL_CHECK_H
#define VIGIL_CHECK_H

int check_main(int argc, char **argv);

#endif
