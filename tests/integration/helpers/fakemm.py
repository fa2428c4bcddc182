#!/usr/bin/python3
"""fakemm.py - a fake ModemManager on a private D-Bus bus, for the tests of
vigil-simfs's `--modem mm` source (fuse/modem_mm*.c).

It owns org.freedesktop.ModemManager1 and exports what simfs reads:
  /org/freedesktop/ModemManager1          ObjectManager (GetManagedObjects,
                                          InterfacesAdded/Removed): the modem
  .../Modem/0   Modem (Sim, OwnNumbers, State, StateFailedReason),
                Modem.Modem3gpp (OperatorName), Modem.Messaging (List,
                Added, Deleted, Messages), Modem.Location (Location)
  .../SIM/<n>   Sim (SimIdentifier, Imsi, OperatorName, Active)
  .../SMS/<n>   Sms (Number, Text, Timestamp, State, PduType, Storage)
Every interface answers org.freedesktop.DBus.Properties Get/GetAll and
emits PropertiesChanged on a change, as ModemManager does.

The default SIM is the AT fake's: ICCID 89860012345678901234, IMSI
460001234567890, operator CHINA MOBILE, own number +8613800138000, two
received messages stored on the SIM (the AT fake's SMS 1 and 2; its
3-part one is not here) and one in the modem's own memory (Storage 2,
"me"), which simfs must leave out.

The bus: `--address ADDR` joins a running bus (the unit test starts its own
dbus-daemon so it can kill the two apart); `--bus-dir DIR` starts a private
dbus-daemon (DIR/bus.conf, socket DIR/bus), writes its address to
DIR/bus.address and stops it on exit.  Point simfs at it with
DBUS_SYSTEM_BUS_ADDRESS=$(cat DIR/bus.address).

Control lines, written to the FIFO given by --control (created if absent):
  swap ICCID IMSI   another SIM (new Sim object; the modem's Sim changes);
                    a SIM seen before comes back with its numbers and SMS
  remove            no SIM: Sim "/", State failed (SIM missing)
  insert [ICCID IMSI]  a SIM again (the default one without arguments)
  sms-add TEXT      a received message stored on the SIM (Messaging.Added)
  sms-sent NUMBER TEXT  a sent message stored on the SIM (no timestamp)
  unplug / plug     the modem object goes away / comes back
  signal-quality N  Modem.SignalQuality changes (PropertiesChanged)
  hostile           wrong types, an over-long IMSI, a line break in the
                    operator, malformed own numbers
  location          Modem.Location's Location changes (PropertiesChanged)
  quit
--ready-file F is written once the name is owned and the objects exported.
Runs with /usr/bin/python3 (python3-dbus, python3-gi)."""
import argparse
import ctypes
import datetime
import os
import signal
import subprocess
import sys
import time

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

MM = "org.freedesktop.ModemManager1"
MM_PATH = "/org/freedesktop/ModemManager1"
IF_MODEM = MM + ".Modem"
IF_3GPP = MM + ".Modem.Modem3gpp"
IF_MSG = MM + ".Modem.Messaging"
IF_SIM = MM + ".Sim"
IF_SMS = MM + ".Sms"
IF_LOC = MM + ".Modem.Location"
IF_OM = "org.freedesktop.DBus.ObjectManager"
IF_PROPS = dbus.PROPERTIES_IFACE
MODEM_PATH = MM_PATH + "/Modem/0"

STATE_FAILED, STATE_REGISTERED = -1, 8
FAILED_NONE, FAILED_SIM_MISSING = 0, 2
SMS_RECEIVED, SMS_SENT = 3, 5
PDU_DELIVER, PDU_SUBMIT = 1, 2
STORAGE_SM, STORAGE_ME = 1, 2

DEFAULT_ICCID = "89860012345678901234"
DEFAULT_IMSI = "460001234567890"
OPERATOR = "CHINA MOBILE"
OWN_NUMBER = "+8613800138000"
# (number, text, timestamp, state, pdu type, storage); the first two are
# the AT fake's (fakemodem.py) SMS 1 and 2, at the same times
DEFAULT_SIM_SMS = [
    ("+8613912345678", "Hello from vigil! Price: 5€ [ok]", "2026-06-01T00:01:00Z",
     SMS_RECEIVED, PDU_DELIVER, STORAGE_SM),
    ("+8613800138001", "你好，明天见😀", "2026-06-01T00:02:00Z",
     SMS_RECEIVED, PDU_DELIVER, STORAGE_SM),
]
ME_SMS = [("+8613600136000", "Kept in the phone's memory",
           "2026-11-30T12:00:00Z", SMS_RECEIVED, PDU_DELIVER, STORAGE_ME)]

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def strv(items):
    return dbus.Array(items, signature="s")


