/* test_tracker_bpf.c — the real BPF tracker, loaded into this kernel:
 * writes under a watched temp root produce changed/ranges with the right
 * ranges, writes elsewhere nothing; a directory renamed into the root is
 * tracked; legacy syscalls (rename, unlink, mkdir, ... by number) are seen;
 * a writable shared mapping turns polling on and off; a flood that overflows
 * the ring buffer asks for a rescan.  All of it three times: the tp_btf
 * program as the loader picks it (kernel fields by plain loads through
 * bpf_rdonly_cast where the kernel has it), then through test hooks of the
 * loader the same program with probe reads (kernels before 6.2), and the
 * raw_tp fallback alone; each must load wherever the first did.  Needs
 * root and BTF; skips otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <liburing.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "common/log.h"
#include "daemon/tracker.h"
#include "daemon/tracker_bpf.h"
#include "tracker.skel.h"

#include "tests/unit/trk_harness.h"

static void test_pwrite_ranges(void **state)
{
	struct env *e = *state;
	char p[PATH_MAX], buf[4096] = { 0 };
	struct trk_range r[32];
	struct kid k;
	bool unknown;
	size_t n;
	int fd;

	SKIP_IF_NO_TRACKER(e);
	snprintf(p, sizeof(p), "%s/big", e->root);
	kid_start(&k);
	if (k.pid == 0) {
		write_file(p, 1 << 20);
		step(&k);
		fd = open(p, O_RDWR);
		CHECK(fd >= 0);
		CHECK(pwrite(fd, buf, 4096, 8192) == 4096);
		CHECK(pwrite(fd, buf, 100, 100000) == 100);
		CHECK(pwrite(fd, buf, 50, 100100) == 50);      /* touches: merges */
		step(&k);
		CHECK(lseek(fd, 200000, SEEK_SET) == 200000);
		for (int i = 0; i < 50; i++)
			CHECK(write(fd, buf, 1000) == 1000);
		step(&k);
		CHECK(ftruncate(fd, 300000) == 0);
		step(&k);
		_exit(0);
	}
	await_step(e, &k);
	assert_non_null(find(e, 'c', p));
	e->nrec = 0;
	go(&k);
	await_step(e, &k);
	n = all_ranges(e, p, r, &unknown);
	assert_false(unknown);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].off, 8192);
	assert_int_equal(r[0].len, 4096);
	assert_int_equal(r[1].off, 100000);
	assert_int_equal(r[1].len, 150);
	assert_non_null(find(e, 'c', p));
	/* sequential writes at the file position coalesce into one range */
	e->nrec = 0;
	go(&k);
	await_step(e, &k);
	n = all_ranges(e, p, r, &unknown);
	assert_false(unknown);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].off, 200000);
	assert_int_equal(r[0].len, 50000);
	/* ftruncate: a cut, "from the new size to the end, whatever it is then" */
	e->nrec = 0;
	go(&k);
	await_step(e, &k);
	n = all_ranges(e, p, r, &unknown);
	assert_false(unknown);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].off, 300000);
	assert_true(r[0].off + r[0].len >= TRK_EOF);
	assert_non_null(find(e, 'c', p));
	go(&k);
	kid_done(e, &k);
}

static void test_outside_is_silent(void **state)
{
	struct env *e = *state;
	char p[PATH_MAX], q[PATH_MAX];
	struct kid k;

	SKIP_IF_NO_TRACKER(e);
	snprintf(p, sizeof(p), "%s/other", e->out);
	snprintf(q, sizeof(q), "%s/other2", e->out);
	drain(e);
	e->nrec = 0;
	kid_start(&k);
	if (k.pid == 0) {
		write_file(p, 10000);
		CHECK(rename(p, q) == 0);
		CHECK(truncate(q, 10) == 0);
		CHECK(chmod(q, 0600) == 0);
		CHECK(unlink(q) == 0);
		CHECK(mkdir(p, 0700) == 0);
		CHECK(rmdir(p) == 0);
		_exit(0);
	}
	kid_done(e, &k);
	for (size_t i = 0; i < e->nrec; i++)
		fail_msg("unexpected event %c %s", e->rec[i].kind, e->rec[i].path);
}

