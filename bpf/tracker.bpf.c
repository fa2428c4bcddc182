// SPDX-License-Identifier: GPL-2.0
/* tracker.bpf.c — vigil's kernel change tracker.
 *
 * One program on the raw sys_exit tracepoint sees every syscall's result and
 * its arguments (still in pt_regs at exit), so ranges are recorded only once
 * the bytes are in the page cache.  User space maps syscall numbers of its
 * own architecture to ops in rodata trk_sysop[], so nothing here depends on
 * which syscalls an architecture has.  Filtering: a per-file verdict cache
 * (dev, ino) -> watched/not, computed by a bounded dentry-parent walk to a
 * map of watched root inodes and invalidated by a global generation bumped
 * on rename, link and mount changes.  Coalescing: a watched file gets a slot
 * in an mmapable array where ranges are merged with atomics; only the first
 * change after each pick-up produces a ring-buffer record, without wakeup.
 * The protocol is in docs/tracker.md. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bpf/events.h"

char LICENSE[] SEC("license") = "GPL";

#define AT_FDCWD_      (-100)
#define O_WRONLY_      01
#define O_RDWR_        02
#define O_CREAT_       0100
#define O_TRUNC_       01000
#define O_APPEND_      02000
#define FMODE_WRITE_   0x2
#define S_IFMT_        0170000
#define S_IFREG_       0100000
#define S_IFDIR_       0040000
#define PROT_WRITE_    0x2
#define MAP_TYPE_      0x0f
#define MAP_SHARED_    0x01
#define MAP_SHARED_VALIDATE_ 0x03
#define VM_SHARED_     0x8
#define RWF_APPEND_    0x10
#define FALLOC_FL_COLLAPSE_RANGE_ 0x08
#define FALLOC_FL_INSERT_RANGE_   0x20
#define FICLONE_       0x40049409u
#define FICLONERANGE_  0x4020940du
#define TRK_EXIT_FDS   64          /* fds looked at when a process exits */

#define W_RANGE   1
#define W_UNKNOWN 2
#define W_META    4
#define W_PATH    8    /* io_uring: on a path, files unknown */

const volatile __u32 trk_self_tgid = 0;
const volatile bool trk_uring_tps = false;   /* trk_uring_done/submit are loaded */
const volatile __u8 trk_sysop[TRK_NR_MAX] = {};

__u64 trk_gen = 0;                 /* bumped on rename/link/mount */
/* bumped on every fresh walk (an O_CREAT open: a new inode, whose number
 * may be a reused one): the per-CPU trk_last_map goes stale */
__u64 trk_verdicts_gen = 0;
/* bumped on rename/link/symlink/mount: a path string may now resolve to
 * another directory (user space's cache of real paths, daemon/dircache.h) */
__u64 trk_names_gen = 0;
__u64 trk_uring_ns = 0;            /* CLOCK_BOOTTIME of the last io_uring activity */
__u64 trk_stats[TRK_ST_MAX] = {};  /* read by user space through .bss */

/* 256 KiB: libbpf maps the data area twice and the kernel maps every page
 * at mmap, so this costs vigild 512 KiB; a record is one per file per
 * pick-up or per namespace operation, and an overflow is answered by a
 * rescan (docs/tracker.md, "The ring buffer"). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} trk_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct trk_key);
	__type(value, struct trk_rootval);
} trk_roots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct trk_key);
	__type(value, struct trk_fileval);
} trk_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TRK_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct trk_slot);
} trk_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, TRK_SLOTS);
	__type(value, __u32);
} trk_free SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} trk_mappers SEC(".maps");

/* Processes that set up an io_uring: their exit is io_uring activity too
 * (SQPOLL rings submit without io_uring_enter). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} trk_uring_users SEC(".maps");

struct trk_scratch {
	struct trk_event h;
	char tail[TRK_TAIL_MAX + TRK_UPATH_MAX];
	__u32 pos;          /* bytes of tail in use */
	__u32 flags;        /* TRK_F_* gathered while building */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct trk_scratch);
} trk_scratch_map SEC(".maps");

/* The last file a write on this CPU went to, and what trk_files said of
 * it: the next write to the same file (a database, a log, a copy: the
 * common case) needs no hash lookup.  It holds while trk_gen and
 * trk_verdicts_gen are where they were when it was filled; a slot it names
 * is checked by its owner as any writer's is (slot_merge). */
struct trk_last {
	__u64 dev, ino;
	__u64 gen, vgen;
	__u64 verdict;
	__s64 slot;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct trk_last);
} trk_last_map SEC(".maps");

static __always_inline void stat_inc(int i)
{
	if (i >= 0 && i < TRK_ST_MAX)
		__sync_fetch_and_add(&trk_stats[i], 1);
}

/* Kernel objects' fields on the write path.  Kernels 6.2 and later have
 * bpf_rdonly_cast: a kernel address seen as a BTF-typed object, whose
 * fields are plain loads the JIT guards as it does any BTF pointer's (a
 * fault reads 0), no helper call.  The loader sets trk_kcast when this
 * kernel's BTF has the kfunc; elsewhere (the handsets' 5.x and 6.1, the
 * raw_tp fallback) the fields are read with bpf_probe_read_kernel, and
 * the kfunc, a weak symbol, is left unresolved in a branch the verifier
 * knows is dead and drops.  docs/tracker.md, docs/performance.md. */
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym __weak;
const volatile bool trk_kcast = false;

#define KCAST(p, type) ((type *)bpf_rdonly_cast((const void *)(p), bpf_core_type_id_kernel(type)))

/* The kernel word (a pointer, as a number: global functions take only
 * numbers) at addr, when trk_kcast: a plain load of the unsigned long
 * files_struct.open_fds_init[0] of the files_struct placed to end there. */
static __always_inline __u64 kword(const void *addr)
{
	const char *base = (const char *)addr -
			   bpf_core_field_offset(struct files_struct, open_fds_init);

	return KCAST(base, struct files_struct)->open_fds_init[0];
}

