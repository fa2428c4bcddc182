/* sweep.h — sweeping the store while the server serves: the roots from the
 * index (every live file version, every upload state, every pinned
 * reader), the server's sweep thread, and `vigil-server sweep`
 * (sweep_cli.c).  The steps and why nothing live is deleted:
 * docs/store-format.md, "Sweeping unreferenced chunks" (also when it runs).
 *
 * The thread sweeps on its own (an "automatic" sweep) when the retainer
 * kicked it after a pass that dropped versions, or when versions were
 * dropped since the last sweep (the index's row count against its highest
 * row id, looked at every SWEEP_CHECK_S: drops made by the `retain`
 * command), at most once per SWEEP_INTERVAL_S after the previous sweep
 * ended; a kick that comes while a sweep runs, or before the interval is
 * over, is remembered and served then.  `vigil-server sweep DIR` asks it
 * through the admin socket (admin.h) for one now, whatever the interval;
 * without a running server, the command sweeps itself.  The last sweep's
 * figures are kept in index.db's meta table (sweep_record). */
#ifndef VIGIL_SERVER_SWEEP_H
#define VIGIL_SERVER_SWEEP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "server/index.h"
#include "server/store/store.h"

#define SWEEP_INTERVAL_S 3600   /* automatic sweeps at most this often */
#define SWEEP_CHECK_S    600    /* ... checked for this often */
/* A sweep waits this long for the uploads that were running when it began
 * (docs/store-format.md, step 2); past it, it ends without deleting. */
#define SWEEP_WAIT_MS    (15 * 60 * 1000)

struct sweep_result {
	struct store_sweep_stats s;
	uint64_t roots, pages, states, pins;
	uint64_t unreadable;     /* live versions whose tree could not be read */
	uint64_t seq;            /* sweeps recorded in index.db so far, this one included */
	int64_t at_ns;           /* when it ended (real time) */
	uint64_t search_rows;    /* search.db version rows of dropped versions deleted after it */
	double seconds;
	int err;                 /* 0, or the -errno that stopped it */
};

/* Compaction's threshold (docs/store-format.md, "Compaction"): packs are
 * rewritten while more than this percentage of their disk space is unused
 * (restic's --max-unused).  `--max-unused PERCENT` of `vigil-server sweep`. */
#define SWEEP_MAX_UNUSED_DEFAULT STORE_MAX_UNUSED_DEFAULT
/* PERCENT (0..100, an optional '%' after it) -> the value, or -EINVAL. */
int  sweep_max_unused_parse(const char *s);

/* One whole sweep, compaction included.  idx: an index connection for
 * reading versions and devices.  max_unused: compaction's threshold, -1
 * the default.  cancel (NULL: none): once nonzero, compaction ends
 * between two records (store_sweep_compact), so a stopping server does
 * not wait for it.  0 or -errno (also in out->err): -EBUSY another sweep
 * runs, -ETIMEDOUT older uploads did not end within wait_ms, -EIO a live
 * version's tree is unreadable (nothing deleted), -ECANCELED. */
int  sweep_run(struct store *st, struct index *idx, int wait_ms, int max_unused,
	       const volatile int *cancel, struct sweep_result *out);

/* The last sweep's figures in index.db's meta table (keys sweep_*):
 * record stores r with seq = the previous seq + 1 (into r->seq, r->at_ns);
 * last reads them, -ENOENT when no sweep was ever recorded. */
int  sweep_record(struct index *idx, struct sweep_result *r);
int  sweep_last(struct index *idx, struct sweep_result *out);

/* Whether to sweep now (the thread's decision, apart from its clock):
 * see the top of this file. */
struct sweep_due_in {
	bool requested;          /* `vigil-server sweep` waits */
	bool continuous;         /* test hook */
	bool kicked;             /* the retainer dropped versions */
	bool gap;                /* versions went missing since the last sweep */
	bool interval_over;      /* SWEEP_INTERVAL_S passed since the last sweep */
};
bool sweep_due(const struct sweep_due_in *in);

/* The server's thread.  idx reads the roots, widx records the results.
 * VIGIL_SWEEP_CONTINUOUS=1 (with VIGIL_TEST_HOOKS=1) sweeps back to back:
 * a test hook.  NULL on failure. */
struct sweeper;
struct sweeper *sweeper_start(struct store *st, struct index *idx, struct index *widx);
/* after (may be NULL) runs on the thread after each sweep that succeeded,
 * before its figures are recorded (the search index's pruning: it sets
 * r->search_rows), with a flag that becomes nonzero when the thread is
 * asked to stop; set it before anything kicks or asks. */
typedef void sweep_after_fn(void *arg, struct sweep_result *r, const volatile int *cancel);
void sweeper_set_after(struct sweeper *sw, sweep_after_fn *after, void *arg);
/* Retention dropped versions: sweep once the interval allows (NULL-safe). */
void sweeper_kick(struct sweeper *sw);
/* One sweep now, begun after this call, compacting with max_unused (-1:
 * the default; requests made together get the lowest asked); waits for it
 * and copies its figures.  0, -ECANCELED when *quit became nonzero (or
 * the thread stops) first, or the sweep's own -errno (also in out->err). */
int  sweeper_request(struct sweeper *sw, const volatile int *quit, int max_unused,
		     struct sweep_result *out);
void sweeper_stop(struct sweeper *sw);   /* NULL-safe; waits for a sweep in progress */

/* One line for people, or one JSON document. */
void sweep_print(FILE *f, const struct sweep_result *r, int json);

/* `vigil-server sweep DIR ...`: an admin handler (admin.h, sweep_cli.c);
 * its options parsed by sweep_parse (2 and a line on err: usage). */
struct sweep_opts {
	bool json;
	int max_unused;          /* --max-unused PERCENT; -1: the default */
};
int  sweep_parse(int argc, char **argv, struct sweep_opts *o, FILE *err);
struct admin_env;
int  sweep_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err);

#endif