static void test_dir_moved_in(void **state)
{
	struct env *e = *state;
	char d[PATH_MAX], f[PATH_MAX], nd[PATH_MAX], nf[PATH_MAX];
	struct trk_range r[32];
	struct kid k;
	bool unknown;
	int fd;

	SKIP_IF_NO_TRACKER(e);
	snprintf(d, sizeof(d), "%s/dir", e->out);
	snprintf(f, sizeof(f), "%s/dir/f", e->out);
	snprintf(nd, sizeof(nd), "%s/dir", e->root);
	snprintf(nf, sizeof(nf), "%s/dir/f", e->root);
	kid_start(&k);
	if (k.pid == 0) {
		CHECK(mkdir(d, 0755) == 0);
		write_file(f, 5000);
		fd = open(f, O_RDWR);   /* opened while outside: cached "not watched" */
		CHECK(fd >= 0);
		CHECK(pwrite(fd, "a", 1, 0) == 1);
		step(&k);
		CHECK(rename(d, nd) == 0);
		step(&k);
		CHECK(pwrite(fd, "hello", 5, 1000) == 5);
		step(&k);
		_exit(0);
	}
	await_step(e, &k);
	assert_int_equal(e->nrec, 0);
	go(&k);
	await_step(e, &k);
	assert_non_null(find(e, 's', nd));
	e->nrec = 0;
	go(&k);
	await_step(e, &k);
	assert_non_null(find(e, 'c', nf));
	assert_int_equal(all_ranges(e, nf, r, &unknown), 1);
	assert_false(unknown);
	assert_int_equal(r[0].off, 1000);
	assert_int_equal(r[0].len, 5);
	go(&k);
	kid_done(e, &k);
}

static void test_legacy_syscalls(void **state)
{
	struct env *e = *state;
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], dd[PATH_MAX], l[PATH_MAX], s[PATH_MAX];
	struct kid k;
	int fd;

	SKIP_IF_NO_TRACKER(e);
	snprintf(a, sizeof(a), "%s/a", e->root);
	snprintf(b, sizeof(b), "%s/b", e->root);
	snprintf(c, sizeof(c), "%s/c", e->root);
	snprintf(dd, sizeof(dd), "%s/dd", e->root);
	snprintf(l, sizeof(l), "%s/l", e->root);
	snprintf(s, sizeof(s), "%s/s", e->root);
	kid_start(&k);
	if (k.pid == 0) {
#ifdef SYS_creat
		fd = syscall(SYS_creat, a, 0644);
#else
		fd = open(a, O_CREAT | O_WRONLY | O_TRUNC, 0644);
#endif
		CHECK(fd >= 0);
		close(fd);
#ifdef SYS_open
		fd = syscall(SYS_open, c, O_CREAT | O_WRONLY, 0644);
		CHECK(fd >= 0);
		close(fd);
#endif
#ifdef SYS_rename
		CHECK(syscall(SYS_rename, a, b) == 0);
		CHECK(syscall(SYS_mkdir, dd, 0755) == 0);
		CHECK(syscall(SYS_link, b, l) == 0);
		CHECK(syscall(SYS_symlink, "b", s) == 0);
		CHECK(syscall(SYS_chmod, b, 0600) == 0);
		CHECK(syscall(SYS_chown, b, 0, 0) == 0);
		CHECK(syscall(SYS_lchown, s, 0, 0) == 0);
		step(&k);
		/* relative paths: from a cwd inside the root, and from an ancestor */
		CHECK(chdir(e->root) == 0);
		CHECK(syscall(SYS_unlink, "l") == 0);
		CHECK(syscall(SYS_rmdir, "dd") == 0);
		CHECK(chdir(e->top) == 0);
		CHECK(syscall(SYS_unlink, "root/s") == 0);
		CHECK(syscall(SYS_truncate, "root/b", 0) == 0);
#else
		step(&k);
#endif
		step(&k);
		_exit(0);
	}
	await_step(e, &k);
	assert_non_null(find(e, 'c', a));
