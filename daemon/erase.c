/* erase.c — the erase's phases (roots, FITRIM, key slots) driven from the
 * journal, so a run that was killed takes up where the journal says. */
#include "daemon/erase_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/rootwalk.h"

static atomic_uint_fast64_t hook_n;
static atomic_int hook_where;

void erase_test_exit_after(uint64_t n, bool before_unlink)
{
	atomic_store(&hook_where, before_unlink ? 1 : 0);
	atomic_store(&hook_n, n);
}

void erase_test_hook(const struct erase_report *r, int where)
{
	uint64_t n = atomic_load(&hook_n);

	if (n && where == atomic_load(&hook_where) && r->files_overwritten >= n)
		_exit(99);
}

/* (dev, ino) of each path to keep that exists. */
static void keep_set(struct ewalk *w)
{
	struct stat st;

	w->ctx.keep = (const uint64_t (*)[2])w->keep;
	/* the journal's own directory, whatever the caller listed */
	for (size_t i = 0; i <= w->o->nkeep && w->ctx.nkeep < 64; i++) {
		if (lstat(i < w->o->nkeep ? w->o->keep[i] : w->o->statedir, &st) < 0)
			continue;
		w->keep[w->ctx.nkeep][0] = st.st_dev;
		w->keep[w->ctx.nkeep][1] = st.st_ino;
		w->ctx.nkeep++;
	}
}

