/* The streaming scan. */
#include <stdlib.h>
#include <string.h>

#include "scan.h"

#define DEFAULT_CHUNK (1u << 20)

/* Damage worth a warning: a record the volume says is in use, or any record
 * that once held a file when there is no bitmap to ask. Empty and
 * never-used slots are normal and stay silent. */
static bool worth_warning(const struct uffs_volume *v, uint64_t frs, int rc)
{
	if (rc == MFT_E_EMPTY)
		return false;
	if (v->bitmap)
		return uffs_volume_record_in_bitmap(v, frs);
	return rc != MFT_E_BAD_MAGIC;
}

int uffs_scan_record(const struct uffs_volume *v, struct uffs_index *idx,
		     uint8_t *rec, uint64_t frs, struct mft_record_view *view,
		     const struct uffs_warn_sink *warn, struct mft_error *err)
{
	struct mft_error rec_err;
	int rc = mft_record_parse(rec, v->record_size, frs, view, &rec_err);
	if (rc == MFT_OK) {
		if (view->partial && worth_warning(v, frs, MFT_E_CORRUPT))
			uffs_warn(warn, &view->damage);
		if (view->baad && worth_warning(v, frs, MFT_E_BAAD)) {
			mft_fail(&rec_err, MFT_E_BAAD, frs, 0,
				 "record marked BAAD by chkdsk but intact: listed");
			uffs_warn(warn, &rec_err);
		}
		return uffs_index_add_record(idx, view, err);
	}
	if (rc != MFT_E_EMPTY && rc != MFT_E_BAD_MAGIC)
		uffs_index_mark_damaged(idx, frs);
	if (worth_warning(v, frs, rc))
		uffs_warn(warn, &rec_err);
	return MFT_OK;
}

int uffs_scan(const struct uffs_volume *v, const struct uffs_scan_opts *opts,
	      struct uffs_index *idx, struct uffs_scan_stats *stats,
	      const struct uffs_warn_sink *warn, struct mft_error *err)
{
	uint32_t chunk = opts && opts->chunk_bytes ? opts->chunk_bytes
						   : DEFAULT_CHUNK;
	uint64_t per_chunk = chunk / v->record_size;
	if (per_chunk == 0)
		per_chunk = 1;
	int rc = uffs_index_init(idx, v->n_records, v->record_size, err);
	if (rc)
		return rc;
	uint8_t *buf = malloc((size_t)(per_chunk * v->record_size));
	struct mft_record_view *view = malloc(sizeof *view);
	if (!buf || !view) {
		rc = mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
		goto out;
	}
	*stats = (struct uffs_scan_stats){0};
	for (uint64_t first = 0; first < v->n_records; first += per_chunk) {
		uint64_t n = v->n_records - first < per_chunk
				     ? v->n_records - first
				     : per_chunk;
		rc = uffs_volume_read_records(v, first, n, buf, err);
		if (rc)
			goto out;
		/* Record 0 was unusable and the volume was opened through its
		 * $MFTMirr copy: index that copy. */
		if (first == 0 && v->mirror_rec0)
			memcpy(buf, v->mirror_rec0, v->record_size);
		stats->records_read += n;
		stats->bytes_read += n * v->record_size;
		for (uint64_t i = 0; i < n; i++) {
			rc = uffs_scan_record(v, idx, buf + i * v->record_size,
					      first + i, view, warn, err);
			if (rc)
				goto out;
		}
	}
	stats->records_damaged = idx->n_damaged;
	rc = uffs_index_finish(idx, err);
out:
	free(buf);
	free(view);
	if (rc)
		uffs_index_free(idx);
	return rc;
}
