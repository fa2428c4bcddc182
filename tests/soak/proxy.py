#!/usr/bin/python3
"""proxy.py — a TCP proxy between vigild and vigil-server that misbehaves
as the file --mode says, read again for every decision:
  "faults": cuts connections at random (after a random time or a random
    number of bytes toward the server, by RST or FIN), stalls them (stops
    forwarding for seconds), and holds new connections a random while
    before connecting on (reconnects arrive out of step): the soak's;
  "cuts": cuts every connection once it has carried exactly --cut bytes
    toward the server, by RST and FIN in turn, nothing else: a run is the
    same whatever the machine's load (t_resume.sh);
  "calm" (or no file): forwards faithfully.
Counters go to --stats (JSON) every second and at exit."""
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

lock = threading.RLock()   # re-entrant: on_term dumps from the main thread
stats = {"connections": 0, "cuts": 0, "stalls": 0, "held": 0,
         "bytes_up": 0, "bytes_down": 0, "bytes_up_cut": 0}


def mode(args):
    try:
        with open(args.mode) as f:
            return f.read().strip()
    except OSError:
        return "calm"


def faulty(args):
    return mode(args) == "faults"


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


def pump(args, client, rng, nth):
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
        while True:
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
                want = 65536
                if s is client and mode(args) == "cuts":
                    want = min(want, args.cut - sent)
                    if want <= 0:
                        add("cuts")
                        add("bytes_up_cut", sent)
                        cut(client, up, nth % 2 == 1)
                        dump(args)
                        return
                data = s.recv(want)
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
    # under the lock: the main thread and a pump's cut both dump, and two
    # writers of one .tmp made the second os.replace fail (the proxy died)
    with lock:
        with open(args.stats + ".tmp", "w") as f:
            json.dump(dict(stats), f)
        os.replace(args.stats + ".tmp", args.stats)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--to", type=int, required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cut", type=int, default=1 << 20)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    def on_term(_s, _f):
        dump(args)
        os._exit(0)
    signal.signal(signal.SIGTERM, on_term)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.listen))
    ls.listen(64)
    ls.settimeout(1.0)
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
        dump(args)
        n += 1
        threading.Thread(target=pump, args=(args, c, random.Random(rng.random()), n),
                         daemon=True).start()
    dump(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