/* fd's struct file in t's table.  t is a BTF pointer (bpf_get_current_task_btf),
 * so the walk to the table is plain loads the verifier turns into
 * exception-guarded ones; the array slot, a pointer to a pointer, is a
 * kword() or a probe read. */
static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	struct files_struct *files = t->files;
	struct fdtable *fdt;
	struct file **fda, *f = NULL;

	if (!files || fd < 0)
		return NULL;
	fdt = files->fdt;
	if (!fdt || (unsigned long)fd >= fdt->max_fds)
		return NULL;
	fda = fdt->fd;
	if (trk_kcast)
		return (struct file *)kword(&fda[fd]);
	bpf_probe_read_kernel(&f, sizeof(f), &fda[fd]);
	return f;
}

static __always_inline __u32 file_key(struct file *f, struct trk_key *k)
{
	struct inode *ino;

	if (trk_kcast) {
		ino = KCAST(f, struct file)->f_inode;
		k->ino = ino->i_ino;
		k->dev = ino->i_sb->s_dev;
		return ino->i_mode;
	}
	ino = BPF_CORE_READ(f, f_inode);
	k->ino = BPF_CORE_READ(ino, i_ino);
	k->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	return BPF_CORE_READ(ino, i_mode);
}

/* f's dentry, as a number for trk_walk. */
static __always_inline __u64 file_dentry(struct file *f)
{
	if (trk_kcast)
		return kword(&f->f_path.dentry);
	return (__u64)BPF_CORE_READ(f, f_path.dentry);
}

/* Walks up from dentry d to a watched root (returns its table index), to
 * the top of the filesystem (-1) or to the bound (-2: fail open).  With
 * WALK_NAMES, records the names below the root at s->tail[s->pos..limit),
 * leaf first.  With WALK_ANCESTOR, an ancestor of a root counts at level 0
 * (a relative path may descend into a root).  A global function: the
 * verifier checks it once, not at every call site. */
#define WALK_NAMES    1
#define WALK_ANCESTOR 2

__noinline int trk_walk(__u64 dentry, struct trk_scratch *s, __u32 limit, __u32 opts)
{
	struct dentry *d = (struct dentry *)dentry, *parent;
	struct trk_key k = {};
	struct trk_rootval *rv;
	const unsigned char *name;
	long n;

	stat_inc(TRK_ST_WALKS);
	if (!d)
		return -1;
	k.dev = BPF_CORE_READ(d, d_sb, s_dev);
	for (int i = 0; i < TRK_DEPTH; i++) {
		k.ino = BPF_CORE_READ(d, d_inode, i_ino);
		rv = bpf_map_lookup_elem(&trk_roots, &k);
		if (rv && (rv->kind == TRK_ROOT || (i == 0 && (opts & WALK_ANCESTOR))))
			return rv->idx;
		parent = BPF_CORE_READ(d, d_parent);
		if (!parent || parent == d)
			return -1;
		if (s && (opts & WALK_NAMES)) {
			__u32 pos = s->pos;

			if (pos + TRK_NAME_READ > limit || pos + TRK_NAME_READ > TRK_TAIL_MAX) {
				s->flags |= TRK_F_NAMES_CUT;
			} else {
				name = BPF_CORE_READ(d, d_name.name);
				n = bpf_probe_read_kernel_str(&s->tail[pos & (TRK_TAIL_MAX - 1)],
							      TRK_NAME_READ, name);
				if (n > 0)
					s->pos = pos + n;
			}
		}
		d = parent;
	}
	stat_inc(TRK_ST_DEPTH);
	return -2;
}

static __always_inline struct trk_scratch *scratch_get(__u16 kind, __u16 op, __s32 slot,
						       struct trk_key *k, long ret)
{
	__u32 zero = 0;
	struct trk_scratch *s = bpf_map_lookup_elem(&trk_scratch_map, &zero);

	if (!s)
		return NULL;
	__builtin_memset(&s->h, 0, sizeof(s->h));
	s->h.version = TRK_VERSION;
	s->h.kind = kind;
	s->h.op = op;
	s->h.tgid = bpf_get_current_pid_tgid() >> 32;
	s->h.slot = slot;
	if (k) {
		s->h.dev = k->dev;
		s->h.ino = k->ino;
	}
	s->h.time_ns = bpf_ktime_get_boot_ns();
	s->h.ret = ret;
	s->h.base[0] = s->h.base[1] = -1;
	s->pos = 0;
	s->flags = 0;
	return s;
}

/* The reader sleeps on the ring while nothing happens (docs/daemon.md,
 * "Idle and battery"): a record wakes it when it is the first one the
 * reader has not consumed (the kernel's adaptive notification: flags 0),
 * so a burst costs one wake-up, and the reader then drains the ring on its
 * TRK_TICK_MS ticks, not woken again.  A last close forces the wake-up. */
static __always_inline void scratch_send(struct trk_scratch *s, __u32 pos)
{
	__u64 wake = s->h.kind == TRK_EV_CLOSE ? BPF_RB_FORCE_WAKEUP : 0;

	if (pos > TRK_TAIL_MAX)
		pos = TRK_TAIL_MAX;
	s->h.size = sizeof(s->h) + pos;
	if (bpf_ringbuf_output(&trk_rb, s, sizeof(s->h) + pos, wake))
		stat_inc(TRK_ST_DROPS);
}

/* A record about one file, with the names from its dentry up to its root. */
struct emit_arg {
	__u16 kind, op;
	__s32 slot;
	__u32 flags;
};

__noinline int trk_emit_file(struct trk_key *k, __u64 file, struct emit_arg *e)
{
	struct file *f = (struct file *)file;
	struct trk_scratch *s;

	if (!k || !e)
		return 0;
	s = scratch_get(e->kind, e->op, e->slot, k, 0);
	if (!s)
		return 0;
	s->flags = e->flags;
	s->h.base[0] = trk_walk(file_dentry(f), s, TRK_NAMES_MAX, WALK_NAMES);
	if (s->h.base[0] == -2)
		s->flags |= TRK_F_DEPTH;
	s->h.flags = s->flags;
	s->h.nlen[0] = s->pos;
	scratch_send(s, s->pos);
	return 0;
}