class PropObject(dbus.service.Object):
    """An object whose interfaces' properties answer Properties.Get/GetAll."""

    def __init__(self, bus, path, ifaces):
        super().__init__(bus, path)
        self.path = path
        self.ifaces = ifaces

    @dbus.service.method(IF_PROPS, in_signature="ss", out_signature="v")
    def Get(self, iface, prop):
        return self.GetAll(iface)[prop]

    @dbus.service.method(IF_PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        if iface not in self.ifaces:
            raise dbus.exceptions.DBusException(
                "no interface " + iface,
                name="org.freedesktop.DBus.Error.UnknownInterface")
        return dbus.Dictionary(self.ifaces[iface], signature="sv")

    @dbus.service.signal(IF_PROPS, signature="sa{sv}as")
    def PropertiesChanged(self, iface, changed, invalidated):
        pass

    def update(self, iface, **changes):
        self.ifaces[iface].update(changes)
        self.PropertiesChanged(iface, dbus.Dictionary(changes, signature="sv"),
                               strv([]))


class Modem(PropObject):
    """The modem: Modem, Modem3gpp and Messaging in one object."""

    def __init__(self, bus, fake):
        self.fake = fake
        super().__init__(bus, MODEM_PATH, {
            IF_MODEM: {"Sim": dbus.ObjectPath("/"), "OwnNumbers": strv([]),
                       "State": dbus.Int32(STATE_FAILED),
                       "StateFailedReason": dbus.UInt32(FAILED_SIM_MISSING),
                       "Manufacturer": dbus.String("QUALCOMM INCORPORATED"),
                       "Model": dbus.String("EG25GGB"),
                       # types simfs must skip, as a real modem object has them
                       "Ports": dbus.Array([dbus.Struct((dbus.String("ttyUSB2"),
                                                         dbus.UInt32(3)))], signature="(su)"),
                       "UnlockRetries": dbus.Dictionary({dbus.UInt32(2): dbus.UInt32(3)},
                                                        signature="uu"),
                       "SignalQuality": dbus.Struct((dbus.UInt32(60), dbus.Boolean(True)),
                                                    signature="ub")},
            IF_3GPP: {"OperatorName": dbus.String(OPERATOR),
                      "Imei": dbus.String("867698041234567")},
            IF_MSG: {"Messages": dbus.Array([], signature="o"),
                     "DefaultStorage": dbus.UInt32(STORAGE_ME)},
            IF_LOC: {"Enabled": dbus.UInt32(1),
                     "Location": dbus.Dictionary({}, signature="uv")},
        })

    @dbus.service.method(IF_MSG, out_signature="ao")
    def List(self):
        return dbus.Array(self.fake.sms_paths(), signature="o")

    @dbus.service.signal(IF_MSG, signature="ob")
    def Added(self, path, received):
        pass

    @dbus.service.signal(IF_MSG, signature="o")
    def Deleted(self, path):
        pass


class Root(dbus.service.Object):
    """/org/freedesktop/ModemManager1: the object manager of the modems."""

    def __init__(self, bus, fake):
        super().__init__(bus, MM_PATH)
        self.fake = fake

    @dbus.service.method(IF_OM, out_signature="a{oa{sa{sv}}}")
    def GetManagedObjects(self):
        m = self.fake.modem
        if m is None:
            return dbus.Dictionary({}, signature="oa{sa{sv}}")
        ifaces = {k: dbus.Dictionary(v, signature="sv") for k, v in m.ifaces.items()}
        return dbus.Dictionary({dbus.ObjectPath(m.path): ifaces},
                               signature="oa{sa{sv}}")

    @dbus.service.signal(IF_OM, signature="oa{sa{sv}}")
    def InterfacesAdded(self, path, ifaces):
        pass

    @dbus.service.signal(IF_OM, signature="oas")
    def InterfacesRemoved(self, path, ifaces):
        pass


class Sim:
    """What one SIM holds: identity, own numbers, messages."""

    def __init__(self, iccid, imsi, own, sms):
        self.iccid, self.imsi, self.own, self.sms = iccid, imsi, own, list(sms)


class Fake:
    def __init__(self, bus):
        self.bus = bus
        self.counter = 0
        self.sims = {DEFAULT_ICCID: Sim(DEFAULT_ICCID, DEFAULT_IMSI,
                                        [OWN_NUMBER], DEFAULT_SIM_SMS)}
        self.sim = None          # the Sim record in the modem, or None
        self.sim_obj = None      # its exported object
        self.sms_objs = []       # exported Sms objects (SIM's and ME's)
        self.root = Root(bus, self)
        self.modem = Modem(bus, self)
        self.insert_sim(self.sims[DEFAULT_ICCID], signal=False)

    def next_path(self, kind):
        self.counter += 1
        return "%s/%s/%d" % (MM_PATH, kind, self.counter)

    def sms_paths(self):
        return [dbus.ObjectPath(o.path) for o in self.sms_objs]

    def export_sms(self, rec):
        number, text, stamp, state, pdu, storage = rec
        obj = PropObject(self.bus, self.next_path("SMS"), {IF_SMS: {
            "Number": dbus.String(number), "Text": dbus.String(text),
            "Timestamp": dbus.String(stamp), "State": dbus.UInt32(state),
            "PduType": dbus.UInt32(pdu), "Storage": dbus.UInt32(storage),
            "SMSC": dbus.String("+8613800100500"), "Class": dbus.Int32(-1)}})
        self.sms_objs.append(obj)
        return obj

    def drop_messages(self):
        for o in self.sms_objs:
            o.remove_from_connection()
        self.sms_objs = []

    def export_messages(self):
        self.drop_messages()
        for rec in (self.sim.sms if self.sim else []) + ME_SMS:
            self.export_sms(rec)
        self.modem.ifaces[IF_MSG]["Messages"] = dbus.Array(self.sms_paths(),
                                                           signature="o")

    def modem_state(self, signal):
        present = self.sim is not None
        changes = {
            "Sim": dbus.ObjectPath(self.sim_obj.path if present else "/"),
            "OwnNumbers": strv(self.sim.own if present else []),
            "State": dbus.Int32(STATE_REGISTERED if present else STATE_FAILED),
            "StateFailedReason": dbus.UInt32(FAILED_NONE if present
                                             else FAILED_SIM_MISSING)}
        if signal:
            self.modem.update(IF_MODEM, **changes)
        else:
            self.modem.ifaces[IF_MODEM].update(changes)

    def remove_sim(self, signal=True):
        if self.sim_obj is not None:
            self.sim_obj.remove_from_connection()
        self.sim, self.sim_obj = None, None
        self.export_messages()
        self.modem_state(signal)

    def insert_sim(self, sim, signal=True):
        if self.sim_obj is not None:
            self.sim_obj.remove_from_connection()
        self.sim = sim
        self.sim_obj = PropObject(self.bus, self.next_path("SIM"), {IF_SIM: {
            "Active": dbus.Boolean(True),
            "SimIdentifier": dbus.String(sim.iccid), "Imsi": dbus.String(sim.imsi),
            "OperatorIdentifier": dbus.String(sim.imsi[:5]),
            "OperatorName": dbus.String(OPERATOR)}})
        self.export_messages()
        self.modem_state(signal)

    def sim_for(self, iccid, imsi):
        if iccid not in self.sims:
            self.sims[iccid] = Sim(iccid, imsi, [], [])
        return self.sims[iccid]

    def sms_add(self, text, sent_to=None):
        if self.sim is None:
            return
        stamp = datetime.datetime.now(datetime.timezone(
            datetime.timedelta(hours=8))).isoformat(timespec="seconds")
        rec = ("+8613900139000", text, stamp, SMS_RECEIVED, PDU_DELIVER, STORAGE_SM)
        if sent_to:
            rec = (sent_to, text, "", SMS_SENT, PDU_SUBMIT, STORAGE_SM)
        self.sim.sms.append(rec)
        obj = self.export_sms(rec)
        self.modem.Added(dbus.ObjectPath(obj.path), True)
        self.modem.update(IF_MSG, Messages=dbus.Array(self.sms_paths(), signature="o"))

    def hostile(self):
        """Values simfs must not trust: a wrong type, an over-long IMSI, a
        line break in a one-line field, malformed own numbers."""
        self.modem.update(IF_3GPP, OperatorName=dbus.String(""))
        self.sim_obj.update(IF_SIM, SimIdentifier=dbus.UInt32(42),
                            Imsi=dbus.String("4" * 100),
                            OperatorName=dbus.String("EVIL\nkey=value"))
        self.modem.update(IF_MODEM, OwnNumbers=strv(
            ["+86 138", "+8613800138000\n", "", "+8613800138000"]))

    def unplug(self):
        if self.modem is None:
            return
        ifaces = strv(list(self.modem.ifaces))
        self.remove_sim(signal=False)
        self.drop_messages()
        self.modem.remove_from_connection()
        self.modem = None
        self.root.InterfacesRemoved(dbus.ObjectPath(MODEM_PATH), ifaces)

    def plug(self):
        if self.modem is not None:
            return
        self.modem = Modem(self.bus, self)
        self.insert_sim(self.sims[DEFAULT_ICCID], signal=False)
        self.root.InterfacesAdded(dbus.ObjectPath(MODEM_PATH),
                                  self.root.GetManagedObjects()[MODEM_PATH])

    def command(self, line, loop):
        words = line.split(None, 1)
        if not words:
            return
        verb, rest = words[0], (words[1] if len(words) > 1 else "")
        args = rest.split()
        if verb == "quit":
            loop.quit()
        elif self.modem is None and verb != "plug":
            print("fakemm: no modem for %r" % line, file=sys.stderr)
        elif verb == "swap" and len(args) == 2:
            self.insert_sim(self.sim_for(args[0], args[1]))
        elif verb == "remove":
            self.remove_sim()
        elif verb == "insert":
            sim = self.sim_for(*args) if len(args) == 2 else self.sims[DEFAULT_ICCID]
            self.insert_sim(sim)
        elif verb == "sms-add" and rest:
            self.sms_add(rest)
        elif verb == "sms-sent" and len(args) >= 2:
            self.sms_add(rest.split(None, 1)[1], sent_to=args[0])
        elif verb == "signal-quality" and len(args) == 1:
            self.modem.update(IF_MODEM, SignalQuality=dbus.Struct(
                (dbus.UInt32(int(args[0])), dbus.Boolean(True)), signature="ub"))
        elif verb == "location":
            self.modem.update(IF_LOC, Location=dbus.Dictionary(
                {dbus.UInt32(1): dbus.String("460,00,1A2B,01234567,")}, signature="uv"))
        elif verb == "hostile" and self.sim_obj is not None:
            self.hostile()
        elif verb == "unplug":
            self.unplug()
        elif verb == "plug":
            self.plug()
        else:
            print("fakemm: bad control line %r" % line, file=sys.stderr)


def start_bus(bus_dir):
    """A private dbus-daemon in bus_dir; returns (process, address)."""
    sock = os.path.join(bus_dir, "bus")
    conf = os.path.join(bus_dir, "bus.conf")
    with open(conf, "w") as f:
        f.write(BUS_CONF.format(sock=sock))
    libc = ctypes.CDLL(None, use_errno=True)
    # the bus dies with us (PR_SET_PDEATHSIG = 1), even on SIGKILL
    proc = subprocess.Popen(["dbus-daemon", "--config-file=" + conf, "--nofork"],
                            preexec_fn=lambda: libc.prctl(1, signal.SIGTERM))
    address = "unix:path=" + sock
    for _ in range(500):
        if os.path.exists(sock):
            break
        time.sleep(0.01)
    else:
        proc.kill()
        sys.exit("fakemm: dbus-daemon did not start")
    with open(os.path.join(bus_dir, "bus.address.tmp"), "w") as f:
        f.write(address + "\n")
    os.rename(os.path.join(bus_dir, "bus.address.tmp"),
              os.path.join(bus_dir, "bus.address"))
    return proc, address


def watch_control(path, fake, loop):
    if not os.path.exists(path):
        os.mkfifo(path, 0o600)
    # O_RDWR: never an EOF when a writer closes, never a block at open
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    pending = [b""]

    def on_input(_fd, _cond):
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return True
        pending[0] += data
        while b"\n" in pending[0]:
            line, pending[0] = pending[0].split(b"\n", 1)
            fake.command(line.decode("utf-8", "replace").strip(), loop)
        return True

    GLib.io_add_watch(fd, GLib.PRIORITY_DEFAULT, GLib.IO_IN, on_input)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--address", help="join this bus")
    ap.add_argument("--bus-dir", help="start a private bus here")
    ap.add_argument("--control", required=True, help="control FIFO")
    ap.add_argument("--ready-file", help="written once on the bus")
    opt = ap.parse_args()
    if bool(opt.address) == bool(opt.bus_dir):
        ap.error("exactly one of --address and --bus-dir")
    proc, address = (None, opt.address)
    if opt.bus_dir:
        proc, address = start_bus(opt.bus_dir)
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(address)
    loop = GLib.MainLoop()
    bus.call_on_disconnection(lambda _conn: loop.quit())
    fake = Fake(bus)
    name = dbus.service.BusName(MM, bus, do_not_queue=True)  # held: owns the name
    watch_control(opt.control, fake, loop)
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, loop.quit)
    if opt.ready_file:
        with open(opt.ready_file + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(opt.ready_file + ".tmp", opt.ready_file)
    loop.run()
    if proc:
        proc.terminate()
        proc.wait()
    # no BusName release at exit: the bus may be gone, and it drops the
    # name of a closed connection anyway
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
