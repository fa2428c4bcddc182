#!/usr/bin/python3
"""cutproxy.py — a TCP proxy that cuts every connection once it has carried
--cut bytes toward the server (RST and FIN in turn), while the file --mode
holds "cuts"; otherwise it forwards faithfully.  The deterministic cousin
of tests/soak/proxy.py (random cuts after 256 KiB-4 MiB or 0.3-6 s, stalls,
held connects): t_resume.sh needs every connection cut at a known size
and no stalls, so that a run is the same whatever the machine's load.
Counters go to --stats (JSON) every half second and at exit."""
import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

lock = threading.Lock()
stats = {"connections": 0, "cuts": 0, "bytes_up": 0, "bytes_down": 0}


def add(k, n=1):
    with lock:
        stats[k] += n


def cutting(args):
    try:
        with open(args.mode) as f:
            return f.read().strip() == "cuts"
    except OSError:
        return False


def close_both(a, b, rst):
    for s in (a, b):
        try:
            if rst:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        except OSError:
            pass


def pump(args, client, nth):
    try:
        up = socket.create_connection(("127.0.0.1", args.to), timeout=10)
    except OSError:
        client.close()
        return
    up.settimeout(None)
    peer = {client: up, up: client}
    sent = 0
    try:
        while True:
            r, _, _ = select.select([client, up], [], [], 0.2)
            for s in r:
                want = 65536
                if s is client and cutting(args):
                    want = min(want, args.cut - sent)
                    if want <= 0:
                        add("cuts")
                        close_both(client, up, nth % 2 == 1)
                        return
                data = s.recv(want)
                if not data:
                    close_both(client, up, False)
                    return
                peer[s].sendall(data)
                if s is client:
                    sent += len(data)
                    add("bytes_up", len(data))
                else:
                    add("bytes_down", len(data))
    except OSError:
        pass
    close_both(client, up, False)


def dump(args):
    with lock:
        s = dict(stats)
    with open(args.stats + ".tmp", "w") as f:
        json.dump(s, f)
    os.replace(args.stats + ".tmp", args.stats)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--to", type=int, required=True)
    ap.add_argument("--cut", type=int, default=1 << 20)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--stats", required=True)
    args = ap.parse_args()

    def on_term(_s, _f):
        dump(args)
        os._exit(0)
    signal.signal(signal.SIGTERM, on_term)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.listen))
    ls.listen(64)
    ls.settimeout(1.0)

    def dumper():
        while True:
            dump(args)
            time.sleep(0.5)
    threading.Thread(target=dumper, daemon=True).start()
    n = 0
    while True:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            dump(args)
            continue
        except OSError:
            break
        add("connections")
        n += 1
        threading.Thread(target=pump, args=(args, c, n), daemon=True).start()
    dump(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