/* Cached verdict for the file's inode; a fresh walk when asked (new inode:
 * its number may be a reused one) or when the generation moved. */
static __always_inline struct trk_fileval *verdict(struct file *f, struct trk_key *k, bool fresh)
{
	__u64 gen = trk_gen;
	struct trk_fileval *fv = bpf_map_lookup_elem(&trk_files, k);
	struct trk_fileval nv = { .slot = -1 };
	int base;

	if (fv && !fresh && fv->gen == gen)
		return fv;
	base = trk_walk(file_dentry(f), NULL, 0, 0);
	nv.gen = gen;
	nv.verdict = base == -1 ? TRK_V_NOT : TRK_V_WATCHED;
	if (fv) {
		fv->verdict = nv.verdict;
		fv->gen = gen;
	} else {
		bpf_map_update_elem(&trk_files, k, &nv, BPF_NOEXIST);
		fv = bpf_map_lookup_elem(&trk_files, k);
	}
	/* a new inode (its number may be a reused one): the per-CPU last
	 * files may know the number as another file's.  A walk for a miss or
	 * a new trk_gen finds what any entry of this generation said. */
	if (fresh)
		__sync_fetch_and_add(&trk_verdicts_gen, 1);
	return fv;
}

static __always_inline void bank_add(struct trk_bank *bk, __u64 start, __u64 end)
{
	__u64 n, idx;

	/* already unknown (a random writer, past TRK_RANGES ranges in one
	 * pick-up): its ranges are thrown away, so neither the search nor
	 * the shared counter's atomic add on every further write */
	if (bk->unknown)
		return;
	n = bk->n;
	if (n > TRK_RANGES)
		n = TRK_RANGES;
	for (int i = 0; i < TRK_RANGES; i++) {
		__u64 s0, e0;

		if (i >= n)
			break;
		s0 = bk->r[i].start;
		e0 = bk->r[i].end;
		if (e0 == 0 || start > e0 || end < s0)
			continue;
		/* overlaps or touches: widen in place (atomic min/max by CAS) */
		if (start < s0 && __sync_val_compare_and_swap(&bk->r[i].start, s0, start) != s0)
			bk->unknown = 1;
		if (end > e0 && __sync_val_compare_and_swap(&bk->r[i].end, e0, end) != e0)
			bk->unknown = 1;
		return;
	}
	idx = __sync_fetch_and_add(&bk->n, 1);
	if (idx >= TRK_RANGES) {
		bk->unknown = 1;
		return;
	}
	idx &= TRK_RANGES - 1;
	bk->r[idx].start = start;
	bk->r[idx].end = end;
}

/* Merges into the bank writers use now; false when the slot is not (or no
 * longer) this file's.  users[] lets the reader wait for writers to leave. */
static __always_inline bool slot_merge(struct trk_slot *sl, struct trk_key *k,
				       __u32 what, __u64 start, __u64 end)
{
	__u64 b = sl->bank & 1;
	struct trk_bank *bk;

	__sync_fetch_and_add(&sl->users[b], 1);
	if ((sl->bank & 1) != b) {
		__sync_fetch_and_sub(&sl->users[b], 1);
		b = sl->bank & 1;
		__sync_fetch_and_add(&sl->users[b], 1);
		if ((sl->bank & 1) != b)
			goto fail;
	}
	if (sl->dev != k->dev || sl->ino != k->ino)
		goto fail;
	bk = &sl->b[b];
	if (what & W_META)
		bk->meta = 1;
	if (what & W_UNKNOWN)
		bk->unknown = 1;
	if ((what & W_RANGE) && end > start)
		bank_add(bk, start, end);
	__sync_fetch_and_sub(&sl->users[b], 1);
	return true;
fail:
	__sync_fetch_and_sub(&sl->users[b], 1);
	return false;
}

static __always_inline __s64 slot_alloc(struct trk_key *k, struct trk_fileval *fv)
{
	struct trk_slot *sl;
	__u32 s;
	__s64 old;

	if (bpf_map_pop_elem(&trk_free, &s))
		return -1;
	s &= TRK_SLOTS - 1;
	sl = bpf_map_lookup_elem(&trk_slots, &s);
	if (!sl)
		return -1;
	sl->dev = k->dev;
	sl->ino = k->ino;
	old = __sync_val_compare_and_swap(&fv->slot, -1, (__s64)s);
	if (old != -1) {
		sl->dev = 0;
		sl->ino = 0;
		bpf_map_push_elem(&trk_free, &s, 0);
		return old;
	}
	return s;
}

/* The write path: merge and, first time since the last pick-up, tell. */
struct mark_arg {
	__u32 what;
	__u16 op;
	__u64 start, end;
};

/* Merges into slot: 0 when the slot is not (or no longer) this file's,
 * MARK_TELL when this is the first change since the last pick-up (the
 * caller sends the record: a call less deep, for the verifier's stack
 * bound), else MARK_DONE. */
#define MARK_DONE 1
#define MARK_TELL 2

__noinline int trk_mark_slot(struct trk_key *k, __s64 slot, struct mark_arg *m)
{
	struct trk_slot *sl;
	__u32 s = slot & (TRK_SLOTS - 1);

	if (!k || !m || slot < 0)
		return 0;
	sl = bpf_map_lookup_elem(&trk_slots, &s);
	if (!sl || !slot_merge(sl, k, m->what, m->start, m->end))
		return 0;
	if (__sync_val_compare_and_swap(&sl->pending, 0, 1) == 0)
		return MARK_TELL;
	return MARK_DONE;
}

/* The record of a file's first change since the last pick-up. */
static __always_inline void tell_dirty(struct trk_key *k, __s64 slot, __u64 f, __u16 op)
{
	struct emit_arg e = { .kind = TRK_EV_DIRTY, .op = op, .slot = slot };

	trk_emit_file(k, f, &e);
}

