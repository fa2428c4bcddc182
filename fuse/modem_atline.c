/* modem_atline.c — one reply line of each command the AT modem source
 * sends, parsed into values: no I/O, so the unit tests and the fuzzer
 * drive these directly with hostile lines.  Each returns -EINVAL for a
 * line it cannot take whole; the callers skip such a line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/modem_at.h"

#define PB_IDX_MAX 65535u

static bool
prefixed(const char *line, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);

	if (strncmp(line, prefix, n) != 0)
		return false;
	for (*rest = line + n; **rest == ' '; (*rest)++)
		;
	return true;
}

enum mat_cpin
mat_cpin(const char *line)
{
	const char *v;

	if (!prefixed(line, "+CPIN:", &v))
		return MAT_CPIN_NONE;
	if (strcmp(v, "READY") == 0)
		return MAT_CPIN_READY;
	if (strcmp(v, "NOT READY") == 0)
		return MAT_CPIN_NOT_READY;
	if (strstr(v, "PIN") != NULL || strstr(v, "PUK") != NULL)
		return MAT_CPIN_LOCKED;         /* present; a PIN or PUK asked */
	return MAT_CPIN_NONE;
}

/* "+QCCID: 8986...", "+CCID: \"8986...\"", a bare "8986...F": 10..22
 * digits, the trailing F some SIMs pad an odd-length ICCID with dropped. */
int
mat_iccid(const char *line, char *out, size_t outlen)
{
	const char *p = line;
	size_t n;

	if (*p == '+' || *p == '^')
		p = strchr(p, ':') != NULL ? strchr(p, ':') + 1 : p + strlen(p);
	p += strspn(p, " \"");
	n = strspn(p, "0123456789");
	while (p[n] == 'F' || p[n] == 'f')
		n++;
	if (p[n] != '\0' && strcmp(p + n, "\"") != 0)
		return -EINVAL;
	while (n > 0 && (p[n - 1] == 'F' || p[n - 1] == 'f'))
		n--;
	if (n < 10 || n > 22 || n >= outlen || strspn(p, "0123456789") < n)
		return -EINVAL;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* AT+CIMI answers a bare line of 5..15 digits. */
int
mat_imsi(const char *line, char *out, size_t outlen)
{
	size_t n = strlen(line);

	if (n < 5 || n > 15 || n >= outlen || strspn(line, "0123456789") != n)
		return -EINVAL;
	memcpy(out, line, n + 1);
	return 0;
}

/* +CNUM: "alpha","number",type */
int
mat_cnum(const char *line, char *out, size_t outlen)
{
	struct mat_field f[3];
	unsigned type;

	if (mat_fields(line, "+CNUM:", f, 3) != 3 || mat_uint(&f[2], 255, &type) != 0)
		return -EINVAL;
	return mat_number(&f[1], (int)type, out, outlen) == 0 ? 0 : -EINVAL;
}

/* +COPS: mode[,format,"oper"[,act]]: format 0/1 alphanumeric (UCS2 hex
 * in UCS2 charset), 2 numeric.  -ENOENT: no operator (mode only). */
int
mat_cops(const char *line, bool ucs2, char *out, size_t outlen)
{
	struct mat_field f[4];
	unsigned fmt;
	int n = mat_fields(line, "+COPS:", f, 4);

	if (n >= 1 && n < 3)
		return -ENOENT;
	if (n < 3 || mat_uint(&f[1], 2, &fmt) != 0)
		return -EINVAL;
	return mat_text(&f[2], fmt != 2 && ucs2, out, outlen);
}

/* +CPBR: (1-250),40,14 */
int
mat_cpbr_range(const char *line, unsigned *first, unsigned *last)
{
	const char *p;
	char *end;
	unsigned long a, b;

	if (!prefixed(line, "+CPBR:", &p) || *p++ != '(' || *p < '0' || *p > '9')
		return -EINVAL;
	a = strtoul(p, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		return -EINVAL;
	b = strtoul(end + 1, &end, 10);
	if (*end != ')' || a > b || b > PB_IDX_MAX)
		return -EINVAL;
	*first = (unsigned)a;
	*last = (unsigned)b;
	return 0;
}

/* +CPBR: index,"number",type[,"text"[,...]]: the number as mat_number()
 * takes it, the name UCS2 hex in UCS2 charset (may be absent: ""). */
int
mat_cpbr_entry(const char *line, bool ucs2, struct sim_contact *e)
{
	struct mat_field f[4];
	unsigned idx, type;
	int nf = mat_fields(line, "+CPBR:", f, 4);

	memset(e, 0, sizeof(*e));
	if (nf < 3 || mat_uint(&f[0], PB_IDX_MAX, &idx) != 0 || mat_uint(&f[2], 255, &type) != 0 ||
	    mat_number(&f[1], (int)type, e->number, sizeof(e->number)) != 0 ||
	    (nf >= 4 && mat_text(&f[3], ucs2, e->name, sizeof(e->name)) != 0)) {
		memset(e, 0, sizeof(*e));
		return -EINVAL;
	}
	e->index = idx;
	e->type = (int)type;
	return 0;
}

/* +CMGL: index,stat,[alpha],length (PDU mode; stat 0..3) */
int
mat_cmgl_header(const char *line, unsigned *index, unsigned *stat)
{
	struct mat_field f[2];

	if (mat_fields(line, "+CMGL:", f, 2) != 2 || mat_uint(&f[0], 65535, index) != 0 ||
	    mat_uint(&f[1], SMS_SENT, stat) != 0)
		return -EINVAL;
	return 0;
}
