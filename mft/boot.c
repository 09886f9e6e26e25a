/* Boot sector validation: every field we use is range-checked here, so the
 * rest of the code can trust struct mft_boot. */
#include <string.h>

#include "bytes.h"
#include "mft.h"
#include "ntfs_format.h"

#define BOOT_MIN_LEN 512u
#define CLUSTER_SIZE_MAX (2u * 1024 * 1024)

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

bool mft_boot_looks_ntfs(const uint8_t *sector, size_t len)
{
	return len >= BOOT_MIN_LEN &&
	       memcmp(sector + NTFS_BOOT_OEM, "NTFS    ", 8) == 0;
}

/* 0x0D: up to 0x80 the count itself; above, a negative power of two
 * (0xF4 = 2^12 sectors), used by Windows for clusters above 64 KiB. */
static uint64_t sectors_per_cluster(uint8_t raw)
{
	if (raw <= 0x80)
		return raw;
	unsigned shift = 256u - raw;
	return shift < 32 ? (uint64_t)1 << shift : 0;
}

/* 0x40 / 0x44: positive = clusters, negative n = 2^-n bytes. */
static uint64_t clusters_to_bytes(int8_t raw, uint64_t cluster_size)
{
	if (raw > 0)
		return (uint64_t)raw * cluster_size;
	unsigned shift = (unsigned)(-(int)raw);
	return shift < 32 ? (uint64_t)1 << shift : 0;
}

int mft_boot_parse(const uint8_t *s, size_t len, struct mft_boot *out,
		   struct mft_error *err)
{
	if (len < BOOT_MIN_LEN)
		return mft_fail(err, MFT_E_TRUNCATED, MFT_NO_FRS, len,
				"boot sector shorter than 512 bytes");
	if (!mft_boot_looks_ntfs(s, len))
		return mft_fail(err, MFT_E_NOT_NTFS, MFT_NO_FRS, NTFS_BOOT_OEM,
				"boot sector has no \"NTFS\" OEM id");
	uint32_t bps = le16(s + NTFS_BOOT_BYTES_PER_SECTOR);
	if (bps < 256 || bps > 4096 || !is_pow2(bps))
		return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS,
				NTFS_BOOT_BYTES_PER_SECTOR,
				"bytes per sector not a power of two in 256..4096");
	uint64_t spc = sectors_per_cluster(s[NTFS_BOOT_SECTORS_PER_CLUSTER]);
	uint64_t cluster = spc * bps;
	if (!is_pow2(spc) || cluster > CLUSTER_SIZE_MAX)
		return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS,
				NTFS_BOOT_SECTORS_PER_CLUSTER,
				"cluster size not a power of two up to 2 MiB");
	uint64_t rec = clusters_to_bytes(
		(int8_t)s[NTFS_BOOT_CLUSTERS_PER_RECORD], cluster);
	if (!is_pow2(rec) || rec < MFT_RECORD_SIZE_MIN ||
	    rec > MFT_RECORD_SIZE_MAX)
		return mft_fail(err, MFT_E_UNSUPPORTED, MFT_NO_FRS,
				NTFS_BOOT_CLUSTERS_PER_RECORD,
				"MFT record size not a power of two in 512..4096");
	uint64_t idx = clusters_to_bytes(
		(int8_t)s[NTFS_BOOT_CLUSTERS_PER_INDEX], cluster);
	uint64_t total = le64(s + NTFS_BOOT_TOTAL_SECTORS);
	if (total == 0 || total > UINT64_MAX / bps)
		return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS,
				NTFS_BOOT_TOTAL_SECTORS,
				"total sector count is zero or too large");
	uint64_t clusters = total * bps / cluster;
	uint64_t mft_lcn = le64(s + NTFS_BOOT_MFT_LCN);
	if (mft_lcn == 0 || mft_lcn >= clusters)
		return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS,
				NTFS_BOOT_MFT_LCN,
				"$MFT cluster outside the volume");
	out->bytes_per_sector = bps;
	out->cluster_size = (uint32_t)cluster;
	out->record_size = (uint32_t)rec;
	out->index_record_size = (uint32_t)idx;
	out->total_sectors = total;
	out->volume_size = total * bps;
	out->mft_lcn = mft_lcn;
	out->mftmirr_lcn = le64(s + NTFS_BOOT_MFTMIRR_LCN);
	out->serial = le64(s + NTFS_BOOT_SERIAL);
	return MFT_OK;
}
