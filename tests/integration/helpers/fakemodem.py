#!/usr/bin/python3
"""fakemodem.py — a pty that answers AT commands like a Quectel EG25-G, for
vigil-simfs's tests (standard library only; run with /usr/bin/python3).

    fakemodem.py --link PATH --control FIFO [--log FILE]

Creates a pty, symlinks PATH to its slave (the "serial port"; the link is
made last, so once it exists the control FIFO is ready too) and answers
commands written to it.  Control lines are written to FIFO (created if
missing), e.g. `echo swap > FIFO`.  Control lines written before an AT
command is sent always take effect before that command is answered (the
FIFO is drained before each command), so a test needs no sleeps.

Control lines:
  swap [ICCID IMSI]   another SIM (no arguments: toggles between SIM A and
                      SIM B below; with them: SIM B's content under that
                      ICCID/IMSI).  URCs: +QSIMSTAT: 1,0, +QSIMSTAT: 1,1,
                      +CPIN: READY
  remove | insert     SIM out (+QSIMSTAT: 1,0; AT+CPIN? -> +CME ERROR: 10)
                      / back in (+QSIMSTAT: 1,1, +CPIN: READY)
  pin on|off          the SIM asks for its PIN (+CPIN: SIM PIN; reading the
                      IMSI, phonebook and SMS fails with CME 11)
  pb-set INDEX TYPE NUMBER [NAME...]   store an entry (NAME in UTF-8)
  pb-del INDEX
  sms-add INDEX STAT HEX         a PDU as AT+CMGL lists it (SMSC first)
  sms-text INDEX SENDER TEXT...  encoded by smspdu.py; a long text becomes
                                 concatenated parts at INDEX, INDEX+1, ...
  sms-del INDEX
  urc TEXT            writes TEXT as an unsolicited line now
  after N LINE        applies control LINE just before answering the Nth
                      AT command from now (e.g. `after 7 swap`: a SIM swap
                      in the middle of a read)
  interleave on|off   a URC between each command's echo and its reply, and
                      one after the first line of a multi-line reply
  numhex on|off       phonebook numbers as UCS2 hex in UCS2 charset (as
                      some modems do; the EG25-G sends plain digits)
  mode normal|garbage|truncate|overlong|silent
                      replies: as usual / random bytes and no final code /
                      cut before the final code / a 100 KB line first /
                      nothing at all
  vanish SECONDS      closes the pty (the tty hangs up), removes PATH, and
                      after SECONDS makes a new pty and links PATH again
                      (the modem starts afresh: echo on, IRA charset)
  quit

Defaults.  SIM A: ICCID 89860012345678901234, IMSI 460001234567890,
operator "CHINA MOBILE", own number +8613800138000.  Phonebook (1-250):
   1 145 +8613800138001 张三         2 145 8613800138002 "Mia 😀"
   3 129 10086 (empty name)          4 129 13912345678 李四
  42 129 075512345678 "Smith, John"  250 145 +447700900250 Last
SMS: 1 GSM 7-bit from +8613912345678 "Hello from vigil! Price: 5€ [ok]";
2 UCS2 from +8613800138001 "你好，明天见😀"; 3-5 one message in 3 parts
from +8613800138002 (LONG_TEXT below).
SIM B: ICCID 8944110012345678901 (19 digits: reported with a trailing F),
IMSI 234150987654321, operator "vodafone UK", own +447700900999,
phonebook 1 145 +447700900123 Alice, 2 129 07700900456 Bob; SMS 1 from
+447700900000 "Welcome to vodafone".

The modem starts with echo on (ATE0 turns it off), +CMEE=1 (numeric
errors; 2 textual, 0 bare ERROR), charset IRA.  Bad input never stops it:
unknown commands get ERROR, anything else that fails is logged.

The fake keeps its own descriptor of the slave open, so the pty never
reports a hang-up between two users; a tty made exclusive (TIOCEXCL) by a
user stays so after it closes, which root (the tests) may ignore.
"""

import argparse
import errno
import os
import pty
import select
import signal
import sys
import time
import tty

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

LONG_TEXT = ("This is a long message stored on the SIM in three parts. " * 7)[:400]
OUT_MAX = 1 << 20          # bytes queued for the pty at most
CMD_MAX = 4096             # a command line longer than this is dropped
URCS = ['RING', '+CREG: 1', '+QIND: "csq",23,99', '+CMTI: "SM",9']
SIMTEXT = {10: "SIM not inserted", 11: "SIM PIN required", 3: "operation not allowed",
           4: "operation not supported", 21: "invalid index", 22: "not found",
           13: "SIM failure", 100: "unknown"}


