/* tracker_bpf_ev.c — the bpf tracker's user half: ring-buffer records and
 * range slots become sink calls.  Paths come from the kernel: a file's
 * record carries its names from the dentry up to a watched root; a path
 * operation carries the syscall's path string and the names of its base
 * directory (dirfd or cwd) up to a root or a root's ancestor.  Nothing is
 * cached by inode here, so renames need no bookkeeping. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/clock.h"
#include "common/fnv.h"
#include "common/log.h"
#include "common/mountinfo.h"
#include "daemon/dircache.h"
#include "daemon/tracker_bpf.h"
#include "daemon/trkpath.h"
#include "tracker.skel.h"

int64_t tb_boot_to_real(int64_t t_boot)
{
	int64_t b = boot_ns(), r = real_ns();

	return t_boot == 0 ? r : t_boot + (r - b);
}

void tb_rescan(struct tracker *t, const char *dir)
{
	t->n.rescans++;
	t->sink.rescan(t->sink.arg, dir);
}

static int cmp_range(const void *a, const void *b)
{
	const struct trk_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sorts and merges overlapping or touching ranges.  Open-ended ones
 * (truncate: "from here to the end") stay open-ended: clipping them to the
 * size seen now would lose a cut followed at once by a re-extension. */
static size_t tidy_ranges(struct trk_range *r, size_t n)
{
	size_t out = 0;

	qsort(r, n, sizeof(*r), cmp_range);
	for (size_t i = 0; i < n; i++) {
		if (r[i].len == 0)
			continue;
		if (out > 0 && r[i].off <= r[out - 1].off + r[out - 1].len) {
			uint64_t end = r[i].off + r[i].len;

			if (end > r[out - 1].off + r[out - 1].len)
				r[out - 1].len = end - r[out - 1].off;
			continue;
		}
		r[out++] = r[i];
	}
	return out;
}

/* Reads and clears the bank writers used until now (see docs/tracker.md):
 * clear pending, flip the bank, wait for writers to leave the old one. */
void tb_pickup(struct tracker *t, uint32_t s, int64_t when_ns)
{
	struct trk_slot *sl = &t->slots[s];
	struct tb_slotinfo *si = &t->si[s];
	struct trk_range r[TRK_RANGES];
	struct trk_bank *bk;
	uint64_t old;
	size_t n = 0;
	bool unknown, meta;
	int spins = 0;

	__atomic_store_n(&sl->pending, 0, __ATOMIC_SEQ_CST);
	old = __atomic_load_n(&sl->bank, __ATOMIC_SEQ_CST) & 1;
	__atomic_store_n(&sl->bank, old ^ 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&sl->users[old], __ATOMIC_SEQ_CST) != 0) {
		if (++spins > 100000) {          /* a preempted writer: next tick */
			__atomic_store_n(&sl->pending, 1, __ATOMIC_SEQ_CST);
			return;
		}
		sched_yield();
	}
	bk = &sl->b[old];
	unknown = bk->unknown || bk->n > TRK_RANGES;
	meta = bk->meta;
	for (uint64_t i = 0; i < TRK_RANGES && i < bk->n; i++) {
		if (bk->r[i].end > bk->r[i].start) {
			r[n].off = bk->r[i].start;
			r[n++].len = bk->r[i].end - bk->r[i].start;
		}
	}
	memset(bk, 0, sizeof(*bk));
	if (n == 0 && !unknown && !meta)
		return;
	t->n.pickups++;
	if (si->state != TB_RELEASING) {
		si->last_ns = mono_ns();
		if (si->state == TB_FREE) {      /* news before its record */
			tb_slot_live(t, s);
			si->dev = sl->dev;
			si->ino = sl->ino;
		}
	}
	if (!si->path) {
		/* its record was lost: the drop already asked for a rescan */
		return;
	}
	if (when_ns == 0)
		when_ns = tb_boot_to_real(0);
	t->sink.changed(t->sink.arg, si->path, when_ns);
	n = tidy_ranges(r, n);
	t->sink.ranges(t->sink.arg, si->path, r, unknown ? 0 : n, unknown);
}

/* The variable tail of a record, bounds-checked against its size. */
struct tail {
	const char *p;
	size_t len, pos;
};

static const char *tail_take(struct tail *tl, size_t n)
{
	const char *p = tl->p + tl->pos;

	if (n > tl->len - tl->pos)
		return NULL;
	tl->pos += n;
	return p;
}

/* Path of a file record: the table path of base + names.  NULL when not
 * under a root; rescans when the walk failed open. */
