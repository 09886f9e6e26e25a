/* Checks of a live volume against what Windows reports. */
#include "winvol.h"

#include "../mft/bytes.h"

int uffs_winvol_parse(const uint8_t *b, size_t len, struct uffs_winvol *out,
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

static unsigned disagree(const struct uffs_warn_sink *warn, uint64_t offset,
			 const char *what)
{
	struct mft_error e;
	mft_fail(&e, MFT_E_CORRUPT, MFT_NO_FRS, offset, what);
	uffs_warn(warn, &e);
	return 1;
}

static bool pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

unsigned uffs_winvol_apply(struct uffs_volume *v, const struct uffs_winvol *wv,
			   const struct uffs_warn_sink *warn)
{
	unsigned n = 0;
	if (!v->has_boot || !pow2(wv->bytes_per_cluster) ||
	    wv->bytes_per_cluster > (2u << 20) || !pow2(wv->bytes_per_record) ||
	    wv->bytes_per_record < MFT_RECORD_SIZE_MIN ||
	    wv->bytes_per_record > MFT_RECORD_SIZE_MAX ||
	    wv->mft_lcn >= v->boot.volume_size / wv->bytes_per_cluster)
		return 0;
	if (wv->bytes_per_cluster != v->boot.cluster_size) {
		n += disagree(warn, 44, "the boot sector's cluster size differs from Windows': using Windows'");
		v->boot.cluster_size = wv->bytes_per_cluster;
	}
	if (wv->bytes_per_record != v->record_size) {
		n += disagree(warn, 48, "the boot sector's record size differs from Windows': using Windows'");
		v->record_size = v->boot.record_size = wv->bytes_per_record;
	}
	if (wv->mft_lcn != v->boot.mft_lcn) {
		n += disagree(warn, 64, "the boot sector's $MFT cluster differs from Windows': using Windows'");
		v->boot.mft_lcn = wv->mft_lcn;
	}
	return n;
}

unsigned uffs_winvol_check(const struct uffs_volume *v,
			   const struct uffs_winvol *wv,
			   const struct uffs_extent *ext, size_t n_ext,
			   const struct uffs_warn_sink *warn)
{
	unsigned n = 0;
	if (!v->has_boot)
		return 0;
	if (wv->bytes_per_cluster != v->boot.cluster_size)
		n += disagree(warn, 44, "Windows reports another cluster size than the boot sector");
	if (wv->bytes_per_record != v->record_size)
		n += disagree(warn, 48, "Windows reports another record size than the boot sector");
	if (wv->mft_lcn != v->boot.mft_lcn)
		n += disagree(warn, 64, "Windows reports the $MFT at another cluster than the boot sector");
	if (wv->serial != v->boot.serial)
		n += disagree(warn, 0, "Windows reports another serial number than the boot sector");
	if (wv->mft_valid_length > v->mft_size)
		n += disagree(warn, 56, "Windows reports more valid $MFT bytes than record 0 holds");
	if (ext && n_ext) {
		bool same = n_ext == v->n_ext;
		for (size_t i = 0; same && i < n_ext; i++)
			same = ext[i].mft_off == v->ext[i].mft_off &&
			       ext[i].vol_off == v->ext[i].vol_off &&
			       ext[i].len == v->ext[i].len;
		if (!same)
			n += disagree(warn, 0, "Windows maps the $MFT to other clusters than record 0's runlist");
	}
	return n;
}
