/* status.c — STATE/status.json: written by the daemon, shown by
 * `vigild status`. */
#include "daemon/status.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "daemon/config.h"

static json_t *time_or_null(int64_t ns)
{
	char b[TIMEFMT_MAX];

	if (ns <= 0)
		return json_null();
	return json_string(timefmt_format(ns, b, sizeof(b)));
}

/* ms until the next attempt at at (mono_ms), 0: none pending */
static json_int_t until(int64_t at)
{
	int64_t now = mono_ms();

	return at > now ? (json_int_t)(at - now) : 0;
}

int status_write(const char *statedir, struct statedb *db, const struct status_snap *s)
{
	char path[PATH_MAX], *text;
	int64_t now = real_ns();
	uint64_t n = 0;
	int64_t oldest = 0;
	json_t *o, *c, *tc;
	int rc;

	statedb_queue_stats(db, &n, &oldest);
	c = json_object();
	for (int i = 0; i < CTR_COUNT; i++)
		json_object_set_new(c, ctr_names[i], json_integer((json_int_t)ctr_get(s->ctr, (enum ctr)i)));
	tc = json_object();
	for (uint32_t i = 0; s->trk && i < s->trk->ncounters; i++)
		json_object_set_new(tc, s->trk->counters[i].name,
				    json_integer((json_int_t)s->trk->counters[i].value));
	o = json_pack("{s:I, s:o, s:s, s:b, s:b, s:s, s:b, s:{s:I, s:I}, s:{s:I, s:o}, s:o, s:o}",
		      "pid", (json_int_t)getpid(),
		      "updated", time_or_null(now),
		      "tracker", s->tracker ? s->tracker : "",
		      "connected", s->connected,
		      "linked", s->linked,
		      "last_error", s->last_error ? s->last_error : "",
		      "refresh", s->refresh,
		      "retry_in_ms", "ship", until(s->retry_at), "link", until(s->link_retry_at),
		      "queue", "files", (json_int_t)n, "oldest", time_or_null(oldest),
		      "counters", c, "tracker_counters", tc);
	if (!o)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/status.json", statedir);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	/* A view rewritten as the daemon moves: atomic, not durable. */
	rc = file_write_atomic(path, text, strlen(text), 0644, FILE_NOSYNC);
	free(text);
	return rc;
}

static void print_text(json_t *o)
{
	json_t *c = json_object_get(o, "counters"), *q = json_object_get(o, "queue"), *v;
	const char *k;

	printf("daemon:     %s", json_is_true(json_object_get(o, "running")) ? "running" : "not running");
	if (json_integer_value(json_object_get(o, "pid")))
		printf(" (pid %lld)", (long long)json_integer_value(json_object_get(o, "pid")));
	printf("\ntracker:    %s\n", json_string_value(json_object_get(o, "tracker")) ?: "-");
	printf("server:     %s\n", json_is_true(json_object_get(o, "connected")) ? "connected" : "not connected");
	printf("queue:      %lld files\n", (long long)json_integer_value(json_object_get(q, "files")));
	printf("oldest:     %s\n", json_string_value(json_object_get(q, "oldest")) ?: "-");
	if (json_string_length(json_object_get(o, "last_error")))
		printf("last error: %s\n", json_string_value(json_object_get(o, "last_error")));
	json_object_foreach(c, k, v)
		printf("%-11s %lld\n", k, (long long)json_integer_value(v));
	c = json_object_get(o, "tracker_counters");
	if (json_object_size(c))
		printf("tracker counters:\n");
	json_object_foreach(c, k, v)
		printf("  %-18s %lld\n", k, (long long)json_integer_value(v));
	printf("updated:    %s\n", json_string_value(json_object_get(o, "updated")) ?: "-");
}

/* The pid in status.json may have been reused since: only a vigild is
 * signalled. */
static bool is_vigild(int64_t pid)
{
	char p[64], comm[32] = "";
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%lld/comm", (long long)pid);
	if (!(f = fopen(p, "re")))
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strcmp(comm, "vigild\n") == 0;
}

/* A running `vigild run` writes status.json only when something moved: it
 * is asked (SIGUSR1) for one that is fresh, and waited for up to
 * STATUS_REFRESH_MS (each write is a new file: its inode changes).  A
 * daemon that does not answer in time (stopped, too busy) leaves the last
 * one, which is shown as it is. */
static void ask_refresh(const char *path)
{
	struct stat a, b;
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je);
	int64_t pid = json_integer_value(json_object_get(o, "pid"));
	bool ask = json_is_true(json_object_get(o, "refresh"));
	struct timespec ts = { .tv_nsec = 10 * 1000000L };

	json_decref(o);
	if (!ask || pid <= 0 || !is_vigild(pid) || stat(path, &a) < 0 ||
	    kill((pid_t)pid, SIGUSR1) < 0)
		return;
	for (int i = 0; i < STATUS_REFRESH_MS / 10; i++) {
		nanosleep(&ts, NULL);
		if (stat(path, &b) == 0 && (b.st_ino != a.st_ino || b.st_mtim.tv_nsec != a.st_mtim.tv_nsec ||
					    b.st_mtim.tv_sec != a.st_mtim.tv_sec))
			return;
	}
}

/* The daemon's last snapshot, corrected by what the database says now. */
static json_t *load_status(const char *statedir, struct statedb *db)
{
	char path[PATH_MAX];
	json_error_t je;
	json_t *o, *q;
	uint64_t n = 0;
	int64_t oldest = 0, pid;
	bool running;

	snprintf(path, sizeof(path), "%s/status.json", statedir);
	ask_refresh(path);
	if (!(o = json_load_file(path, 0, &je)) || !json_is_object(o)) {
		json_decref(o);
		o = json_pack("{s:I, s:s, s:b, s:b, s:s, s:o, s:{}}", "pid", (json_int_t)0,
			      "tracker", "", "connected", 0, "linked", 0, "last_error", "",
			      "updated", json_null(), "counters");
	}
	pid = json_integer_value(json_object_get(o, "pid"));
	running = pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
	json_object_set_new(o, "running", json_boolean(running));
	if (!running) {
		json_object_set_new(o, "connected", json_false());
		json_object_set_new(o, "linked", json_false());
	}
	statedb_queue_stats(db, &n, &oldest);
	q = json_pack("{s:I, s:o}", "files", (json_int_t)n, "oldest", time_or_null(oldest));
	json_object_set_new(o, "queue", q);
	return o;
}

int status_main(int argc, char **argv)
{
	struct statedb *db = NULL;
	struct vconf cf;
	char err[512], path[PATH_MAX];
	json_t *o;
	int rc;

	rc = vconf_parse(&cf, VCONF_STATUS, argc, argv, err, sizeof(err));
	if (rc == 1) {
		vconf_free(&cf);
		return 0;
	}
	if (rc < 0) {
		if (cf.file_error)   /* "FILE:LINE: ..." as run says it */
			log_warnx("%s", err);
		else
			log_warnx("status: %s%s", err, rc == -EINVAL ? " (see vigild --help)" : "");
		vconf_free(&cf);
		return rc == -EINVAL ? 2 : 1;
	}
	snprintf(path, sizeof(path), "%s/state.db", cf.state);
	if (access(path, R_OK) < 0 || statedb_open_ro(cf.state, &db) < 0) {
		log_warnx("status: %s: no vigild state here", cf.state);
		vconf_free(&cf);
		return 1;
	}
	o = load_status(cf.state, db);
	if (cf.json) {
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		print_text(o);
	}
	json_decref(o);
	statedb_close(db);
	vconf_free(&cf);
	return 0;
}
