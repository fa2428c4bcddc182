/* pki_fixture.h — test helper shared by test_mux and test_bundle: a CA in a
 * temp dir (ca_init/ca_issue), and a TLS 1.3 pair over a socketpair. */
#ifndef VIGIL_TEST_PKI_FIXTURE_H
#define VIGIL_TEST_PKI_FIXTURE_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/tls.h"
#include "server/ca.h"

struct pki {
	char dir[64];
	X509 *ca;
	X509 *dev_cert, *ctl_cert;
	EVP_PKEY *dev_key, *ctl_key;
	SSL_CTX *sctx, *cctx;   /* server; client as device phone1 */
};

static inline int pki_setup(struct pki *p)
{
	char err[256];

	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "/tmp/vigil-pki-XXXXXX");
	if (!mkdtemp(p->dir) || ca_init(p->dir, err, sizeof(err)) < 0 ||
	    !(p->ca = ca_load_cert(p->dir, err, sizeof(err))) ||
	    ca_issue(p->dir, ROLE_DEVICE, "phone1", &p->dev_cert, &p->dev_key, err, sizeof(err)) < 0 ||
	    ca_issue(p->dir, ROLE_CONTROLLER, "ctl1", &p->ctl_cert, &p->ctl_key, err, sizeof(err)) < 0 ||
	    !(p->sctx = tls_server_ctx_new(p->dir, err, sizeof(err))) ||
	    !(p->cctx = tls_client_ctx_new(p->dev_cert, p->dev_key, p->ca, err, sizeof(err)))) {
		fprintf(stderr, "pki_setup: %s\n", err);
		return -1;
	}
	return 0;
}

static inline void pki_teardown(struct pki *p)
{
	static const char *const f[] = { "ca.pem", "ca/ca.key", "server.pem", "server.key" };
	char path[128];
	size_t i;

	X509_free(p->ca);
	X509_free(p->dev_cert);
	X509_free(p->ctl_cert);
	EVP_PKEY_free(p->dev_key);
	EVP_PKEY_free(p->ctl_key);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", p->dir, f[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/ca", p->dir);
	rmdir(path);
	rmdir(p->dir);
}

struct tls_pair {
	SSL_CTX *sctx;
	int sfd, cfd;
	SSL *ss, *cs;
	struct peer peer;
	int sr;
	char serr[256];
};

static inline void *tls_pair_server(void *arg)
{
	struct tls_pair *tp = arg;

	tp->sr = tls_server_handshake(tp->sctx, tp->sfd, 5000, &tp->ss, &tp->peer,
				      tp->serr, sizeof(tp->serr));
	return NULL;
}

/* Handshakes both ends over a socketpair; 0 when both succeeded. */
static inline int tls_pair_make(SSL_CTX *sctx, SSL_CTX *cctx, struct tls_pair *tp)
{
	pthread_t t;
	int sv[2], cr;
	char err[256];

	memset(tp, 0, sizeof(*tp));
	tp->sctx = sctx;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	tp->sfd = sv[0];
	tp->cfd = sv[1];
	pthread_create(&t, NULL, tls_pair_server, tp);
	cr = tls_client_handshake(cctx, tp->cfd, 5000, &tp->cs, err, sizeof(err));
	if (cr < 0)
		shutdown(tp->cfd, SHUT_RDWR);   /* unblock the server side */
	pthread_join(t, NULL);
	if (cr < 0 || tp->sr < 0) {
		fprintf(stderr, "tls_pair_make: client %d (%s), server %d (%s)\n",
			cr, cr < 0 ? err : "", tp->sr, tp->serr);
		SSL_free(tp->cs);
		SSL_free(tp->ss);
		close(tp->sfd);
		close(tp->cfd);
		return -1;
	}
	return 0;
}

#endif
