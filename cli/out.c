#include <stdlib.h>
#include <string.h>

#include "out.h"

#define OUT_CAP (1u << 16)

int out_init(struct out *o, FILE *f)
{
	*o = (struct out){.f = f, .cap = OUT_CAP};
	o->buf = malloc(OUT_CAP);
	return o->buf ? 0 : -1;
}

void out_init_memory(struct out *o)
{
	*o = (struct out){0};
}

void out_flush(struct out *o)
{
	if (!o->f)
		return;
	if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len)
		o->failed = true;
	o->len = 0;
}

static void grow(struct out *o, size_t need)
{
	size_t cap = o->cap ? o->cap : OUT_CAP;
	while (cap < need)
		cap *= 2;
	char *b = realloc(o->buf, cap);
	if (!b) {
		o->failed = true;
		return;
	}
	o->buf = b;
	o->cap = cap;
}

void out_spill(struct out *o, const char *s, size_t n)
{
	if (o->f) {
		out_flush(o);
		if (n > o->cap) {
			if (fwrite(s, 1, n, o->f) != n)
				o->failed = true;
			return;
		}
	} else if (o->len + n > o->cap) {
		grow(o, o->len + n);
		if (o->failed)
			return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

void out_pass(struct out *o, const char *s, size_t n)
{
	if (!o->f || n < o->cap / 2) {
		out_bytes(o, s, n);
		return;
	}
	out_flush(o);
	if (fwrite(s, 1, n, o->f) != n)
		o->failed = true;
}

int out_finish(struct out *o)
{
	out_flush(o);
	if (o->f && fflush(o->f) != 0)
		o->failed = true;
	free(o->buf);
	o->buf = NULL;
	return o->failed ? -1 : 0;
}

void out_str(struct out *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

void out_u64(struct out *o, uint64_t v)
{
	char tmp[24];
	size_t n = sizeof tmp;
	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_bytes(o, tmp + n, sizeof tmp - n);
}

void out_i64(struct out *o, int64_t v)
{
	if (v < 0) {
		out_char(o, '-');
		out_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		out_u64(o, (uint64_t)v);
	}
}

void out_hex32(struct out *o, uint32_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[10] = {'0', 'x'};
	for (int i = 0; i < 8; i++)
		tmp[2 + i] = digits[(v >> (28 - 4 * i)) & 0xF];
	out_bytes(o, tmp, sizeof tmp);
}

#define FILETIME_PER_SEC 10000000ull
#define FILETIME_UNIX_EPOCH 116444736000000000ull
/* Days from 1601-01-01 to 1970-01-01. */
#define DAYS_1601_TO_1970 134774

int64_t filetime_to_unix(uint64_t ft)
{
	if (ft < FILETIME_UNIX_EPOCH)
		return 0;
	return (int64_t)((ft - FILETIME_UNIX_EPOCH) / FILETIME_PER_SEC);
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian), after
 * Howard Hinnant's public-domain derivation. */
void out_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void put_digits(char *p, uint64_t v, int n)
{
	while (n--) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void out_filetime_iso(struct out *o, uint64_t ft)
{
	uint64_t secs = ft / FILETIME_PER_SEC;
	uint64_t frac = ft % FILETIME_PER_SEC;
	int64_t days = (int64_t)(secs / 86400) - DAYS_1601_TO_1970;
	uint64_t sod = secs % 86400;
	int64_t y;
	unsigned m, d;
	out_civil_from_days(days, &y, &m, &d);
	char t[28];
	put_digits(t, (uint64_t)y, 4);
	t[4] = '-';
	put_digits(t + 5, m, 2);
	t[7] = '-';
	put_digits(t + 8, d, 2);
	t[10] = 'T';
	put_digits(t + 11, sod / 3600, 2);
	t[13] = ':';
	put_digits(t + 14, sod / 60 % 60, 2);
	t[16] = ':';
	put_digits(t + 17, sod % 60, 2);
	t[19] = '.';
	put_digits(t + 20, frac, 7);
	t[27] = 'Z';
	out_bytes(o, t, sizeof t);
}

/* A lone surrogate in WTF-8: ED A0..BF xx. */
static bool is_surrogate(const unsigned char *p, size_t left)
{
	return left >= 3 && p[0] == 0xED && p[1] >= 0xA0;
}

static unsigned surrogate_value(const unsigned char *p)
{
	return 0xD000u | (unsigned)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
}

static void out_u_escape(struct out *o, unsigned v)
{
	static const char digits[] = "0123456789abcdef";
	char t[6] = {'\\', 'u', digits[v >> 12 & 15], digits[v >> 8 & 15],
		     digits[v >> 4 & 15], digits[v & 15]};
	out_bytes(o, t, sizeof t);
}

static void escape_json_char(struct out *o, unsigned char c)
{
	switch (c) {
	case '"':
		out_bytes(o, "\\\"", 2);
		break;
	case '\\':
		out_bytes(o, "\\\\", 2);
		break;
	case '\n':
		out_bytes(o, "\\n", 2);
		break;
	case '\t':
		out_bytes(o, "\\t", 2);
		break;
	case '\r':
		out_bytes(o, "\\r", 2);
		break;
	default:
		if (c < 0x20 || c == 0x7F)
			out_u_escape(o, c);
		else
			out_char(o, (char)c);
	}
}

static void escape_tsv_char(struct out *o, unsigned char c)
{
	switch (c) {
	case '\t':
		out_bytes(o, "\\t", 2);
		break;
	case '\n':
		out_bytes(o, "\\n", 2);
		break;
	case '\r':
		out_bytes(o, "\\r", 2);
		break;
	case '\\':
		out_bytes(o, "\\\\", 2);
		break;
	default:
		out_char(o, (char)c);
	}
}

/* Bytes that may need escaping in some style: controls, quote, backslash,
 * DEL, and 0xED (which starts a WTF-8 surrogate). display: the text and
 * body-file style, where quote and backslash are ordinary characters. */
static bool plain_byte(unsigned char c, bool display)
{
	if (c < 0x20 || c == 0x7F || c == 0xED)
		return false;
	return display || (c != '"' && c != '\\');
}

/* Length of the leading run of plain bytes, eight at a time: a word holds a
 * special byte when it has a byte below 0x20 or equal to one of four values
 * (the "has zero byte" test on x ^ pattern). These tests never miss a
 * special byte; a false alarm only drops to the byte loop. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static uint64_t has_zero_byte(uint64_t x)
{
	return (x - ONES) & ~x & HIGHS;
}

/* display: the text and body-file style, where quote and backslash are
 * ordinary characters. */
static bool word_special(const unsigned char *p, bool display)
{
	uint64_t x;
	memcpy(&x, p, 8);
	uint64_t special = (x - 0x20 * ONES) & ~x & HIGHS;
	special |= has_zero_byte(x ^ (0x7F * ONES));
	special |= has_zero_byte(x ^ (0xED * ONES));
	if (!display) {
		special |= has_zero_byte(x ^ ('"' * ONES));
		special |= has_zero_byte(x ^ ('\\' * ONES));
	}
	return special != 0;
}

/* Whether any of the 16 bytes at p may need escaping: vector compares
 * (GCC and clang vector extensions, SSE2 on x86-64). It is the listing's
 * inner loop: every byte of every name passes here. Sixteen at a time with
 * one last block overlapping the end takes half the instructions of a
 * 32-byte loop left to the compiler followed by 8-byte words and bytes
 * (most names are 10 to 100 bytes, so the tails were much of the work). */
typedef unsigned char out_v16 __attribute__((vector_size(16)));

static bool block_special(const unsigned char *p, bool display)
{
	const out_v16 space = (out_v16){0} + 0x20, del = (out_v16){0} + 0x7F,
		      ed = (out_v16){0} + 0xED, quote = (out_v16){0} + '"',
		      bslash = (out_v16){0} + '\\';
	out_v16 x;
	memcpy(&x, p, sizeof x);
	out_v16 m = (out_v16)(x < space) | (out_v16)(x == del) |
		    (out_v16)(x == ed);
	if (!display)
		m |= (out_v16)(x == quote) | (out_v16)(x == bslash);
	uint64_t h[2];
	memcpy(h, &m, sizeof h);
	return (h[0] | h[1]) != 0;
}

static size_t plain_run(const unsigned char *p, size_t n, bool display)
{
	size_t i = 0;
	if (n >= 16) {
		for (; i + 16 <= n; i += 16)
			if (block_special(p + i, display))
				break;
		/* The tail: one last block ending at n, overlapping what was
		 * checked. */
		if (i + 16 > n && (i == n || !block_special(p + n - 16, display)))
			return n;
	} else {
		for (; i + 8 <= n; i += 8)
			if (word_special(p + i, display))
				break;
		if (i < n && n >= 8 && i + 8 > n &&
		    !word_special(p + n - 8, display))
			return n;
	}
	while (i < n && plain_byte(p[i], display))
		i++;
	return i;
}

bool out_is_plain_in(const char *s, size_t n, enum out_escape esc)
{
	return plain_run((const unsigned char *)s, n, esc == ESC_DISPLAY) == n;
}

void out_name(struct out *o, const char *s, size_t n, enum out_escape esc)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t run = i + plain_run(p + i, n - i, esc == ESC_DISPLAY);
		if (run > i) {
			out_bytes(o, s + i, run - i);
			i = run;
			continue;
		}
		if (is_surrogate(p + i, n - i)) {
			if (esc == ESC_DISPLAY)
				out_char(o, '^');
			else
				out_u_escape(o, surrogate_value(p + i));
			i += 3;
			continue;
		}
		unsigned char c = p[i++];
		switch (esc) {
		case ESC_DISPLAY:
			out_char(o, c < 0x20 || c == 0x7F ? '^' : (char)c);
			break;
		case ESC_JSON:
			escape_json_char(o, c);
			break;
		case ESC_CSV:
			/* '"' doubled (RFC 4180); '\\' doubled too, so that the
			 * \uXXXX of a lone surrogate cannot be forged. */
			if (c == '"' || c == '\\')
				out_char(o, (char)c);
			out_char(o, (char)c);
			break;
		case ESC_TSV:
			escape_tsv_char(o, c);
			break;
		}
	}
}

/* The largest binary unit v reaches (1 = Ki ... 6 = Ei; 0 below 1024) and
 * v in tenths of it, rounded to nearest. */
static unsigned size_in_units(uint64_t v, uint64_t *tenths)
{
	unsigned u = 0;
	while (u < 6 && v >> (10 * (u + 1)) != 0)
		u++;
	uint64_t scale = (uint64_t)1 << (10 * u);
	uint64_t rem = v & (scale - 1); /* rem * 10 < 10 * 2^60 fits */
	*tenths = (v >> (10 * u)) * 10 + (rem * 10 + scale / 2) / scale;
	return u;
}

void format_size_human(uint64_t v, char *buf, size_t cap)
{
	static const char *const unit[] = {"B",   "KiB", "MiB", "GiB",
					   "TiB", "PiB", "EiB"};
	uint64_t t;
	unsigned u = size_in_units(v, &t);
	if (u == 0)
		snprintf(buf, cap, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, cap, "%llu.%u %s", (unsigned long long)(t / 10),
			 (unsigned)(t % 10), unit[u]);
}

void out_size_human(struct out *o, uint64_t v)
{
	static const char unit[] = " KMGTPE";
	uint64_t t;
	unsigned u = size_in_units(v, &t);
	if (u == 0) {
		out_u64(o, v);
		return;
	}
	if (t < 100) {
		out_u64(o, t / 10);
		out_char(o, '.');
		out_char(o, (char)('0' + t % 10));
	} else {
		out_u64(o, (t + 5) / 10);
	}
	out_char(o, unit[u]);
}
