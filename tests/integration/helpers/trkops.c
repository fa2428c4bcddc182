/* trkops.c — file operations that have no shell command, for
 * t_tracker.sh: each subcommand does one syscall (or a small sequence) and
 * exits 0, or prints why and exits 1.  Legacy calls go by syscall number so
 * glibc cannot substitute the *at() form.
 *   trkops writev F DATA...        append DATA... with one writev
 *   trkops pwrite F OFF DATA       pwrite64 at OFF
 *   trkops pwritev2 F OFF DATA     pwritev2 at OFF
 *   trkops cfr SRC DST OFF         copy_file_range all of SRC to DST at OFF
 *   trkops sendfile SRC DST        sendfile SRC into DST (O_APPEND-less, at 0)
 *   trkops splice SRC DST OFF      SRC -> pipe -> DST at OFF
 *   trkops ficlone SRC DST         ioctl(FICLONE)
 *   trkops mmap F OFF DATA sync|nosync   MAP_SHARED write
 *   trkops mprotect F OFF DATA     map read-only, mprotect +W, write, msync
 *   trkops openat2trunc F DATA     openat2(O_TRUNC) and write
 *   trkops creat F DATA | open F DATA (legacy open O_CREAT|O_TRUNC)
 *   trkops rename|link|symlink A B ; unlink|rmdir|mkdir P ; chmod P MODE ;
 *   trkops chown P UID GID ; truncate P LEN ; renameat2x A B (RENAME_EXCHANGE)
 *   trkops flood DIR N             create, write and delete N files fast */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define OK(x) do { if ((x) < 0) { fprintf(stderr, "trkops: %s: %s\n", #x, strerror(errno)); exit(1); } } while (0)

static int xopen(const char *p, int fl)
{
	int fd = open(p, fl, 0644);

	OK(fd);
	return fd;
}

static void do_map(const char *p, long off, const char *data, int prot, int upgrade, int sync)
{
	int fd = xopen(p, O_RDWR);
	struct stat st;
	char *m;

	OK(fstat(fd, &st));
	m = mmap(NULL, st.st_size, prot, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	close(fd);
	if (upgrade)
		OK(mprotect(m, st.st_size, PROT_READ | PROT_WRITE));
	memcpy(m + off, data, strlen(data));
	if (sync)
		OK(msync(m, st.st_size, MS_SYNC));
	/* exit without munmap: the tracker must see the exit */
}

static void flood(const char *dir, long n)
{
	char p[4096];

	for (long i = 0; i < n; i++) {
		int fd;

		snprintf(p, sizeof(p), "%s/flood-%07ld-a-long-name-to-fill-the-ring-buffer-quickly-xxxxxxxxxxxxxxxxxxxxxxxx", dir, i);
		fd = xopen(p, O_WRONLY | O_CREAT | O_TRUNC);
		OK(write(fd, "f", 1));
		close(fd);
		if (i % 64 != 0)          /* keep one in 64: they must all reach the server */
			OK(unlink(p));
	}
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	int fd, fd2;

	if (argc < 3)
		goto usage;
	if (!strcmp(c, "writev")) {
		struct iovec iov[8];
		int n = 0;

		for (int i = 3; i < argc && n < 8; i++, n++)
			iov[n] = (struct iovec){ argv[i], strlen(argv[i]) };
		fd = xopen(argv[2], O_WRONLY | O_APPEND);
		OK(writev(fd, iov, n));
	} else if (!strcmp(c, "pwrite") && argc == 5) {
		fd = xopen(argv[2], O_WRONLY);
		OK(pwrite(fd, argv[4], strlen(argv[4]), atol(argv[3])));
	} else if (!strcmp(c, "pwritev2") && argc == 5) {
		struct iovec iov = { argv[4], strlen(argv[4]) };

		fd = xopen(argv[2], O_WRONLY);
		OK(pwritev2(fd, &iov, 1, atol(argv[3]), 0));
	} else if (!strcmp(c, "cfr") && argc == 5) {
		struct stat st;
		loff_t out = atol(argv[4]);

		fd = xopen(argv[2], O_RDONLY);
		fd2 = xopen(argv[3], O_WRONLY);
		OK(fstat(fd, &st));
		OK(copy_file_range(fd, NULL, fd2, &out, st.st_size, 0));
	} else if (!strcmp(c, "sendfile") && argc == 4) {
		struct stat st;

		fd = xopen(argv[2], O_RDONLY);
		fd2 = xopen(argv[3], O_WRONLY | O_CREAT | O_TRUNC);
		OK(fstat(fd, &st));
		OK(sendfile(fd2, fd, NULL, st.st_size));
	} else if (!strcmp(c, "splice") && argc == 5) {
		int pp[2];
		loff_t out = atol(argv[4]);
		ssize_t n;

		fd = xopen(argv[2], O_RDONLY);
		fd2 = xopen(argv[3], O_WRONLY);
		OK(pipe(pp));
		OK(n = splice(fd, NULL, pp[1], NULL, 65536, 0));
		OK(splice(pp[0], NULL, fd2, &out, n, 0));
	} else if (!strcmp(c, "ficlone") && argc == 4) {
		fd = xopen(argv[2], O_RDONLY);
		fd2 = xopen(argv[3], O_WRONLY | O_CREAT | O_TRUNC);
		OK(ioctl(fd2, FICLONE, fd));
	} else if (!strcmp(c, "mmap") && argc == 6) {
		do_map(argv[2], atol(argv[3]), argv[4], PROT_READ | PROT_WRITE, 0,
		       !strcmp(argv[5], "sync"));
	} else if (!strcmp(c, "mprotect") && argc == 5) {
		do_map(argv[2], atol(argv[3]), argv[4], PROT_READ, 1, 1);
	} else if (!strcmp(c, "openat2trunc") && argc == 4) {
		struct open_how how = { .flags = O_WRONLY | O_TRUNC | O_CREAT, .mode = 0644 };

		OK(fd = syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof(how)));
		OK(write(fd, argv[3], strlen(argv[3])));
	} else if (!strcmp(c, "creat") && argc == 4) {
		OK(fd = syscall(SYS_creat, argv[2], 0644));
		OK(write(fd, argv[3], strlen(argv[3])));
	} else if (!strcmp(c, "open") && argc == 4) {
		OK(fd = syscall(SYS_open, argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644));
		OK(write(fd, argv[3], strlen(argv[3])));
	} else if (!strcmp(c, "rename") && argc == 4) {
		OK(syscall(SYS_rename, argv[2], argv[3]));
	} else if (!strcmp(c, "renameat2x") && argc == 4) {
		OK(syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_EXCHANGE));
	} else if (!strcmp(c, "link") && argc == 4) {
		OK(syscall(SYS_link, argv[2], argv[3]));
	} else if (!strcmp(c, "symlink") && argc == 4) {
		OK(syscall(SYS_symlink, argv[2], argv[3]));
	} else if (!strcmp(c, "unlink")) {
		OK(syscall(SYS_unlink, argv[2]));
	} else if (!strcmp(c, "rmdir")) {
		OK(syscall(SYS_rmdir, argv[2]));
	} else if (!strcmp(c, "mkdir")) {
		OK(syscall(SYS_mkdir, argv[2], 0755));
	} else if (!strcmp(c, "chmod") && argc == 4) {
		OK(syscall(SYS_chmod, argv[2], strtol(argv[3], NULL, 8)));
	} else if (!strcmp(c, "chown") && argc == 5) {
		OK(syscall(SYS_chown, argv[2], strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10)));
	} else if (!strcmp(c, "truncate") && argc == 4) {
		OK(syscall(SYS_truncate, argv[2], atol(argv[3])));
	} else if (!strcmp(c, "flood") && argc == 4) {
		flood(argv[2], atol(argv[3]));
	} else {
		goto usage;
	}
	return 0;
usage:
	fprintf(stderr, "trkops: bad arguments (see the comment at the top)\n");
	return 2;
}
