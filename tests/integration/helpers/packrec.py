#!/usr/bin/python3
# packrec.py PACK [FROM [TO]] — lists the records of a vigil pack
# (docs/store-format.md, "Pack records") whose start lies in [FROM, TO):
# one line "OFFSET KIND PAYLOAD_OFFSET PAYLOAD_LEN", KIND "page" for a
# chunk-tree page (version 1, level, count, entries of 36 or 40 bytes) and
# "chunk" otherwise.  An encrypted store's sealed record (VGE2) is "page"
# whenever its plain length could be a page's, so a "chunk" is surely one.
# Used by t_check.sh to damage chosen records.
import struct
import sys

path = sys.argv[1]
lo = int(sys.argv[2]) if len(sys.argv) > 2 else 0
hi = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 62
data = open(path, 'rb').read()
off = 0
while off + 52 <= len(data):
    magic, flags = struct.unpack_from('>IB', data, off)
    if magic not in (0x56474332, 0x56474532):
        break
    rlen, clen = struct.unpack_from('>II', data, off + 40)
    p = data[off + 52:off + 52 + clen]
    kind = 'chunk'
    if magic == 0x56474532:
        if rlen >= 6 and ((rlen - 6) % 36 == 0 or (rlen - 6) % 40 == 0):
            kind = 'page'
    elif not flags & 1 and len(p) >= 6 and p[0] == 1 and p[1] < 32:
        n = struct.unpack_from('>I', p, 2)[0]
        if len(p) == 6 + n * (36 if p[1] == 0 else 40):
            kind = 'page'
    if lo <= off < hi:
        print(off, kind, off + 52, clen)
    off += 52 + clen
