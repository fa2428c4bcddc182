/* cmdforge.c — test harness: builds a command body as a controller (or an
 * attacker) would and prints "BODYHEX SIGHEX", for t_commands.sh to place
 * straight into the server's queue, as a compromised server could.
 *
 *   cmdforge --device NAME --action ACTION --seq N [--controller NAME]
 *            [--bundle CTL.bundle | --random-key | --key PEM] [--zero-sig]
 *            [--expires-in SECONDS] [--path P] [--trust-name N]
 *
 * --bundle signs with that controller bundle's key (its name is the
 * default --controller); --random-key signs with a fresh key nobody
 * trusts; --zero-sig sends 64 zero bytes as the signature. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bundle.h"
#include "common/command.h"
#include "common/sign.h"

static int action_of(const char *s)
{
	for (int a = CMD_FREEZE; a <= CMD_FETCH; a++)
		if (!strcmp(command_action_name((uint8_t)a), s))
			return a;
	return -1;
}

static void hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", 1, NULL, 'd' }, { "action", 1, NULL, 'a' }, { "seq", 1, NULL, 's' },
		{ "controller", 1, NULL, 'c' }, { "bundle", 1, NULL, 'b' },
		{ "random-key", 0, NULL, 'r' }, { "zero-sig", 0, NULL, 'z' },
		{ "expires-in", 1, NULL, 'e' }, { "path", 1, NULL, 'p' },
		{ "trust-name", 1, NULL, 't' }, { "key", 1, NULL, 'k' }, { NULL, 0, NULL, 0 } };
	struct vg_command c = { .format = CMD_FORMAT };
	uint8_t sig[SIGN_SIG_LEN] = { 0 };
	struct bundle *b = NULL;
	EVP_PKEY *key = NULL, *file_key = NULL;
	long long expires_in = 3600;
	bool zero = false, random_key = false;
	char err[256];
	struct buf body;
	int opt, a;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': snprintf(c.device, sizeof(c.device), "%s", optarg); break;
		case 'a':
			if ((a = action_of(optarg)) < 0)
				return fprintf(stderr, "cmdforge: bad action\n"), 2;
			c.action = (uint8_t)a;
			break;
		case 's': c.seq = strtoull(optarg, NULL, 10); break;
		case 'c': snprintf(c.controller, sizeof(c.controller), "%s", optarg); break;
		case 'b':
			if (bundle_load(optarg, &b, err, sizeof(err)) < 0)
				return fprintf(stderr, "cmdforge: %s\n", err), 1;
			break;
		case 'r': random_key = true; break;
		case 'z': zero = true; break;
		case 'e': expires_in = strtoll(optarg, NULL, 10); break;
		case 'p': snprintf(c.path, sizeof(c.path), "%s", optarg); break;
		case 't': snprintf(c.trust_name, sizeof(c.trust_name), "%s", optarg); break;
		case 'k':
			if (sign_key_load(optarg, &file_key, err, sizeof(err)) < 0)
				return fprintf(stderr, "cmdforge: %s\n", err), 1;
			break;
		default: return 2;
		}
	}
	if (b && !c.controller[0])
		snprintf(c.controller, sizeof(c.controller), "%s", b->name);
	c.issued_ns = (int64_t)time(NULL) * 1000000000LL;
	c.expires_ns = c.issued_ns + expires_in * 1000000000LL;
	key = random_key ? sign_keygen() : file_key ? file_key : b ? b->sign_key : NULL;
	buf_init(&body, CMD_BODY_MAX);
	if (command_encode(&c, &body) < 0)
		return fprintf(stderr, "cmdforge: cannot encode\n"), 1;
	if (!zero && (!key || command_sign(key, body.data, body.len, sig) < 0))
		return fprintf(stderr, "cmdforge: cannot sign\n"), 1;
	hex(body.data, body.len);
	printf(" ");
	hex(sig, sizeof(sig));
	printf("\n");
	if (random_key)
		EVP_PKEY_free(key);
	EVP_PKEY_free(file_key);
	buf_free(&body);
	bundle_free(b);
	return 0;
}
