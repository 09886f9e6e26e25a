/* UTF-16LE to WTF-8. NTFS names are sequences of 16-bit units, not strict
 * UTF-16: an unpaired surrogate is a legal name character, so it is encoded
 * as its own 3-byte sequence instead of being replaced. */
#include <string.h>

#include "bytes.h"
#include "mft.h"

size_t mft_wtf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Four UTF-16LE units that are all ASCII: their high bytes and bit 7 of
 * their low bytes are zero. */
static bool four_ascii(const uint8_t *p)
{
	return ((p[1] | p[3] | p[5] | p[7]) | ((p[0] | p[2] | p[4] | p[6]) & 0x80)) == 0;
}

/* Sixteen ASCII units narrowed to bytes, or false (nothing written) when
 * one is not ASCII. The test is two 16-byte vector operations (GCC and
 * clang vector extensions; byte lanes, so the host's byte order does not
 * matter): a unit is ASCII when its high byte and bit 7 of its low byte
 * are zero. The narrowing takes the even bytes of the two vectors. */
#define ASCII_BLOCK 16

typedef uint8_t names_v16 __attribute__((vector_size(16)));

/* Bytes outside 0x20..0x7E among sixteen ASCII ones: lanes of 0xFF. */
static names_v16 unprintable16(names_v16 v)
{
	const names_v16 space = {0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
				 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20};
	const names_v16 del = {0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F,
			       0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F};
	return (names_v16)(v < space) | (names_v16)(v == del);
}

/* An ASCII byte outside 0x20..0x7E: 1, else 0. */
static uint32_t unprintable(uint32_t c)
{
	return c - 0x20 >= 0x5F;
}

static bool block_ascii(const uint8_t *p, char *out, names_v16 *bad)
{
	const names_v16 non_ascii = {0x80, 0xFF, 0x80, 0xFF, 0x80, 0xFF,
				     0x80, 0xFF, 0x80, 0xFF, 0x80, 0xFF,
				     0x80, 0xFF, 0x80, 0xFF};
	names_v16 a, b;
	memcpy(&a, p, sizeof a);
	memcpy(&b, p + sizeof a, sizeof b);
	names_v16 m = (a | b) & non_ascii;
	uint64_t h[2];
	memcpy(h, &m, sizeof h);
	if (h[0] | h[1])
		return false;
	names_v16 low;
#ifdef UFFS_HAVE_SHUFFLEVECTOR
	low = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
				      20, 22, 24, 26, 28, 30);
#else
	for (int k = 0; k < ASCII_BLOCK; k++)
		low[k] = p[2 * k];
#endif
	memcpy(out, &low, sizeof low);
	if (bad)
		*bad |= unprintable16(low);
	return true;
}

/* The conversion; with `printable`, also whether the name is printable
 * ASCII (every unit 0x20..0x7E), found in the same passes. Inlined into
 * both callers: with `printable` NULL the compiler drops bad and bad_unit,
 * so the plain conversion carries none of that test. */
static inline size_t convert(const uint8_t *u16le, size_t units, char *out,
			     bool *printable)
{
	names_v16 bad = {0};
	names_v16 *badp = printable ? &bad : NULL;
	uint32_t bad_unit = 0;
	size_t n = 0;
	size_t i = 0;
	for (; i + ASCII_BLOCK <= units && block_ascii(u16le + 2 * i, out + n, badp);
	     i += ASCII_BLOCK)
		n += ASCII_BLOCK;
	/* Every block so far ASCII (so n == i) and fewer than a block left:
	 * one last block ending with the name, overlapping what was written
	 * with the same bytes, takes the rest at once. */
	if (i < units && i + ASCII_BLOCK > units && units >= ASCII_BLOCK &&
	    block_ascii(u16le + 2 * (units - ASCII_BLOCK),
			out + units - ASCII_BLOCK, badp)) {
		n = units;
		i = units;
	}
	/* Most names are ASCII: four units a step. */
	for (; i + 4 <= units && four_ascii(u16le + 2 * i); i += 4) {
		const uint8_t *p = u16le + 2 * i;
		out[n] = (char)p[0];
		out[n + 1] = (char)p[2];
		out[n + 2] = (char)p[4];
		out[n + 3] = (char)p[6];
		bad_unit |= unprintable(p[0]) | unprintable(p[2]) |
			    unprintable(p[4]) | unprintable(p[6]);
		n += 4;
	}
	for (; i < units; i++) {
		uint32_t u = le16(u16le + 2 * i);
		if (u < 0x80) {
			out[n++] = (char)u;
			bad_unit |= unprintable(u);
			continue;
		}
		bad_unit = 1;
		if (u >= 0xD800 && u < 0xDC00 && i + 1 < units) {
			uint32_t lo = le16(u16le + 2 * (i + 1));
			if (lo >= 0xDC00 && lo < 0xE000) {
				u = 0x10000 + ((u - 0xD800) << 10) +
				    (lo - 0xDC00);
				i++;
			}
		}
		n += mft_wtf8_put(out + n, u);
	}
	if (printable) {
		uint64_t h[2];
		memcpy(h, &bad, sizeof h);
		*printable = units && !bad_unit && !(h[0] | h[1]);
	}
	return n;
}

size_t mft_utf16_to_wtf8(const uint8_t *u16le, size_t units, char *out)
{
	return convert(u16le, units, out, NULL);
}

size_t mft_utf16_to_wtf8_printable(const uint8_t *u16le, size_t units,
				   char *out, bool *printable)
{
	return convert(u16le, units, out, printable);
}