__noinline int trk_mark(struct trk_key *k, struct trk_fileval *fv, __u64 f,
		       struct mark_arg *m)
{
	struct emit_arg e = { .kind = TRK_EV_DIRTY, .slot = -1, .flags = TRK_F_UNKNOWN };
	__s64 slot;

	if (!k || !fv || !m)
		return 0;
	e.op = m->op;
	slot = fv->slot;
	if (slot < 0)
		slot = slot_alloc(k, fv);
	if (slot < 0) {
		stat_inc(TRK_ST_NOSLOT);
		if (__sync_val_compare_and_swap(&fv->noslot_sent, 0, 1) == 0)
			trk_emit_file(k, f, &e);
		return 0;
	}
	switch (trk_mark_slot(k, slot, m)) {
	case MARK_TELL:
		tell_dirty(k, slot, f, m->op);
		break;
	case 0:
		stat_inc(TRK_ST_RACES);
		trk_emit_file(k, f, &e);
		break;
	}
	return 0;
}

static __always_inline __u64 user_u64(__u64 uptr)
{
	__u64 v = 0;

	if (uptr)
		bpf_probe_read_user(&v, sizeof(v), (void *)uptr);
	return v;
}

/* Byte range [start, end) a successful data syscall touched; what says how. */
static __always_inline __u32 data_range(__u16 op, __u64 *a, long ret, struct file *f,
					__u64 *start, __u64 *end)
{
	struct file_clone_range fcr = {};
	__u64 pos;
	__u32 fl;

	if (trk_kcast) {
		pos = KCAST(f, struct file)->f_pos;
		fl = KCAST(f, struct file)->f_flags;
	} else {
		pos = BPF_CORE_READ(f, f_pos);
		fl = BPF_CORE_READ(f, f_flags);
	}

	*start = pos - ret;
	*end = pos;
	switch (op) {
	case TRK_OP_PWRITE:
	case TRK_OP_PWRITEV:
		if (fl & O_APPEND_)
			return W_UNKNOWN;
		*start = a[3];
		*end = a[3] + ret;
		return W_RANGE;
	case TRK_OP_PWRITEV2:
		if ((fl & O_APPEND_) || (a[5] & RWF_APPEND_))
			return W_UNKNOWN;
		if ((long)a[3] != -1) {
			*start = a[3];
			*end = a[3] + ret;
		}
		return W_RANGE;
	case TRK_OP_FTRUNCATE:
		*start = a[1];
		*end = TRK_EOF;
		return W_RANGE | W_META;
	case TRK_OP_FALLOCATE:
		if (a[1] & (FALLOC_FL_COLLAPSE_RANGE_ | FALLOC_FL_INSERT_RANGE_))
			return W_UNKNOWN;
		*start = a[2];
		*end = a[2] + a[3];
		return W_RANGE;
	case TRK_OP_COPY_FILE_RANGE:
	case TRK_OP_SPLICE:
		if (a[3]) {
			*end = user_u64(a[3]);
			*start = *end - ret;
		}
		return W_RANGE;
	case TRK_OP_IO_SUBMIT:
		return W_UNKNOWN;
	case TRK_OP_IOCTL:
		if ((__u32)a[1] == FICLONE_) {
			*start = 0;
			*end = TRK_EOF;
			return W_RANGE;
		}
		bpf_probe_read_user(&fcr, sizeof(fcr), (void *)a[2]);
		*start = fcr.dest_offset;
		*end = fcr.src_length ? fcr.dest_offset + fcr.src_length : TRK_EOF;
		return W_RANGE;
	default:                /* write, writev, sendfile: at the file position */
		return W_RANGE;
	}
}

/* A syscall on a file descriptor: data or metadata. */
static __always_inline int on_fd(__u16 op, long fd, __u64 *a, long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 gen = trk_gen, vgen = trk_verdicts_gen;
	struct trk_fileval *fv;
	struct trk_last *last;
	struct trk_key k;
	struct file *f;
	struct mark_arg m = { .what = W_META, .op = op };
	__u32 mode, zero = 0;
	bool ranged = false;

	f = fd_file(t, fd);
	if (!f)
		return 0;
	mode = file_key(f, &k) & S_IFMT_;
	if (op <= TRK_OP_IO_SUBMIT) {
		if (mode != S_IFREG_)
			return 0;
		if (op == TRK_OP_IOCTL && (__u32)a[1] != FICLONE_ && (__u32)a[1] != FICLONERANGE_)
			return 0;
	} else if (mode != S_IFREG_ && mode != S_IFDIR_) {
		return 0;
	}
	last = bpf_map_lookup_elem(&trk_last_map, &zero);
	if (!last)
		return 0;
	if (last->dev == k.dev && last->ino == k.ino && last->gen == gen && last->vgen == vgen) {
		if (last->verdict != TRK_V_WATCHED)
			return 0;
		if (op <= TRK_OP_IO_SUBMIT) {
			m.what = data_range(op, a, ret, f, &m.start, &m.end);
			ranged = true;
		}
		switch (trk_mark_slot(&k, last->slot, &m)) {
		case MARK_TELL:
			tell_dirty(&k, last->slot, (__u64)f, op);
			return 0;
		case MARK_DONE:
			return 0;
		}
		/* no slot, or not this file's any more: the whole way */
	}
	fv = verdict(f, &k, false);
	if (!fv)
		return 0;
	last->dev = k.dev;
	last->ino = k.ino;
	last->gen = gen;
	last->vgen = vgen;
	last->verdict = fv->verdict;
	last->slot = -1;
	if (fv->verdict != TRK_V_WATCHED)
		return 0;
	if (op <= TRK_OP_IO_SUBMIT && !ranged)
		m.what = data_range(op, a, ret, f, &m.start, &m.end);
	trk_mark(&k, fv, (__u64)f, &m);
	last->slot = fv->slot;
	return 0;
}

/* io_submit: the fds of the first few write iocbs are marked, ranges unknown
 * (the data may land after the syscall returns). */
