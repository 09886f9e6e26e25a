/*
 * Bounds-checked little-endian access to untrusted bytes.
 *
 * Every read of on-disk data in mft/ goes through these helpers. The checks
 * are written so they cannot overflow: "off + n <= len" becomes
 * "n <= len && off <= len - n".
 */
#ifndef UFFS_BYTES_H
#define UFFS_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool span_fits(size_t len, size_t off, size_t n)
{
	return n <= len && off <= len - n;
}

static inline uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* A read-only window {base, len}; getters return 0 past the end and set *ok
 * to false, so a sequence of reads can be checked once at the end. */
struct span {
	const uint8_t *base;
	size_t len;
};

static inline uint8_t span_u8(struct span s, size_t off, bool *ok)
{
	if (!span_fits(s.len, off, 1)) {
		*ok = false;
		return 0;
	}
	return s.base[off];
}

static inline uint16_t span_u16(struct span s, size_t off, bool *ok)
{
	if (!span_fits(s.len, off, 2)) {
		*ok = false;
		return 0;
	}
	return le16(s.base + off);
}

static inline uint32_t span_u32(struct span s, size_t off, bool *ok)
{
	if (!span_fits(s.len, off, 4)) {
		*ok = false;
		return 0;
	}
	return le32(s.base + off);
}

static inline uint64_t span_u64(struct span s, size_t off, bool *ok)
{
	if (!span_fits(s.len, off, 8)) {
		*ok = false;
		return 0;
	}
	return le64(s.base + off);
}

#endif
