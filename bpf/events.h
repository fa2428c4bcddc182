/* events.h — the one record shared by bpf/tracker.bpf.c and daemon/tracker_bpf.c.
 *
 * Kernel -> user space goes two ways:
 *  - ring-buffer records (struct trk_event + variable tail), rare by design:
 *    one per file per pick-up, one per namespace operation;
 *  - a BPF_F_MMAPABLE array of per-file slots (struct trk_slot) where the
 *    kernel merges written byte ranges with atomic operations and the daemon
 *    reads and clears them (protocol in docs/tracker.md).
 * Fixed-width fields only; the reader checks version and size first. */
#ifndef VIGIL_BPF_EVENTS_H
#define VIGIL_BPF_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TRK_VERSION      2
/* Per-file range slots (power of two): files written within ~2 s of each
 * other (a slot is released 2 s after its last news).  A file that finds
 * none is still reported (once, its ranges unknown: it ships by delta).
 * The array is mapped into vigild and resident whole: 344 bytes a slot,
 * 1,024 of them 352 KiB (4,096 cost 1.4 MiB of vigild's 16; docs/daemon.md,
 * "Memory and state"). */
#define TRK_SLOTS        1024
#define TRK_RANGES       8        /* ranges per slot bank; more -> unknown */
#define TRK_EOF          (1ULL << 62) /* a range ending here runs to the file's end,
					 whatever its size then (truncate, FICLONE) */
#define TRK_DEPTH        32       /* dentry-parent walk bound (fail open) */
#define TRK_NAME_READ    256      /* one path component, NUL included */
#define TRK_NAMES_MAX    4096     /* component bytes recorded per walk */
#define TRK_UPATH_MAX    1024     /* a syscall's user path, NUL included */
#define TRK_TAIL_MAX     8192     /* names/paths tail of a record (power of two) */
#define TRK_NR_MAX       1024     /* syscall numbers mapped to ops */
#define TRK_PATHS_MAX    64       /* roots + their ancestors in user space's table */

/* What user space maps each syscall number to (rodata trk_sysop[nr]). */
enum trk_op {
	TRK_OP_NONE = 0,
	/* data writes on an fd (range recorded at exit) */
	TRK_OP_WRITE, TRK_OP_PWRITE, TRK_OP_WRITEV, TRK_OP_PWRITEV, TRK_OP_PWRITEV2,
	TRK_OP_FTRUNCATE, TRK_OP_FALLOCATE, TRK_OP_COPY_FILE_RANGE, TRK_OP_SENDFILE,
	TRK_OP_SPLICE, TRK_OP_IOCTL, TRK_OP_IO_SUBMIT,
	/* metadata on an fd */
	TRK_OP_FCHMOD, TRK_OP_FCHOWN, TRK_OP_FSETXATTR, TRK_OP_FREMOVEXATTR,
	/* opens (fd result) */
	TRK_OP_OPEN, TRK_OP_OPENAT, TRK_OP_OPENAT2, TRK_OP_CREAT,
	/* path operations: dirfd + user path (one or two) */
	TRK_OP_RENAME, TRK_OP_RENAMEAT, TRK_OP_RENAMEAT2,
	TRK_OP_UNLINK, TRK_OP_UNLINKAT, TRK_OP_RMDIR,
	TRK_OP_MKDIR, TRK_OP_MKDIRAT, TRK_OP_MKNOD, TRK_OP_MKNODAT,
	TRK_OP_LINK, TRK_OP_LINKAT, TRK_OP_SYMLINK, TRK_OP_SYMLINKAT,
	TRK_OP_CHMOD, TRK_OP_FCHMODAT, TRK_OP_FCHMODAT2,
	TRK_OP_CHOWN, TRK_OP_LCHOWN, TRK_OP_FCHOWNAT,
	TRK_OP_UTIMENSAT, TRK_OP_UTIMES, TRK_OP_UTIME, TRK_OP_FUTIMESAT,
	TRK_OP_TRUNCATE, TRK_OP_SETXATTR, TRK_OP_LSETXATTR,
	TRK_OP_REMOVEXATTR, TRK_OP_LREMOVEXATTR,
	/* mappings and mounts */
	TRK_OP_MMAP, TRK_OP_MPROTECT, TRK_OP_MUNMAP,
	/* io_uring: its I/O bypasses the syscall tracepoints */
	TRK_OP_URING_SETUP, TRK_OP_URING_ENTER,
	/* mounts: keep last (dispatch tests op >= TRK_OP_MOUNT) */
	TRK_OP_MOUNT, TRK_OP_UMOUNT, TRK_OP_MOVE_MOUNT, TRK_OP_PIVOT_ROOT,
	TRK_OP_FSMOUNT, TRK_OP_MOUNT_SETATTR,
	TRK_OP_MAX
};