static bool file_path(struct tracker *t, const struct trk_event *h, struct tail *tl,
		      char *out, size_t cap)
{
	const char *names = tail_take(tl, h->nlen[0]);

	if (!names)
		return false;
	if (h->base[0] == -2 || (h->flags & TRK_F_NAMES_CUT)) {
		tb_rescan(t, NULL);            /* deeper than the walk bound */
		return false;
	}
	if (h->base[0] < 0 || (size_t)h->base[0] >= t->nroots)
		return false;
	return trkpath_from_names(out, cap, t->paths[h->base[0]], names, h->nlen[0]) == 0;
}

static void on_dirty(struct tracker *t, const struct trk_event *h, struct tail *tl)
{
	char path[PATH_MAX];
	struct tb_slotinfo *si;
	bool ok = file_path(t, h, tl, path, sizeof(path));

	if (h->slot < 0 || h->slot >= TRK_SLOTS) {
		/* no slot (or a lost race): ranges unknown; forget the verdict so
		 * the next change reports again */
		struct trk_key k = { h->dev, h->ino };

		bpf_map_delete_elem(t->ld.fd[TB_FD_FILES], &k);
		if (ok) {
			t->sink.changed(t->sink.arg, path, tb_boot_to_real(h->time_ns));
			t->sink.ranges(t->sink.arg, path, NULL, 0, true);
		}
		return;
	}
	si = &t->si[h->slot];
	if (si->state == TB_RELEASING)
		return;                         /* late record: release delivers */
	if (ok && (!si->path || strcmp(si->path, path) != 0)) {
		free(si->path);
		si->path = strdup(path);
	}
	if (si->state == TB_FREE)
		tb_slot_live(t, (uint32_t)h->slot);
	si->dev = h->dev;
	si->ino = h->ino;
	tb_pickup(t, h->slot, tb_boot_to_real(h->time_ns));
	if (h->kind == TRK_EV_CLOSE && si->path) {
		t->n.closes++;
		if (t->sink.closed)
			t->sink.closed(t->sink.arg, si->path, tb_boot_to_real(h->time_ns));
	}
}

static void on_mmap(struct tracker *t, const struct trk_event *h, struct tail *tl)
{
	char path[PATH_MAX];

	t->n.mmaps++;
	if (!file_path(t, h, tl, path, sizeof(path)))
		return;
	for (size_t i = 0; i < t->npolled; i++)
		if (t->polled[i].dev == h->dev && t->polled[i].ino == h->ino)
			return;
	if (t->npolled == TB_POLLED_MAX) {
		tb_rescan(t, NULL);
		return;
	}
	t->polled[t->npolled].dev = h->dev;
	t->polled[t->npolled].ino = h->ino;
	if (!(t->polled[t->npolled].path = strdup(path)))
		return;
	t->npolled++;
	t->sink.poll_file(t->sink.arg, path, true);
}

/* Full path of a path operation's argument i; false when it concerns no root. */
static bool op_path(struct tracker *t, const struct trk_event *h, struct tail *tl, int i,
		    char *out, size_t cap)
{
	const char *up = tail_take(tl, h->plen[i]);
	const char *names = tail_take(tl, h->nlen[i]);
	char base[PATH_MAX], dir[PATH_MAX], real[PATH_MAX];
	bool abs = h->flags & (i ? TRK_F_ABS2 : TRK_F_ABS1);

	if (!up || !names || h->plen[i] == 0 || up[h->plen[i] - 1] != '\0')
		return false;
	if (!abs) {
		if (h->base[i] == -2) {
			tb_rescan(t, NULL);
			return false;
		}
		if (h->base[i] < 0 || (size_t)h->base[i] >= t->npaths ||
		    trkpath_from_names(base, sizeof(base), t->paths[h->base[i]], names,
				       h->nlen[i]) < 0)
			return false;
	}
	if (trkpath_normalize(out, cap, abs ? "/" : base, up) < 0)
		return false;
	if (trkpath_root_of(t->paths, t->nroots, out) >= 0)
		return true;
	/* a symlink on the way: resolve the parent and look again (the same
	 * few directories come back all the time: cached until a rename,
	 * link, symlink or mount anywhere moves the kernel's counter) */
	trkpath_dirname(dir, sizeof(dir), out);
	if (dircache_real(t->dirs, __atomic_load_n(&t->bss->trk_names_gen, __ATOMIC_SEQ_CST),
			  dir, real, sizeof(real)) < 0)
		return false;
	if (snprintf(dir, sizeof(dir), "%s/%s", strcmp(real, "/") ? real : "",
		     strrchr(out, '/') + 1) >= (int)sizeof(dir))
		return false;
	snprintf(out, cap, "%s", dir);
	return trkpath_root_of(t->paths, t->nroots, out) >= 0;
}

