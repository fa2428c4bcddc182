/* uring_write.c — writes DATA at OFF of FILE through io_uring (liburing),
 * for t_tracker.sh: the write does not pass the syscall tracepoints.
 *   uring_write FILE OFF DATA */
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int fd, rc;

	if (argc != 4) {
		fprintf(stderr, "usage: uring_write FILE OFF DATA\n");
		return 2;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || (rc = io_uring_queue_init(4, &ring, 0)) < 0) {
		perror("uring_write: setup");
		return 1;
	}
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_write(sqe, fd, argv[3], strlen(argv[3]), atol(argv[2]));
	if (io_uring_submit(&ring) != 1 || io_uring_wait_cqe(&ring, &cqe) < 0 ||
	    cqe->res != (int)strlen(argv[3])) {
		fprintf(stderr, "uring_write: write failed\n");
		return 1;
	}
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	close(fd);
	return 0;
}
