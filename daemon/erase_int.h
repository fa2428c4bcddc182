/* erase_int.h — the erase engine's inside: the journal record (erasejournal.c),
 * the per-entry decision (eraseplan.c, pure), the tree walk (erasewalk.c) and
 * the key-slot destruction (eraseluks.c). */
#ifndef VIGIL_DAEMON_ERASE_INT_H
#define VIGIL_DAEMON_ERASE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/erase.h"

/* ---- journal: STATE/erase ----
 * Two fixed slots of EJ_SLOT bytes; each write goes to the slot the
 * sequence number picks, then fdatasync.  The file is written out to full
 * size when created, so later writes change no metadata and a torn write
 * can only damage the slot being written: the reader takes the valid slot
 * (magic + crc32) with the higher sequence. */
#define EJ_SLOT   1024
#define EJ_NAME   256

enum ej_kind { EJ_NONE = 0, EJ_FILE, EJ_LINKS, EJ_SPECIAL, EJ_SYMLINK, EJ_BUSY, EJ_DIR };

/* The entry about to be removed: recorded before its unlink so a crash
 * between the two never loses its count nor counts it twice. */
struct ej_pending {
	uint32_t kind;              /* enum ej_kind */
	uint32_t pad;
	uint64_t bytes;             /* overwritten (EJ_FILE, EJ_BUSY) */
	uint64_t dev, ino;          /* the entry */
	uint64_t parent_ino;        /* the directory holding it */
	char name[EJ_NAME];
};

struct ej_rec {
	char magic[8];              /* "VGERASE1" */
	uint64_t seq;
	struct erase_report r;
	uint32_t root;              /* the root being walked (phase ROOTS) */
	uint32_t luks;              /* the volume being processed (phase LUKS) */
	int32_t luks_slot;          /* key slot about to be destroyed, -1: none */
	uint32_t pad;
	/* observations of the root being walked, as they were before it:
	 * a resumed walk sees its kept paths, mounts, failures again */
	uint64_t base_kept, base_mounts, base_failed;
	struct ej_pending pending;
	uint32_t crc;               /* crc32 of everything before it */
};

struct ejournal {
	int fd;
	struct ej_rec rec;
};

/* Opens STATE/erase; create: make it if missing (else -ENOENT).  *fresh
 * says it was just made.  A file with no valid slot is -EBADMSG. */
int  ej_open(const char *statedir, bool create, struct ejournal *j, bool *fresh);
int  ej_write(struct ejournal *j);                 /* durable on return */
void ej_close(struct ejournal *j);
/* Reads the record without keeping the file open. */
int  ej_read(const char *statedir, struct ej_rec *rec);

/* ---- the decision for one directory entry (pure) ---- */
enum eplan {
	EP_KEEP,          /* a path to keep: untouched */
	EP_MOUNT,         /* another mount: not entered, not removed */
	EP_TOO_DEEP,      /* a directory below ERASE_DEPTH_MAX: left */
	EP_DESCEND,       /* a directory: erase inside, then rmdir */
	EP_OVERWRITE,     /* a regular file with one link */
	EP_LINKS,         /* a regular file with several links: unlink only */
	EP_SYMLINK,       /* unlink, never follow */
	EP_SPECIAL,       /* FIFO, socket, device: unlink, never open */
};

struct eplan_entry {
	uint32_t mode;
	uint32_t nlink;
	uint64_t dev, mnt, ino;     /* mnt 0: the kernel gave no mount id */
};

struct eplan_ctx {
	uint64_t root_dev, root_mnt;
	const uint64_t (*keep)[2];  /* (dev, ino) pairs */
	size_t nkeep;
	int depth;                  /* of the directory holding the entry */
};

enum eplan erase_plan(const struct eplan_entry *e, const struct eplan_ctx *c);

/* ---- walk (erasewalk.c) ---- */
struct ewalk {
	const struct erase_opts *o;
	struct ejournal *j;
	uint8_t *buf;                   /* ERASE_BUF */
	struct eplan_ctx ctx;
	uint64_t keep[64][2];
	struct ej_pending resume;       /* pending from before a crash */
	uint64_t since_progress;
};

/* Erases everything below the root fd rootfd (not the root itself). */
int  erase_walk_root(struct ewalk *w, int rootfd);
void erase_progress(struct ewalk *w);
/* Test hook state (erase.c). */
void erase_test_hook(const struct erase_report *r, int where);

/* ---- key slots (eraseluks.c) ---- */
/* Destroys every active key slot of the volume j->rec.luks names, writing
 * the journal before each.  Failures are counted in the report. */
void erase_luks_volume(struct ewalk *w, const char *dev);

#endif
