/* libFuzzer: change journal pages (mft/usn.c). The first 8 input bytes
 * are the page's offset in the $J stream, the rest one page of records:
 * every record handed on lies inside the page and has the USN of its own
 * offset; damage is reported with an offset inside the page.
 * The same bytes are then a live volume's answer to FSCTL_READ_USN_JOURNAL
 * (scan/live_journal.c: the next USN, then records): every record handed
 * on lies inside the answer, USNs only go up, and the reading ends. */
#include <stdint.h>
#include <string.h>

#include "../mft/usn.h"
#include "../scan/live_journal.h"

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

struct answer {
	const uint8_t *data;
	size_t size;
	unsigned reads;
	const uint8_t *copy; /* where the last answer went */
	size_t copy_len;
	int64_t last;
};

static int answer_query(void *ctx, uint8_t *q, size_t cap, size_t *len)
{
	(void)ctx;
	(void)q;
	(void)cap;
	*len = 0;
	return -1;
}

/* The input as the first answer, then the journal's end. */
static int answer_read(void *ctx, uint64_t id, int64_t start, bool wait,
		       uint32_t timeout_ms, uint8_t *out, size_t cap, size_t *got)
{
	struct answer *a = ctx;
	(void)id;
	(void)wait;
	(void)timeout_ms;
	if (++a->reads > 1000)
		__builtin_trap(); /* the reading must end */
	size_t n = a->reads == 1 ? (a->size < cap ? a->size : cap) : 8;
	if (a->reads == 1)
		memcpy(out, a->data, n);
	else
		memcpy(out, &start, 8);
	a->copy = out;
	a->copy_len = n;
	*got = n;
	return 0;
}

static void answer_each(void *ctx, const struct usn_record *r)
{
	struct answer *a = ctx;
	const uint8_t *end = a->copy + a->copy_len;
	if ((const uint8_t *)r->name < a->copy && r->name)
		__builtin_trap();
	if (r->name && r->name + r->name_len > end)
		__builtin_trap();
	if (r->n_extents && r->extents + 16u * r->n_extents > end)
		__builtin_trap();
	if (r->usn < a->last)
		__builtin_trap();
	a->last = r->usn;
}

static void answer_bad(void *ctx, const struct mft_error *e)
{
	const struct answer *a = ctx;
	if (e->offset >= a->copy_len)
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

	struct answer a = {data, size, 0, NULL, 0, INT64_MIN};
	struct uffs_live_journal_ops ops = {answer_query, answer_read, &a};
	int64_t start = 0;
	uint64_t n = 0;
	uffs_live_journal_read(&ops, 1, &start, false, 0, answer_each, answer_bad,
			       &a, &n);
	return 0;
}
