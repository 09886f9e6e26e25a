/* The built-in $UpCase table and the on-disk one's decoding. */
#include "upcase.h"

#include "bytes.h"

/* Maps each unit of [first, last] with the given parity (relative to
 * first: lower case at first + 1, first + 3, ...) to the unit before it:
 * the "pairs" layout of most Latin and Cyrillic blocks. */
static void map_pairs(uint16_t *t, unsigned upper_first, unsigned last)
{
	for (unsigned u = upper_first; u + 1 <= last; u += 2)
		t[u + 1] = (uint16_t)u;
}

static void map_shift(uint16_t *t, unsigned first, unsigned last,
		      unsigned delta)
{
	for (unsigned u = first; u <= last; u++)
		t[u] = (uint16_t)(u - delta);
}

/* Decision: the rules below reproduce, unit for unit, the $UpCase that
 * mkntfs writes (the committed images carry it) in the ranges they cover.
 * Characters whose capital lies in another block or that NTFS leaves alone
 * (dotless i U+0131, long s U+017F, micro sign U+00B5, final sigma
 * U+03C2) map to themselves, as in that table. */
void uffs_upcase_default(uint16_t *t)
{
	for (unsigned u = 0; u < UFFS_UPCASE_UNITS; u++)
		t[u] = (uint16_t)u;
	map_shift(t, 'a', 'z', 0x20);
	/* Latin-1: à..þ less the division sign; ÿ has its capital in
	 * Latin Extended-A. */
	map_shift(t, 0xE0, 0xFE, 0x20);
	t[0xF7] = 0xF7;
	t[0xFF] = 0x178;
	/* Latin Extended-A: pairs, with the odd units out at 0x138 (kra),
	 * 0x149 and 0x17F. */
	map_pairs(t, 0x100, 0x12F);
	map_pairs(t, 0x132, 0x137);
	map_pairs(t, 0x139, 0x148);
	map_pairs(t, 0x14A, 0x177);
	map_pairs(t, 0x179, 0x17E);
	/* Greek: accented vowels, then the alphabet around final sigma. */
	t[0x3AC] = 0x386;
	map_shift(t, 0x3AD, 0x3AF, 0x25);
	map_shift(t, 0x3B1, 0x3C1, 0x20);
	map_shift(t, 0x3C3, 0x3CB, 0x20);
	t[0x3CC] = 0x38C;
	map_shift(t, 0x3CD, 0x3CE, 0x3F);
	/* Cyrillic: the alphabet, the Ukrainian/Serbian row, then pairs. */
	map_shift(t, 0x430, 0x44F, 0x20);
	map_shift(t, 0x450, 0x45F, 0x50);
	map_pairs(t, 0x460, 0x481);
	map_pairs(t, 0x48A, 0x4BF);
	map_pairs(t, 0x4C1, 0x4CE);
	t[0x4CF] = 0x4C0;
	map_pairs(t, 0x4D0, 0x523);
}

int uffs_upcase_decode(const uint8_t *le, size_t len, uint16_t *t)
{
	if (len < UFFS_UPCASE_BYTES)
		return -1;
	for (unsigned u = 0; u < UFFS_UPCASE_UNITS; u++)
		t[u] = le16(le + 2 * u);
	for (unsigned c = 'a'; c <= 'z'; c++)
		if (t[c] != c - 0x20 || t[c - 0x20] != c - 0x20)
			return -1;
	return 0;
}
