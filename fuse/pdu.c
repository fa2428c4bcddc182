/* pdu.c — one SMS PDU (SMSC address + SMS-DELIVER or SMS-SUBMIT TPDU, as
 * AT+CMGL=4 lists them in PDU mode) decoded into a struct sms_part: peer
 * address, service centre time, concatenation reference and UTF-8 text.
 * Field layout from 3GPP TS 23.040 section 9.2; every read goes through
 * struct rd, which refuses to step past the bytes present. */
#include <errno.h>
#include <string.h>

#include "common/hex.h"
#include "fuse/gsm7.h"
#include "fuse/pdu.h"
#include "fuse/ucs2.h"

/* SMSC address (12) + the longest TPDU (SMS-SUBMIT: 7 header octets, a
 * 12-octet address, 7 of validity period, 140 of user data). */
#define PDU_BYTES_MAX 200
#define ADDR_DIGITS_MAX 20      /* 23.040 9.1.2.5: at most 10 octets of value */
#define UD_OCTETS_MAX 140
#define UD_SEPTETS_MAX 160

#define MTI_DELIVER 0
#define MTI_SUBMIT  1
#define FO_UDHI     0x40
#define FO_VPF(fo)  (((fo) >> 3) & 3)
#define TON_INTERNATIONAL 1
#define TON_ALPHANUMERIC  5

enum alphabet { AL_GSM7, AL_8BIT, AL_UCS2 };

struct rd {
	const uint8_t *p;
	size_t n, off;
};

/* Takes k bytes: *out points at them.  -EINVAL if fewer remain. */
static int rd_take(struct rd *r, size_t k, const uint8_t **out)
{
	if (k > r->n - r->off)
		return -EINVAL;
	*out = r->p + r->off;
	r->off += k;
	return 0;
}

static int rd_u8(struct rd *r, uint8_t *v)
{
	const uint8_t *p;

	if (rd_take(r, 1, &p) < 0)
		return -EINVAL;
	*v = *p;
	return 0;
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int hex_to_bytes(const char *hex, size_t hexlen, uint8_t *b, size_t *n)
{
	size_t i;

	if (hexlen % 2 != 0 || hexlen / 2 > PDU_BYTES_MAX)
		return -EINVAL;
	for (i = 0; i < hexlen / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*n = hexlen / 2;
	return 0;
}

/* BCD semi-octets, low nibble first; 23.040 9.1.2.3 (and 24.008's
 * extension digits * # a b c).  A filler 0xF is skipped. */
static void bcd_digits(const uint8_t *v, size_t ndigits, char *out, size_t *len,
		       size_t outlen)
{
	static const char digit[] = "0123456789*#abc";
	size_t i;

	for (i = 0; i < ndigits && *len + 1 < outlen; i++) {
		unsigned d = i % 2 ? v[i / 2] >> 4 : v[i / 2] & 0x0f;

		if (d < 15)
			out[(*len)++] = digit[d];
	}
	out[*len] = '\0';
}

/* 23.040 9.1.2.5: length in semi-octets, type of address, value. */
static int read_address(struct rd *r, char *out, size_t outlen)
{
	uint8_t ndigits, toa;
	const uint8_t *v;
	size_t len = 0;

	if (rd_u8(r, &ndigits) < 0 || ndigits > ADDR_DIGITS_MAX || rd_u8(r, &toa) < 0 ||
	    rd_take(r, (ndigits + 1u) / 2, &v) < 0)
		return -EINVAL;
	out[0] = '\0';
	if (((toa >> 4) & 7) == TON_ALPHANUMERIC)   /* 7-bit text in the digits' room */
		return gsm7_decode(v, (ndigits + 1u) / 2, 0, ndigits * 4u / 7, out, outlen,
				   &len);
	if (((toa >> 4) & 7) == TON_INTERNATIONAL && ndigits > 0)
		out[len++] = '+';
	bcd_digits(v, ndigits, out, &len, outlen);
	return 0;
}

/* 23.040 9.2.3.12: none, relative (1 octet), enhanced or absolute (7). */
static int skip_validity(struct rd *r, unsigned vpf)
{
	static const size_t octets[4] = { 0, 7, 1, 7 };
	const uint8_t *v;

	return rd_take(r, octets[vpf], &v);
}

/* 23.038 section 4: the alphabet each coding group implies. */
static enum alphabet dcs_alphabet(uint8_t dcs)
{
	switch (dcs >> 4) {
	case 0x0: case 0x1: case 0x2: case 0x3:     /* general data coding */
	case 0x4: case 0x5: case 0x6: case 0x7:     /* ... marked for deletion */
		if (dcs & 0x20)
			return AL_8BIT;             /* compressed: shown as data */
		switch ((dcs >> 2) & 3) {
		case 1: return AL_8BIT;
		case 2: return AL_UCS2;
		default: return AL_GSM7;    /* 3 is reserved: read as 7-bit */
		}
	case 0xe:                                   /* message waiting, UCS2 */
		return AL_UCS2;
	case 0xf:                                   /* data coding / class */
		return dcs & 0x04 ? AL_8BIT : AL_GSM7;
	default:            /* 0x8-0xB reserved, 0xC-0xD message waiting */
		return AL_GSM7;
	}
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), so the zone comes from the PDU, never from TZ. */
static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
	int era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64_t)era * 146097 + doe - 719468;
}

/* Two swapped BCD digits; -1 if either is not a digit. */
static int bcd2(uint8_t o)
{
	return (o & 0x0f) > 9 || (o >> 4) > 9 ? -1 : (o & 0x0f) * 10 + (o >> 4);
}

