/* libFuzzer: a runlist (mapping pairs). The first 8 bytes are the start
 * VCN. */
#include <stdint.h>
#include <string.h>

#include "../mft/mft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t vcn = 0;
	if (size >= 8) {
		memcpy(&vcn, data, 8);
		data += 8;
		size -= 8;
	}
	struct mft_runlist_iter it;
	struct mft_run run;
	struct mft_error err;
	mft_runlist_init(&it, data, size, vcn);
	unsigned n = 0;
	while (mft_runlist_next(&it, &run, &err) == 1)
		if (++n > 1000000)
			__builtin_trap(); /* a runlist cannot outlast its bytes */
	return 0;
}