static __always_inline int on_io_submit(__u64 *a, long ret)
{
	__u64 iocbp = 0, b[6] = {};
	__u16 opcode = 0;
	__u32 fd = 0;

	for (int i = 0; i < 4; i++) {
		if (i >= ret)
			break;
		bpf_probe_read_user(&iocbp, sizeof(iocbp), (void *)(a[2] + i * 8));
		bpf_probe_read_user(&opcode, sizeof(opcode), (void *)(iocbp + 16));
		bpf_probe_read_user(&fd, sizeof(fd), (void *)(iocbp + 20));
		if (opcode == 1 || opcode == 8)        /* IOCB_CMD_PWRITE, PWRITEV */
			on_fd(TRK_OP_IO_SUBMIT, fd, b, ret);
	}
	return 0;
}

/* The base directory of a path argument: dirfd or cwd. */
static __always_inline struct dentry *base_dentry(long dfd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct file *f;

	if ((int)dfd == AT_FDCWD_)
		return BPF_CORE_READ(t, fs, pwd.dentry);
	f = fd_file(t, (int)dfd);
	return f ? (struct dentry *)file_dentry(f) : NULL;
}

/* One path argument into the record: the string, then the base's names
 * when the path is relative.  Returns true when it may concern a root. */
static __always_inline bool put_path(struct trk_scratch *s, int i, long dfd, __u64 upath)
{
	__u32 p0 = s->pos;
	long n;
	int base;

	if (!upath || p0 > TRK_TAIL_MAX - TRK_UPATH_MAX)
		return false;
	n = bpf_probe_read_user_str(&s->tail[p0 & (TRK_TAIL_MAX - 1)], TRK_UPATH_MAX,
				    (void *)upath);
	if (n <= 0)
		return false;
	s->pos = p0 + n;
	s->h.plen[i & 1] = n;
	if (s->tail[p0 & (TRK_TAIL_MAX - 1)] == '/') {
		s->flags |= i ? TRK_F_ABS2 : TRK_F_ABS1;
		return true;
	}
	p0 = s->pos;
	base = trk_walk((__u64)base_dentry(dfd), s, p0 + TRK_NAMES_MAX / 2,
			WALK_NAMES | WALK_ANCESTOR);
	s->h.nlen[i & 1] = s->pos - p0;
	s->h.base[i & 1] = base;
	if (base == -2)
		s->flags |= TRK_F_DEPTH;
	return base != -1;
}

/* Path operations: the tail is upath1 names1 [upath2 names2]. */
struct path_arg {
	__u16 op;
	long dfd[2];
	__u64 up[2];
	__u64 off;
	long ret;
};

__noinline int trk_on_path(struct path_arg *p)
{
	struct trk_scratch *s;
	bool hit;

	if (!p)
		return 0;
	s = scratch_get(TRK_EV_PATHOP, p->op, -1, NULL, p->ret);
	if (!s)
		return 0;
	hit = put_path(s, 0, p->dfd[0], p->up[0]);
	if (p->up[1])
		hit |= put_path(s, 1, p->dfd[1], p->up[1]);
	if (!hit)
		return 0;
	s->h.off = p->off;
	s->h.flags = s->flags;
	scratch_send(s, s->pos);
	return 0;
}

static __always_inline int on_open(__u16 op, __u64 *a, long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct trk_fileval *fv;
	struct trk_key k;
	struct file *f;
	__u64 flags;
	__u32 mode;

	switch (op) {
	case TRK_OP_OPEN:   flags = a[1]; break;
	case TRK_OP_OPENAT: flags = a[2]; break;
	case TRK_OP_CREAT:  flags = O_CREAT_ | O_WRONLY_ | O_TRUNC_; break;
	default:            flags = user_u64(a[2]); break;   /* open_how.flags */
	}
	if (!(flags & (O_WRONLY_ | O_RDWR_ | O_CREAT_ | O_TRUNC_)))
		return 0;
	f = fd_file(t, ret);
	if (!f)
		return 0;
	mode = file_key(f, &k) & S_IFMT_;
	if (mode != S_IFREG_)
		return 0;
	fv = verdict(f, &k, flags & O_CREAT_);
	if (!fv || fv->verdict != TRK_V_WATCHED)
		return 0;
	struct mark_arg m = { .what = W_RANGE | W_META, .op = op, .end = TRK_EOF };

	if (flags & O_TRUNC_)
		return trk_mark(&k, fv, (__u64)f, &m);
	m.what = W_META;
	if (flags & O_CREAT_)
		return trk_mark(&k, fv, (__u64)f, &m);
	return 0;
}

/* Writable shared mappings: the file is polled while one lives. */
static __always_inline int mapped_writable(struct file *f)
{
	struct trk_fileval *fv;
	struct trk_key k;
	__u32 tgid, one = 1;

	if (!f || (file_key(f, &k) & S_IFMT_) != S_IFREG_)
		return 0;
	fv = verdict(f, &k, false);
	if (!fv || fv->verdict != TRK_V_WATCHED)
		return 0;
	tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_map_update_elem(&trk_mappers, &tgid, &one, BPF_ANY);
	struct emit_arg e = { .kind = TRK_EV_MMAP, .op = TRK_OP_MMAP, .slot = -1 };

	trk_emit_file(&k, (__u64)f, &e);
	return 0;
}

static __always_inline int on_mmap(__u64 *a, long ret)
{
	__u64 mt = a[3] & MAP_TYPE_;

	if (!(a[2] & PROT_WRITE_) || (mt != MAP_SHARED_ && mt != MAP_SHARED_VALIDATE_))
		return 0;
	return mapped_writable(fd_file(bpf_get_current_task_btf(), (int)a[4]));
}

/* mprotect adding PROT_WRITE: the mapping at addr, if it is a shared file
 * mapping (only the first vma of the range is looked at). */
struct vma_arg {
	struct file *f;
};

