#!/usr/bin/python3
"""forgerec.py — test harness: forges the chunk record of a pack that holds
byte AT (counted from the pack's start): one payload byte changed and the
record's CRC-32 made to match (docs/store-format.md, the record layout), so
that only a check of the content by its hash can tell (or, on an encrypted
store, the record's GCM tag).  Raw records only.

    forgerec.py PACK AT
"""
import os, struct, sys, zlib

fd = os.open(sys.argv[1], os.O_RDWR)
at, off = int(sys.argv[2]), 0
while True:
    h = os.pread(fd, 52, off)
    clen = struct.unpack(">I", h[44:48])[0]
    if off + 52 + clen > at:
        break
    off += 52 + clen
# (an encrypted store's VGE2 record: the GCM tag refuses it instead)
assert h[:4] in (b"VGC2", b"VGE2") and h[4] & 1 == 0, "not a raw record"
pay = bytearray(os.pread(fd, clen, off + 52))
pay[clen // 2] ^= 0x40
crc = zlib.crc32(bytes(pay), zlib.crc32(h[:48]))
os.pwrite(fd, bytes(pay), off + 52)
os.pwrite(fd, struct.pack(">I", crc), off + 48)
os.close(fd)
