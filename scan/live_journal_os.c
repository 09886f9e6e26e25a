/* The OS's side of a live journal: the source layer's two calls, in a file
 * of their own so that the walk (live_journal.c) builds without them, as
 * the fuzz harness does. */
#include "live_journal.h"

static int os_query(void *ctx, uint8_t *q, size_t cap, size_t *len)
{
	return uffs_file_journal_query(ctx, q, cap, len);
}

static int os_read(void *ctx, uint64_t id, int64_t start, bool wait,
		   uint32_t timeout_ms, uint8_t *out, size_t cap, size_t *got)
{
	return uffs_file_journal_read(ctx, id, start, wait, timeout_ms, out, cap,
				      got);
}

void uffs_live_journal_os(struct uffs_live_journal_ops *ops,
			  const struct uffs_file *f)
{
	*ops = (struct uffs_live_journal_ops){os_query, os_read, (void *)f};
}
