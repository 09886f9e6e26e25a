/* libFuzzer: change journal pages (mft/usn.c). The first 8 input bytes
 * are the page's offset in the $J stream, the rest one page of records:
 * every record handed on lies inside the page and has the USN of its own
 * offset; damage is reported with an offset inside the page. */
#include <stdint.h>
#include <string.h>

#include "../mft/usn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct bounds {
	const uint8_t *page;
	size_t len;
	uint64_t off;
};

static void each(void *ctx, const struct usn_record *r)
{
	const struct bounds *b = ctx;
	const uint8_t *end = b->page + b->len;
	if (r->name && (r->name < b->page || r->name + r->name_len > end))
		__builtin_trap();
	if (r->n_extents &&
	    (r->extents < b->page || r->extents + 16u * r->n_extents > end))
		__builtin_trap();
	if (r->usn < 0 || (uint64_t)r->usn < b->off ||
	    (uint64_t)r->usn >= b->off + b->len)
		__builtin_trap();
}

static void bad(void *ctx, const struct mft_error *e)
{
	const struct bounds *b = ctx;
	if (e->offset < b->off || e->offset >= b->off + b->len + 64)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8 || size > 8 + USN_PAGE)
		return 0;
	uint64_t off;
	memcpy(&off, data, 8);
	off &= ~(uint64_t)7 & 0x0000FFFFFFFFFFFFull;
	struct bounds b = {data + 8, size - 8, off};
	usn_page_walk(b.page, b.len, b.off, each, bad, &b);
	return 0;
}
