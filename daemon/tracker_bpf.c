/* tracker_bpf.c — the eBPF change tracker's life cycle: load and attach
 * bpf/tracker.bpf.c (open -> set rodata -> load -> attach, each checked),
 * fill the map of watched root (and ancestor) inodes, hand out range slots,
 * and on every tick consume the ring buffer, pick up pending slots and
 * release idle ones.  Records are turned into sink calls in
 * tracker_bpf_ev.c.  Protocol: docs/tracker.md. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/counters.h"
#include "daemon/dircache.h"
#include "daemon/tracker_bpf.h"
#include "daemon/trkpath.h"
#include "tracker.skel.h"

#define TRACEFS "/sys/kernel/tracing"

#if !defined(SYS_fchmodat2) && (defined(__x86_64__) || defined(__aarch64__))
#define SYS_fchmodat2 452
#endif

/* This architecture's syscall numbers; the ones it lacks are simply absent. */
static const struct { long nr; uint8_t op; } sysops[] = {
#ifdef SYS_write
	{ SYS_write, TRK_OP_WRITE },
#endif
#ifdef SYS_pwrite64
	{ SYS_pwrite64, TRK_OP_PWRITE },
#endif
#ifdef SYS_writev
	{ SYS_writev, TRK_OP_WRITEV },
#endif
#ifdef SYS_pwritev
	{ SYS_pwritev, TRK_OP_PWRITEV },
#endif
#ifdef SYS_pwritev2
	{ SYS_pwritev2, TRK_OP_PWRITEV2 },
#endif
#ifdef SYS_ftruncate
	{ SYS_ftruncate, TRK_OP_FTRUNCATE },
#endif
#ifdef SYS_fallocate
	{ SYS_fallocate, TRK_OP_FALLOCATE },
#endif
#ifdef SYS_copy_file_range
	{ SYS_copy_file_range, TRK_OP_COPY_FILE_RANGE },
#endif
#ifdef SYS_sendfile
	{ SYS_sendfile, TRK_OP_SENDFILE },
#endif
#ifdef SYS_splice
	{ SYS_splice, TRK_OP_SPLICE },
#endif
#ifdef SYS_ioctl
	{ SYS_ioctl, TRK_OP_IOCTL },
#endif
#ifdef SYS_io_submit
	{ SYS_io_submit, TRK_OP_IO_SUBMIT },
#endif
#ifdef SYS_fchmod
	{ SYS_fchmod, TRK_OP_FCHMOD },
#endif
#ifdef SYS_fchown
	{ SYS_fchown, TRK_OP_FCHOWN },
#endif
#ifdef SYS_fsetxattr
	{ SYS_fsetxattr, TRK_OP_FSETXATTR },
#endif
#ifdef SYS_fremovexattr
	{ SYS_fremovexattr, TRK_OP_FREMOVEXATTR },
#endif
#ifdef SYS_open
	{ SYS_open, TRK_OP_OPEN },
#endif
#ifdef SYS_openat
	{ SYS_openat, TRK_OP_OPENAT },
#endif
#ifdef SYS_openat2
	{ SYS_openat2, TRK_OP_OPENAT2 },
#endif
#ifdef SYS_creat
	{ SYS_creat, TRK_OP_CREAT },
#endif
#ifdef SYS_rename
	{ SYS_rename, TRK_OP_RENAME },
#endif
#ifdef SYS_renameat
	{ SYS_renameat, TRK_OP_RENAMEAT },
#endif
#ifdef SYS_renameat2
	{ SYS_renameat2, TRK_OP_RENAMEAT2 },
#endif
#ifdef SYS_unlink
	{ SYS_unlink, TRK_OP_UNLINK },
#endif
#ifdef SYS_unlinkat
	{ SYS_unlinkat, TRK_OP_UNLINKAT },
#endif
#ifdef SYS_rmdir
	{ SYS_rmdir, TRK_OP_RMDIR },
#endif
#ifdef SYS_mkdir
	{ SYS_mkdir, TRK_OP_MKDIR },
#endif
#ifdef SYS_mkdirat
	{ SYS_mkdirat, TRK_OP_MKDIRAT },
#endif
#ifdef SYS_mknod
	{ SYS_mknod, TRK_OP_MKNOD },
#endif
#ifdef SYS_mknodat
	{ SYS_mknodat, TRK_OP_MKNODAT },
#endif
#ifdef SYS_link
	{ SYS_link, TRK_OP_LINK },
#endif
#ifdef SYS_linkat
	{ SYS_linkat, TRK_OP_LINKAT },
#endif
#ifdef SYS_symlink
	{ SYS_symlink, TRK_OP_SYMLINK },
#endif
#ifdef SYS_symlinkat
	{ SYS_symlinkat, TRK_OP_SYMLINKAT },
#endif
#ifdef SYS_chmod
	{ SYS_chmod, TRK_OP_CHMOD },
#endif
#ifdef SYS_fchmodat
	{ SYS_fchmodat, TRK_OP_FCHMODAT },
#endif
#ifdef SYS_fchmodat2
	{ SYS_fchmodat2, TRK_OP_FCHMODAT2 },
#endif
#ifdef SYS_chown
	{ SYS_chown, TRK_OP_CHOWN },
#endif
#ifdef SYS_lchown
	{ SYS_lchown, TRK_OP_LCHOWN },
#endif
#ifdef SYS_fchownat
	{ SYS_fchownat, TRK_OP_FCHOWNAT },
#endif
#ifdef SYS_utimensat
	{ SYS_utimensat, TRK_OP_UTIMENSAT },
#endif
#ifdef SYS_utimes
	{ SYS_utimes, TRK_OP_UTIMES },
#endif
#ifdef SYS_utime
	{ SYS_utime, TRK_OP_UTIME },
#endif
#ifdef SYS_futimesat
	{ SYS_futimesat, TRK_OP_FUTIMESAT },
#endif
#ifdef SYS_truncate
	{ SYS_truncate, TRK_OP_TRUNCATE },
#endif
#ifdef SYS_setxattr
	{ SYS_setxattr, TRK_OP_SETXATTR },
#endif
#ifdef SYS_lsetxattr
	{ SYS_lsetxattr, TRK_OP_LSETXATTR },
#endif
#ifdef SYS_removexattr
	{ SYS_removexattr, TRK_OP_REMOVEXATTR },
#endif
#ifdef SYS_lremovexattr
	{ SYS_lremovexattr, TRK_OP_LREMOVEXATTR },
#endif
#ifdef SYS_mmap
	{ SYS_mmap, TRK_OP_MMAP },
#endif
#ifdef SYS_mprotect
	{ SYS_mprotect, TRK_OP_MPROTECT },
#endif
#ifdef SYS_munmap
	{ SYS_munmap, TRK_OP_MUNMAP },
#endif
#ifdef SYS_io_uring_setup
	{ SYS_io_uring_setup, TRK_OP_URING_SETUP },
#endif
#ifdef SYS_io_uring_enter
	{ SYS_io_uring_enter, TRK_OP_URING_ENTER },
#endif
#ifdef SYS_mount
	{ SYS_mount, TRK_OP_MOUNT },
#endif
#ifdef SYS_umount2
	{ SYS_umount2, TRK_OP_UMOUNT },
#endif
#ifdef SYS_move_mount
	{ SYS_move_mount, TRK_OP_MOVE_MOUNT },
#endif
#ifdef SYS_pivot_root
	{ SYS_pivot_root, TRK_OP_PIVOT_ROOT },
#endif
#ifdef SYS_fsmount
	{ SYS_fsmount, TRK_OP_FSMOUNT },
#endif
#ifdef SYS_mount_setattr
	{ SYS_mount_setattr, TRK_OP_MOUNT_SETATTR },
#endif
};

