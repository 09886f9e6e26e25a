/*
 * Volume Shadow Copies: the stores a Windows volume keeps of itself as it
 * was at earlier times, read through libvshadow. A store becomes the disk
 * a source reads: uffs_source_use_store layers it over whatever the source
 * read before (an image, a partition, a container, a device), so the
 * volume, the $MFT and the scan work on it unchanged.
 */
#ifndef UFFS_VSS_H
#define UFFS_VSS_H

#include <stdbool.h>
#include <stdint.h>

#include "../mft/mft.h"

struct uffs_source;

#define UFFS_VSS_STORES_MAX 512 /* libvshadow's bound is far lower */

struct uffs_vss_store {
	int number;       /* 1 = the oldest, as libvshadow numbers them */
	uint8_t id[16];   /* the store identifier (a GUID, as stored) */
	uint64_t created; /* FILETIME */
	uint64_t volume_size;
};

/* Whether this build reads shadow copies. */
bool uffs_vss_available(void);

/* The stores of the volume src reads: *n of them into out (up to cap),
 * 0 when the volume has none. Returns MFT_OK or an error. */
int uffs_vss_stores(const struct uffs_source *src, struct uffs_vss_store *out,
		    int cap, int *n, struct mft_error *err);

/* From here on, src reads store `number` of its volume instead of the
 * volume. Returns MFT_OK, or an error and src unchanged. */
int uffs_source_use_store(struct uffs_source *src, int number,
			  struct mft_error *err);

/* A store identifier as text (a GUID: the first three fields are stored
 * little-endian): xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx. */
static inline void uffs_vss_id_text(const uint8_t id[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6,
				      8, 9, 10, 11, 12, 13, 14, 15};
	int o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[id[order[i]] >> 4];
		out[o++] = hex[id[order[i]] & 15];
	}
	out[o] = '\0';
}

#endif
