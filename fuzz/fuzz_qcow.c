/* libFuzzer: a qcow image's cluster tables, as uffs checks them before
 * libqcow reads any (source/qcow_check.c). The input is the whole file. */
#include <stdint.h>
#include <string.h>

#include "../source/qcow_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *data;
	size_t size;
};

static int read_mem(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct mem *m = ctx;
	if (off > m->size || len > m->size - off)
		__builtin_trap(); /* the check read outside the file it was given */
	memcpy(buf, m->data + off, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m = {data, size};
	char why[UFFS_CONTAINER_WHY] = "";
	if (uffs_qcow_check(read_mem, &m, size, why) != 0 && !why[0])
		__builtin_trap(); /* a refusal must say why */
	return 0;
}