/* libbpf's own chatter goes to debug; its warnings to warn. */
static int libbpf_log(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	char line[512];

	if (getenv("VIGIL_BPF_DEBUG"))           /* verifier logs, for developers */
		return vfprintf(stderr, fmt, ap);
	if (lvl == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_debug("libbpf: %s", line);
	return 0;
}

/* Classic tracepoints need tracefs; mount it when missing (and say so). */
static bool tracefs_ready(void)
{
	if (access(TRACEFS "/events", F_OK) == 0)
		return true;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) == 0) {
		log_info("mounted tracefs on %s", TRACEFS);
		return true;
	}
	log_warn("mount tracefs on %s", TRACEFS);
	return false;
}

static bool tracepoint_exists(const char *cat, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), TRACEFS "/events/%s/%s/id", cat, name);
	return access(p, F_OK) == 0;
}

/* Adds path (and, as ancestors, each of its parents) to the table and to
 * the roots the loader writes into the kernel's map. */
static int add_path(struct tracker *t, const char *path, uint32_t kind, char *err, size_t errlen)
{
	struct tb_loadreq *rq = t->rq;
	struct trk_key k;
	struct stat st;
	size_t i;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "stat %s: %s", path, strerror(errno));
		return -errno;
	}
	k.dev = trkpath_kdev(st.st_dev);
	k.ino = st.st_ino;
	for (i = 0; i < rq->nroots; i++)
		if (rq->roots[i].k.dev == k.dev && rq->roots[i].k.ino == k.ino)
			break;
	if (i < rq->nroots && (rq->roots[i].v.kind == TRK_ROOT || kind == TRK_ANCESTOR))
		return 0;
	if (t->npaths == TRK_PATHS_MAX) {
		snprintf(err, errlen, "too many watched roots and ancestors");
		return -E2BIG;
	}
	if (!(t->paths[t->npaths] = strdup(path)))
		return -ENOMEM;
	if (i == rq->nroots)
		rq->nroots++;
	rq->roots[i].k = k;
	rq->roots[i].v = (struct trk_rootval){ .kind = kind, .idx = t->npaths };
	t->npaths++;
	return 0;
}

