/* libFuzzer: an $ATTRIBUTE_LIST value. */
#include <stdint.h>

#include "../mft/mft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mft_al_iter it;
	struct mft_al_entry e;
	struct mft_error err;
	mft_al_iter_init(&it, data, size);
	unsigned n = 0;
	while (mft_al_next(&it, &e, &err) == 1)
		if (++n > size)
			__builtin_trap(); /* every entry consumes bytes */
	return 0;
}