static void on_pathop(struct tracker *t, const struct trk_event *h, struct tail *tl)
{
	char path[2][PATH_MAX];
	bool ok[2] = { false, false };
	int64_t when = tb_boot_to_real(h->time_ns);
	struct stat st;

	t->n.pathops++;
	for (int i = 0; i < 2; i++)
		if (h->plen[i] || h->nlen[i])
			ok[i] = op_path(t, h, tl, i, path[i], sizeof(path[i]));
	for (int i = 0; i < 2; i++) {
		if (!ok[i])
			continue;
		t->sink.changed(t->sink.arg, path[i], when);
		if (h->op == TRK_OP_TRUNCATE) {
			struct trk_range r = { h->off, TRK_EOF - h->off };
			t->sink.ranges(t->sink.arg, path[i], &r, 1, false);
		}
	}
	if (h->op != TRK_OP_RENAME && h->op != TRK_OP_RENAMEAT && h->op != TRK_OP_RENAMEAT2)
		return;
	/* a directory moved: its subtree is new at the target, gone at the source */
	if (ok[1] && lstat(path[1], &st) == 0 && S_ISDIR(st.st_mode)) {
		tb_rescan(t, path[1]);
		if (ok[0]) {
			char dir[PATH_MAX];

			trkpath_dirname(dir, sizeof(dir), path[0]);
			if (trkpath_root_of(t->paths, t->nroots, dir) >= 0)
				tb_rescan(t, dir);
		}
	}
}

int tb_on_record(void *arg, void *data, size_t size)
{
	struct tracker *t = arg;
	const struct trk_event *h = data;
	struct tail tl;

	if (size < sizeof(*h) || h->version != TRK_VERSION || h->size < sizeof(*h) ||
	    h->size > size) {
		t->n.bad++;
		return 0;
	}
	if (h->kind == TRK_EV_URING)   /* a wake-up only: bpf_process answers it */
		return 0;
	t->n.events++;
	tl.p = (const char *)data + sizeof(*h);
	tl.len = h->size - sizeof(*h);
	tl.pos = 0;
	switch (h->kind) {
	case TRK_EV_DIRTY:
	case TRK_EV_CLOSE:
		on_dirty(t, h, &tl);
		break;
	case TRK_EV_PATHOP:
		on_pathop(t, h, &tl);
		break;
	case TRK_EV_MMAP:
		on_mmap(t, h, &tl);
		break;
	case TRK_EV_UNMAP:
		t->verify_maps = true;
		break;
	case TRK_EV_MOUNT: {
		uint64_t sig = tb_mounts_sig(t);

		if (sig != t->mounts_sig) {
			t->mounts_sig = sig;
			tb_rescan(t, NULL);
		}
		break;
	}
	default:
		t->n.bad++;
	}
	return 0;
}

struct mounts_sig {
	struct tracker *t;
	uint64_t h;
};

static int mounts_sig_one(const struct mountinfo *mi, const char *line, void *arg)
{
	struct mounts_sig *c = arg;

	if (trkpath_root_of(c->t->paths, c->t->nroots, mi->point) >= 0)
		c->h = fnv1a64_str(c->h, line);
	return 0;
}

/* FNV-1a over the mountinfo lines whose mount point is in or above a root;
 * 0 when mountinfo cannot be read. */
uint64_t tb_mounts_sig(struct tracker *t)
{
	struct mounts_sig c = { t, FNV64_BASIS };

	return mountinfo_each(mounts_sig_one, &c) < 0 ? 0 : c.h;
}

/* Is (dev, ino) still mapped shared and writable by some process? */
static bool still_mapped(uint64_t kdev, uint64_t ino)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool found = false;

	if (!d)
		return true;
	while (!found && (de = readdir(d))) {
		char p[300], line[1024], perms[8];
		unsigned maj, min;
		unsigned long long i;
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/maps", de->d_name);
		if (!(f = fopen(p, "re")))
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%*s %7s %*s %x:%x %llu", perms, &maj, &min, &i) == 4 &&
			    perms[1] == 'w' && perms[3] == 's' && i == ino &&
			    (((uint64_t)maj << 20) | min) == kdev) {
				found = true;
				break;
			}
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

/* After an unmap or exit hint: stop polling files no process maps anymore. */
void tb_verify_polled(struct tracker *t)
{
	for (size_t i = 0; i < t->npolled;) {
		struct tb_polled *p = &t->polled[i];

		if (still_mapped(p->dev, p->ino)) {
			i++;
			continue;
		}
		t->sink.poll_file(t->sink.arg, p->path, false);
		free(p->path);
		*p = t->polled[--t->npolled];
	}
}
