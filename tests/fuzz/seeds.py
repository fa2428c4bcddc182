#!/usr/bin/env python3
"""seeds.py — (re)writes the small seed corpora in tests/fuzz/corpus/<t>/.
Run from the repository root: python3 tests/fuzz/seeds.py.  The bundle and
SQLite seeds need build/bin/vigil-server and the sqlite3 shell; reproducers
of bugs found by fuzzing (repro-*) are kept as they are."""
import os, struct, subprocess, tempfile

C = 'tests/fuzz/corpus'

def put(t, name, data):
    os.makedirs(f'{C}/{t}', exist_ok=True)
    with open(f'{C}/{t}/{name}', 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())

def s(x):  # wire string / blob
    x = x.encode() if isinstance(x, str) else x
    return struct.pack('>I', len(x)) + x

def entry(path='/sdcard/a.txt', typ=1, link='', xattr=b''):
    return (s(path) + bytes([typ, 0]) + struct.pack('>IIIQqQqq', 0o644, 1000, 1000, 5,
            1700000000 * 10**9, 3, 1700000000 * 10**9, 1700000001 * 10**9) +
            bytes(range(32)) + bytes(range(32, 64)) + s(link) + s(xattr) + bytes(16))

# proto: byte 0 = kind (entry put device report status hit error entries, requests ..., 0x10 sim, 0x11 simwire datagram, 0x12 put trailer, 0x13 batch item, 0x14 batch answer, 0x15 region signature request, 0x16 put stored, 0x17 put cuts)
put('proto', 'entry', b'\x00' + entry())
put('proto', 'entry-xattr', b'\x00' + entry('/a', 3, '/b', s('user.x') + s(b'\x00\x01')))
put('proto', 'put-rename', b'\x01' + entry('/new') + b'\x06' + struct.pack('>Q', 4) + bytes(16) + s('/old'))
put('proto', 'put-whole', b'\x01' + entry() + b'\x01' + struct.pack('>Q', 0) + bytes(range(16)) + s(''))
put('proto', 'device', b'\x02' + s('phone1') + b'\x01' + struct.pack('>qQQ', 5, 6, 7))
put('proto', 'report', b'\x03' + struct.pack('>Qq', 3, 4) + s('bpf') + struct.pack('>I', 2) +
    s('events') + struct.pack('>Q', 9) + s('drops') + struct.pack('>Q', 0) + struct.pack('>q', 8))
put('proto', 'status', b'\x04' + s('phone1') + b'\x01' + struct.pack('>qQq', 1, 2, 3) + b'\x00' +
    s('none') + struct.pack('>QQ', 0, 0) + s('8986') + s('4600') + struct.pack('>q', 0) +
    struct.pack('>I', 1) + struct.pack('>Q', 1) + s('erase') + s('ctl') + s('done') +
    struct.pack('>qq', 1, 2) + struct.pack('>I', 1) + struct.pack('>q', 5) + s('sim') + s('changed') +
    struct.pack('>QQQQQ', 1, 2, 0, 0, 0) + b'\x00' + struct.pack('>qq', 7, 8))
put('proto', 'hit', b'\x05' + s('/notes.txt') + struct.pack('>Qq', 2, 3) + s('hello world'))
put('proto', 'error', b'\x06' + struct.pack('>I', 116) + s('stale base'))
put('proto', 'entries', b'\x07' + struct.pack('>I', 2) + entry('/x') + entry('/y', 2))
# requests (kinds 8..15: ls log stat read status search latest sig)
put('proto', 'req-ls', b'\x08' + s('phone1') + s('/sdcard') + struct.pack('>q', 0) + b'\x01')
put('proto', 'req-log', b'\x09' + s('phone1') + s('/sdcard/a.txt'))
put('proto', 'req-stat', b'\x0a' + s('phone1') + s('/') + struct.pack('>Qq', 3, 1700000000 * 10**9))
put('proto', 'req-read', b'\x0b' + s('phone1') + s('/a') + struct.pack('>QQQ', 0, 65536, 1 << 20))
put('proto', 'req-status', b'\x0c' + s('phone1'))
put('proto', 'req-search', b'\x0d' + s('phone1') + b'\x00' + struct.pack('>I', 2) + s('13800138000') + s('张三'))
put('proto', 'req-latest', b'\x0e' + s('/home/alice/notes.txt'))
put('proto', 'req-sig', b'\x0f' + s('/data/v.bin') + struct.pack('>Q', 7))
def sim(present=1, allowed=0, iccid='89860012345678901234', imsi='460001234567890', op='中国移动'):
    return struct.pack('>qBB', 1700000000 * 10**9, present, allowed) + s(iccid) + s(imsi) + s(op)