def pdus_for(sender, text, index):
    """The PDUs (hex, SMSC first) of one received message, from smspdu.py;
    a fixed time (2026-06-01 + index minutes) keeps the SIM's bytes stable."""
    import smspdu
    return smspdu.encode_long_deliver(sender, text, 1780272000 + 60 * index, index & 0xFF)


def log_stderr(what, data):
    sys.stderr.write("fakemodem: %s: %s\n" % (what, data))


class Sim:
    def __init__(self, iccid, imsi, operator, own, phonebook, sms_texts):
        self.iccid, self.imsi, self.operator, self.own = iccid, imsi, operator, own
        self.pb = dict(phonebook)          # index -> (type, number, name)
        self.sms = {}                      # index -> (stat, hex)
        self.pin = False
        for index, sender, text in sms_texts:
            try:
                self.add_text(index, sender, text)
            except Exception as e:       # no smspdu.py: a SIM without messages
                log_stderr("sms", "%s: %r" % (sender, e))

    def add_text(self, index, sender, text, stat=1):
        for k, hexpdu in enumerate(pdus_for(sender, text, index)):
            self.sms[index + k] = (stat, hexpdu)


def sim_a():
    return Sim("89860012345678901234", "460001234567890", "CHINA MOBILE", "+8613800138000",
               {1: (145, "+8613800138001", "张三"), 2: (145, "8613800138002", "Mia 😀"),
                3: (129, "10086", ""), 4: (129, "13912345678", "李四"),
                42: (129, "075512345678", "Smith, John"), 250: (145, "+447700900250", "Last")},
               [(1, "+8613912345678", "Hello from vigil! Price: 5€ [ok]"),
                (2, "+8613800138001", "你好，明天见😀"),
                (3, "+8613800138002", LONG_TEXT)])


def sim_b(iccid="8944110012345678901", imsi="234150987654321"):
    return Sim(iccid, imsi, "vodafone UK", "+447700900999",
               {1: (145, "+447700900123", "Alice"), 2: (129, "07700900456", "Bob")},
               [(1, "+447700900000", "Welcome to vodafone")])


def ucs2hex(text):
    return text.encode("utf-16-be").hex().upper()


def ira(text):
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)