static long vma_file(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct vma_arg *v = ctx;

	/* read, not loaded: a trusted pointer cannot go to a global function */
	if (vma->vm_flags & VM_SHARED_)
		bpf_probe_read_kernel(&v->f, sizeof(v->f), &vma->vm_file);
	return 0;
}

static __always_inline int on_mprotect(__u64 *a, long ret)
{
	struct vma_arg v = {};

	if (!(a[2] & PROT_WRITE_))
		return 0;
	bpf_find_vma(bpf_get_current_task_btf(), a[0], vma_file, &v, 0);
	return mapped_writable(v.f);
}

/* io_uring's reads, writes and renames do not pass the syscall
 * tracepoints.  Where the kernel's io_uring tracepoints carry the request
 * (5.19 and later), its completions name the file of every write
 * (trk_uring_done) and only requests that work on paths, or post no
 * completion, ask user space for a rescan (trk_uring_blind).  Older
 * kernels: every io_uring call asks for one (rate limited, docs/tracker.md),
 * and who set up a ring is kept for its exit. */
static __always_inline bool uring_precise(void)
{
	return trk_uring_tps &&
	       bpf_core_field_exists(struct trace_event_raw_io_uring_complete, req) &&
	       bpf_core_field_exists(struct io_kiocb, opcode) &&
	       bpf_core_field_exists(struct io_kiocb, file);
}

static __always_inline void uring_blind(void)
{
	__u64 now = bpf_ktime_get_boot_ns(), last = trk_uring_ns;
	struct trk_scratch *s;

	stat_inc(TRK_ST_URING_BLIND);
	trk_uring_ns = now;
	/* the first of a run wakes a reader asleep on the ring */
	if (now - last > TRK_URING_WAKE_NS) {
		s = scratch_get(TRK_EV_URING, 0, -1, NULL, 0);
		if (s)
			scratch_send(s, 0);
	}
}

static __always_inline int on_uring(__u16 op)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, one = 1;

	stat_inc(TRK_ST_URING);
	if (uring_precise())
		return 0;
	uring_blind();
	if (op == TRK_OP_URING_SETUP)
		bpf_map_update_elem(&trk_uring_users, &tgid, &one, BPF_ANY);
	return 0;
}

#define URING_OP(name) bpf_core_enum_value(enum io_uring_op, name)

/* Opcodes newer than some kernels' vmlinux.h (Debian 12's 6.1, which make
 * cross builds against, has none of them): a flavor of the enum, so the
 * object compiles against any header and CO-RE asks the running kernel
 * (the values here are placeholders; the relocation gives the kernel's). */
