/* libFuzzer: a boot sector. */
#include <stdint.h>

#include "../mft/mft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mft_boot b;
	struct mft_error err;
	if (mft_boot_parse(data, size, &b, &err) == MFT_OK &&
	    (b.cluster_size == 0 || b.record_size < 512 || b.record_size > 4096))
		__builtin_trap(); /* validation let an impossible geometry through */
	return 0;
}
