/* fuzz_restore.c — libFuzzer harness for `vigil get`'s handling of a
 * server's listing of a tree (controller/restore.c, restore_tree.c): the
 * entries are decoded as cmd_get.c's item_add does (proto_get_entry,
 * deleted ones skipped), the first is the root, and the others go through
 * restore_below and restore_tree_add into DEST, a fresh directory in a
 * private sandbox, then restore_finish.
 *
 * Byte 0: bit 0 --keep-privileged, bit 1 the "server" sends content that
 * matches each file's sha256 (else its own bytes), bit 2 owners too (as
 * root), bit 3 DEST exists already (0700, with a file of ours in it).
 * The rest: entries in the wire format.  Absolute symlink targets are
 * re-rooted in the sandbox's out/ so that a write through one lands where
 * the harness looks.  Checked after each input: nothing but DEST changed in
 * the sandbox (out/ holds only its canary, unchanged); what existed before
 * keeps its mode and content; without bit 0 nothing under DEST is setuid or
 * setgid or carries a security.* or trusted.* attribute. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "common/log.h"
#include "common/proto.h"
#include "common/wire.h"
#include "controller/restore.h"
#include "tests/fuzz/fuzz_util.h"

#define ENTRIES_MAX 48
#define CONTENT_MAX 8192

static char box[300], dest[340], out[340];
static bool honest, keep;

static void content(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + n);
}

static int fetch(void *arg, const struct vg_entry *e, restore_sink_fn sink, void *sink_arg,
		 char *err, size_t errlen)
{
	static uint8_t buf[CONTENT_MAX];
	size_t n = e->size < CONTENT_MAX ? (size_t)e->size : CONTENT_MAX;

	content(buf, n);
	if (!honest)
		buf[0] ^= n ? 1 : 0;
	return n ? sink(sink_arg, buf, n) : 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0)
		abort();
}

/* Directory walks with getdents64 into a buffer on the stack: nftw's
 * 32 KiB malloc per directory was a third of the harness's time under
 * ASan.  p (PATH_MAX bytes) holds the path, len its length; fn sees
 * every path, a directory before what is in it.  A walk that cannot read
 * or stat what is there aborts: a false verdict is worse than a crash. */
typedef void (*walk_fn)(const char *p, const struct stat *st);

static void walk(char *p, size_t len, walk_fn fn, bool rm);

/* Each entry of the open directory fd once (fn, or removal with rm). */
static bool walk_dir(int fd, char *p, size_t len, walk_fn fn, bool rm)
{
	char buf[4096];
	bool any = false;
	long n, off;

	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += ((struct dirent64 *)(buf + off))->d_reclen) {
			const char *name = ((struct dirent64 *)(buf + off))->d_name;
			size_t nl = strlen(name);

			if (!strcmp(name, ".") || !strcmp(name, ".."))
				continue;
			if (len + 1 + nl >= PATH_MAX)
				abort();
			p[len] = '/';
			memcpy(p + len + 1, name, nl + 1);
			walk(p, len + 1 + nl, fn, rm);
			p[len] = '\0';
			any = true;
		}
	}
	if (n < 0)
		abort();
	return any;
}

static void walk(char *p, size_t len, walk_fn fn, bool rm)
{
	struct stat st;
	int fd;

	if (lstat(p, &st) < 0) {
		if (rm && errno == ENOENT)
			return;
		abort();
	}
	if (!rm)
		fn(p, &st);
	if (!S_ISDIR(st.st_mode)) {
		if (rm && unlink(p) < 0)
			abort();
		return;
	}
	if ((fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		abort();
	/* removing while reading may skip entries: read again until empty */
	while (walk_dir(fd, p, len, fn, rm) && rm)
		if (lseek(fd, 0, SEEK_SET) < 0)
			abort();
	close(fd);
	if (rm && rmdir(p) < 0)
		abort();
}

static void rm_tree(const char *top)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", top);
	walk(p, strlen(p), NULL, true);
}

/* out/ is made once: check_sandbox proves after every input that it
 * still holds only its canary, with the canary's mode and bytes and its
 * own mode, which is the state a rebuild would give (rebuilding it per
 * input was a third of the harness's time). */
static void sandbox(bool pre)
{
	char p[400];

	if (!box[0]) {
		snprintf(box, sizeof(box), "%s", fuzz_tmpdir("restore"));
		snprintf(dest, sizeof(dest), "%s/dest", box);
		snprintf(out, sizeof(out), "%s/out", box);
		log_set_level(LOG_LVL_ERROR);
		if (mkdir(out, 0755) < 0 || chmod(out, 0755) < 0)
			abort();
		snprintf(p, sizeof(p), "%s/canary", out);
		write_file(p, "canary\n", 0644);
	}
	rm_tree(dest);
	if (pre) {
		if (mkdir(dest, 0700) < 0 || chmod(dest, 0700) < 0)
			abort();
		snprintf(p, sizeof(p), "%s/keep", dest);
		write_file(p, "keep\n", 0600);
	}
}

static bool pre_dest;

static void check_unchanged(const char *p, mode_t mode, const char *text)
{
	char have[64] = "";
	struct stat st;
	int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, have, sizeof(have) - 1);

	if (fd < 0 || fstat(fd, &st) < 0 || (st.st_mode & 07777) != mode ||
	    st.st_uid != getuid() || st.st_gid != getgid() || flistxattr(fd, NULL, 0) != 0 ||
	    n != (ssize_t)strlen(text) || memcmp(have, text, (size_t)n))
		abort();
	close(fd);
}

