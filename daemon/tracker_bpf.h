/* tracker_bpf.h — internals shared by the two halves of the bpf tracker:
 * tracker_bpf.c (load, attach, slots, the periodic pick-up) and
 * tracker_bpf_ev.c (ring-buffer records -> sink calls).  Not an API. */
#ifndef VIGIL_DAEMON_TRACKER_BPF_H
#define VIGIL_DAEMON_TRACKER_BPF_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "bpf/events.h"
#include "daemon/tracker.h"

#define TB_POLLED_MAX   256
#define TB_IDLE_NS      (2 * 1000000000LL)   /* live slot without news: release */
#define TB_GRACE_NS     (100 * 1000000LL)    /* released slot reused after this */
#define TB_URING_SETTLE_NS (200 * 1000000LL) /* io_uring quiet this long: rescan */
#define TB_URING_GAP_NS (1000000000LL)       /* while busy: one rescan per second */
#define TB_SWEEP_NS     (1000000000LL)       /* every slot looked at, not just busy ones */

enum tb_slot_state { TB_FREE = 0, TB_LIVE, TB_RELEASING };

struct tb_slotinfo {
	uint8_t state;
	uint64_t dev, ino;
	int64_t last_ns;           /* CLOCK_MONOTONIC of the last pick-up with news */
	char *path;                /* last resolved path, owned */
};

struct tb_polled {
	uint64_t dev, ino;
	char *path;                /* owned */
};

/* What the loader (vigild run again, tracker_bpf_load.c) is asked to do ... */
struct tb_loadreq {
	uint32_t self_tgid;        /* vigild's own writes are not tracked */
	uint8_t sysop[TRK_NR_MAX];
	bool close_tp, exit_tp;    /* the classic tracepoints exist */
	bool uring_tps;            /* io_uring_complete and io_uring_submit_req exist */
	size_t nroots;
	struct { struct trk_key k; struct trk_rootval v; } roots[TRK_PATHS_MAX];
};

/* ... and what it hands back: map fds in this order, then the links. */
enum tb_fd { TB_FD_ROOTS, TB_FD_FILES, TB_FD_SLOTS, TB_FD_FREE, TB_FD_RB, TB_FD_BSS, TB_FD_MAX };
#define TB_LINKS_MAX 8
struct tb_loaded {
	int fd[TB_FD_MAX];
	int links[TB_LINKS_MAX];   /* held: they keep the programs attached */
	size_t nlinks;
	bool raw_tp;
	bool kcast;                /* the program reads kernel fields by plain loads */
};

struct tracker_bpf__bss;       /* the skeleton's .bss layout */

struct tracker {
	struct tb_loaded ld;
	bool loaded;
	struct tracker_bpf__bss *bss;  /* mmap of the .bss map */
	size_t bss_len;
	struct tb_loadreq *rq;     /* while starting */
	struct ring_buffer *rb;
	struct trk_slot *slots;    /* mmap of trk_slots */
	size_t slots_len;
	struct tracker_sink sink;
	size_t nroots;             /* paths[0..nroots) are the roots */
	size_t npaths;             /* then their ancestors */
	char *paths[TRK_PATHS_MAX];
	struct tb_slotinfo si[TRK_SLOTS];
	uint64_t busy[TRK_SLOTS / 64];   /* bit s: si[s].state != TB_FREE */
	int64_t swept_ns;          /* CLOCK_MONOTONIC of the last look at every slot */
	struct dircache *dirs;     /* real paths of path operations' directories */
	size_t npolled;
	struct tb_polled polled[TB_POLLED_MAX];
	bool verify_maps;          /* an unmap hint arrived */
	bool burst;                /* the last process() consumed records */
	uint64_t mounts_sig;
	uint64_t seen_drops;
	uint64_t uring_seen;       /* trk_uring_ns covered by the last rescan */
	int64_t uring_rescan_ns;   /* CLOCK_BOOTTIME of that rescan */
	struct {
		uint64_t events, bad, pickups, pathops, rescans, drops, closes, mmaps;
		uint64_t uring_rescans;
	} n;
};

/* Slot s leaves TB_FREE: each tick looks at it from now on. */
static inline void tb_slot_live(struct tracker *t, uint32_t s)
{
	t->si[s].state = TB_LIVE;
	t->busy[s / 64] |= 1ULL << (s % 64);
}

/* tracker_bpf_ev.c */
int  tb_on_record(void *arg, void *data, size_t size);
void tb_pickup(struct tracker *t, uint32_t slot, int64_t when_ns);
void tb_verify_polled(struct tracker *t);
uint64_t tb_mounts_sig(struct tracker *t);
int64_t tb_boot_to_real(int64_t t_boot);
void tb_rescan(struct tracker *t, const char *dir);

/* tracker_bpf_load.c */
int tb_load_child(const struct tb_loadreq *rq, struct tb_loaded *out, char *err, size_t errlen);
int tb_map_bss(struct tracker *t, char *err, size_t errlen);
int tracker_bpf_exit_prog(struct tracker *t);

#endif
