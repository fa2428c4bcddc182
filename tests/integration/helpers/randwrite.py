#!/usr/bin/python3
# randwrite.py FILE SECONDS: random 4 KiB pwrites of random bytes into the
# first 4 MiB of FILE (16 every 5 ms, about 12 MiB/s) for SECONDS, then
# close: a writer that never stays still (t_busywrite.sh, t_runnap.sh).
import os, random, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    for _ in range(16):
        os.pwrite(fd, os.urandom(4096), random.randrange(1024) * 4096)
    time.sleep(0.005)
os.close(fd)