put('proto', 'sim', b'\x10' + sim())
put('proto', 'put-trailer', b'\x12' + b'\x00\x01' + bytes(range(16)))
put('proto', 'put-trailer-abandon', b'\x12' + b'\x01\x00' + bytes(16))
put('proto', 'put-stored', b'\x16' + struct.pack('>Q', 3) + bytes(range(32)) + bytes(range(32, 64)) +
    struct.pack('>Q', 104857))
put('proto', 'put-cuts', b'\x17' + struct.pack('>H', 3) + struct.pack('>III', 9697, 11029, 65536))
put('proto', 'batch-item', b'\x13' + entry() + b'\x01' + struct.pack('>Q', 0) + bytes(16) + s('') + b'\x01')
put('proto', 'batch-done', b'\x14' + struct.pack('>I', 2) + struct.pack('>QIB', 3, 0, 1) +
    struct.pack('>QIB', 0, 74, 0))
put('proto', 'req-rsig', b'\x15' + s('/data/v.bin') + struct.pack('>QQQ', 7, 1 << 20, 81920))
put('proto', 'sim-absent', b'\x10' + sim(0, 0, '', '', ''))
# simwire datagrams (common/simwire.h): u8 version, u8 kind, i64 time, str path, ...
def simw(kind, path, tail=b''):
    return b'\x11' + bytes([1, kind]) + struct.pack('>q', 1700000000 * 10**9) + s(path) + tail
put('proto', 'simw-changed', simw(1, '/home/u/sim/phonebook.vcf'))
put('proto', 'simw-ranges', simw(2, '/home/u/b.bin', struct.pack('>IQQQQ', 2, 0, 10, 4096, 1 << 62)))
put('proto', 'simw-closed', simw(3, '/home/u/b.bin'))
put('proto', 'simw-mount', simw(5, '/home/u/sim'))
put('proto', 'simw-sim', simw(6, '', sim()))

# names: plain strings
for i, x in enumerate(['phone1', 'phone1:/sdcard/a', 'a-b.c_d:/', 'dev:/a/b/', 'Bad:/x',
                       '/a/./b', '/a/../b', '//', 'x' * 70, 'd:/a//b']):
    put('names', f's{i}', x)

# timefmt: 8 bytes of now, then the string
now = struct.pack('>q', 1700000000 * 10**9)
for i, x in enumerate(['2026-11-28T19:05:00Z', '2026-11-28T19:05:00.123456789+08:00',
                       '2026-11-28 19:05', '2026-02-29', '2024-02-29t00:00:60-0130', '@1700000000.25',
                       '@-5', '-1d12h', '-30s', 'now', '30m', '1w2d3h4m5s', '9223372036s']):
    put('timefmt', f's{i}', now + x.encode())
put('timefmt', 'now-min', struct.pack('>q', -2**63) + b'-1s')

# chunktree: header (version, level, count) + entries
leaf = bytes([1, 0]) + struct.pack('>I', 2) + bytes(range(32)) + struct.pack('>I', 8192) + \
    bytes(range(1, 33)) + struct.pack('>I', 100)
put('chunktree', 'leaf', leaf)
put('chunktree', 'empty-leaf', bytes([1, 0, 0, 0, 0, 0]))
put('chunktree', 'inner', bytes([1, 1]) + struct.pack('>I', 1) + bytes(32) + struct.pack('>Q', 1 << 40))

# delta: byte 0 = piece step (bit 0: empty base), bytes 1-3 = announced size
# (0xffffff: no cap but CONTENT_SIZE_MAX), then "rs\x02\x36" + commands
M = b'rs\x02\x36'
NOCAP = b'\xff\xff\xff'
put('delta', 'literal', b'\x02' + NOCAP + M + b'\x05hello\x00')
put('delta', 'copy', b'\x10' + NOCAP + M + b'\x45\x00\x10' + b'\x4a\x00\x10\x03\xe8' + b'\x03abc\x00')
put('delta', 'copy-wide', b'\xff' + NOCAP + M + b'\x54' + struct.pack('>QQ', 100, 19900) + b'\x41\x02hi\x00')
put('delta', 'empty-base', b'\x01' + NOCAP + M + b'\x42\x00\x04abcd\x00')
put('delta', 'bad-copy', b'\x00' + NOCAP + M + b'\x4d\x00\x00\x4e\x20\x00\x01\x00')
# a small delta copying the whole base over and over, announced as 50000 bytes
put('delta', 'cap-copies', b'\x20' + (50000).to_bytes(3, 'big') + M +
    (b'\x4a\x00\x00\x4e\x20') * 40 + b'\x00')
