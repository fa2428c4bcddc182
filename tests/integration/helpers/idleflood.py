#!/usr/bin/python3
"""idleflood.py — test harness: an attacker that holds N idle TCP
connections to HOST:PORT from the source addresses SRC (a comma-separated
list, used in turn), never speaking TLS, and
reopens each one the server closes, until killed.  It opens at most 32
per 20 ms, so that the server's accept queue (128) never overflows: an
overflowed connection looks established here but the server never sees it.  It writes the number it
holds open now to STATUSFILE about every 0.2 s.

    idleflood.py HOST PORT SRC N STATUSFILE
"""
import errno
import os
import selectors
import socket
import sys
import time


def opener(host, port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind((src, 0))
    try:
        s.connect((host, port))
    except BlockingIOError:
        pass
    except OSError:
        s.close()
        return None
    return s


def main():
    host, port, n, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[4]), sys.argv[5]
    srcs = sys.argv[3].split(",")
    turn = 0
    sel = selectors.DefaultSelector()
    held = 0
    last = 0.0
    while True:
        for _ in range(min(32, n - held)):
            s = opener(host, port, srcs[turn % len(srcs)])
            turn += 1
            if s is None:
                break
            sel.register(s, selectors.EVENT_READ)
            held += 1
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError as e:
                data = b"" if e.errno != errno.EAGAIN else None
            if data == b"":   # the server closed it: reopen (next round)
                sel.unregister(s)
                s.close()
                held -= 1
        now = time.monotonic()
        if now - last > 0.2:
            last = now
            alive = sum(1 for k in sel.get_map().values() if not _closed(k.fileobj))
            with open(status + ".tmp", "w") as f:
                f.write("%d\n" % alive)
            os.replace(status + ".tmp", status)
        time.sleep(0.02)


def _closed(s):
    try:
        s.getpeername()
        return False
    except OSError:
        return True


if __name__ == "__main__":
    main()
