/* timefmt.h — the TIME and DURATION grammars of the command line, and the
 * one way times are printed (RFC 3339, UTC, nanosecond fraction trimmed).
 * Every string timefmt_format() prints is accepted back by timefmt_parse()
 * and yields the same nanosecond count.  All times: int64 ns since the epoch. */
#ifndef VIGIL_TIMEFMT_H
#define VIGIL_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* "2026-11-28T19:05:00.5+00:00\0" and the widest year fit easily. */
#define TIMEFMT_MAX 48

/* Parses TIME:
 *   ISO 8601    2026-11-28T19:05:00Z, 2026-11-28T19:05:00.123Z,
 *               2026-11-28T19:05:00+08:00 / +0800 / +08, a space or 't' for 'T',
 *               seconds optional, a date alone is its midnight; without a zone
 *               the time is the local time of this machine
 *   epoch       @1700000000, @1700000000.25, @-5
 *   relative    -30s -10m -2h -3d -1w, combined -1d12h ("now" minus that)
 *   now
 * now_ns is the reference for relative times.  Returns 0 or -EINVAL
 * (bad syntax, out of range, more than 9 fraction digits), -ERANGE (overflow). */
int timefmt_parse(const char *s, int64_t now_ns, int64_t *out_ns);

/* Parses DURATION: 30s 30m 12h 14d 2w, or combined 1d12h; > 0.
 * Returns 0, -EINVAL or -ERANGE. */
int timefmt_duration(const char *s, int64_t *out_ns);

/* RFC 3339 UTC: 2026-11-28T19:05:00Z or 2026-11-28T19:05:00.123456789Z with
 * trailing zeros of the fraction trimmed.  Returns buf (cap >= TIMEFMT_MAX),
 * "" when ns is outside what gmtime can express. */
char *timefmt_format(int64_t ns, char *buf, size_t cap);

#endif
