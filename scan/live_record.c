/* A live volume's records from the file system's cache, checked, else from
 * the volume. */
#include "live_record.h"

#include <stdlib.h>
#include <string.h>

#include "../mft/bytes.h"
#include "../mft/ntfs_format.h"

int uffs_live_record_take(const uint8_t *ans, size_t len, uint64_t frs,
			  uint8_t *rec, uint32_t record_size, bool *in_use,
			  struct mft_error *err)
{
	*in_use = false;
	if (len < UFFS_LIVE_RECORD_HEADER)
		return mft_fail(err, MFT_E_CORRUPT, frs, len,
				"the file system's record answer is shorter than its header");
	uint64_t given = MFT_REF_FRS(le64(ans));
	if (given > frs)
		return mft_fail(err, MFT_E_CORRUPT, frs, 0,
				"the file system answered with a later record");
	if (given < frs)
		return MFT_OK; /* frs is not in use */
	uint32_t n = le32(ans + 8);
	if (n != record_size)
		return mft_fail(err, MFT_E_CORRUPT, frs, 8,
				"the file system's record is not the volume's record size");
	if (len - UFFS_LIVE_RECORD_HEADER < n)
		return mft_fail(err, MFT_E_CORRUPT, frs, len,
				"the file system's record answer ends inside the record");
	uint8_t *tmp = malloc(n);
	if (!tmp)
		return mft_fail(err, MFT_E_NOMEM, frs, 0, "out of memory");
	memcpy(tmp, ans + UFFS_LIVE_RECORD_HEADER, n);
	int rc = mft_fixup_reprotect(tmp, n, frs, err);
	if (rc == MFT_OK) {
		memcpy(rec, tmp, n);
		*in_use = true;
	}
	free(tmp);
	return rc;
}

/* The file system's answer for frs into buf; MFT_OK with *origin FS or
 * FREED, or an error (no answer, a damaged one: the caller reads the
 * volume). */
static int ask_file_system(const struct uffs_volume *v, uint64_t frs,
			   uint8_t *buf, enum uffs_record_origin *origin,
			   bool *damaged, struct mft_error *err)
{
	size_t cap = UFFS_LIVE_RECORD_HEADER + v->record_size, got = 0;
	uint8_t *ans = malloc(cap);
	if (!ans)
		return mft_fail(err, MFT_E_NOMEM, frs, 0, "out of memory");
	*damaged = false;
	int rc = uffs_file_ntfs_record(&v->src->file, frs, ans, cap, &got);
	if (rc) {
		rc = mft_fail(err, MFT_E_IO, frs, MFT_NO_OFFSET,
			      "the file system gives no record");
	} else {
		bool in_use;
		rc = uffs_live_record_take(ans, got, frs, buf, v->record_size,
					   &in_use, err);
		*damaged = rc != MFT_OK && rc != MFT_E_NOMEM;
		*origin = in_use ? UFFS_RECORD_FROM_FS : UFFS_RECORD_FREED;
	}
	free(ans);
	return rc;
}

int uffs_volume_read_current(const struct uffs_volume *v, uint64_t frs,
			     uint8_t *buf, const struct uffs_warn_sink *warn,
			     enum uffs_record_origin *origin,
			     struct mft_error *err)
{
	*origin = UFFS_RECORD_FROM_VOLUME;
	/* Only a live volume has a file system to ask (images: the volume's
	 * copy is all there is). */
	if (v->src->file.volume_prefix[0] && v->has_boot && !v->src->format &&
	    frs < v->n_records) {
		bool damaged = false;
		struct mft_error e;
		int rc = ask_file_system(v, frs, buf, origin, &damaged, &e);
		if (rc == MFT_E_NOMEM)
			return mft_fail(err, rc, frs, 0, "out of memory");
		if (damaged)
			uffs_warn(warn, &e);
		if (rc == MFT_OK && *origin == UFFS_RECORD_FROM_FS)
			return MFT_OK;
		if (rc != MFT_OK)
			*origin = UFFS_RECORD_FROM_VOLUME;
	}
	int rc = uffs_volume_read_records(v, frs, 1, buf, err);
	if (rc == MFT_OK && *origin == UFFS_RECORD_FREED)
		buf[MFT_REC_FLAGS] &= (uint8_t)~MFT_REC_FLAG_IN_USE;
	return rc;
}