enum trk_kind {
	TRK_EV_DIRTY = 1,   /* slot has news (or no slot: unknown ranges); names of the file */
	TRK_EV_PATHOP = 2,  /* a path operation: base dir(s) + user path(s) */
	TRK_EV_CLOSE = 3,   /* last writable close of a file with a live slot */
	TRK_EV_MMAP = 4,    /* writable shared mapping of a watched file */
	TRK_EV_UNMAP = 5,   /* a mapping process unmapped or exited: re-verify */
	TRK_EV_MOUNT = 6,   /* mount table changed */
	TRK_EV_URING = 7,   /* io_uring activity the kernel could not itemise
			     * (trk_uring_ns moved): wakes a sleeping reader */
};
/* A TRK_EV_URING record is sent only when trk_uring_ns was older than
 * this: the reader keeps ticking until the last activity is this old
 * (tracker_bpf.c), so none goes unseen. */
#define TRK_URING_WAKE_NS (50ULL * 1000000)

/* trk_event.flags */
#define TRK_F_UNKNOWN   0x0001   /* ranges unknown for this file */
#define TRK_F_DEPTH     0x0002   /* a walk hit TRK_DEPTH before a root: fail open */
#define TRK_F_NAMES_CUT 0x0004   /* names did not fit */
#define TRK_F_ABS1      0x0010   /* user path 1 is absolute */
#define TRK_F_ABS2      0x0020
#define TRK_F_CREATED   0x0040   /* open with O_CREAT */
#define TRK_F_TRUNC     0x0080   /* open with O_TRUNC, truncate, ftruncate */
#define TRK_F_RANGE     0x0100   /* off/len carry a range (no slot) */

/* One ring-buffer record.  Tail (size - sizeof header bytes) holds, in order:
 * names1[nlen[0]] names2[nlen[1]] upath1[plen[0]] upath2[plen[1]].
 * names are NUL-terminated components, leaf first, up to (excluding) the
 * base directory base[i] (an index into user space's table of roots and
 * root ancestors; -1 when none).  upath is the syscall's path argument. */
struct trk_event {
	__u16 version;
	__u16 size;          /* header + tail */
	__u16 kind;          /* enum trk_kind */
	__u16 op;            /* enum trk_op */
	__u32 tgid;
	__s32 slot;          /* -1: none */
	__u64 dev;           /* kernel dev_t of the file (MAJOR << 20 | MINOR) */
	__u64 ino;
	__u64 time_ns;       /* CLOCK_BOOTTIME */
	__u64 off, len;      /* TRK_F_RANGE */
	__u32 flags;
	__s32 ret;
	__s32 base[2];
	__u16 nlen[2];
	__u16 plen[2];
};

/* Key of the per-file verdict cache and of the roots map. */
struct trk_key {
	__u64 dev;
	__u64 ino;
};

/* roots map value */
#define TRK_ROOT     1
#define TRK_ANCESTOR 2
struct trk_rootval {
	__u32 kind;
	__u32 idx;           /* index in user space's path table */
};

/* verdict cache value (kernel-only writes, except delete by user space) */
#define TRK_V_NOT     1
#define TRK_V_WATCHED 2
struct trk_fileval {
	__u64 gen;           /* global generation at verdict time */
	__u64 verdict;
	__s64 slot;          /* -1: none yet */
	__u64 noslot_sent;   /* coalesces "no slot" records */
};

/* One bank of ranges: [start, end) pairs, end == 0 means empty entry. */
struct trk_bank {
	__u64 n;             /* entries claimed (may exceed TRK_RANGES) */
	__u64 unknown;       /* ranges unknown */
	__u64 meta;          /* metadata or existence changed */
	struct { __u64 start, end; } r[TRK_RANGES];
};

struct trk_slot {
	__u64 dev, ino;      /* owner; 0/0 = free or being released */
	__u64 pending;       /* 1: a record was sent, not yet picked up */
	__u64 bank;          /* bank writers use now */
	__u64 users[2];      /* writers inside each bank */
	struct trk_bank b[2];
};

/* stats array indexes */
enum trk_stat {
	TRK_ST_DROPS = 0,    /* ring buffer full */
	TRK_ST_WALKS,        /* dentry walks */
	TRK_ST_DEPTH,        /* walks that hit the bound */
	TRK_ST_NOSLOT,       /* writes with no free slot */
	TRK_ST_RACES,        /* slot ownership races (record sent as unknown) */
	TRK_ST_CLOSES,       /* last writable closes seen (close or exit) */
	TRK_ST_URING,        /* io_uring_setup/enter calls by other processes */
	TRK_ST_URING_FILE,   /* io_uring writes to watched files, marked by their file */
	TRK_ST_URING_BLIND,  /* io_uring requests whose files are unknown: a rescan */
	TRK_ST_MAX
};

#endif