#ifdef SYS_rename
	assert_non_null(find(e, 'c', b));
	assert_non_null(find(e, 'c', dd));
	assert_non_null(find(e, 'c', l));
	assert_non_null(find(e, 'c', s));
	assert_non_null(find(e, 'c', c));
	e->nrec = 0;
	go(&k);
	await_step(e, &k);
	assert_non_null(find(e, 'c', l));
	assert_non_null(find(e, 'c', dd));
	assert_non_null(find(e, 'c', s));
	assert_non_null(find(e, 'c', b));
	assert_non_null(find(e, 'r', b));
#else
	go(&k);
	await_step(e, &k);
#endif
	go(&k);
	kid_done(e, &k);
}

static void test_mmap_polls(void **state)
{
	struct env *e = *state;
	char p[PATH_MAX];
	const struct rec *x;
	struct kid k;
	char *m;
	int fd;

	SKIP_IF_NO_TRACKER(e);
	snprintf(p, sizeof(p), "%s/mapped", e->root);
	kid_start(&k);
	if (k.pid == 0) {
		write_file(p, 8192);
		step(&k);
		fd = open(p, O_RDWR);
		CHECK(fd >= 0);
		m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		CHECK(m != MAP_FAILED);
		close(fd);
		m[10] = 'y';
		step(&k);
		CHECK(munmap(m, 8192) == 0);
		step(&k);
		_exit(0);
	}
	await_step(e, &k);
	e->nrec = 0;
	go(&k);
	await_step(e, &k);
	x = find(e, 'p', p);
	assert_non_null(x);
	assert_true(x->flag);
	e->nrec = 0;
	go(&k);
	await_step(e, &k);
	x = find(e, 'p', p);
	assert_non_null(x);
	assert_false(x->flag);
	go(&k);
	kid_done(e, &k);
}

static void test_flood_rescans(void **state)
{
	struct env *e = *state;
	char p[PATH_MAX];
	struct kid k;

	SKIP_IF_NO_TRACKER(e);
	drain(e);
	e->nrec = 0;
	kid_start(&k);
	if (k.pid == 0) {
		/* no process() meanwhile: the 1 MiB ring fills up */
		for (int i = 0; i < 30000; i++) {
			int fd;

			snprintf(p, sizeof(p), "%s/flood-%05d-with-a-long-name-to-fill-the-ring",
				 e->root, i);
			fd = open(p, O_CREAT | O_WRONLY, 0644);
			CHECK(fd >= 0);
			close(fd);
			unlink(p);
		}
		_exit(0);
	}
	kid_done(e, &k);
	assert_non_null(find(e, 's', ""));
}