/* 23.040 9.2.3.11: YY MM DD hh mm ss zone, swapped BCD; the zone in
 * quarter hours with its sign in bit 3.  A stamp that is no date leaves
 * time_s 0 (unknown) rather than failing the message. */
static int read_scts(struct rd *r, struct sms_part *out)
{
	static const uint8_t mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const uint8_t *v;
	int f[6], q, i, year;

	if (rd_take(r, 7, &v) < 0)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		if ((f[i] = bcd2(v[i])) < 0)
			return 0;
	q = bcd2(v[6] & 0xf7);
	if (q < 0 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > mdays[f[1] - 1] ||
	    f[3] > 23 || f[4] > 59 || f[5] > 59)
		return 0;
	year = f[0] < 90 ? 2000 + f[0] : 1900 + f[0];   /* SMS began in 1992 */
	out->tz_minutes = (v[6] & 0x08 ? -q : q) * 15;
	out->time_s = days_from_civil(year, (unsigned)f[1], (unsigned)f[2]) * 86400 +
		      f[3] * 3600 + f[4] * 60 + f[5] - out->tz_minutes * 60;
	return 0;
}

/* 23.040 9.2.3.24: the header's elements; a concatenation element (8- or
 * 16-bit reference) with a sane seq/total is kept, others skipped. */
static int read_udh(const uint8_t *h, size_t n, struct sms_part *out)
{
	size_t i = 0;

	while (i < n) {
		uint8_t iei, iel;
		const uint8_t *v;

		if (n - i < 2 || h[i + 1] > n - i - 2)
			return -EINVAL;
		iei = h[i];
		iel = h[i + 1];
		v = h + i + 2;
		i += 2u + iel;
		if (out->concat || !((iei == 0x00 && iel == 3) || (iei == 0x08 && iel == 4)))
			continue;
		out->ref = iei == 0x08 ? (unsigned)v[0] << 8 | v[1] : v[0];
		v += iel - 2;           /* total, seq: the last two octets */
		out->total = v[0];
		out->seq = v[1];
		out->concat = out->total >= 1 && out->seq >= 1 && out->seq <= out->total;
		if (!out->concat)
			out->ref = out->total = out->seq = 0;   /* 23.040: ignore it */
	}
	return 0;
}

/* The text after a header of hl octets, UDL udl, in alphabet al. */
static int decode_text(const uint8_t *ud, size_t octets, size_t hl, unsigned udl,
		       enum alphabet al, struct sms_part *out)
{
	size_t len = 0, hs;

	if (al == AL_GSM7) {
		hs = (hl * 8 + 6) / 7;  /* header septets, fill bits included */
		if (hs > udl)
			return -EINVAL;
		return gsm7_decode(ud, octets, hs, udl - hs, out->text, sizeof(out->text), &len);
	}
	if (al == AL_8BIT) {
		hex_encode(ud + hl, octets - hl, out->text);
		return 0;
	}
	/* an odd octet count is a broken sender: its last octet is dropped */
	return ucs2_to_utf8(ud + hl, (octets - hl) & ~(size_t)1, out->text,
			    sizeof(out->text)) < 0 ? -EINVAL : 0;
}

/* 23.040 9.2.3.16/24: UDL (septets for 7-bit, else octets), the optional
 * header (its length octet first), then the text. */
static int read_user_data(struct rd *r, bool udhi, enum alphabet al, struct sms_part *out)
{
	const uint8_t *ud;
	size_t octets, hl = 0;
	uint8_t udl;

	if (rd_u8(r, &udl) < 0)
		return -EINVAL;
	if (al == AL_GSM7 ? udl > UD_SEPTETS_MAX : udl > UD_OCTETS_MAX)
		return -EINVAL;
	octets = al == AL_GSM7 ? (udl * 7u + 7) / 8 : udl;
	if (rd_take(r, octets, &ud) < 0)
		return -EINVAL;
	if (udhi) {
		if (octets < 1 || ud[0] + 1u > octets || read_udh(ud + 1, ud[0], out) < 0)
			return -EINVAL;
		hl = ud[0] + 1u;
	}
	return decode_text(ud, octets, hl, udl, al, out);
}

/* 23.040 9.2.2.1 (DELIVER) and 9.2.2.2 (SUBMIT), after the SMSC address. */
static int read_tpdu(struct rd *r, struct sms_part *out)
{
	uint8_t fo, mr, pid, dcs;
	unsigned mti;

	if (rd_u8(r, &fo) < 0)
		return -EINVAL;
	mti = fo & 3;
	if (mti != MTI_DELIVER && mti != MTI_SUBMIT)
		return -EINVAL;         /* status reports and commands: not messages */
	if (mti == MTI_SUBMIT && rd_u8(r, &mr) < 0)
		return -EINVAL;
	if (read_address(r, out->peer, sizeof(out->peer)) < 0 || rd_u8(r, &pid) < 0 ||
	    rd_u8(r, &dcs) < 0)
		return -EINVAL;
	if ((mti == MTI_DELIVER ? read_scts(r, out) : skip_validity(r, FO_VPF(fo))) < 0)
		return -EINVAL;
	return read_user_data(r, fo & FO_UDHI, dcs_alphabet(dcs), out);
}

int pdu_decode(const char *hex, size_t hexlen, unsigned index, enum sim_sms_status status,
	       struct sms_part *out)
{
	uint8_t b[PDU_BYTES_MAX], smsc_len;
	struct rd r = { .p = b };
	const uint8_t *smsc;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (hex_to_bytes(hex, hexlen, b, &r.n) < 0 || rd_u8(&r, &smsc_len) < 0 ||
	    smsc_len > 12 || rd_take(&r, smsc_len, &smsc) < 0)
		goto out;
	rc = read_tpdu(&r, out);
out:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	out->index = index;
	out->status = status;
	return rc;
}
