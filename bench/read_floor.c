/* read_floor.c — the CPU a cold read of SIZE MiB must spend on this host,
 * piece by piece, and the disk's durable write of the same bytes: the floor
 * under row f of throughput_bench.sh (docs/performance.md, "Round 8").
 *
 * Each piece is timed on its own (thread CPU time, best of 3) in the sizes
 * vigil uses: TLS 1.3 records of 16 KiB (AES-128-GCM, the suite both ends
 * pick), 64 KiB mux frames, 256 KiB pack reads, ~10 KiB records for the
 * CRC-32.  The sums at the end are what no implementation of a get or a
 * mount read can avoid here: each end's TLS, one check, one copy into or
 * out of the page cache, the socket.
 *
 * Usage: read_floor DIR [SIZE_MIB (256)]   (DIR on the disk a get writes
 * to; root, for drop_caches) */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "server/store/crc32.h"

static size_t total;
static uint8_t *src, *dst;

static double cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double wall_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "read_floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void aes_seal(void)
{
	static const uint8_t key[16] = { 1 }, iv[12] = { 2 };
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t tag[16];
	size_t o;
	int l;

	for (o = 0; o + 16384 <= total; o += 16384) {
		EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, iv);
		EVP_EncryptUpdate(c, dst + o, &l, src + o, 16384);
		EVP_EncryptFinal_ex(c, dst + o, &l);
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
	}
	EVP_CIPHER_CTX_free(c);
}

/* Decrypts what aes_seal left in dst (the tags are not checked: the cost
 * of the check is the GHASH, which the decryption computes anyway). */
static void aes_open(void)
{
	static const uint8_t key[16] = { 1 }, iv[12] = { 2 };
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	size_t o;
	int l;

	for (o = 0; o + 16384 <= total; o += 16384) {
		EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, iv);
		EVP_DecryptUpdate(c, src + o, &l, dst + o, 16384);
	}
	EVP_CIPHER_CTX_free(c);
}

static void sha256(void)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t md[32];
	unsigned ml;
	size_t o;

	EVP_DigestInit_ex(m, EVP_sha256(), NULL);
	for (o = 0; o < total; o += 65536)
		EVP_DigestUpdate(m, src + o, 65536);
	EVP_DigestFinal_ex(m, md, &ml);
	EVP_MD_CTX_free(m);
}

static void xxh3(void)
{
	XXH3_state_t *x = XXH3_createState();
	size_t o;

	XXH3_128bits_reset(x);
	for (o = 0; o < total; o += 65536)
		XXH3_128bits_update(x, src + o, 65536);
	(void)XXH3_128bits_digest(x);
	XXH3_freeState(x);
}

static void crc(void)
{
	volatile uint32_t v = 0;
	size_t o;

	for (o = 0; o + 10240 <= total; o += 10240)
		v ^= crc32_fast(0, src + o, 10240);
}

static void copy(void)
{
	size_t o;

	for (o = 0; o < total; o += 65536)
		memcpy(dst + o, src + o, 65536);
}

static char path[4096];

static void write_file(int sync)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t o;

	if (fd < 0)
		die(path);
	for (o = 0; o < total; o += 1 << 20)
		if (write(fd, src + o, 1 << 20) != 1 << 20)
			die("write");
	if (sync && fsync(fd) < 0)
		die("fsync");
	close(fd);
}

static void page_cache_write(void) { write_file(0); }

static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	sync();
	if (fd < 0 || write(fd, "1", 1) != 1)
		die("/proc/sys/vm/drop_caches");
	close(fd);
}

static void pread_file(void)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t o;

	if (fd < 0)
		die(path);
	for (o = 0; o < total; o += 262144)
		if (pread(fd, dst + o, 262144, (off_t)o) < 0)
			die("pread");
	close(fd);
}

/* cold: drop the file's pages first (outside the timed part) */
static double timed(void (*fn)(void), int cold)
{
	double best = 1e9, t;
	int i;

	for (i = 0; i < 3; i++) {
		if (cold)
			drop_caches();
		t = cpu_now();
		fn();
		t = cpu_now() - t;
		if (t < best)
			best = t;
	}
	return best;
}

static double rx_cpu;

static void *receiver(void *arg)
{
	int c = accept(*(int *)arg, NULL, NULL);
	size_t got = 0;
	double t = cpu_now();
	ssize_t n;

	while (c >= 0 && got < total && (n = read(c, dst, 65536)) > 0)
		got += (size_t)n;
	rx_cpu = cpu_now() - t;
	if (c >= 0)
		close(c);
	return NULL;
}

