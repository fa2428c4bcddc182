/* at.h — the AT command layer of vigil-simfs (3GPP TS 27.007, V.250).
 *
 * Two halves.  The pure half splits bytes from the modem into lines and
 * classifies them (echo, final result code, unsolicited result code, reply
 * line); it does no I/O and is what the unit tests and the fuzzer drive.
 * The port half owns a serial fd: at_cmd() sends one command and collects
 * its reply lines until the final result code or a per-command timeout.
 *
 * Rules: a line is at most AT_LINE_MAX bytes (longer: dropped whole, the
 * command fails with -EMSGSIZE); one reply is at most AT_REPLY_LINES lines
 * and AT_REPLY_BYTES bytes (more: -EMSGSIZE once the final code came, the
 * excess discarded).  Unsolicited codes (RING, +CMTI, +CDSI, +QIND,
 * +QSIMSTAT, +CPIN: NOT READY, +CREG/+CGREG/+CEREG, ^...) are never taken
 * for a reply: they go to the port's URC callback, also while a command
 * waits.  A line carrying the command's expected prefix is a reply line
 * even when it looks like a URC (AT+CPIN? answers "+CPIN: READY").
 * The echo of the command (modem in ATE1) is skipped. */
#ifndef VIGIL_FUSE_AT_H
#define VIGIL_FUSE_AT_H

#include <stdbool.h>
#include <stddef.h>

#define AT_LINE_MAX     1024
#define AT_REPLY_LINES  2048
#define AT_REPLY_BYTES  (512 * 1024)

/* ------------------------------------------------------------ pure half */

/* Splits a byte stream into lines: CR, LF or CRLF end a line; empty lines
 * are skipped; NUL bytes and other control bytes except TAB are dropped.
 * A line longer than AT_LINE_MAX is reported once as overlong (its text
 * truncated) when its end arrives. */
struct at_splitter {
	char line[AT_LINE_MAX + 1];
	size_t len;
	bool overlong;
};

enum at_split { AT_SPLIT_NONE, AT_SPLIT_LINE, AT_SPLIT_OVERLONG };

void at_splitter_init(struct at_splitter *sp);
/* Consumes bytes from *p (advancing *p and decreasing *n) until a line is
 * complete: then returns AT_SPLIT_LINE (or _OVERLONG) with the line in
 * sp->line (NUL-terminated).  AT_SPLIT_NONE when all input was consumed
 * without completing one.  A "> " prompt counts as a line of its own. */
enum at_split at_splitter_feed(struct at_splitter *sp, const char **p, size_t *n);

enum at_final {
	AT_FINAL_NONE = 0,      /* not a final result code */
	AT_FINAL_OK,
	AT_FINAL_ERROR,         /* ERROR, NO CARRIER, NO DIALTONE, BUSY, NO ANSWER */
	AT_FINAL_CME,           /* +CME ERROR: <n> (code in *code, -1 when textual) */
	AT_FINAL_CMS,           /* +CMS ERROR: <n> */
};
enum at_final at_final_code(const char *line, int *code);

/* True for the unsolicited result codes listed above. */
bool at_is_urc(const char *line);

/* --------------------------------------------------------------- port */

struct at_port;

/* Called for each unsolicited line, from inside at_cmd() or at_read_urcs(). */
typedef void (*at_urc_fn)(void *arg, const char *line);
/* Called for each reply line of a command; nonzero stops collecting (the
 * command still runs to its final code) and is returned by at_cmd(). */
typedef int (*at_line_fn)(void *arg, const char *line);

/* Opens a serial device: O_NOCTTY, close-on-exec, TIOCEXCL (a second opener
 * gets EBUSY), termios raw 8N1 at baud (0: leave the speed), no flow
 * control, and drains what was pending.  Also accepts a pty (tests).
 * 0 or -errno. */
int at_open(const char *path, unsigned baud, at_urc_fn urc, void *arg, struct at_port **out);
void at_close(struct at_port *p);                /* NULL-safe */
int at_fd(const struct at_port *p);              /* for poll(); readable: at_read_urcs() */

/* Sends cmd (without "\r") and collects its reply lines: those starting
 * with prefix (e.g. "+CPBR:"; NULL: every non-URC line) are passed to
 * line().  Returns 0 on OK; -EIO on ERROR, *err set to the CME/CMS code or
 * -1 (err may be NULL); -ETIMEDOUT when no final code came within
 * timeout_ms; -EMSGSIZE for an over-long line or reply; -EPIPE when the
 * device hung up or went away (close the port and reopen later); or the
 * callback's own nonzero value.  A timed-out command leaves the port
 * usable: its late lines are discarded by the next at_cmd(). */
int at_cmd(struct at_port *p, const char *cmd, const char *prefix, int timeout_ms,
	   at_line_fn line, void *arg, int *err);

/* Reads what is pending without blocking and passes unsolicited lines to
 * the URC callback (other lines are dropped).  0, or -EPIPE on hang-up. */
int at_read_urcs(struct at_port *p);

#endif
