/* log.c — stderr logging with the program name as prefix. */
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Configuration set once at start-up; the lock keeps lines whole. */
static const char *log_name = "vigil";
static enum log_level log_lvl = LOG_LVL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(const char *progname, enum log_level level)
{
	const char *slash = strrchr(progname, '/');

	log_name = slash ? slash + 1 : progname;
	log_lvl = level;
	if (getenv("VIGIL_DEBUG"))
		log_lvl = LOG_LVL_DEBUG;
}

const char *log_progname(void) { return log_name; }
void log_set_level(enum log_level level) { log_lvl = level; }

static void vlog(enum log_level lvl, int err, const char *fmt, va_list ap)
{
	char msg[1024];

	if (lvl > log_lvl)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pthread_mutex_lock(&log_lock);
	if (err)
		fprintf(stderr, "%s: %s: %s\n", log_name, msg, strerror(err));
	else
		fprintf(stderr, "%s: %s\n", log_name, msg);
	pthread_mutex_unlock(&log_lock);
}

#define LOG_BODY(lvl, err) do { va_list ap; va_start(ap, fmt); \
	vlog(lvl, err, fmt, ap); va_end(ap); } while (0)

void log_warn(const char *fmt, ...)  { int e = errno; LOG_BODY(LOG_LVL_ERROR, e); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LVL_ERROR, 0); }
void log_errno(int err, const char *fmt, ...) { LOG_BODY(LOG_LVL_ERROR, err < 0 ? -err : err); }
void log_info(const char *fmt, ...)  { LOG_BODY(LOG_LVL_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LVL_DEBUG, 0); }
void fatal(const char *fmt, ...)  { int e = errno; LOG_BODY(LOG_LVL_ERROR, e); exit(1); }
void fatalx(const char *fmt, ...) { LOG_BODY(LOG_LVL_ERROR, 0); exit(1); }