/* TCP over loopback, 64 KiB writes and reads: sender's and receiver's CPU */
static void tcp(double *tx, double *rx)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s;
	pthread_t th;
	size_t o;
	double t;

	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0 || listen(ls, 1) < 0)
		die("socket");
	if (pthread_create(&th, NULL, receiver, &ls) != 0)
		die("pthread_create");
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	t = cpu_now();
	for (o = 0; o < total; o += 65536)
		if (write(s, src + o, 65536) != 65536)
			die("send");
	*tx = cpu_now() - t;
	close(s);
	pthread_join(th, NULL);
	*rx = rx_cpu;
	close(ls);
}

int main(int argc, char **argv)
{
	double seal, open_, sha, xx, crc_, cp, pcw, prc, prw, tx, rx, dur = 1e9, t;
	double srv_get, cli_get, srv_mnt, cli_mnt;
	size_t i;
	int n;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: read_floor DIR [SIZE_MIB]\n");
		return 2;
	}
	total = (size_t)(argc > 2 ? strtoul(argv[2], NULL, 10) : 256) << 20;
	n = snprintf(path, sizeof(path), "%s/read_floor.%d", argv[1], (int)getpid());
	if (total == 0 || n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "read_floor: bad size or directory\n");
		return 2;
	}
	if (!(src = malloc(total)) || !(dst = malloc(total)))
		die("malloc");
	for (i = 0; i < total; i++)
		src[i] = (uint8_t)((i * 2654435761u) >> 13);
	memset(dst, 1, total);

	seal = timed(aes_seal, 0);
	open_ = timed(aes_open, 0);
	sha = timed(sha256, 0);
	xx = timed(xxh3, 0);
	crc_ = timed(crc, 0);
	cp = timed(copy, 0);
	pcw = timed(page_cache_write, 0);
	prc = timed(pread_file, 1);
	prw = timed(pread_file, 0);
	tcp(&tx, &rx);
	for (i = 0; i < 3; i++) {
		drop_caches();
		t = wall_now();
		write_file(1);
		t = wall_now() - t;
		if (t < dur)
			dur = t;
	}
	unlink(path);

	printf("CPU seconds per %zu MiB (best of 3):\n", total >> 20);
	printf("  %-46s %6.3f\n", "AES-128-GCM seal, 16 KiB records (TLS send)", seal);
	printf("  %-46s %6.3f\n", "AES-128-GCM open, 16 KiB records (TLS recv)", open_);
	printf("  %-46s %6.3f\n", "SHA-256", sha);
	printf("  %-46s %6.3f\n", "XXH3-128 (get's check while sha256 pending)", xx);
	printf("  %-46s %6.3f\n", "CRC-32, 10 KiB records (the store's check)", crc_);
	printf("  %-46s %6.3f\n", "memcpy, 64 KiB", cp);
	printf("  %-46s %6.3f\n", "write(2) into the page cache, 1 MiB", pcw);
	printf("  %-46s %6.3f\n", "pread(2) cold, 256 KiB", prc);
	printf("  %-46s %6.3f\n", "pread(2) warm, 256 KiB", prw);
	printf("  %-46s %6.3f\n", "TCP loopback send, 64 KiB", tx);
	printf("  %-46s %6.3f\n", "TCP loopback recv, 64 KiB", rx);
	printf("wall seconds: write + fsync of %zu MiB (the disk's durable write) %.3f (%.0f MiB/s)\n",
	       total >> 20, dur, (double)(total >> 20) / dur);
	/* the floor: each end's TLS and socket, one check, one copy into or
	 * out of the page cache (a mount's second is the reader's read(2),
	 * about a warm pread) */
	srv_get = prc + crc_ + seal + tx;
	cli_get = rx + open_ + xx + pcw;
	srv_mnt = prc + sha + seal + tx;
	cli_mnt = rx + open_ + cp + prw;
	printf("floor, get (checked by the digest; +%.3f by sha256): server %.3f + client %.3f = %.3f CPU-s,"
	       " %.3f s on 2 CPUs\n", sha - xx, srv_get, cli_get, srv_get + cli_get, (srv_get + cli_get) / 2);
	printf("floor, mount + cat: server %.3f + mount and reader %.3f = %.3f CPU-s, %.3f s on 2 CPUs\n",
	       srv_mnt, cli_mnt, srv_mnt + cli_mnt, (srv_mnt + cli_mnt) / 2);
	free(src);
	free(dst);
	return 0;
}
