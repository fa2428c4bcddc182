/* erase.h — the clear unit: secure erase of the user's data on a lost device.
 *
 * Order (docs/erase.md): every erase root is walked depth first with
 * directory fds (openat/statx AT_SYMLINK_NOFOLLOW, never a path string
 * resolved again); each regular file with one link is overwritten once from
 * the kernel CSPRNG (getrandom), fdatasync'ed, truncated and unlinked; a
 * file with several links, a symlink, a FIFO, a socket or a device is only
 * unlinked (never opened); another mount (st_dev or mount id differs from
 * the root's) is never entered; the paths to keep (vigild's state dir and
 * bundle) are skipped; directories are removed deepest first (the roots
 * themselves stay).  Then FITRIM on each root's filesystem, then every key
 * slot of each --erase-luks volume is destroyed with libcryptsetup.
 *
 * Crash safety: progress lives in STATE/erase (erasejournal.c), written
 * before each unlink, so after a kill -9 or a reboot erase_run() (or
 * erase_resume()) finishes the job and every file is counted exactly once. */
#ifndef VIGIL_DAEMON_ERASE_H
#define VIGIL_DAEMON_ERASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum erase_phase {
	ERASE_NONE = 0,
	ERASE_ROOTS = 1,      /* walking the erase roots */
	ERASE_FITRIM = 2,
	ERASE_LUKS = 3,
	ERASE_DONE = 4,       /* finished; the final report is still to be sent */
	ERASE_REPORTED = 5,   /* the caller sent the final report */
};

/* What the erase achieved, counted once across crashes and restarts. */
struct erase_report {
	uint32_t phase;                 /* enum erase_phase */
	uint32_t resumed;               /* times the erase was taken up again */
	int64_t started_ns;             /* CLOCK_REALTIME of the first start */
	uint64_t files_overwritten;     /* regular files overwritten, then unlinked */
	uint64_t bytes_overwritten;
	uint64_t unlinked_links;        /* nlink > 1: unlinked, never overwritten */
	uint64_t unlinked_special;      /* FIFO, socket, device: unlinked unopened */
	uint64_t unlinked_symlinks;     /* never followed */
	uint64_t unlinked_busy;         /* could not be overwritten (ETXTBSY, EPERM, ...)
					 * or written by another process meanwhile */
	uint64_t dirs_removed;
	uint64_t mounts_skipped;        /* other mounts below a root, not entered */
	uint64_t kept;                  /* paths to keep found under a root */
	uint64_t failed;                /* entries left in place (error, too deep) */
	uint32_t fitrim_ran;            /* filesystems FITRIM accepted */
	uint32_t fitrim_unsupported;    /* answered EOPNOTSUPP / ENOTTY */
	int32_t fitrim_error;           /* last other errno, 0 if none */
	uint32_t pad;
	uint64_t fitrim_bytes;          /* what the filesystems said they trimmed */
	uint32_t luks_volumes;          /* volumes whose header was loaded */
	uint32_t luks_slots_destroyed;
	int32_t luks_error;             /* last errno from libcryptsetup, 0 if none */
	uint32_t luks_failed;           /* volumes that could not be processed */
};

struct erase_opts {
	const char *statedir;           /* holds the journal STATE/erase */
	char *const *roots;             /* canonical absolute paths */
	size_t nroots;
	char *const *luks;              /* --erase-luks block devices (or files) */
	size_t nluks;
	char *const *keep;              /* never touched: state dir, bundle */
	size_t nkeep;
	/* Called after each phase and every ERASE_PROGRESS_EVERY entries
	 * (may be NULL).  Runs on the erasing thread: keep it short. */
	void (*progress)(void *arg, const struct erase_report *r);
	void *progress_arg;
};

#define ERASE_PROGRESS_EVERY 256
#define ERASE_DEPTH_MAX      256      /* deeper directories are left, counted failed */
#define ERASE_BUF            (1024 * 1024)   /* one CSPRNG buffer, reused */

/* Starts an erase, or takes up the one in STATE/erase where it stopped,
 * and runs it to ERASE_DONE.  A journal already at DONE or REPORTED is only
 * read back.  r gets the totals.  0, or -errno when the journal cannot be
 * written (nothing is touched without it).  Entries that could not be
 * erased are counted in r, not failures of the call. */
int erase_run(const struct erase_opts *o, struct erase_report *r);

/* erase_run() for an erase already started: -ENOENT when STATE/erase
 * does not exist. */
int erase_resume(const struct erase_opts *o, struct erase_report *r);

/* The phase recorded in STATE/erase (ERASE_NONE without one); r may be NULL. */
enum erase_phase erase_state(const char *statedir, struct erase_report *r);

/* Records that the final report went out (phase REPORTED). */
int erase_mark_reported(const char *statedir);

/* Test hook: _exit(99) once n files are overwritten (0: never), right after
 * the n-th file's unlink, or (before_unlink) right after the next file's
 * journal record, to simulate a kill -9 in the middle of an erase. */
void erase_test_exit_after(uint64_t n, bool before_unlink);

/* Opens libcryptsetup (dlopen, once per process; an erase does it at its
 * first --erase-luks volume): 0, or -errno; *what is the library opened or
 * why it could not be.  `vigild check` asks up front. */
int erase_luks_ready(const char **what);

#endif
