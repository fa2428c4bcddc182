#!/usr/bin/python3
"""smspdu.py — encodes SMS PDUs (3GPP TS 23.040 / 23.038) as a modem lists
them with AT+CMGL=4 in PDU mode: SMSC address first, then an SMS-DELIVER or
SMS-SUBMIT TPDU, as upper-case hex.  For the fake modem and for producing
the test vectors of tests/unit/test_pdu.c; standard library only.

    encode_deliver('+31641600986', 'How are you?', 1030390661)
    encode_deliver('张三', '你好 😀', ts, ucs2=True)          # alphanumeric sender
    encode_deliver('+8613800138000', part, ts, concat=(ref, total, seq, False))
    concat_parts(long_text)  -> [(text, ucs2)] that fit one PDU each
    encode_long_deliver(sender, long_text, ts, ref) -> [hex, ...]
    tpdu_length(hex)         -> the <length> of a +CMGL line
"""
import time

GSM7_BASIC = ('@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?'
              '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà')
GSM7_EXT = {'\f': 0x0A, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2F, '[': 0x3C,
            '~': 0x3D, ']': 0x3E, '|': 0x40, '€': 0x65}
assert len(GSM7_BASIC) == 128

SEPTETS_MAX, UCS2_OCTETS_MAX = 160, 140


def gsm7_septets(text):
    """Septets of text in the default alphabet (escape + extension where
    needed); ValueError for a character neither table has."""
    out = []
    for ch in text:
        if ch in GSM7_EXT:
            out += [0x1B, GSM7_EXT[ch]]
        elif ch != '\x1b' and ch in GSM7_BASIC:
            out.append(GSM7_BASIC.index(ch))
        else:
            raise ValueError(f'not in the GSM 7-bit alphabet: {ch!r}')
    return out


def needs_ucs2(text):
    try:
        gsm7_septets(text)
        return False
    except ValueError:
        return True