static void test_last_close(void **state)
{
	struct env *e = *state;
	char p[PATH_MAX];
	struct kid k;
	int fd1, fd2, fd3;

	SKIP_IF_NO_TRACKER(e);
	snprintf(p, sizeof(p), "%s/closing", e->root);
	kid_start(&k);
	if (k.pid == 0) {
		write_file(p, 3000);                  /* open, write, close */
		step(&k);
		fd1 = open(p, O_RDWR);
		CHECK(fd1 >= 0);
		CHECK(pwrite(fd1, "a", 1, 0) == 1);
		fd2 = dup(fd1);
		CHECK(fd2 >= 0);
		close(fd1);                           /* the dup still holds it */
		step(&k);
		fd3 = open(p, O_WRONLY);              /* a second writer */
		CHECK(fd3 >= 0);
		close(fd2);
		step(&k);
		CHECK(pwrite(fd3, "b", 1, 1) == 1);
		close(fd3);                           /* the last writer */
		step(&k);
		fd1 = open(p, O_RDONLY);
		CHECK(fd1 >= 0);
		close(fd1);                           /* a reader: nothing */
		fd1 = open(p, O_WRONLY);
		CHECK(fd1 >= 0);
		CHECK(pwrite(fd1, "c", 1, 2) == 1);
		step(&k);
		_exit(0);                             /* exit closes it */
	}
	await_step(e, &k);
	assert_int_equal(count(e, 'x', p), 1);
	assert_non_null(find(e, 'c', p));
	e->nrec = 0;
	go(&k);
	await_step(e, &k);
	assert_int_equal(count(e, 'x', p), 0);
	go(&k);
	await_step(e, &k);
	assert_int_equal(count(e, 'x', p), 0);
	go(&k);
	await_step(e, &k);
	assert_int_equal(count(e, 'x', p), 1);
	e->nrec = 0;
	go(&k);
	await_step(e, &k);
	assert_int_equal(count(e, 'x', p), 0);
	go(&k);
	kid_done(e, &k);
	assert_int_equal(count(e, 'x', p), 1);
}

static void test_mprotect_polls(void **state)
{
	struct env *e = *state;
	char p[PATH_MAX];
	const struct rec *x;
	struct kid k;
	char *m;
	int fd;

	SKIP_IF_NO_TRACKER(e);
	snprintf(p, sizeof(p), "%s/protected", e->root);
	kid_start(&k);
	if (k.pid == 0) {
		write_file(p, 8192);
		fd = open(p, O_RDWR);
		CHECK(fd >= 0);
		m = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
		CHECK(m != MAP_FAILED);
		close(fd);
		step(&k);
		CHECK(mprotect(m, 8192, PROT_READ | PROT_WRITE) == 0);
		m[1] = 'z';
		step(&k);
		_exit(0);
	}
	await_step(e, &k);
	assert_null(find(e, 'p', p));
	e->nrec = 0;
	go(&k);
	await_step(e, &k);
	x = find(e, 'p', p);
	assert_non_null(x);
	assert_true(x->flag);
	e->nrec = 0;
	go(&k);
	kid_done(e, &k);
	x = find(e, 'p', p);                    /* exit unmapped it */
	assert_non_null(x);
	assert_false(x->flag);
}

static void uring_write(const char *p, int times, int gap_ms)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int fd = open(p, O_RDWR | O_CREAT, 0644);

	CHECK(fd >= 0);
	CHECK(io_uring_queue_init(4, &ring, 0) == 0);
	for (int i = 0; i < times; i++) {
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_write(sqe, fd, "uring", 5, i * 5);
		CHECK(io_uring_submit(&ring) == 1);
		CHECK(io_uring_wait_cqe(&ring, &cqe) == 0);
		CHECK(cqe->res == 5);
		io_uring_cqe_seen(&ring, cqe);
		usleep(gap_ms * 1000);
	}
	_exit(0);
}

static void uring_rename(const char *from, const char *to)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;

	CHECK(io_uring_queue_init(4, &ring, 0) == 0);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_rename(sqe, from, to);
	CHECK(io_uring_submit(&ring) == 1);
	CHECK(io_uring_wait_cqe(&ring, &cqe) == 0);
	CHECK(cqe->res == 0);
	io_uring_cqe_seen(&ring, cqe);
	_exit(0);
}

/* drains for about ms milliseconds */
static void drain_for(struct env *e, int ms)
{
	for (int i = 0; i < ms / 60; i++)
		drain(e);
}

/* Does this kernel's io_uring_complete tracepoint carry the request (5.19
 * and later)?  Then writes are marked by their file, without rescans. */
static bool uring_complete_has_req(void)
{
	char line[256];
	bool has = false;
	FILE *f = fopen("/sys/kernel/tracing/events/io_uring/io_uring_complete/format", "re");

	while (f && fgets(line, sizeof(line), f))
		has |= strstr(line, "void * req;") != NULL;
	if (f)
		fclose(f);
	return has;
}