put('delta', 'cap-literal', b'\x03' + (4).to_bytes(3, 'big') + M + b'\x05hello\x00')
put('delta', 'cap-exact', b'\x03' + (5).to_bytes(3, 'big') + M + b'\x05hello\x00')
put('delta', 'cap-truncated', b'\x00' + (3).to_bytes(3, 'big') + M + b'\x41\x10hello')

# ranges: byte 0 step (bit 0: empty base), u16 new size, records {u64 off, u32 len, bytes}
def rec(off, data):
    return struct.pack('>QI', off, len(data)) + data
put('ranges', 'two', b'\x04' + struct.pack('>H', 20000) + rec(10, b'abc') + rec(9000, b'xyz' * 10))
put('ranges', 'grow', b'\x00' + struct.pack('>H', 30000) + rec(25000, b'tail'))
put('ranges', 'cut', b'\xff' + struct.pack('>H', 500) + rec(0, b'') + rec(499, b'!'))
put('ranges', 'empty-base', b'\x01' + struct.pack('>H', 100) + rec(50, b'fifty'))
# a size field >= 0xf000 announces (field & 0xfff) << 28 bytes: 1 TiB with an empty body,
# and a huge file with a few records (the work must follow the body, not the size)
put('ranges', 'huge-empty', b'\x01' + struct.pack('>H', 0xf000 | 0xfff))
put('ranges', 'huge-records', b'\x06' + struct.pack('>H', 0xf000 | 0x10) + rec(7, b'seven') +
    rec(1 << 31, b'x' * 300) + rec((0x10 << 28) - 2, b'!!'))
put('ranges', 'huge-base', b'\x00' + struct.pack('>H', 0xf000 | 1))

# extract: byte 0 picks the name (index into fuzz_extract.c's table; bit 7 = tiny max_out)
put('extract', 'vcard', b'\x00' + b'BEGIN:VCARD\r\nVERSION:2.1\r\nN:Zhang;San\r\nTEL;CELL:+86 138 0013 8000\r\n'
    b'NOTE;ENCODING=QUOTED-PRINTABLE:caf=C3=A9 =\r\n long\r\nPHOTO;ENCODING=BASE64:AAAA\r\n AAAA\r\nEND:VCARD\r\n')
put('extract', 'ical', b'\x01' + b'BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Meet\\, talk\\nlater\n'
    b'DESCRIPTION:fold\n ed line\nEND:VEVENT\nEND:VCALENDAR\n')
put('extract', 'json', b'\x02' + b'{"a": "x\\u00e9\\ud83d\\ude00", "n": [1, 2.5e3, true, null], "s": "\\"q\\""}')
put('extract', 'csv', b'\x03' + b'name,phone\n"Li, Si","+86 10 1234 5678"\n"a ""b""",c\n')
put('extract', 'xml', b'\x05' + b'<?xml version="1.0"?><!-- c --><r a="v&amp;w"><![CDATA[raw <x>]]>'
    b't&#x4e2d;&#20013;&lt;</r>')
put('extract', 'html', b'\x06' + b'<html><script>x</script><p title="t">Hello&nbsp;<b>you</b></p>')
put('extract', 'text', b'\x07' + 'plain text 中文 ÷\tend\n'.encode())
put('extract', 'binary', b'\x09' + bytes(range(256)))
put('extract', 'cut', b'\x87' + b'a long line of text that goes past the tiny output cap for sure')
if subprocess.run(['which', 'sqlite3'], capture_output=True).returncode == 0:
    sqls = {
        'sqlite': "PRAGMA page_size=512; CREATE TABLE c(name TEXT, phone TEXT, n INT);"
                  "INSERT INTO c VALUES('Zhang San','13800138000',1),('Li','+44 7700 900123',2);",
        'sqlite-more': "PRAGMA page_size=512; CREATE TABLE \"we\"\"ird\"(a); CREATE INDEX i ON \"we\"\"ird\"(a);"
                       "CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID; INSERT INTO w VALUES('k','v');"
                       "CREATE VIEW v AS SELECT * FROM w; CREATE TRIGGER t AFTER INSERT ON w BEGIN SELECT 1; END;"
                       "INSERT INTO \"we\"\"ird\" VALUES('x'),(x'00ff'),(3.5);",
    }
    for name, sql in sqls.items():
        with tempfile.TemporaryDirectory() as d:
            subprocess.run(['sqlite3', f'{d}/db', sql], check=True)
            put('extract', name, b'\x08' + open(f'{d}/db', 'rb').read())

