/* modem_at.h — internals of the AT modem source (modem_at_ops), shared by
 * its files: modem_at.c (the ops and one read's order), modem_atid.c
 * (identity), modem_atpb.c (phonebook), modem_atsms.c (SMS),
 * modem_atline.c (one reply line of each command) and modem_atfield.c
 * (reply fields, numbers, text).  Not for other users. */
#ifndef VIGIL_FUSE_MODEM_AT_H
#define VIGIL_FUSE_MODEM_AT_H

#include <stdbool.h>
#include <stddef.h>

#include "fuse/at.h"
#include "fuse/sim.h"

/* One read of the SIM: the port and what the read learnt on the way. */
struct mat_ctx {
	struct at_port *port;
	bool *ucs2;             /* the modem's charset is UCS2 now (AT+CSCS) */
	int fatal;              /* -EPIPE or -ETIMEDOUT seen: send nothing more */
	const char *failed;     /* the command that set fatal */
};

/* at_cmd() with MODEM_CMD_TIMEOUT_MS.  After -EPIPE or -ETIMEDOUT the
 * modem is not answering: later calls return that error at once, so a
 * silent modem costs one timeout per read, not one per command. */
int mat_cmd(struct mat_ctx *c, const char *cmd, const char *prefix, at_line_fn fn, void *arg,
	    int *cme);

/* One field of a reply such as +CPBR: 1,"123",129,"5F204E09". */
struct mat_field {
	const char *s;          /* not NUL-terminated; quotes removed */
	size_t n;
	bool quoted;
};

/* Splits line after prefix (NULL: none) into at most max fields (more are
 * ignored).  Returns the count, or -EINVAL (wrong prefix, a quote not
 * closed, text after a closing quote). */
int mat_fields(const char *line, const char *prefix, struct mat_field *f, int max);
/* A decimal field of 1..9 digits, at most max.  0 or -EINVAL. */
int mat_uint(const struct mat_field *f, unsigned max, unsigned *out);
/* A dialling number: plain, or UCS2 hex of digits (some modems in UCS2
 * charset); type 145 gets a leading '+'.  0, or -EINVAL (empty, a byte
 * that is no dialling digit) / -ENAMETOOLONG. */
int mat_number(const struct mat_field *f, int type, char *out, size_t outlen);
/* Text: UCS2 hex decoded when ucs2, else ASCII with other bytes as '?'.
 * Cut to outlen.  0 or -EINVAL (bad hex). */
int mat_text(const struct mat_field *f, bool ucs2, char *out, size_t outlen);

/* Reply lines (modem_atline.c): 0 or -EINVAL, outputs untouched or
 * emptied on failure. */
enum mat_cpin { MAT_CPIN_NONE, MAT_CPIN_READY, MAT_CPIN_LOCKED, MAT_CPIN_NOT_READY };
enum mat_cpin mat_cpin(const char *line);
int mat_iccid(const char *line, char *out, size_t outlen);
int mat_imsi(const char *line, char *out, size_t outlen);
int mat_cnum(const char *line, char *out, size_t outlen);
int mat_cops(const char *line, bool ucs2, char *out, size_t outlen);   /* -ENOENT: none */
int mat_cpbr_range(const char *line, unsigned *first, unsigned *last);
int mat_cpbr_entry(const char *line, bool ucs2, struct sim_contact *e);
int mat_cmgl_header(const char *line, unsigned *index, unsigned *stat);

/* True for an unsolicited code that says the SIM or its content changed. */
bool mat_sim_urc(const char *line);

/* The parts of one read, each 0 or the fatal -errno (c->fatal). */
int mat_identity(struct mat_ctx *c, struct sim_identity *id, char *err, size_t errlen);
int mat_phonebook(struct mat_ctx *c, struct sim_snapshot *out);
int mat_sms(struct mat_ctx *c, struct sim_snapshot *out);

#endif