static void uring_run(struct env *e, void (*fn)(const char *, const char *), const char *a,
		      const char *b)
{
	struct kid k;

	drain(e);
	e->nrec = 0;
	kid_start(&k);
	if (k.pid == 0)
		fn(a, b);
	kid_done(e, &k);
	drain_for(e, 1500);
}

static void write3(const char *p, const char *unused)
{
	uring_write(p, 3, 0);
}

/* io_uring writes: to a watched file it is marked by its file (range
 * unknown), to any other file nothing happens, and only a request on a
 * path (rename) costs a rescan. */
static void test_io_uring_by_file(void **state)
{
	struct env *e = *state;
	char in[PATH_MAX], out[PATH_MAX], to[PATH_MAX];
	struct trk_range r[32];
	bool unknown;

	SKIP_IF_NO_TRACKER(e);
	if (!uring_complete_has_req())
		skip();
	snprintf(in, sizeof(in), "%s/uring", e->root);
	snprintf(to, sizeof(to), "%s/uring2", e->root);
	snprintf(out, sizeof(out), "%s/uring", e->out);
	/* another process's io_uring writes outside the roots: silence */
	uring_run(e, write3, out, NULL);
	for (size_t i = 0; i < e->nrec; i++)
		fail_msg("unexpected event %c %s", e->rec[i].kind, e->rec[i].path);
	/* a watched file: its ranges, marked unknown, and still no rescan */
	uring_run(e, write3, in, NULL);
	all_ranges(e, in, r, &unknown);
	assert_true(unknown);
	assert_int_equal(count(e, 's', NULL), 0);
	/* a rename through io_uring names no file: one rescan once quiet */
	uring_run(e, uring_rename, in, to);
	assert_true(count(e, 's', "") >= 1);
}

/* The generations the per-CPU last file (trk_last_map) is valid under. */
static uint64_t cache_gens(struct env *e)
{
	return __atomic_load_n(&e->t->bss->trk_gen, __ATOMIC_SEQ_CST) +
	       __atomic_load_n(&e->t->bss->trk_verdicts_gen, __ATOMIC_SEQ_CST);
}

/* A file's slot is released after 2 s without news while the writer's CPU
 * still remembers it (trk_last_map): the next write fails over to a new
 * slot and is reported, with its range.  The writer is pinned to one CPU;
 * the entry is only reached when no process had a verdict written
 * meanwhile (the generations did not move), so a busy machine gets up to
 * 4 tries. */
static void test_write_after_release(void **state)
{
	struct env *e = *state;
	char p[PATH_MAX], buf[4096] = { 0 };
	struct trk_range r[32];
	bool unknown, reached = false;
	struct kid k;
	uint64_t g0;
	int fd;

	SKIP_IF_NO_TRACKER(e);
	for (int try = 0; try < 4 && !reached; try++) {
		snprintf(p, sizeof(p), "%s/idle%d", e->root, try);
		e->nrec = 0;
		kid_start(&k);
		if (k.pid == 0) {
			cpu_set_t one;

			CPU_ZERO(&one);
			CPU_SET(sched_getcpu(), &one);
			CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
			fd = open(p, O_RDWR | O_CREAT, 0644);
			CHECK(fd >= 0);
			CHECK(pwrite(fd, buf, 4096, 0) == 4096);
			step(&k);
			CHECK(pwrite(fd, buf, 100, 8192) == 100);
			step(&k);
			_exit(0);
		}
		await_step(e, &k);
		g0 = cache_gens(e);
		assert_non_null(find(e, 'c', p));
		for (int i = 0; i < 60; i++) {     /* 3 s: idle release, then its grace */
			usleep(50000);
			assert_int_equal(trk_ops->process(e->t), 0);
		}
		e->nrec = 0;
		go(&k);
		await_step(e, &k);
		reached = cache_gens(e) == g0;
		assert_non_null(find(e, 'c', p));
		assert_int_equal(all_ranges(e, p, r, &unknown), 1);
		assert_false(unknown);
		assert_int_equal(r[0].off, 8192);
		assert_int_equal(r[0].len, 100);
		go(&k);
		kid_done(e, &k);
	}
	if (!reached)
		fprintf(stderr, "write_after_release: verdicts written elsewhere in every try; "
			"the per-CPU entry was not reached\n");
}

