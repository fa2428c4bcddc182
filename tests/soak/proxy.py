#!/usr/bin/python3
"""proxy.py — a TCP proxy between vigild and vigil-server that misbehaves
while the file --mode holds "faults": it cuts connections at random (after
a random time or a random number of bytes toward the server, by RST or
FIN), stalls them (stops forwarding for seconds), and holds new connections
a random while before connecting on (reconnects arrive out of step).  With
"calm" (or no file) it forwards faithfully.  Counters go to --stats (JSON)
every second and at exit."""
import argparse
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import threading
import time

lock = threading.Lock()
stats = {"connections": 0, "cuts": 0, "stalls": 0, "held": 0,
         "bytes_up": 0, "bytes_down": 0, "bytes_up_cut": 0}
stop = False


def faulty(args):
    try:
        with open(args.mode) as f:
            return f.read().strip() == "faults"
    except OSError:
        return False


def add(k, n=1):
    with lock:
        stats[k] += n


def cut(a, b, rst):
    for s in (a, b):
        try:
            if rst:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        except OSError:
            pass


def pump(args, client, rng):
    """One connection: forward both ways, with faults while asked."""
    if faulty(args) and rng.random() < 0.5:
        add("held")
        time.sleep(rng.uniform(0.2, 3.0))
    try:
        up = socket.create_connection(("127.0.0.1", args.to), timeout=10)
    except OSError:
        client.close()
        return
    up.settimeout(None)
    t_end = time.monotonic() + rng.uniform(0.3, 6.0)
    budget = rng.randint(256 << 10, 4 << 20)
    sent = 0
    peer = {client: up, up: client}
    try:
        while not stop:
            r, _, _ = select.select([client, up], [], [], 0.2)
            f = faulty(args)
            if f and (time.monotonic() > t_end or sent > budget):
                add("cuts")
                add("bytes_up_cut", sent)
                cut(client, up, rng.random() < 0.5)
                return
            if f and rng.random() < 0.01:
                add("stalls")
                time.sleep(rng.uniform(1.0, 8.0))
            for s in r:
                data = s.recv(65536)
                if not data:
                    cut(client, up, False)
                    return
                peer[s].sendall(data)
                if s is client:
                    sent += len(data)
                    add("bytes_up", len(data))
                else:
                    add("bytes_down", len(data))
    except OSError:
        pass
    cut(client, up, False)


def dump(args):
    with lock:
        s = dict(stats)
    with open(args.stats + ".tmp", "w") as f:
        json.dump(s, f)
    os.replace(args.stats + ".tmp", args.stats)


def main():
    global stop
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--to", type=int, required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    def on_term(_s, _f):
        global stop
        stop = True
    signal.signal(signal.SIGTERM, on_term)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.listen))
    ls.listen(64)
    ls.settimeout(1.0)
    while not stop:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            dump(args)
            continue
        except OSError:
            break
        add("connections")
        dump(args)
        threading.Thread(target=pump, args=(args, c, random.Random(rng.random())),
                         daemon=True).start()
    dump(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
