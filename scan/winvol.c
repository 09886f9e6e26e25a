/* What Windows says of a live volume, from the raw results of its volume
 * and retrieval-pointer queries: the volume's OS interface (volume.h). */
#include "winvol.h"

#include <stdlib.h>

#include "../mft/bytes.h"

#define RETRIEVAL_CAP (64u * 1024)

int uffs_winvol_parse(const uint8_t *b, size_t len, struct uffs_os_volume *out,
		      struct mft_error *err)
{
	if (len < UFFS_NTFS_VOLUME_DATA_LEN)
		return mft_fail(err, MFT_E_TRUNCATED, MFT_NO_FRS, len,
				"NTFS volume data shorter than 96 bytes");
	out->serial = le64(b + 0);
	out->total_clusters = le64(b + 16);
	out->bytes_per_sector = le32(b + 40);
	out->bytes_per_cluster = le32(b + 44);
	out->bytes_per_record = le32(b + 48);
	out->mft_valid_length = le64(b + 56);
	out->mft_lcn = le64(b + 64);
	out->mftmirr_lcn = le64(b + 72);
	if (!out->bytes_per_cluster || !out->bytes_per_record)
		return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS, 44,
				"NTFS volume data without cluster or record size");
	return MFT_OK;
}

int uffs_winvol_parse_extents(const uint8_t *b, size_t len,
			      uint32_t cluster_size, struct uffs_extent *out,
			      size_t max, size_t *n, struct mft_error *err)
{
	*n = 0;
	if (len < 16)
		return mft_fail(err, MFT_E_TRUNCATED, MFT_NO_FRS, len,
				"retrieval pointers shorter than their header");
	uint32_t count = le32(b);
	if (!span_fits(len, 16, (size_t)count * 16))
		return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS, 0,
				"retrieval pointer count past the buffer");
	uint64_t vcn = le64(b + 8);
	for (uint32_t i = 0; i < count; i++) {
		uint64_t next = le64(b + 16 + 16 * (size_t)i);
		uint64_t lcn = le64(b + 24 + 16 * (size_t)i);
		if (next <= vcn)
			return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS,
					16 + 16 * (size_t)i,
					"retrieval pointers go backwards");
		struct uffs_extent e = {vcn * cluster_size,
					lcn == UINT64_MAX ? UFFS_SPARSE_OFFSET
							  : lcn * cluster_size,
					(next - vcn) * cluster_size};
		struct uffs_extent *p = *n ? &out[*n - 1] : NULL;
		if (p && p->vol_off != UFFS_SPARSE_OFFSET &&
		    e.vol_off == p->vol_off + p->len &&
		    e.mft_off == p->mft_off + p->len) {
			p->len += e.len;
		} else {
			if (*n == max)
				return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
						"too many retrieval pointers");
			out[(*n)++] = e;
		}
		vcn = next;
	}
	return MFT_OK;
}

int uffs_os_volume_read(const struct uffs_file *f, uint32_t cluster_size,
			struct uffs_os_volume *out, struct uffs_extent *ext,
			size_t max_ext, size_t *n_ext)
{
	uint8_t vd[UFFS_NTFS_VOLUME_DATA_LEN];
	uint8_t *rp = ext ? malloc(RETRIEVAL_CAP) : NULL;
	size_t rp_len = 0;
	struct mft_error ignored;
	*n_ext = 0;
	int rc = -1;
	if ((!ext || rp) &&
	    uffs_file_volume_facts(f, vd, sizeof vd, rp, rp ? RETRIEVAL_CAP : 0,
				   &rp_len) == 0 &&
	    uffs_winvol_parse(vd, sizeof vd, out, &ignored) == MFT_OK) {
		rc = 0;
		if (ext && rp_len &&
		    uffs_winvol_parse_extents(rp, rp_len, cluster_size, ext,
					      max_ext, n_ext, &ignored) != MFT_OK)
			*n_ext = 0;
	}
	free(rp);
	return rc;
}
