/* libFuzzer: one MFT record through fixup, the attribute walk and the
 * merger. The input's length picks the record size (512..4096 rounded
 * down to a power of two); the record is parsed in place in a copy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/index.h"
#include "../mft/mft.h"

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
		uffs_index_finish(&idx, &err);
		uffs_index_free(&idx);
	}
	free(v);
	free(rec);
	return 0;
}
