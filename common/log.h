/* log.h — the one logging API of every vigil program.
 * Messages go to stderr prefixed by the program name ("vigil-server: ...");
 * when stderr is the journal ($JOURNAL_STREAM names it), by the syslog level
 * instead ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug).  --verbose
 * (or $VIGIL_DEBUG) is log_set_level(LOG_LVL_DEBUG).
 * Log once, at the boundary where the context (file, peer, device) is known. */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *progname, enum log_level level);
const char *log_progname(void);
void log_set_level(enum log_level level);

/* log_warn appends ": strerror(errno)"; log_warnx does not.  Like OpenBSD's. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_errno appends strerror(-err) for a function that returned -errno. */
void log_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* log_warning: a degraded mode the program goes on in (a fallback, a
 * protection the kernel lacks): "<4>" on the journal, where log_warn and
 * log_warnx are errors ("<3>"). */
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fatal/fatalx: only at start-up, before any state needs saving.  Exit 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