class Modem:
    """The AT side: answers one command line with the bytes to send."""

    def __init__(self, log):
        self.log = log
        self.sims = [sim_a(), sim_b()]
        self.sim = self.sims[0]
        self.present = True
        self.mode = "normal"
        self.interleave = False
        self.numhex = False
        self.urc_turn = 0
        self.reset()

    def reset(self):
        self.echo, self.cmee, self.cscs, self.cmgf = True, 1, "IRA", 0

    # ------------------------------------------------------------ replies
    def text(self, s):
        return ucs2hex(s) if self.cscs == "UCS2" else ira(s)

    def cme(self, code, cms=False):
        kind = "CMS" if cms else "CME"
        if self.cmee == 0:
            return [], "ERROR"
        if self.cmee == 2 and not cms:
            return [], "+%s ERROR: %s" % (kind, SIMTEXT.get(code, "unknown"))
        return [], "+%s ERROR: %d" % (kind, code)

    def sim_error(self, cms=False):
        """The error a command needing the SIM gets now, or None."""
        if not self.present:
            return self.cme(310 if cms else 10, cms)
        if self.sim.pin:
            return self.cme(311 if cms else 11, cms)
        return None

    # ----------------------------------------------------------- commands
    def cmd_cpin(self, arg):
        if not self.present:
            return self.cme(10)
        return ["+CPIN: SIM PIN" if self.sim.pin else "+CPIN: READY"], "OK"

    def iccid_reported(self):
        iccid = self.sim.iccid
        return iccid + "F" if len(iccid) % 2 else iccid

    def cmd_qccid(self, arg):
        if not self.present:
            return self.cme(10)
        return ["+QCCID: " + self.iccid_reported()], "OK"

    def cmd_ccid(self, arg):
        if not self.present:
            return self.cme(10)
        return ["+CCID: " + self.iccid_reported()], "OK"

    def cmd_cimi(self, arg):
        return self.sim_error() or ([self.sim.imsi], "OK")

    def cmd_cnum(self, arg):
        return self.sim_error() or (
            ['+CNUM: "%s","%s",145' % (self.text("Own"), self.sim.own)], "OK")

    def cmd_cops(self, arg):
        if arg == "?":
            if not self.present:
                return ["+COPS: 0"], "OK"
            return ['+COPS: 0,0,"%s",7' % self.text(self.sim.operator)], "OK"
        return [], "OK"

    def cmd_cscs(self, arg):
        if arg == "?":
            return ['+CSCS: "%s"' % self.cscs], "OK"
        value = arg.lstrip("=").strip('"').upper()
        if value not in ("GSM", "IRA", "UCS2"):
            return self.cme(4)
        self.cscs = value
        return [], "OK"

    def cmd_cpbs(self, arg):
        err = self.sim_error()
        if err:
            return err
        if arg == "?":
            return ['+CPBS: "SM",%d,250' % len(self.sim.pb)], "OK"
        return ([], "OK") if arg.upper() == '="SM"' else self.cme(3)

    def pb_line(self, index, entry):
        typ, number, name = entry
        if self.numhex and self.cscs == "UCS2":
            number = ucs2hex(number)
        return '+CPBR: %d,"%s",%d,"%s"' % (index, number, typ, self.text(name))

    def cmd_cpbr(self, arg):
        err = self.sim_error()
        if err:
            return err
        if arg == "=?":
            return ["+CPBR: (1-250),40,14"], "OK"
        try:
            bounds = [int(x) for x in arg.lstrip("=").split(",")]
            lo, hi = bounds[0], bounds[-1]
        except ValueError:
            return self.cme(4)
        if len(bounds) > 2 or lo < 1 or hi > 250 or lo > hi:
            return self.cme(21)
        lines = [self.pb_line(i, self.sim.pb[i]) for i in sorted(self.sim.pb) if lo <= i <= hi]
        return (lines, "OK") if lines else self.cme(22)

    def cmd_cmgf(self, arg):
        if arg.lstrip("=") in ("0", "1"):
            self.cmgf = int(arg.lstrip("="))
            return [], "OK"
        return self.cme(4)

    def cmd_cmgl(self, arg):
        err = self.sim_error(cms=True)
        if err:
            return err
        if self.cmgf != 0:
            return self.cme(302, cms=True)
        want = arg.lstrip("=") or "0"
        if want not in ("0", "1", "2", "3", "4"):
            return self.cme(302, cms=True)
        lines = []
        for index in sorted(self.sim.sms):
            stat, hexpdu = self.sim.sms[index]
            if want == "4" or int(want) == stat:
                tpdu = len(hexpdu) // 2 - 1 - int(hexpdu[:2], 16)
                lines += ["+CMGL: %d,%d,,%d" % (index, stat, tpdu), hexpdu]
        return lines, "OK"

    def cmd_cpms(self, arg):
        err = self.sim_error(cms=True)
        if err:
            return err
        n = len(self.sim.sms)
        return ['+CPMS: "SM",%d,50,"SM",%d,50,"SM",%d,50' % (n, n, n)], "OK"

    def cmd_cmee(self, arg):
        if arg == "?":
            return ["+CMEE: %d" % self.cmee], "OK"
        if arg in ("=0", "=1", "=2"):
            self.cmee = int(arg[1])
            return [], "OK"
        return self.cme(4)

    def cmd_qsimstat(self, arg):
        return ["+QSIMSTAT: 0,%d" % self.present], "OK"

    def cmd_ati(self, arg):
        return ["Quectel", "EG25", "Revision: EG25GGBR07A08M2G"], "OK"

    COMMANDS = {"+CPIN": cmd_cpin, "+QCCID": cmd_qccid, "+CCID": cmd_ccid, "+CIMI": cmd_cimi,
                "+CNUM": cmd_cnum, "+COPS": cmd_cops, "+CSCS": cmd_cscs, "+CPBS": cmd_cpbs,
                "+CPBR": cmd_cpbr, "+CMGF": cmd_cmgf, "+CMGL": cmd_cmgl, "+CPMS": cmd_cpms,
                "+CMEE": cmd_cmee, "+QSIMSTAT": cmd_qsimstat, "I": cmd_ati}

    def dispatch(self, body):
        """body: the command without "AT".  Returns (lines, final)."""
        up = body.upper()
        if up == "":
            return [], "OK"
        if up in ("E0", "E1", "E"):
            self.echo = up == "E1"
            return [], "OK"
        for name, fn in self.COMMANDS.items():
            if up.startswith(name) and (len(up) == len(name) or up[len(name)] in "=?"):
                return fn(self, body[len(name):])
        return [], "ERROR"

    # ------------------------------------------------------------- output
    def next_urc(self):
        self.urc_turn += 1
        return URCS[self.urc_turn % len(URCS)]

    def answer(self, line):
        """The bytes the modem sends for one command line."""
        if self.mode == "silent":
            return b""
        out = line.encode("utf-8", "replace") + b"\r" if self.echo else b""
        if not line[:2].upper() == "AT":
            return out + b"\r\nERROR\r\n"
        lines, final = self.dispatch(line[2:])
        if self.interleave:
            lines = [self.next_urc()] + lines[:1] + ([self.next_urc()] if len(lines) > 1 else []) \
                + lines[1:]
        body = b"".join(b"\r\n" + s.encode() + b"\r\n" for s in lines)
        if self.mode == "garbage":
            junk = bytes(b for b in os.urandom(300) if b not in b"OK")
            return out + junk
        if self.mode == "truncate":
            return out + body[:len(body) // 2]
        if self.mode == "overlong":
            body = b"\r\n+CPBR: " + b"A" * 100000 + b"\r\n" + body
        return out + body + b"\r\n" + final.encode() + b"\r\n"

    # ------------------------------------------------------------ control
    def urc_bytes(self, *lines):
        return b"".join(b"\r\n" + s.encode() + b"\r\n" for s in lines)

    def swap(self, args):
        if len(args) >= 2:
            self.sim = sim_b(args[0], args[1])
        else:
            self.sim = self.sims[1] if self.sim is self.sims[0] else self.sims[0]
        self.present = True
        return self.urc_bytes("+QSIMSTAT: 1,0", "+QSIMSTAT: 1,1", "+CPIN: READY")

    def control(self, words):
        """Applies one control line; returns the bytes to send now."""
        cmd, args = words[0], words[1:]
        if cmd == "swap":
            return self.swap(args)
        if cmd == "remove":
            self.present = False
            return self.urc_bytes("+QSIMSTAT: 1,0")
        if cmd == "insert":
            self.present = True
            return self.urc_bytes("+QSIMSTAT: 1,1", "+CPIN: READY")
        if cmd == "pin":
            self.sim.pin = args[0] == "on"
        elif cmd == "pb-set":
            self.sim.pb[int(args[0])] = (int(args[1]), args[2], " ".join(args[3:]))
        elif cmd == "pb-del":
            self.sim.pb.pop(int(args[0]), None)
        elif cmd == "sms-add":
            bytes.fromhex(args[2])          # ValueError: not hex
            self.sim.sms[int(args[0])] = (int(args[1]) & 3, args[2].upper())
        elif cmd == "sms-text":
            self.sim.add_text(int(args[0]), args[1], " ".join(args[2:]))
        elif cmd == "sms-del":
            self.sim.sms.pop(int(args[0]), None)
        elif cmd == "urc":
            return self.urc_bytes(" ".join(args))
        elif cmd == "interleave":
            self.interleave = args[0] == "on"
        elif cmd == "numhex":
            self.numhex = args[0] == "on"
        elif cmd == "mode":
            if args[0] not in ("normal", "garbage", "truncate", "overlong", "silent"):
                raise ValueError("no mode " + args[0])
            self.mode = args[0]
        else:
            raise ValueError("unknown control " + cmd)
        return b""


class Fake:
    """The pty, the control FIFO and the loop between them."""

    def __init__(self, link, control, logfile):
        self.link, self.control_path = link, control
        self.logf = open(logfile, "a", buffering=1) if logfile else None
        self.modem = Modem(self.log)
        self.master = self.slave = None
        self.inbuf, self.outq, self.ctlbuf = b"", b"", b""
        self.back_at = None             # vanished: when to come back
        self.later = []                 # [commands to go, control words]
        self.made_fifo = False
        if not os.path.exists(control):
            os.mkfifo(control, 0o600)
            self.made_fifo = True
        # O_RDWR: the FIFO never reports end of file when a writer closes
        self.ctl = os.open(control, os.O_RDWR | os.O_NONBLOCK)
        self.appear()

    def log(self, what, data):
        if self.logf:
            self.logf.write("%.3f %s %r\n" % (time.time(), what, data[:300]))

    def appear(self):
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        tmp = self.link + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.ttyname(self.slave), tmp)
        os.rename(tmp, self.link)
        self.modem.reset()
        self.log("tty", os.ttyname(self.slave))

    def vanish(self, seconds):
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None
        self.inbuf = self.outq = b""
        if os.path.lexists(self.link):
            os.unlink(self.link)
        self.back_at = time.monotonic() + seconds

    def send(self, data):
        if self.master is not None and len(self.outq) + len(data) <= OUT_MAX:
            self.outq += data

    def drain_control(self):
        try:
            while True:
                chunk = os.read(self.ctl, 4096)
                if not chunk:
                    break
                self.ctlbuf += chunk
        except BlockingIOError:
            pass
        while b"\n" in self.ctlbuf:
            raw, self.ctlbuf = self.ctlbuf.split(b"\n", 1)
            self.control_line(raw.decode("utf-8", "replace").strip())

    def control_line(self, line):
        words = line.split()
        if not words:
            return
        self.log("ctl", line)
        try:
            if words[0] == "quit":
                self.quit(0)
            elif words[0] == "vanish":
                self.vanish(float(words[1]))
            elif words[0] == "after":
                self.later.append([int(words[1]), words[2:]])
            else:
                self.send(self.modem.control(words))
        except Exception as e:           # a bad control line is logged, never fatal
            self.log("ctl-error", "%s: %s" % (line, e))

    def from_modem_user(self):
        try:
            chunk = os.read(self.master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            if e.errno == errno.EIO:
                return
            raise
        self.inbuf += chunk
        while True:
            cut = min((i for i in (self.inbuf.find(b"\r"), self.inbuf.find(b"\n")) if i >= 0),
                      default=-1)
            if cut < 0:
                if len(self.inbuf) > CMD_MAX:
                    self.inbuf = b""
                return
            raw, self.inbuf = self.inbuf[:cut], self.inbuf[cut + 1:]
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.command(line)

    def command(self, line):
        self.drain_control()            # control written before this command applies
        if self.master is None:
            return
        self.log("<", line)
        self.due()
        try:
            out = self.modem.answer(line)
        except Exception as e:           # never stop on what a user sends
            self.log("error", "%s: %r" % (line, e))
            out = b"\r\nERROR\r\n"
        self.log(">", out)
        self.send(out)

    def due(self):
        """Applies the `after` lines whose count ran out with this command."""
        for item in self.later:
            item[0] -= 1
        for _, words in [x for x in self.later if x[0] <= 0]:
            self.control_line(" ".join(words))
        self.later = [x for x in self.later if x[0] > 0]

    def flush(self):
        try:
            n = os.write(self.master, self.outq[:4096])
            self.outq = self.outq[n:]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as e:
            self.log("write-error", str(e))
            self.outq = b""

    def step(self):
        rl = [self.ctl] + ([self.master] if self.master is not None else [])
        wl = [self.master] if self.master is not None and self.outq else []
        timeout = None
        if self.back_at is not None:
            timeout = max(0.0, self.back_at - time.monotonic())
        r, w, _ = select.select(rl, wl, [], timeout)
        if self.ctl in r:
            self.drain_control()
        if self.master is not None and self.master in r:
            self.from_modem_user()
        if self.master is not None and self.master in w:
            self.flush()
        if self.back_at is not None and time.monotonic() >= self.back_at:
            self.back_at = None
            self.appear()

    def quit(self, status):
        if os.path.lexists(self.link):
            os.unlink(self.link)
        if self.made_fifo and os.path.exists(self.control_path):
            os.unlink(self.control_path)
        sys.exit(status)


def main():
    ap = argparse.ArgumentParser(description="a fake Quectel EG25-G on a pty")
    ap.add_argument("--link", required=True)
    ap.add_argument("--control", required=True)
    ap.add_argument("--log")
    a = ap.parse_args()
    fake = Fake(a.link, a.control, a.log)
    signal.signal(signal.SIGTERM, lambda *_: fake.quit(0))
    signal.signal(signal.SIGINT, lambda *_: fake.quit(0))
    while True:
        try:
            fake.step()
        except Exception as e:           # never stop on a bad moment of the pty
            fake.log("loop-error", repr(e))
            time.sleep(0.05)


if __name__ == "__main__":
    main()