static int set_roots(struct tracker *t, char *const roots[], size_t nroots, char *err, size_t errlen)
{
	char real[PATH_MAX], dir[PATH_MAX];
	int rc;

	for (size_t i = 0; i < nroots; i++) {
		if (!realpath(roots[i], real)) {
			snprintf(err, errlen, "watched root %s: %s", roots[i], strerror(errno));
			return -errno;
		}
		if ((rc = add_path(t, real, TRK_ROOT, err, errlen)) < 0)
			return rc;
	}
	t->nroots = t->npaths;
	for (size_t i = 0; i < t->nroots; i++) {
		snprintf(real, sizeof(real), "%s", t->paths[i]);
		while (strcmp(real, "/") != 0) {
			trkpath_dirname(dir, sizeof(dir), real);
			if ((rc = add_path(t, dir, TRK_ANCESTOR, err, errlen)) < 0)
				return rc;
			snprintf(real, sizeof(real), "%s", dir);
		}
	}
	return 0;
}

/* What the loader needs, all known before it starts. */
static int prepare(struct tracker *t, char *const roots[], size_t nroots, char *err, size_t errlen)
{
	bool tracefs = tracefs_ready();

	if (!(t->rq = calloc(1, sizeof(*t->rq)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->rq->self_tgid = getpid();
	for (size_t i = 0; i < sizeof(sysops) / sizeof(sysops[0]); i++)
		if (sysops[i].nr >= 0 && sysops[i].nr < TRK_NR_MAX)
			t->rq->sysop[sysops[i].nr] = sysops[i].op;
	t->rq->close_tp = tracefs && tracepoint_exists("syscalls", "sys_enter_close");
	t->rq->exit_tp = tracefs && tracepoint_exists("sched", "sched_process_exit");
	t->rq->uring_tps = tracefs && tracepoint_exists("io_uring", "io_uring_complete") &&
			   tracepoint_exists("io_uring", "io_uring_submit_req");
	if (!tracefs)
		log_warnx("bpf tracker: no tracefs, close() and process exit are not seen");
	return set_roots(t, roots, nroots, err, errlen);
}

static int setup_slots(struct tracker *t, char *err, size_t errlen)
{
	long pg = sysconf(_SC_PAGESIZE);

	t->slots_len = (sizeof(struct trk_slot) * TRK_SLOTS + pg - 1) / pg * pg;
	t->slots = mmap(NULL, t->slots_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			t->ld.fd[TB_FD_SLOTS], 0);
	if (t->slots == MAP_FAILED) {
		t->slots = NULL;
		snprintf(err, errlen, "mmap slots: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void bpf_stop(struct tracker *t);

static int bpf_start(struct tracker **out, char *const roots[], size_t nroots,
		     const struct tracker_sink *sink, char *err, size_t errlen)
{
	struct tracker *t;
	int rc;

	*out = NULL;
	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0) {
		snprintf(err, errlen, "no BTF (/sys/kernel/btf/vmlinux): kernel lacks CONFIG_DEBUG_INFO_BTF");
		return -ENOTSUP;
	}
	if (!(t = calloc(1, sizeof(*t)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->sink = *sink;
	if (!(t->dirs = dircache_new())) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	libbpf_set_print(libbpf_log);
	if ((rc = prepare(t, roots, nroots, err, errlen)) < 0 ||
	    (rc = tb_load_child(t->rq, &t->ld, err, errlen)) < 0)
		goto fail;
	t->loaded = true;
	free(t->rq);
	t->rq = NULL;
	log_debug("bpf tracker loaded (%s sys_exit, kernel fields by %s)",
		  t->ld.raw_tp ? "raw_tp" : "tp_btf", t->ld.kcast ? "plain loads" : "probe reads");
	if ((rc = setup_slots(t, err, errlen)) < 0 || (rc = tb_map_bss(t, err, errlen)) < 0)
		goto fail;
	t->rb = ring_buffer__new(t->ld.fd[TB_FD_RB], tb_on_record, t, NULL);
	if (!t->rb) {
		rc = -errno;
		snprintf(err, errlen, "ring buffer: %s", strerror(errno));
		goto fail;
	}
	t->mounts_sig = tb_mounts_sig(t);
	*out = t;
	return 0;
fail:
	bpf_stop(t);
	return rc;
}

static int bpf_fd(struct tracker *t)
{
	return t->rb ? ring_buffer__epoll_fd(t->rb) : -1;
}

/* Release step 1: forget the file's cache entry (its next write takes a new
 * slot) and disown the slot; writers that still hold it now fail over. */
static void slot_release_begin(struct tracker *t, uint32_t s)
{
	struct trk_key k = { t->si[s].dev, t->si[s].ino };

	bpf_map_delete_elem(t->ld.fd[TB_FD_FILES], &k);
	__atomic_store_n(&t->slots[s].dev, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->slots[s].ino, 0, __ATOMIC_SEQ_CST);
	t->si[s].state = TB_RELEASING;
	t->si[s].last_ns = mono_ns();
}

/* Release step 2, after the grace period: deliver what late writers left,
 * then return the slot to the kernel's free queue. */
static void slot_release_end(struct tracker *t, uint32_t s)
{
	struct trk_slot *sl = &t->slots[s];
	uint32_t idx = s;

	if (__atomic_load_n(&sl->users[0], __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&sl->users[1], __ATOMIC_SEQ_CST))
		return;                 /* a writer is inside: next tick */
	if (sl->b[0].n || sl->b[0].unknown || sl->b[0].meta ||
	    sl->b[1].n || sl->b[1].unknown || sl->b[1].meta) {
		tb_pickup(t, s, 0);     /* each pick-up reads one bank */
		tb_pickup(t, s, 0);
	}
	memset(sl, 0, sizeof(*sl));
	free(t->si[s].path);
	memset(&t->si[s], 0, sizeof(t->si[s]));
	t->busy[s / 64] &= ~(1ULL << (s % 64));
	if (bpf_map_update_elem(t->ld.fd[TB_FD_FREE], NULL, &idx, 0) < 0)
		log_warn("bpf tracker: free slot %u", s);
}

static void slot_tick(struct tracker *t, uint32_t s, int64_t now)
{
	struct tb_slotinfo *si = &t->si[s];

	if (__atomic_load_n(&t->slots[s].pending, __ATOMIC_SEQ_CST) && si->state != TB_RELEASING)
		tb_pickup(t, s, 0);     /* its record may have been dropped */
	else if (si->state == TB_LIVE && now - si->last_ns > TB_IDLE_NS)
		slot_release_begin(t, s);
	else if (si->state == TB_RELEASING && now - si->last_ns > TB_GRACE_NS)
		slot_release_end(t, s);
}

/* The slots in use on every tick; every slot (1.4 MiB of them) only once a
 * second and after a drop: a free slot the kernel took is known by its
 * record, and only a lost record leaves one behind (its pending flag).
 * Looking at all 4096 on every 50 ms tick was a third of vigild's samples
 * while the rest of the machine's path records came in (round 6). */
static void slots_tick(struct tracker *t, bool all)
{
	int64_t now = mono_ns();

	if (now - t->swept_ns >= TB_SWEEP_NS)
		all = true;
	if (all)
		t->swept_ns = now;
	for (uint32_t w = 0; w < TRK_SLOTS / 64; w++) {
		uint64_t bits = all ? ~0ULL : t->busy[w];

		while (bits) {
			slot_tick(t, w * 64 + (uint32_t)__builtin_ctzll(bits), now);
			bits &= bits - 1;
		}
	}
}

/* io_uring activity (kernel: trk_uring_ns, boot time) asks for a rescan
 * of every root, once it has been quiet for TB_URING_SETTLE_NS (a request
 * may complete a little after the io_uring_enter that submitted it), or
 * every TB_URING_GAP_NS while it goes on. */
static void uring_tick(struct tracker *t)
{
	uint64_t last = __atomic_load_n(&t->bss->trk_uring_ns, __ATOMIC_RELAXED);
	int64_t now;

	if (last <= t->uring_seen)
		return;
	now = boot_ns();
	if (now - (int64_t)last < TB_URING_SETTLE_NS && now - t->uring_rescan_ns < TB_URING_GAP_NS)
		return;
	t->uring_seen = last;
	t->uring_rescan_ns = now;
	t->n.uring_rescans++;
	tb_rescan(t, NULL);
}

static int bpf_process(struct tracker *t)
{
	uint64_t drops;
	bool lost = false;
	int rc;

	rc = ring_buffer__consume(t->rb);
	if (rc < 0 && rc != -EINTR)
		log_errno(rc, "bpf tracker: ring buffer");
	t->burst = rc > 0;   /* more may follow at once: tick (bpf_next_ms) */
	drops = __atomic_load_n(&t->bss->trk_stats[TRK_ST_DROPS], __ATOMIC_RELAXED);
	if (drops != t->seen_drops) {
		t->n.drops += drops - t->seen_drops;
		t->seen_drops = drops;
		tb_rescan(t, NULL);
		lost = true;
	}
	slots_tick(t, lost);
	uring_tick(t);
	if (t->verify_maps) {
		t->verify_maps = false;
		tb_verify_polled(t);
	}
	return 0;
}

/* Work in hand after bpf_process: a burst (records this turn), io_uring
 * activity not yet answered or younger than TRK_URING_WAKE_NS (its next
 * call may have sent no record), a pick-up due, a writer inside a slot
 * being released: the next tick.  Live or releasing slots: their next
 * deadline.  Nothing: the ring's fd alone wakes the loop. */
static int bpf_next_ms(struct tracker *t)
{
	uint64_t uring = __atomic_load_n(&t->bss->trk_uring_ns, __ATOMIC_RELAXED);
	int64_t now = mono_ns(), next = INT64_MAX;

	if (t->burst || t->verify_maps || uring > t->uring_seen ||
	    (uring && boot_ns() - (int64_t)uring < (int64_t)TRK_URING_WAKE_NS))
		return TRK_TICK_MS;
	for (uint32_t w = 0; w < TRK_SLOTS / 64; w++) {
		uint64_t bits = t->busy[w];

		while (bits) {
			uint32_t s = w * 64 + (uint32_t)__builtin_ctzll(bits);
			const struct tb_slotinfo *si = &t->si[s];
			int64_t due = si->last_ns +
				      (si->state == TB_RELEASING ? TB_GRACE_NS : TB_IDLE_NS);

			bits &= bits - 1;
			if (__atomic_load_n(&t->slots[s].pending, __ATOMIC_SEQ_CST) ||
			    due <= now)
				return TRK_TICK_MS;
			if (due < next)
				next = due;
		}
	}
	return next == INT64_MAX ? TRK_WAIT_FD : (int)((next - now) / 1000000) + 1;
}

static void bpf_counters(struct tracker *t, struct vg_report *rep)
{
	__u64 *st = t->bss->trk_stats;
	uint64_t live = 0, hits, misses;

	for (uint32_t w = 0; w < TRK_SLOTS / 64; w++)
		live += (uint64_t)__builtin_popcountll(t->busy[w]);
	report_counter(rep, "events", t->n.events);
	report_counter(rep, "drops", t->n.drops);
	report_counter(rep, "rescans", t->n.rescans);
	report_counter(rep, "pickups", t->n.pickups);
	report_counter(rep, "path_ops", t->n.pathops);
	dircache_stats(t->dirs, &hits, &misses);
	report_counter(rep, "dir_cache_hits", hits);
	report_counter(rep, "dir_resolves", misses);
	report_counter(rep, "bad_records", t->n.bad);
	report_counter(rep, "slots_live", live);
	report_counter(rep, "kernel_walks", st[TRK_ST_WALKS]);
	report_counter(rep, "walk_depth_hits", st[TRK_ST_DEPTH]);
	report_counter(rep, "no_slot", st[TRK_ST_NOSLOT]);
	report_counter(rep, "slot_races", st[TRK_ST_RACES]);
	report_counter(rep, "last_closes", t->n.closes);
	report_counter(rep, "io_uring_calls", st[TRK_ST_URING]);
	report_counter(rep, "io_uring_file_writes", st[TRK_ST_URING_FILE]);
	report_counter(rep, "io_uring_blind", st[TRK_ST_URING_BLIND]);
	report_counter(rep, "io_uring_rescans", t->n.uring_rescans);
}

static void bpf_stop(struct tracker *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	if (t->slots)
		munmap(t->slots, t->slots_len);
	if (t->bss)
		munmap(t->bss, t->bss_len);
	for (size_t i = 0; t->loaded && i < TB_FD_MAX; i++)
		close(t->ld.fd[i]);
	for (size_t i = 0; t->loaded && i < t->ld.nlinks; i++)
		close(t->ld.links[i]);
	free(t->rq);
	dircache_free(t->dirs);
	for (size_t i = 0; i < t->npaths; i++)
		free(t->paths[i]);
	for (size_t i = 0; i < TRK_SLOTS; i++)
		free(t->si[i].path);
	for (size_t i = 0; i < t->npolled; i++)
		free(t->polled[i].path);
	free(t);
}

const struct tracker_ops tracker_bpf_ops = {
	.name = "bpf",
	.start = bpf_start,
	.fd = bpf_fd,
	.process = bpf_process,
	.next_ms = bpf_next_ms,
	.counters = bpf_counters,
	.stop = bpf_stop,
};
