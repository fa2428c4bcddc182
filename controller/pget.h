/* pget.h — one large read as ranges fetched in parallel, handed on in order.
 *
 * `vigil get` of a large file reads it over several streams at once, so
 * the server reads, checks and sends ranges on both CPUs and more than one
 * stream window is in flight.  The bytes still reach the caller's sink once,
 * in file order, exactly as a single stream would deliver them (the sink
 * writes the file and feeds the sha256, which needs the order).
 *
 * Ranges of PGET_RANGE bytes are claimed in order by PGET_WORKERS threads,
 * each fetching into one of PGET_SLOTS buffers (a range waits for its slot
 * to be drained, so memory is PGET_SLOTS * PGET_RANGE whatever the size).
 * The head range goes on to the sink while it arrives, in 256 KiB steps.
 * A range that fails, or that delivers more or fewer bytes than asked,
 * fails the whole read: pget_run returns -errno with a one-line reason,
 * and the sink has then seen only a prefix of the content. */
#ifndef VIGIL_PGET_H
#define VIGIL_PGET_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/restore.h"

#define PGET_RANGE   (2u << 20)   /* bytes per request */
#define PGET_SLOTS   4            /* ranges buffered at most */
#define PGET_WORKERS 2            /* streams in flight by default (4 CPUs or more) */
#define PGET_WORKERS_MAX 4
#define PGET_MIN     (8u << 20)   /* smaller reads: one stream (restore.c's fetch) */

/* Fetches [off, off+len) into sink (called with pieces in order, from the
 * calling thread).  0, or -errno with a one-line reason in err.  Called
 * from several threads at once; *stop becomes 1 once the read has failed
 * or was cancelled elsewhere (a fetch may then give up early). */
typedef int (*pget_range_fn)(void *arg, uint64_t off, uint64_t len, restore_sink_fn sink,
			     void *sink_arg, const volatile sig_atomic_t *stop,
			     char *err, size_t errlen);

/* Reads [0, size) through fetch in ranges over `workers` (1 ..
 * PGET_WORKERS_MAX) threads at once, delivering to sink in order.
 * Returns 0, or the first failure's -errno (reason in err, empty when the
 * sink failed; -EBADMSG for a range of the wrong length, -EFBIG for one
 * longer than asked).  Stops early once *cancel is set (-EINTR). */
int pget_run(uint64_t size, int workers, pget_range_fn fetch, void *fetch_arg,
	     restore_sink_fn sink, void *sink_arg, const volatile sig_atomic_t *cancel,
	     char *err, size_t errlen);

#endif