enum io_uring_op___new {
	IORING_OP_FIXED_FD_INSTALL___new = 1,
	IORING_OP_FTRUNCATE___new = 2,
	IORING_OP_WRITEV_FIXED___new = 3,
};
#define URING_OP_NEW(name) (bpf_core_enum_value_exists(enum io_uring_op___new, name##___new) && \
		op == bpf_core_enum_value(enum io_uring_op___new, name##___new))

/* What an io_uring opcode does to files: W_* for one on its request's
 * file, W_PATH for one on a path (or an fd it installs), 0 for none. */
static __always_inline __u32 uring_effect(__u8 op)
{
	if (op == URING_OP(IORING_OP_WRITEV) || op == URING_OP(IORING_OP_WRITE_FIXED) ||
	    op == URING_OP(IORING_OP_WRITE) || op == URING_OP(IORING_OP_FALLOCATE) ||
	    op == URING_OP(IORING_OP_SPLICE))
		return W_UNKNOWN;
	if (URING_OP_NEW(IORING_OP_WRITEV_FIXED))
		return W_UNKNOWN;
	if (URING_OP_NEW(IORING_OP_FTRUNCATE))
		return W_UNKNOWN | W_META;
	if (op == URING_OP(IORING_OP_FSETXATTR))
		return W_META;
	if (op == URING_OP(IORING_OP_OPENAT) || op == URING_OP(IORING_OP_OPENAT2) ||
	    op == URING_OP(IORING_OP_RENAMEAT) || op == URING_OP(IORING_OP_UNLINKAT) ||
	    op == URING_OP(IORING_OP_MKDIRAT) || op == URING_OP(IORING_OP_SYMLINKAT) ||
	    op == URING_OP(IORING_OP_LINKAT) || op == URING_OP(IORING_OP_SETXATTR))
		return W_PATH;
	if (URING_OP_NEW(IORING_OP_FIXED_FD_INSTALL))
		return W_PATH;
	return 0;
}

/* A completed io_uring request: a write to a watched file is marked like
 * write(2) with its range unknown; a path operation asks for a rescan. */
SEC("tracepoint/io_uring/io_uring_complete")
int trk_uring_done(struct trace_event_raw_io_uring_complete *ctx)
{
	struct mark_arg m = { .op = TRK_OP_URING_ENTER };
	struct io_kiocb *req;
	struct trk_fileval *fv;
	struct trk_key k;
	struct file *f;

	if (!uring_precise() || BPF_CORE_READ(ctx, res) < 0)
		return 0;
	req = BPF_CORE_READ(ctx, req);
	m.what = uring_effect(BPF_CORE_READ(req, opcode));
	if (m.what & W_PATH) {
		uring_blind();
		return 0;
	}
	if (!m.what || !(f = BPF_CORE_READ(req, file)) ||
	    (file_key(f, &k) & S_IFMT_) != S_IFREG_)
		return 0;
	fv = verdict(f, &k, false);
	if (!fv || fv->verdict != TRK_V_WATCHED)
		return 0;
	stat_inc(TRK_ST_URING_FILE);
	m.start = 0;
	m.end = TRK_EOF;
	return trk_mark(&k, fv, (__u64)f, &m);
}

/* The tracepoint's record where it is io_uring_submit_req (older kernels,
 * Debian 12's 6.1 among them, have io_uring_submit_sqe with 32-bit flags;
 * daemon/tracker_bpf.c loads this program only where the tracepoint
 * exists): a flavor, as their vmlinux.h lacks the struct. */
struct trace_event_raw_io_uring_submit_req___new {
	__u8 opcode;
	__u64 flags;
} __attribute__((preserve_access_index));

/* A request that posts no completion on success (IOSQE_CQE_SKIP_SUCCESS)
 * and may change a file: its completion will not be seen. */
SEC("tracepoint/io_uring/io_uring_submit_req")
int trk_uring_submit(struct trace_event_raw_io_uring_submit_req___new *ctx)
{
	if (uring_precise() && (BPF_CORE_READ(ctx, flags) & REQ_F_CQE_SKIP) &&
	    uring_effect(BPF_CORE_READ(ctx, opcode)))
		uring_blind();
	return 0;
}

static __always_inline int on_unmap(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct trk_scratch *s;

	if (!bpf_map_lookup_elem(&trk_mappers, &tgid))
		return 0;
	s = scratch_get(TRK_EV_UNMAP, TRK_OP_MUNMAP, -1, NULL, 0);
	if (s)
		scratch_send(s, 0);
	return 0;
}

static __always_inline int on_mount(__u16 op, long ret)
{
	struct trk_scratch *s;

	__sync_fetch_and_add(&trk_gen, 1);
	__sync_fetch_and_add(&trk_names_gen, 1);
	s = scratch_get(TRK_EV_MOUNT, op, -1, NULL, ret);
	if (s)
		scratch_send(s, 0);
	return 0;
}

/* Which path arguments an op has: (dirfd, path) pairs. */
static __always_inline bool path_args(__u16 op, __u64 *a, struct path_arg *p)
{
	p->dfd[0] = p->dfd[1] = AT_FDCWD_;
	switch (op) {
	case TRK_OP_RENAME: case TRK_OP_LINK:
		p->up[0] = a[0];
		p->up[1] = a[1];
		return true;
	case TRK_OP_RENAMEAT: case TRK_OP_RENAMEAT2: case TRK_OP_LINKAT:
		p->dfd[0] = a[0];
		p->up[0] = a[1];
		p->dfd[1] = a[2];
		p->up[1] = a[3];
		return true;
	case TRK_OP_UNLINK: case TRK_OP_RMDIR: case TRK_OP_MKDIR: case TRK_OP_MKNOD:
	case TRK_OP_CHMOD: case TRK_OP_CHOWN: case TRK_OP_LCHOWN: case TRK_OP_UTIMES:
	case TRK_OP_UTIME: case TRK_OP_SETXATTR: case TRK_OP_LSETXATTR:
	case TRK_OP_REMOVEXATTR: case TRK_OP_LREMOVEXATTR:
		p->up[0] = a[0];
		return true;
	case TRK_OP_TRUNCATE:
		p->up[0] = a[0];
		p->off = a[1];
		return true;
	case TRK_OP_SYMLINK:
		p->up[0] = a[1];
		return true;
	case TRK_OP_SYMLINKAT:
		p->dfd[0] = a[1];
		p->up[0] = a[2];
		return true;
	case TRK_OP_UTIMENSAT: case TRK_OP_UNLINKAT: case TRK_OP_MKDIRAT:
	case TRK_OP_MKNODAT: case TRK_OP_FCHMODAT: case TRK_OP_FCHMODAT2:
	case TRK_OP_FCHOWNAT: case TRK_OP_FUTIMESAT:
		p->dfd[0] = a[0];
		p->up[0] = a[1];
		return true;
	}
	return false;
}

static __always_inline int dispatch(__u16 op, __u64 *a, long ret)
{
	struct path_arg p = { .op = op, .ret = ret };

	if (op <= TRK_OP_FREMOVEXATTR) {
		if (op == TRK_OP_IO_SUBMIT)
			return on_io_submit(a, ret);
		return on_fd(op, a[op == TRK_OP_COPY_FILE_RANGE || op == TRK_OP_SPLICE ? 2 : 0],
			     a, ret);
	}
	if (op <= TRK_OP_CREAT)
		return on_open(op, a, ret);
	if (op == TRK_OP_UTIMENSAT && !a[1])
		return on_fd(TRK_OP_FCHMOD, a[0], a, ret);
	if (op == TRK_OP_MMAP)
		return on_mmap(a, ret);
	if (op == TRK_OP_MPROTECT)
		return on_mprotect(a, ret);
	if (op == TRK_OP_MUNMAP)
		return on_unmap();
	if (op == TRK_OP_URING_SETUP || op == TRK_OP_URING_ENTER)
		return on_uring(op);
	if (op >= TRK_OP_MOUNT)
		return on_mount(op, ret);
	if (!path_args(op, a, &p))
		return 0;
	if (op == TRK_OP_RENAME || op == TRK_OP_RENAMEAT || op == TRK_OP_RENAMEAT2 ||
	    op == TRK_OP_LINK || op == TRK_OP_LINKAT) {
		__sync_fetch_and_add(&trk_gen, 1);   /* cached verdicts may be stale */
		__sync_fetch_and_add(&trk_names_gen, 1);
	} else if (op == TRK_OP_SYMLINK || op == TRK_OP_SYMLINKAT) {
		__sync_fetch_and_add(&trk_names_gen, 1);
	}
	return trk_on_path(&p);
}

static __always_inline int sys_exit_common(__u64 nr, __u64 *a, long ret)
{
	__u16 op;

	if (ret < 0)
		return 0;
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == trk_self_tgid)
		return 0;
	op = trk_sysop[nr & (TRK_NR_MAX - 1)];
	return dispatch(op, a, ret);
}

/* The syscall's number and arguments in this architecture's pt_regs; GET
 * is REG_LOAD (a BTF pointer: plain loads) or REG_READ (probe reads, one
 * register at a time: a copy of the whole struct, 168 bytes on x86, took
 * the raw_tp program past the verifier's 512-byte stack bound). */
