/*
 * What Windows says about a live NTFS volume: FSCTL_GET_NTFS_VOLUME_DATA
 * (geometry, where the $MFT starts, how much of it is valid) and
 * FSCTL_GET_RETRIEVAL_POINTERS on $MFT (its extents), parsed into the
 * volume's own terms (struct uffs_os_volume, volume.h), which implement
 * uffs_os_volume_read. Pure functions over the raw result bytes, so they are
 * tested on every platform with recorded structures; the Windows source
 * opener only fetches the bytes. The volume applies and checks the result
 * (scan/volume.c) without knowing where it came from.
 */
#ifndef UFFS_WINVOL_H
#define UFFS_WINVOL_H

#include <stddef.h>
#include <stdint.h>

#include "../mft/mft.h"
#include "volume.h"

/* NTFS_VOLUME_DATA_BUFFER, as far as we use it (winioctl.h):
 *  0 serial 8, 8 sectors 8, 16 total clusters 8, 24 free clusters 8,
 *  32 reserved 8, 40 bytes/sector 4, 44 bytes/cluster 4,
 *  48 bytes/record 4, 52 clusters/record 4, 56 MFT valid data length 8,
 *  64 MFT start LCN 8, 72 MFT mirror start LCN 8, 80 zone start 8,
 *  88 zone end 8: 96 bytes. */
#define UFFS_NTFS_VOLUME_DATA_LEN 96

int uffs_winvol_parse(const uint8_t *buf, size_t len, struct uffs_os_volume *out,
		      struct mft_error *err);

/* RETRIEVAL_POINTERS_BUFFER: 0 extent count 4, (4 padding), 8 starting VCN
 * 8, then per extent: next VCN 8, LCN 8 (-1 for a hole). Writes at most max
 * extents in bytes (mft_off / vol_off / len), merging contiguous ones like
 * the runlist mapping does. */
int uffs_winvol_parse_extents(const uint8_t *buf, size_t len,
			      uint32_t cluster_size, struct uffs_extent *out,
			      size_t max, size_t *n, struct mft_error *err);

#endif
