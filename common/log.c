/* log.c — stderr logging: "PROGRAM: message", or, when stderr is the
 * journal, "<N>message" with N the syslog level (journald adds the time and
 * the program's name; sd-daemon(3)'s prefixes). */
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Configuration set once at start-up; the lock keeps lines whole. */
static const char *log_name = "vigil";
static enum log_level log_lvl = LOG_LVL_INFO;
static bool log_journal;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* systemd sets $JOURNAL_STREAM to "DEV:INO" of the stream it connects
 * stderr to; a stderr redirected since (a shell inside the unit) does not
 * match, and keeps the plain format. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (!js || sscanf(js, "%llu:%llu%n", &dev, &ino, &end) != 2 || js[end])
		return false;
	return fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

void log_init(const char *progname, enum log_level level)
{
	const char *slash = strrchr(progname, '/');

	log_name = slash ? slash + 1 : progname;
	log_lvl = level;
	log_journal = stderr_is_journal();
	if (getenv("VIGIL_DEBUG"))
		log_lvl = LOG_LVL_DEBUG;
}

const char *log_progname(void) { return log_name; }
void log_set_level(enum log_level level) { log_lvl = level; }

static void vlog(enum log_level lvl, int err, const char *fmt, va_list ap)
{
	static const char prio[] = { [LOG_LVL_ERROR] = '3', [LOG_LVL_WARN] = '4',
				     [LOG_LVL_INFO] = '6', [LOG_LVL_DEBUG] = '7' };
	char msg[1024], head[80];

	if (lvl > log_lvl)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal)
		snprintf(head, sizeof(head), "<%c>", prio[lvl]);
	else
		snprintf(head, sizeof(head), "%s: ", log_name);
	pthread_mutex_lock(&log_lock);
	if (err)
		fprintf(stderr, "%s%s: %s\n", head, msg, strerror(err));
	else
		fprintf(stderr, "%s%s\n", head, msg);
	pthread_mutex_unlock(&log_lock);
}

#define LOG_BODY(lvl, err) do { va_list ap; va_start(ap, fmt); \
	vlog(lvl, err, fmt, ap); va_end(ap); } while (0)

void log_warn(const char *fmt, ...)  { int e = errno; LOG_BODY(LOG_LVL_ERROR, e); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LVL_ERROR, 0); }
void log_errno(int err, const char *fmt, ...) { LOG_BODY(LOG_LVL_ERROR, err < 0 ? -err : err); }
void log_warning(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, 0); }
void log_info(const char *fmt, ...)  { LOG_BODY(LOG_LVL_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LVL_DEBUG, 0); }
void fatal(const char *fmt, ...)  { int e = errno; LOG_BODY(LOG_LVL_ERROR, e); exit(1); }
void fatalx(const char *fmt, ...) { LOG_BODY(LOG_LVL_ERROR, 0); exit(1); }