static int phase_roots(struct ewalk *w, bool resumed)
{
	struct ej_rec *rec = &w->j->rec;
	int rc, rfd;

	for (; rec->root < w->o->nroots; rec->root++, resumed = false) {
		if (resumed) {
			/* the root in hand is walked again: so are its observations */
			rec->r.kept = rec->base_kept;
			rec->r.mounts_skipped = rec->base_mounts;
			rec->r.failed = rec->base_failed;
		} else {
			rec->base_kept = rec->r.kept;
			rec->base_mounts = rec->r.mounts_skipped;
			rec->base_failed = rec->r.failed;
			if ((rc = ej_write(w->j)) < 0)
				return rc;
		}
		if ((rfd = rootwalk_open_root(w->o->roots[rec->root])) < 0) {
			log_errno(rfd, "erase: %s", w->o->roots[rec->root]);
			rec->r.failed++;
			continue;
		}
		rc = erase_walk_root(w, rfd);
		close(rfd);
		if (rc == -ENOTSUP) {   /* fail closed: a bind mount would look like the root */
			log_warnx("erase: %s: not erased: its mounts cannot be told apart "
				  "(statx gives no mount id and /proc/self/fdinfo has none)",
				  w->o->roots[rec->root]);
			rec->r.failed++;
			continue;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* FITRIM once per filesystem holding a root.  Idempotent: a resumed run
 * does it again and counts afresh. */
static void phase_fitrim(struct ewalk *w)
{
	struct erase_report *r = &w->j->rec.r;
	dev_t seen[64];
	size_t nseen = 0;

	r->fitrim_ran = r->fitrim_unsupported = 0;
	r->fitrim_error = 0;
	r->fitrim_bytes = 0;
	for (size_t i = 0; i < w->o->nroots; i++) {
		struct fstrim_range range = { .start = 0, .len = UINT64_MAX, .minlen = 0 };
		struct stat st;
		bool dup = false;
		int fd = rootwalk_open_root(w->o->roots[i]);

		if (fd < 0 || fstat(fd, &st) < 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		for (size_t k = 0; k < nseen; k++)
			dup |= seen[k] == st.st_dev;
		if (!dup && nseen < 64)
			seen[nseen++] = st.st_dev;
		if (!dup && ioctl(fd, FITRIM, &range) == 0) {
			r->fitrim_ran++;
			r->fitrim_bytes += range.len;
		} else if (!dup && (errno == EOPNOTSUPP || errno == ENOTTY)) {
			r->fitrim_unsupported++;
		} else if (!dup) {
			r->fitrim_error = errno;
		}
		close(fd);
	}
}

static int phase_luks(struct ewalk *w)
{
	struct ej_rec *rec = &w->j->rec;
	int rc;

	while (rec->luks < w->o->nluks) {
		erase_luks_volume(w, w->o->luks[rec->luks]);
		/* this volume's totals and the move to the next in one record */
		rec->luks++;
		rec->luks_slot = -1;
		if ((rc = ej_write(w->j)) < 0)
			return rc;
	}
	return 0;
}

static int next_phase(struct ewalk *w, enum erase_phase p)
{
	w->j->rec.r.phase = p;
	erase_progress(w);
	return ej_write(w->j);
}

static int run_phases(struct ewalk *w, bool resumed)
{
	struct ej_rec *rec = &w->j->rec;
	int rc;

	if (rec->r.phase == ERASE_ROOTS) {
		if ((rc = phase_roots(w, resumed)) < 0 || (rc = next_phase(w, ERASE_FITRIM)) < 0)
			return rc;
	}
	if (rec->r.phase == ERASE_FITRIM) {
		phase_fitrim(w);
		if ((rc = next_phase(w, ERASE_LUKS)) < 0)
			return rc;
	}
	if (rec->r.phase == ERASE_LUKS) {
		if ((rc = phase_luks(w)) < 0 || (rc = next_phase(w, ERASE_DONE)) < 0)
			return rc;
	}
	return 0;
}

/* Opens (or starts) the journal; a damaged one is started over. */
static int open_journal(const struct erase_opts *o, struct ejournal *j, bool *fresh)
{
	char p[PATH_MAX];
	int rc = ej_open(o->statedir, true, j, fresh);

	if (rc == -EBADMSG) {
		log_warnx("%s/erase: damaged, erasing again from the start", o->statedir);
		if (snprintf(p, sizeof(p), "%s/erase", o->statedir) < (int)sizeof(p))
			unlink(p);
		rc = ej_open(o->statedir, true, j, fresh);
	}
	return rc;
}

int erase_run(const struct erase_opts *o, struct erase_report *r)
{
	struct ejournal j;
	struct ewalk w = { .o = o, .j = &j };
	bool fresh;
	int rc;

	if ((rc = open_journal(o, &j, &fresh)) < 0)
		return rc;
	if (j.rec.r.phase >= ERASE_DONE) {
		*r = j.rec.r;
		ej_close(&j);
		return 0;
	}
	if (fresh) {
		j.rec.r.phase = ERASE_ROOTS;
		j.rec.r.started_ns = real_ns();
	} else {
		j.rec.r.resumed++;
		w.resume = j.rec.pending;
		j.rec.pending.kind = EJ_NONE;
	}
	if (!(w.buf = malloc(ERASE_BUF))) {
		ej_close(&j);
		return -ENOMEM;
	}
	keep_set(&w);
	if ((rc = ej_write(&j)) == 0)
		rc = run_phases(&w, !fresh);
	*r = j.rec.r;
	free(w.buf);
	ej_close(&j);
	return rc;
}

int erase_resume(const struct erase_opts *o, struct erase_report *r)
{
	struct ej_rec rec;
	int rc = ej_read(o->statedir, &rec);

	if (rc == -ENOENT)
		return rc;
	return erase_run(o, r);
}

enum erase_phase erase_state(const char *statedir, struct erase_report *r)
{
	struct ej_rec rec;

	if (ej_read(statedir, &rec) < 0)
		return ERASE_NONE;
	if (r)
		*r = rec.r;
	return (enum erase_phase)rec.r.phase;
}

int erase_mark_reported(const char *statedir)
{
	struct ejournal j;
	bool fresh;
	int rc;

	if ((rc = ej_open(statedir, false, &j, &fresh)) < 0)
		return rc;
	if (j.rec.r.phase < ERASE_DONE) {
		ej_close(&j);
		return -EINPROGRESS;
	}
	j.rec.r.phase = ERASE_REPORTED;
	rc = ej_write(&j);
	ej_close(&j);
	return rc;
}