static bool privileged_xattr(const char *p)
{
	char names[4096];
	ssize_t n = llistxattr(p, names, sizeof(names));

	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1)
		if (!strncmp(names + i, "security.", 9) || !strncmp(names + i, "trusted.", 8))
			return true;
	return false;
}

/* Every path in the sandbox is the sandbox, out/, its canary, or DEST's. */
static void check_one(const char *p, const struct stat *st)
{
	size_t bl = strlen(box), dl = strlen(dest);
	bool in_dest = !strncmp(p, dest, dl) && (p[dl] == '\0' || p[dl] == '/');

	if (!in_dest && strcmp(p, box) && strcmp(p, out) && strncmp(p + bl, "/out/canary", 12))
		abort();
	if (in_dest && !keep && !S_ISLNK(st->st_mode) &&
	    ((st->st_mode & (S_ISUID | S_ISGID)) || privileged_xattr(p)))
		abort();
}

static void check_sandbox(void)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s", box);
	walk(p, strlen(p), check_one, false);
	snprintf(p, sizeof(p), "%s/canary", out);
	check_unchanged(p, 0644, "canary\n");
	if (lstat(out, &st) < 0 || !S_ISDIR(st.st_mode) || (st.st_mode & 07777) != 0755 ||
	    st.st_uid != getuid() || st.st_gid != getgid() || llistxattr(out, NULL, 0) != 0)
		abort();
	if (pre_dest) {
		snprintf(p, sizeof(p), "%s/keep", dest);
		check_unchanged(p, 0600, "keep\n");
		if (stat(dest, &st) < 0 || (st.st_mode & 07777) != 0700)
			abort();
	}
}

/* An entry as the server sent it, made testable: the content's sha256
 * when the server is honest, absolute link targets inside the sandbox. */
static void adjust(struct vg_entry *e)
{
	uint8_t buf[CONTENT_MAX];
	char link[PATH_MAX];

	if (e->type == VG_FILE && honest && e->size <= CONTENT_MAX) {
		content(buf, (size_t)e->size);
		SHA256(buf, (size_t)e->size, e->sha256);
	}
	if (e->type == VG_SYMLINK && e->link[0] == '/') {
		snprintf(link, sizeof(link), "%s%s", out, e->link);
		snprintf(e->link, sizeof(e->link), "%s", link);
	}
}

static struct vg_entry ents[ENTRIES_MAX];

/* Decodes the listing as item_add does: stops at the first bad entry. */
static size_t decode(const uint8_t *p, size_t n)
{
	struct wire_reader r;
	size_t k = 0;

	wire_reader_init(&r, p, n);
	while (k < ENTRIES_MAX && r.len > 0) {
		proto_get_entry(&r, &ents[k]);
		if (wire_ok(&r) < 0)
			break;
		if (ents[k].deleted)
			continue;
		adjust(&ents[k]);
		k++;
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct restore_src src = { fetch, NULL };
	struct restore *rs;
	size_t n;

	if (size < 1)
		return 0;
	keep = data[0] & 1;
	honest = data[0] & 2;
	pre_dest = data[0] & 8;
	sandbox(pre_dest);
	if ((n = decode(data + 1, size - 1)) == 0)
		return 0;
	if (!(rs = restore_new(&src, data[0] & 4, false)))
		abort();
	restore_keep_privileged(rs, keep);
	if (restore_tree_begin(rs, dest, &ents[0]) == 0) {
		for (size_t i = 1; i < n; i++) {
			const char *rel = restore_below(ents[0].path, ents[i].path);

			if (rel)
				restore_tree_add(rs, rel, &ents[i]);
		}
		restore_finish(rs);
	}
	restore_free(rs);
	check_sandbox();
	return 0;
}