# phone: byte 0 picks the country (86 1 7 44 33 39 999 2 852 100)
for i, (c, x) in enumerate([(0, 'call +86 138-0013-8000 or 13800138000 now'),
                            (3, '+44 (0)7700 900123, 07700 900123'), (1, '011 44 20 7946 0958 (212) 555-0100'),
                            (2, '8 912 345 67 89'), (0, '张三 李四丰 Ελληνικά ÀÉÎ ＦＵＬＬ 123abc'),
                            (9, '00 1234567890123456789'), (6, '+999 123 4567')]):
    put('phone', f's{i}', bytes([c]) + x.encode())

# jsonout: arbitrary bytes
for i, x in enumerate([b'/sdcard/a.txt', 'caf\u00e9 中'.encode(), b'\\x41 back\\slash', b'\xff\xc0\x80\xed\xa0\x80',
                       b'\x01\x1f\x7f ctl', b'\xf4\x90\x80\x80 \xf0\x9f\x98\x80 \xe2\x82']):
    put('jsonout', f's{i}', x)

# bundle: real bundles from a throwaway server dir, plus truncations
srv = 'build/bin/vigil-server'
if os.path.exists(srv):
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([srv, 'init', f'{d}/srv', '--listen', '127.0.0.1:7445'], check=True,
                       capture_output=True)
        for role in ('controller', 'device'):
            subprocess.run([srv, 'enroll', f'{d}/srv', f'--{role}', f'{role[0]}1', '--out', f'{d}/{role}'],
                           check=True, capture_output=True)
            b = open(f'{d}/{role}', 'rb').read()
            put('bundle', role, b)
        put('bundle', 'truncated', b[:len(b) // 2])
put('bundle', 'header-only', b'vigil-bundle 1\nrole device\nname d1\nserver h:1\nend\n')

# command: byte 0 picks the parser (0 body, 1 envelope, 2 progress record)
def cmd_body(action, extra=b'', device='phone1', ctl='ctl1'):
    return (bytes([1, action]) + s(device) + s(ctl) +
            struct.pack('>Qqq', 7, 1700000000 * 10**9, 1700604800 * 10**9) + extra)
put('command', 'freeze', b'\x00' + cmd_body(1))
put('command', 'erase', b'\x00' + cmd_body(3))
put('command', 'trust-add', b'\x00' + cmd_body(4, s('ctl2') + bytes(range(32))))
put('command', 'trust-revoke', b'\x00' + cmd_body(5, s('ctl2')))
put('command', 'fetch', b'\x00' + cmd_body(6, s('/sdcard/DCIM/a.jpg')))
put('command', 'fetch-dotdot', b'\x00' + cmd_body(6, s('/sdcard/../etc')))
put('command', 'envelope', b'\x01' + struct.pack('>Q', 3) + s(cmd_body(2)) + bytes(range(64)))
put('command', 'envelope-fetch', b'\x01' + struct.pack('>Q', 0) + s(cmd_body(6, s('/a'))) + bytes(64))
put('command', 'state-done', b'\x02' + struct.pack('>Q', 9) + s('done') + s('erased 3 files') +
    struct.pack('>QQQBIq', 3, 4096, 1, 1, 8, 1700000000 * 10**9))
put('command', 'state-refused', b'\x02' + struct.pack('>Q', 1) + s('refused') + s('replay: seq 3 <= 7') +
    struct.pack('>QQQBIq', 0, 0, 0, 0, 0, 0))

# pdu: byte 0 = flags (bits 0-2: join max - 1), then [len][PDU bytes] records;
# PDUs from the fake modem's encoder (tests/integration/helpers/smspdu.py)
import sys
sys.path.insert(0, 'tests/integration/helpers')
import smspdu as P
def pdus(*hexes, flags=7):
    out = bytes([flags])
    for h in hexes:
        b = bytes.fromhex(h)
        out += bytes([len(b)]) + b
    return out
T = 1765000000
put('pdu', 'classic', pdus('07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07'))
put('pdu', 'gsm7-ext', pdus(P.encode_deliver('+8613800138000', 'Price 5€ [ok] {x} \\ ~ ^ | \f', T, tz_minutes=480)))
put('pdu', 'ucs2-emoji', pdus(P.encode_deliver('+8613800138000', '你好，张三 😀!', T, ucs2=True)))
put('pdu', 'alpha', pdus(P.encode_deliver('Vigil Bank', 'Code 1234', T, tz_minutes=-300)))
put('pdu', 'submit', pdus(P.encode_submit('+15551234567', 'See you', vp=0xA7),
                          P.encode_submit('10086', 'abs', vp=P.scts(T)),
                          P.encode_submit('+1555', 'enh', vp=bytes(7), vp_enhanced=True)))
long8 = ('Brackets [x] {y} and € signs near the part boundaries of a long text. ' * 6)[:420]
put('pdu', 'concat8', pdus(*P.encode_long_deliver('+8613800138000', long8, T, ref=0xA5)[::-1], flags=2))
put('pdu', 'concat16', pdus(*P.encode_long_deliver('+8613800138000', '张三的短信😀' * 20, T, ref=0x1F2E,
                                                    ref16=True), flags=1))
put('pdu', 'concat-missing', pdus(*P.encode_long_deliver('+86138', long8, T, ref=7)[::2]))
put('pdu', 'udh-8bit', pdus('07911326040000F044' '0B911346610089F6' '0004' '52216050640400' '0D'
                            '0B' '0504158A0000' '0003030201' 'FF'))
put('pdu', 'as-text', b'\x00' + P.encode_deliver('+31641600986', 'text path', T).encode())
put('pdu', 'ucs2-text', b'\x00' + b'5F204E09D83DDE00DE00D83D0000')

# at: byte 0 picks where the stream is cut (0..255 over its length) and the
# piece sizes after it; then what an EG25-G sends on its AT port.

def at(name, cut, *lines, raw=b''):
    body = b''.join((x.encode() if isinstance(x, str) else x) for x in lines)
    put('at', name, bytes([cut]) + body + raw)

def reply(*lines, final='OK'):
    return ''.join(f'\r\n{x}' for x in lines) + ('\r\n' if lines else '') + f'\r\n{final}\r\n'

def ucs2hex(name):
    return name.encode('utf-16-be').hex().upper()

TS = 1700000000
at('identity', 0x80, 'ATE1\r', reply(), 'AT+QCCID\r', reply('+QCCID: 89860318740123456789'),
   'AT+CIMI\r', reply('460001234567890'), 'AT+CNUM\r', reply('+CNUM: ,"+8613800138000",145'),
   'AT+COPS?\r', reply('+COPS: 0,0,"CHINA MOBILE CMCC",7'), 'AT+CPIN?\r', reply('+CPIN: READY'))
book = [(1, '13800138000', 129, '张三'), (2, '+8613912345678', 145, 'Zoë 😀'),
        (3, '10086', 129, ''), (4, '+441632960000', 145, 'John "Q" Public, Jr.'),
        (5, '*#06#', 129, '𠀋𡈽 family')]
at('cpbr-ucs2', 0x37, 'AT+CSCS="UCS2"\r', reply(), 'AT+CPBS="SM"\r', reply(),
   'AT+CPBR=1,250\r', reply(*[f'+CPBR: {i},"{n}",{t},"{ucs2hex(x)}"' for i, n, t, x in book]))
at('cpbr-urcs', 0x05, 'AT+CPBR=1,3\r\r\n+CPBR: 1,"13800138000",129,"5F204E09"\r\n',
   '+CMTI: "SM",7\r\n', '+CPBR: 2,"+8613912345678",145,"00410042"\r\nRING\r\n\r\nOK\r\n')
parts = P.encode_long_deliver('+8613800138000', '长短信测试' * 30, TS, 0x42)
pdus = [P.encode_deliver('+31641600986', 'How are you? {€}', TS),
        P.encode_deliver('CMCC', '你好 😀', TS, ucs2=True)] + parts
at('cmgl-pdu', 0xc0, 'AT+CMGF=0\r', reply(), 'AT+CMGL=4\r',
   reply(*[x for i, p in enumerate(pdus) for x in (f'+CMGL: {i + 1},1,,{P.tpdu_length(p)}', p)]))
at('urcs', 0x10, 'RDY\r\n+CFUN: 1\r\n+CPIN: NOT READY\r\n+QUSIM: 1\r\n+CPIN: READY\r\n',
   '+QIND: SMS DONE\r\n+QIND: PB DONE\r\n+QSIMSTAT: 0,1\r\n+CREG: 1\r\n+CGREG: 0,1\r\n',
   '+QIND: "csq",25,99\r\n+CMTI: "SM",3\r\n+CDSI: "SM",1\r\n^RSSI: 5\r\nRING\r\n+CLIP: "10086",129\r\n')
at('errors', 0x99, 'AT+CIMI\r', reply(final='+CME ERROR: 10'), 'AT+CPIN?\r',
   reply(final='+CME ERROR: SIM not inserted'), 'AT+CMGL=4\r', reply(final='+CMS ERROR: 321'),
   'ATD10086;\r', reply(final='NO CARRIER'), 'AT+CPBS="XX"\r', reply(final='ERROR'),
   'AT+CME\r', reply(final='+CME ERROR: 99999999999999999999'))
at('line-ends', 0x40, 'a\rb\nc\r\nd\n\re\r\r\n\n\r\n\r\nOK\n\r> \x1a\r\n+CMGS: 5\r\n')
at('garbage', 0xfe, raw=bytes(range(256)) + b'\x00OK\x00\r\n\x1b[2J\xff\xfe\r\nERR\x00OR\r\n')
at('overlong', 0x7f, '+CPBR: 1,"1",129,"' + '0041' * 300 + '"\r\nOK\r\n', 'x' * 1024 + '\r\n',
   'y' * 1025 + '\n', 'z' * 1030)
at('truncated', 0x01, 'AT+CPBR=1,250\r\r\n+CPBR: 1,"13800138000",129,"5F2')

# modemat: byte 0 sizes the text buffer, then reply lines as an EG25-G sends them
for i, x in enumerate([
        '+CPIN: READY\n+CPIN: SIM PIN\n+CPIN: NOT READY\n+QSIMSTAT: 1,0\n+CMTI: "SM",3',
        '+QCCID: 89860012345678901234\n+CCID: "8944110012345678901F"\n89860012345678901234\n460001234567890',
        '+CNUM: "004F0077006E","+8613800138000",145\n+CNUM: "","13800138000",129',
        '+COPS: 0,0,"CHINA MOBILE",7\n+COPS: 0,0,"004300480049004E0041",7\n+COPS: 0,2,"46000",7\n+COPS: 0',
        '+CPBR: (1-250),40,14\n+CPBR: 1,"+8613800138001",145,"5F204E09"\n'
        '+CPBR: 2,"8613800138002",145,"004D006900610020D83DDE00"\n+CPBR: 3,"10086",129,""',
        '+CPBR: 4,"002B0038003600310033",145,"D83D"\n+CPBR: 5,"a,b",129,"0053002C"\n+CPBR: 6,"1\n+CPBR: x',
        '+CMGL: 1,1,,51\n07911326040000F0040D91683119325476F800006260100010000023\n+CMGL: 2,"REC",,3',
]):
    put('modemat', f's{i}', bytes([7 * i + 3]) + x.encode())
# vcard: byte 0 = flags (bits 0-1 number type 129/145/128/161, bit 2 fields fill
# their arrays without NUL, bits 3-7 buffer cap), then NUL-separated name, number, ...
for i, (f, fields) in enumerate([
        (1, ['张三', '+8613800138000', '😀 Joy', '13800138000', '', '10086']),
        (0, ['Smith, John; \\x\nnext\r\nthird\rfourth', '5550100']),
        (0xf9, ['a' * 71 + '张' + 'b' * 69 + '😀end', '8613800138000']),
        (4, ['x' * 300, '1' * 60]),
        (2, ['\x01ctl\x7f\u0085', '', '', '']),
        (0x13, ['中国移动\n', '+85212345678', '\t', '+1'])]):
    put('vcard', f's{i}', bytes([f]) + b'\x00'.join(x.encode() for x in fields))
put('vcard', 'invalid-utf8', b'\x00' + b'a\xff\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80\xe5\xbc\x00\xf0\x9f\x98')

# mmvalue: byte 0 = the destination's size, then a string (ModemManager's
# timestamps, identities, numbers, texts cut at awkward places)
for i, (cap, x) in enumerate([
        (32, '2026-11-28T10:15:00+08:00'), (32, '2026-11-28T02:15:00.123456Z'),
        (32, '2026-11-27T22:15:00-0400'), (32, '2026-11-28T10:15:00+08'),
        (32, '2026-11-28T02:15:00+25:00'), (32, 'now'), (21, '89860012345678901234'),
        (20, '89860012345678901234'), (16, '+8613800138000'), (16, '10086 CMCC'),
        (8, 'ab你好'), (7, 'abcdef😀'), (64, 'line\nbreak\ttab\x7fdel'), (1, 'x'), (0, '')]):
    put('mmvalue', f's{i}', bytes([cap]) + x.encode())

# mux: byte 0 = read step (fuzz_piece), byte 1 bit 7 = HELLO already taken,
# then frames {u32 len, u8 kind, u8 flags, u16 type, u32 stream, payload}
def fr(kind, sid=0, p=b'', typ=0):
    return struct.pack('>IBBHI', len(p), kind, 0, typ, sid) + p
HELLO = fr(1, 0, struct.pack('>II', 3, 512 * 1024))
put('mux', 'session', b'\x03\x00' + HELLO + fr(8, 0, b'12345678') + fr(2, 1, b'open', 5) +
    fr(3, 1, b'hi', 7) + fr(4, 1, bytes(100)) + fr(6, 1, struct.pack('>I', 4096)) + fr(5, 1) +
    fr(7, 3) + fr(9, 0, b'pong'))
put('mux', 'bytewise', b'\x00\x00' + HELLO + fr(2, 2, b'x') + fr(4, 2, b'data' * 20))
put('mux', 'whole', b'\xff\x80' + fr(3, 5, b'm', 1) + fr(5, 5) + fr(7, 9))
put('mux', 'bad-version', b'\x05\x00' + fr(1, 0, struct.pack('>I', 2)))
put('mux', 'no-window', b'\x05\x00' + fr(1, 0, struct.pack('>I', 3)))
put('mux', 'big-window', b'\x05\x00' + fr(1, 0, struct.pack('>II', 3, 1 << 30)))
put('mux', 'no-hello', b'\x05\x00' + fr(2, 1, b'x'))
put('mux', 'second-hello', b'\x05\x00' + HELLO + HELLO)
put('mux', 'big-ping', b'\x05\x80' + fr(8, 0, b'123456789'))
put('mux', 'stream0', b'\x05\x80' + fr(3, 0, b'x'))
put('mux', 'too-long', b'\x05\x80' + struct.pack('>IBBHI', 65537, 3, 0, 0, 1))
put('mux', 'bad-kind', b'\x05\x80' + struct.pack('>IBBHI', 0, 10, 0, 0, 1) + fr(0))
put('mux', 'partial', b'\x07\x80' + fr(4, 1, b'abc')[:9])

# conffile: byte 0 mod 3 = 0 vigild's --config FILE, 1 the server's
# DIR/config (the old "key value" grammar too), 2 a table of every type
put('conffile', 'vigild', b'\x00' + b'# vigild\nbundle = /etc/vigil/bundle.pem\nstate = /var/lib/vigil\n'
    b'watch = /tmp\nwatch = /tmp\nserver = backup.example:7445\ntracker = scan\ndebounce-ms = 100\n'
    b'erase-root = /tmp\nerase-luks = /dev/sda2\nfreeze-cgroup = /sys/fs/cgroup/x\nverbose = yes\n')
put('conffile', 'vigild-bad', b'\x00' + b'state = /s\nbundle = /b\nwatch = /nonexistent/x\ndebounce-ms = 9999999\n')
put('conffile', 'vigild-long', b'\x00' + b'state = ' + b'/a' * 3000 + b'\n')
put('conffile', 'vigild-novalue', b'\x00' + b'tracker =\n\twatch =\r\n')
put('conffile', 'vigild-old', b'\x00' + b'state /s\nbundle /b\nwatch /tmp\n')
put('conffile', 'vigild-twice', b'\x00' + b'state = /s\nbundle = /b\nwatch = /tmp\nstate = /t\n')
put('conffile', 'server', b'\x01' + b'# vigil-server\nlisten = 0.0.0.0:7445\n'
    b'advertise = backup.example:7445\ncountry = 86\n')
put('conffile', 'server-old', b'\x01' + b'# vigil-server configuration\nlisten 0.0.0.0:7445\n'
    b'advertise backup.example:7445\ncountry 86\n')
put('conffile', 'server-v6', b'\x01' + b'listen [::]:7445\r\ncountry 1 # us\n')
put('conffile', 'server-bad', b'\x01' + b'listen host:port:x\ncountry 1000\nnope 1\n')
put('conffile', 'server-bind', b'\x01' + b'listen = 127.0.0.1\n\n   \ncountry\t=44\n')
put('conffile', 'table', b'\x02' + b's = x y\nn = -10\nb = off\nl = 1\nl = 2\r\n# c\n')
put('conffile', 'table-nul', b'\x02' + b's = a\x00b\n')
put('conffile', 'table-long', b'\x02' + b's = ' + b'v' * 4092 + b'\r\nl = ' + b'w' * 4093 + b'\n')

# restore: byte 0 flags (bit 0 --keep-privileged, bit 1 content matches the
# sha256, bit 2 owners too, bit 3 DEST exists with a file in it), then a
# listing of entries; the first is the root of the tree
def rent(path, typ=1, mode=0o644, size=5, link='', xattr=b'', deleted=0):
    return (s(path) + bytes([typ, deleted]) + struct.pack('>IIIQqQqq', mode, 1000, 1000, size,
            1700000000 * 10**9, 3, 1700000000 * 10**9, 1700000001 * 10**9) +
            bytes(32) + bytes(32) + s(link) + s(xattr))
XA = s('user.note') + s(b'hi') + s('security.capability') + s(b'\x01\x00\x00\x02' + bytes(16)) + \
    s('trusted.t') + s(b'x')
ROOT = rent('/r', 2, 0o755, 0)
put('restore', 'tree', b'\x06' + ROOT + rent('/r/a') + rent('/r/d', 2, 0o7777, 0, xattr=XA) +
    rent('/r/d/f', 1, 0o6755, 100, xattr=XA) + rent('/r/d/e', 2, 0o2700, 0) + rent('/r/gone', deleted=1) +
    rent('/r/empty', 1, 0o600, 0))
put('restore', 'keep-privileged', b'\x07' + ROOT + rent('/r/s', 1, 0o4755, 10, xattr=XA) +
    rent('/r/dd', 2, 0o3777, 0, xattr=XA))
put('restore', 'symlinks', b'\x02' + ROOT + rent('/r/abs', 3, 0o777, 0, '/etc') +
    rent('/r/abs/passwd', 1, 0o644, 7) + rent('/r/up', 3, 0o777, 0, '../out') +
    rent('/r/up/canary', 1, 0o644, 3) + rent('/r/up/new', 1) + rent('/r/dot', 3, 0o777, 0, '.'))
put('restore', 'existing', b'\x0a' + rent('/r', 2, 0o777, 0) + rent('/r/keep', 1, 0o4777, 5) +
    rent('/r/keep/x') + rent('/r/new', 2, 0o777, 0) + rent('/r/new/f', 1, 0o644, 1))
put('restore', 'outside', b'\x02' + ROOT + rent('/other/x') + rent('/r') + rent('/rx/y') +
    rent('/r/a/b/c/d', 1, 0o644, 2) + rent('/r/a/b', 1) + rent('/r/a', 3, 0o777, 0, '/'))
put('restore', 'dishonest', b'\x00' + ROOT + rent('/r/a', 1, 0o644, 9) + rent('/r/big', 1, 0o644, 1 << 40))
put('restore', 'file-root', b'\x02' + rent('/r', 1, 0o644, 4) + rent('/r/x'))

# exwire: byte 0 = items, then BATCH items {u32 size, u32 path_len, path, bytes}
def xi(path, data):
    path = path.encode(); data = data if isinstance(data, bytes) else data.encode()
    return struct.pack('<II', len(data), len(path)) + path + data
put('exwire', 'three', b'\x03' + xi('/sdcard/a.txt', 'an alpaca') + xi('/x/b.vcf', 'BEGIN:VCARD\r\n') +
    xi('', b''))
put('exwire', 'full', b'\x02' + xi('/d/f.bin', bytes(16384)) + xi('/' + 'p' * 1022, b'x'))
put('exwire', 'too-big', b'\x01' + struct.pack('<II', 16385, 1) + b'/' + bytes(16385))
put('exwire', 'long-path', b'\x01' + struct.pack('<II', 1, 1024) + b'/' * 1024 + b'x')
put('exwire', 'short', b'\x02' + xi('/a', 'abc') + struct.pack('<II', 10, 2) + b'/b' + b'12345')
put('exwire', 'cut-header', b'\x01' + b'\x05\x00\x00')

# s3xml (make fuzz-scale): byte 0 bits 0-1 parser (0 list, 1 error, 2 upload id), bits 2-7 buffer size
NS = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
put('s3xml', 'list', b'\xfc' + ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult' + NS +
    '><Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>'
    '<IsTruncated>true</IsTruncated><Contents><Key>p/a</Key><LastModified>2026-12-07T22:00:00.000Z'
    '</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size>'
    '<StorageClass>STANDARD</StorageClass></Contents><Contents><Key>p/b&amp;c</Key><Size>12</Size>'
    '</Contents><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>'
    '</ListBucketResult>').encode())
put('s3xml', 'list-stop', b'\x00' + ('<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Contents>'
    '<Contents><Key>b</Key><Size>2</Size></Contents></ListBucketResult>').encode())
put('s3xml', 'list-entities', b'\xfc' + ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">'
    '<!ENTITY b "&a;&a;&a;&a;"><!ENTITY x SYSTEM "file:///etc/hostname">]><ListBucketResult>'
    '<Contents><Key>&b;&x;</Key><Size>1</Size></Contents></ListBucketResult>').encode())
put('s3xml', 'error', b'\x41' + ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>'
    '<Message>The specified key does not exist.</Message><BucketName>b</BucketName>'
    '<RequestId>tx0000-0</RequestId><HostId>h</HostId></Error>').encode())
put('s3xml', 'upload-id', b'\xfe' + ('<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult'
    + NS + '><Bucket>b</Bucket><Key>k</Key><UploadId>2~Yq7-3Xh5fXj7M0vIZq3vT4mQ0Kcq9Ar</UploadId>'
    '</InitiateMultipartUploadResult>').encode())