#define REG_LOAD(dst, src) ((dst) = (src))
#define REG_READ(dst, src) bpf_core_read(&(dst), sizeof(dst), &(src))
#if defined(__TARGET_ARCH_x86)
#define REGS_NR(r)    ((r)->orig_ax)
#define REGS_ARGS(r, a, GET) do { GET(a[0], (r)->di); GET(a[1], (r)->si); \
		GET(a[2], (r)->dx); GET(a[3], (r)->r10); GET(a[4], (r)->r8); \
		GET(a[5], (r)->r9); } while (0)
#elif defined(__TARGET_ARCH_arm64)
#define REGS_NR(r)    ((r)->syscallno)
#define REGS_ARGS(r, a, GET) do { GET(a[0], (r)->orig_x0); GET(a[1], (r)->regs[1]); \
		GET(a[2], (r)->regs[2]); GET(a[3], (r)->regs[3]); \
		GET(a[4], (r)->regs[4]); GET(a[5], (r)->regs[5]); } while (0)
#else
#error "tracker.bpf.c: add this architecture's syscall registers"
#endif

/* BTF-typed raw tracepoint: pt_regs read with plain loads. */
SEC("tp_btf/sys_exit")
int BPF_PROG(trk_exit_btf, struct pt_regs *regs, long ret)
{
	__u64 nr = REGS_NR(regs), a[6];

	if (nr >= TRK_NR_MAX || !trk_sysop[nr] || ret < 0)
		return 0;
	REGS_ARGS(regs, a, REG_LOAD);
	return sys_exit_common(nr, a, ret);
}

/* Classic raw tracepoint: the same through probe reads (kernels without
 * BTF-typed tracepoints). */
SEC("raw_tp/sys_exit")
int BPF_PROG(trk_exit_raw, struct pt_regs *regs, long ret)
{
	__u64 nr, a[6];

	if (bpf_core_read(&nr, sizeof(nr), &REGS_NR(regs)))
		return 0;
	if (nr >= TRK_NR_MAX || !trk_sysop[nr] || ret < 0)
		return 0;
	REGS_ARGS(regs, a, REG_READ);
	return sys_exit_common(nr, a, ret);
}

/* Is this the last writable reference to f's inode?  The kernel keeps the
 * counts: f's own references (dup, fork, mappings share one struct file)
 * and the inode's writers (i_writecount, one per writable struct file).
 * Two last closes racing on two CPUs may both see the other: then none is
 * reported and the daemon's debounce ships the file. */
struct file___old {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));
/* file_ref_t (6.13), which older kernels' vmlinux.h lacks */
struct file___new {
	struct {
		atomic_long_t refcnt;
	} f_ref;
} __attribute__((preserve_access_index));

static __always_inline bool last_writer(struct file *f)
{
	long refs;
	int writers = BPF_CORE_READ(f, f_inode, i_writecount.counter);

	if (bpf_core_field_exists(((struct file___new *)f)->f_ref))
		refs = BPF_CORE_READ((struct file___new *)f, f_ref.refcnt.counter) + 1;   /* file_ref_t: 0 = one */
	else
		refs = BPF_CORE_READ((struct file___old *)f, f_count.counter);
	return refs <= 1 && writers <= 1;
}

/* A writable watched file with a live slot loses its last writer: a record
 * that wakes the reader, so the daemon ships it now.  Not the fd alone: at
 * syscall exit the fd is gone, and exit() closes without close(). */
__noinline int trk_closing(__u64 file)
{
	struct file *f = (struct file *)file;
	struct trk_fileval *fv;
	struct trk_key k;

	if (!f || !(BPF_CORE_READ(f, f_mode) & FMODE_WRITE_))
		return 0;
	if ((file_key(f, &k) & S_IFMT_) != S_IFREG_)
		return 0;
	fv = bpf_map_lookup_elem(&trk_files, &k);
	if (!fv || fv->verdict != TRK_V_WATCHED || fv->slot < 0 || !last_writer(f))
		return 0;
	struct emit_arg e = { .kind = TRK_EV_CLOSE, .slot = fv->slot };

	stat_inc(TRK_ST_CLOSES);
	trk_emit_file(&k, file, &e);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int trk_close(struct trace_event_raw_sys_enter *ctx)
{
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == trk_self_tgid)
		return 0;
	return trk_closing((__u64)fd_file(bpf_get_current_task_btf(), (int)ctx->args[0]));
}

/* The last task of a files table exits: its fds close without close().
 * The first TRK_EXIT_FDS are looked at (sched_process_exit fires before
 * exit_files()). */
static __always_inline void exit_closes(struct task_struct *t)
{
	struct files_struct *files = BPF_CORE_READ(t, files);
	struct fdtable *fdt;
	struct file **fda, *f;
	unsigned int max;

	if (!files || BPF_CORE_READ(files, count.counter) != 1)
		return;
	fdt = BPF_CORE_READ(files, fdt);
	max = BPF_CORE_READ(fdt, max_fds);
	fda = BPF_CORE_READ(fdt, fd);
	for (int i = 0; i < TRK_EXIT_FDS; i++) {
		if ((unsigned int)i >= max)
			break;
		f = NULL;
		bpf_probe_read_kernel(&f, sizeof(f), &fda[i]);
		if (f)
			trk_closing((__u64)f);
	}
}

/* A process exits: last closes; a ring holder's exit counts as io_uring
 * activity; a holder of writable shared mappings needs its files
 * re-verified (exit skips munmap). */
SEC("tracepoint/sched/sched_process_exit")
int trk_proc_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct trk_scratch *s;

	if (tgid == trk_self_tgid)
		return 0;
	exit_closes(bpf_get_current_task_btf());
	if ((__u32)id != tgid)
		return 0;
	if (bpf_map_lookup_elem(&trk_uring_users, &tgid)) {
		bpf_map_delete_elem(&trk_uring_users, &tgid);
		uring_blind();
	}
	if (!bpf_map_lookup_elem(&trk_mappers, &tgid))
		return 0;
	bpf_map_delete_elem(&trk_mappers, &tgid);
	s = scratch_get(TRK_EV_UNMAP, 0, -1, NULL, 0);
	if (s)
		scratch_send(s, 0);
	return 0;
}