/* How the loaded program reads kernel fields, from its own frozen rodata
 * (trk_kcast): by plain loads exactly where this kernel's BTF has the kfunc
 * bpf_rdonly_cast and no test hook asked for probe reads. */
static void test_field_reads(void **state)
{
	struct env *e = *state;
	const char *hook = getenv("VIGIL_TEST_BPF_LOADER");
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool want = vmlinux && btf__find_by_name_kind(vmlinux, "bpf_rdonly_cast", BTF_KIND_FUNC) > 0;
	struct bpf_prog_info pi = { 0 };
	__u32 ids[16], len = sizeof(pi);
	int found = 0, pfd;

	btf__free(vmlinux);
	SKIP_IF_NO_TRACKER(e);
	if (hook && (!strcmp(hook, "raw") || !strcmp(hook, "probe")))
		want = false;
	pfd = tracker_bpf_exit_prog(e->t);
	assert_true(pfd >= 0);
	pi.nr_map_ids = 16;
	pi.map_ids = (uintptr_t)ids;
	assert_int_equal(bpf_obj_get_info_by_fd(pfd, &pi, &len), 0);
	for (__u32 i = 0; i < pi.nr_map_ids && i < 16; i++) {
		struct bpf_map_info mi = { 0 };
		struct tracker_bpf__rodata *ro;
		__u32 mlen = sizeof(mi), zero = 0;
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		assert_true(mfd >= 0);
		assert_int_equal(bpf_obj_get_info_by_fd(mfd, &mi, &mlen), 0);
		if (strstr(mi.name, ".rodata") && mi.value_size >= sizeof(*ro)) {
			assert_non_null(ro = calloc(1, mi.value_size));
			assert_int_equal(bpf_map_lookup_elem(mfd, &zero, ro), 0);
			assert_int_equal(ro->trk_kcast, want);
			free(ro);
			found++;
		}
		close(mfd);
	}
	close(pfd);
	assert_int_equal(found, 1);
}

int main(int argc, char **argv)
{
	tracker_bpf_loader(argc, argv);   /* this binary is the tracker's loader too */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pwrite_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside_is_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_moved_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_syscalls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmap_polls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood_rescans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mprotect_polls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_uring_by_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_after_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_field_reads, setup, teardown),
	};

	struct tracker_sink none = { 0 };
	char *roots[1] = { "/tmp" }, err[256];
	struct tracker *t;
	int rc;

	log_init("test_tracker_bpf", LOG_LVL_INFO);
	trk_ops = &tracker_bpf_ops;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	/* Once more with the raw_tp/sys_exit program alone (the loader's
	 * fallback for kernels without tp_btf): where the tracker starts at
	 * all, it must start this way too, and behave the same. */
	if (trk_ops->start(&t, roots, 1, &none, err, sizeof(err)) < 0)
		return rc;
	trk_ops->stop(t);
	setenv("VIGIL_TEST_HOOKS", "1", 1);
	trk_must_start = true;
	/* kernel fields by bpf_probe_read_kernel, as before 6.2 */
	setenv("VIGIL_TEST_BPF_LOADER", "probe", 1);
	rc = cmocka_run_group_tests_name("probe_reads", tests, NULL, NULL) || rc;
	setenv("VIGIL_TEST_BPF_LOADER", "raw", 1);
	return cmocka_run_group_tests_name("raw_tp", tests, NULL, NULL) || rc;
}
