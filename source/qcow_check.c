/* qcow cluster tables (QEMU's published qcow and qcow2 layouts): versions
 * 1, 2 and 3, big-endian. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qcow_check.h"

#define HEADER_LEN 72
#define L1_ENTRIES_MAX (32u << 20)
#define V2_OFFSET_MASK 0x00fffffffffffe00ull
#define V2_COMPRESSED (1ull << 62)
#define V1_COMPRESSED (1ull << 63)

struct layout {
	unsigned version;
	unsigned cluster_bits;
	unsigned l2_bits; /* entries per L2 table, as a power of two */
	uint64_t l1_offset;
	uint64_t l1_entries;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static int bad(char why[UFFS_CONTAINER_WHY], const char *what, uint64_t at)
{
	snprintf(why, UFFS_CONTAINER_WHY, "damaged qcow image: %s (at byte %llu)",
		 what, (unsigned long long)at);
	return -1;
}

static int read_layout(const uint8_t *h, struct layout *l,
		       char why[UFFS_CONTAINER_WHY])
{
	if (memcmp(h, "QFI\xfb", 4) != 0)
		return bad(why, "no qcow signature", 0);
	l->version = be32(h + 4);
	uint64_t size;
	if (l->version == 1) {
		size = be64(h + 24);
		l->cluster_bits = h[32];
		l->l2_bits = h[33];
		l->l1_offset = be64(h + 40);
	} else if (l->version == 2 || l->version == 3) {
		l->cluster_bits = be32(h + 20);
		size = be64(h + 24);
		l->l2_bits = l->cluster_bits - 3;
		l->l1_entries = be32(h + 36);
		l->l1_offset = be64(h + 40);
	} else {
		return bad(why, "unknown qcow version", 4);
	}
	if (l->cluster_bits < 9 || l->cluster_bits > 21)
		return bad(why, "cluster size out of range", 20);
	if (l->l2_bits < 6 || l->l2_bits > 18)
		return bad(why, "L2 table size out of range", 33);
	unsigned span_bits = l->cluster_bits + l->l2_bits;
	uint64_t needed = (size >> span_bits) + ((size & ((1ull << span_bits) - 1)) != 0);
	if (l->version == 1)
		l->l1_entries = needed;
	if (l->l1_entries < needed || l->l1_entries > L1_ENTRIES_MAX)
		return bad(why, "L1 table size does not fit the disk size", 36);
	return 0;
}

static int check_l2_entry(const struct layout *l, uint64_t e, uint64_t file,
			  uint64_t at, char why[UFFS_CONTAINER_WHY])
{
	uint64_t cluster = 1ull << l->cluster_bits;
	bool compressed = l->version == 1 ? (e & V1_COMPRESSED)
					  : (e & V2_COMPRESSED);
	uint64_t off;
	if (compressed) {
		unsigned bits = l->version == 1 ? 63 - l->cluster_bits
						: 62 - (l->cluster_bits - 8);
		off = e & ((1ull << bits) - 1);
		if (off >= file)
			return bad(why, "a compressed cluster past the end of the file", at);
		return 0;
	}
	off = l->version == 1 ? e & ~V1_COMPRESSED : e & V2_OFFSET_MASK;
	if (off && (off > file || file - off < cluster))
		return bad(why, "a data cluster past the end of the file (truncated?)", at);
	return 0;
}

static int check_l2(const struct layout *l, uint64_t l2_off, uint8_t *buf,
		    uffs_qcow_read_fn *read, void *ctx, uint64_t file,
		    char why[UFFS_CONTAINER_WHY])
{
	size_t len = (size_t)8 << l->l2_bits;
	if (l2_off > file || file - l2_off < len)
		return bad(why, "an L2 table past the end of the file (truncated?)",
			   l2_off);
	if (read(ctx, buf, len, l2_off))
		return bad(why, "an L2 table unreadable", l2_off);
	for (size_t i = 0; i < len; i += 8)
		if (check_l2_entry(l, be64(buf + i), file, l2_off + i, why))
			return -1;
	return 0;
}

int uffs_qcow_check(uffs_qcow_read_fn *read, void *ctx, uint64_t file_size,
		    char why[UFFS_CONTAINER_WHY])
{
	uint8_t h[HEADER_LEN];
	struct layout l = {0};
	if (file_size < HEADER_LEN || read(ctx, h, sizeof h, 0))
		return bad(why, "header cut short", 0);
	if (read_layout(h, &l, why))
		return -1;
	uint64_t l1_len = l.l1_entries * 8;
	if (l.l1_offset > file_size || file_size - l.l1_offset < l1_len)
		return bad(why, "the L1 table past the end of the file (truncated?)",
			   l.l1_offset);
	uint8_t *l2 = malloc((size_t)8 << l.l2_bits);
	uint8_t entry[8];
	if (!l2) {
		snprintf(why, UFFS_CONTAINER_WHY, "out of memory");
		return -1;
	}
	int rc = 0;
	uint64_t mask = l.version == 1 ? ~0ull : V2_OFFSET_MASK;
	for (uint64_t i = 0; i < l.l1_entries && rc == 0; i++) {
		uint64_t at = l.l1_offset + i * 8;
		if (read(ctx, entry, 8, at)) {
			rc = bad(why, "the L1 table unreadable", at);
			break;
		}
		uint64_t l2_off = be64(entry) & mask;
		if (l2_off)
			rc = check_l2(&l, l2_off, l2, read, ctx, file_size, why);
	}
	free(l2);
	return rc;
}
