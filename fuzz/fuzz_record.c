/* libFuzzer: one MFT record through fixup, the attribute walk and the
 * merger. The input's length picks the record size (512..4096 rounded
 * down to a power of two); the record is parsed in place in a copy. The
 * same bytes are then taken as the file system's answer for record 7
 * (FSCTL_GET_NTFS_FILE_RECORD, scan/live_record.c) and, where it holds,
 * the record it gives is parsed too (not merged: record 7 is taken). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/index.h"
#include "../mft/mft.h"
#include "../scan/live_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t rs = 4096;
	while (rs > 512 && rs > size)
		rs /= 2;
	if (size < rs)
		return 0;
	uint8_t *rec = malloc(rs);
	struct mft_record_view *v = malloc(sizeof *v);
	struct uffs_index idx;
	struct mft_error err;
	memcpy(rec, data, rs);
	if (uffs_index_init(&idx, 64, rs, true, &err) == MFT_OK) {
		if (mft_record_parse(rec, rs, 7, v, &err) == MFT_OK) {
			v->frs = 7;
			uffs_index_add_record(&idx, v, &err);
		}
		bool in_use = false;
		if (uffs_live_record_take(data, size, 7, rec, rs, &in_use,
					  &err) == MFT_OK &&
		    in_use)
			mft_record_parse(rec, rs, 7, v, &err);
		uffs_index_finish(&idx, &err);
		uffs_index_free(&idx);
	}
	free(v);
	free(rec);
	return 0;
}