def pack7(septets, start=0):
    """Packs septets low bit first, the first one at septet position start."""
    bits = 0
    for i, s in enumerate(septets):
        bits |= s << (7 * (start + i))
    nbits = 7 * (start + len(septets))
    return bits.to_bytes((nbits + 7) // 8, 'little')


def bcd(digits):
    """Swapped semi-octets, 'F' filling an odd count."""
    nib = ['0123456789*#abc'.index(d) for d in digits.lower()]
    if len(nib) % 2:
        nib.append(15)
    return bytes(nib[i] | nib[i + 1] << 4 for i in range(0, len(nib), 2))


def encode_address(addr, smsc=False):
    """An address field: digits (international with '+') or, for anything
    else, alphanumeric (7-bit text, type 0xD0).  smsc=True gives the SMSC
    form, whose length counts octets rather than digits."""
    if addr == '' and smsc:
        return b'\x00'
    digits = addr[1:] if addr.startswith('+') else addr
    if digits and all(c in '0123456789*#' for c in digits):
        toa, val, n = (0x91 if addr.startswith('+') else 0x81), bcd(digits), len(digits)
    else:
        sept = gsm7_septets(addr)
        toa, val = 0xD0, pack7(sept)
        n = (len(sept) * 7 + 3) // 4            # semi-octets that carry text
    if smsc:
        return bytes([len(val) + 1, toa]) + val
    return bytes([n, toa]) + val


def scts(ts, tz_minutes=0):
    """Service centre time stamp: local time of the zone, swapped BCD,
    zone in quarter hours with the sign in bit 3."""
    t = time.gmtime(ts + tz_minutes * 60)
    vals = [t.tm_year % 100, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec]
    out = bytes((v % 10) << 4 | v // 10 for v in vals)
    q = abs(tz_minutes) // 15
    return out + bytes([(q % 10) << 4 | q // 10 | (0x08 if tz_minutes < 0 else 0)])


def udh_concat(concat):
    ref, total, seq, ref16 = concat
    if ref16:
        ie = bytes([0x08, 4, ref >> 8 & 0xFF, ref & 0xFF, total, seq])
    else:
        ie = bytes([0x00, 3, ref & 0xFF, total, seq])
    return bytes([len(ie)]) + ie


def user_data(text, ucs2, udh=b''):
    """(DCS, UDL, UD) for text, after an optional header (its length octet
    included in udh).  7-bit text starts at the septet after the header."""
    if ucs2:
        body = text.encode('utf-16-be')
        ud = udh + body
        if len(ud) > UCS2_OCTETS_MAX:
            raise ValueError('text too long for one PDU')
        return 0x08, len(ud), ud
    sept = gsm7_septets(text)
    hs = (len(udh) * 8 + 6) // 7                 # header septets with fill bits
    if hs + len(sept) > SEPTETS_MAX:
        raise ValueError('text too long for one PDU')
    packed = pack7(sept, hs)
    return 0x00, hs + len(sept), udh + packed[len(udh):]


def encode_deliver(sender, text, ts, ucs2=False, concat=None, tz_minutes=0,
                   smsc='+31624000000'):
    """SMS-DELIVER from sender at Unix time ts.  concat: (ref, total, seq,
    ref16) puts a concatenation header in.  GSM 7-bit unless ucs2."""
    udh = udh_concat(concat) if concat else b''
    dcs, udl, ud = user_data(text, ucs2, udh)
    fo = 0x04 | (0x40 if udh else 0)             # no more messages to send, UDHI
    tpdu = (bytes([fo]) + encode_address(sender) + bytes([0x00, dcs]) +
            scts(ts, tz_minutes) + bytes([udl]) + ud)
    return (encode_address(smsc, smsc=True) + tpdu).hex().upper()


def encode_submit(recipient, text, ucs2=False, concat=None, mr=0, vp=None, vp_enhanced=False,
                  smsc=''):
    """SMS-SUBMIT (a message stored to send).  vp: None, an int (relative
    format, one octet) or 7 bytes (absolute format; enhanced format with
    vp_enhanced)."""
    udh = udh_concat(concat) if concat else b''
    dcs, udl, ud = user_data(text, ucs2, udh)
    if vp is None:
        vpf, vpb = 0, b''
    elif isinstance(vp, int):
        vpf, vpb = 2, bytes([vp])
    else:
        vpf, vpb = (1 if vp_enhanced else 3), bytes(vp)
        if len(vpb) != 7:
            raise ValueError('absolute and enhanced validity periods have 7 octets')
    fo = 0x01 | vpf << 3 | (0x40 if udh else 0)
    tpdu = (bytes([fo, mr]) + encode_address(recipient) + bytes([0x00, dcs]) + vpb +
            bytes([udl]) + ud)
    return (encode_address(smsc, smsc=True) + tpdu).hex().upper()


def concat_parts(text, ucs2=None, ref16=False):
    """Splits text into pieces that each fit one PDU with a concatenation
    header: 153 septets (an escape pair never split) or 67 UCS2 units (a
    surrogate pair never split); 152 and 66 with a 16-bit reference.
    Returns (pieces, ucs2)."""
    if ucs2 is None:
        ucs2 = needs_ucs2(text)
    cost = (lambda ch: len(ch.encode('utf-16-be')) // 2) if ucs2 else \
        (lambda ch: len(gsm7_septets(ch)))
    room = (67 if ucs2 else 153) - (1 if ref16 else 0)
    pieces, cur, used = [], '', 0
    for ch in text:
        if used + cost(ch) > room:
            pieces.append(cur)
            cur, used = '', 0
        cur += ch
        used += cost(ch)
    pieces.append(cur)
    return pieces, ucs2


def encode_long_deliver(sender, text, ts, ref, ref16=False, ucs2=None, **kw):
    """Every PDU of text sent from sender, concatenated when it needs more
    than one (one plain PDU otherwise)."""
    if ucs2 is None:
        ucs2 = needs_ucs2(text)
    try:
        return [encode_deliver(sender, text, ts, ucs2, **kw)]
    except ValueError:
        pass
    pieces, ucs2 = concat_parts(text, ucs2, ref16)
    return [encode_deliver(sender, p, ts, ucs2, (ref, len(pieces), i + 1, ref16), **kw)
            for i, p in enumerate(pieces)]


def tpdu_length(pdu_hex):
    """The <length> field of +CMGL / +CMGR in PDU mode: TPDU octets, the
    SMSC address not counted."""
    b = bytes.fromhex(pdu_hex)
    return len(b) - 1 - b[0]


if __name__ == '__main__':
    # the classic vector of PDU tutorials, but for its zone octet: it says
    # "-0" (08) where this writes +0 (00)
    v = encode_deliver('+31641600986', 'How are you?', 1030390661, smsc='+31624000000')
    want = '07911326040000F0040B911346610089F60000208062917314000CC8F71D14969741F977FD07'
    print(v, 'ok' if v == want else 'MISMATCH')
