/*
 * A live volume's change journal as the OS serves it (Windows:
 * FSCTL_QUERY_USN_JOURNAL and FSCTL_READ_USN_JOURNAL), behind two calls so
 * that tests can serve one from a captured $J. The bytes that come back
 * are untrusted like any on-disk structure: every length is bounded here.
 */
#ifndef UFFS_LIVE_JOURNAL_H
#define UFFS_LIVE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mft/usn.h"
#include "../source/file.h"

struct uffs_live_journal_ops {
	/* USN_JOURNAL_DATA bytes into q: 0, -1 (no live journal: not a live
	 * volume, or not on this platform) or an OS error code. */
	int (*query)(void *ctx, uint8_t *q, size_t cap, size_t *len);
	/* From USN start: the next USN to ask for (8 bytes) then whole
	 * records, *got bytes; with `wait`, up to timeout_ms for a first one.
	 * 0, -1 or an OS error code. */
	int (*read)(void *ctx, uint64_t id, int64_t start, bool wait,
		    uint32_t timeout_ms, uint8_t *out, size_t cap, size_t *got);
	void *ctx;
};

/* The most bytes one answer of the OS holds (the read's buffer): a caller
 * that keeps an answer's records needs no more. */
#define UFFS_LIVE_JOURNAL_ANSWER (64u << 10)

/* The OS's journal of the live volume f (uffs_file_journal_*). */
void uffs_live_journal_os(struct uffs_live_journal_ops *ops,
			  const struct uffs_file *f);

struct uffs_live_journal_info {
	uint64_t id;           /* the journal ID (its creation time) */
	int64_t first_usn;     /* the oldest record kept */
	int64_t next_usn;      /* the USN the next record gets */
	int64_t lowest_valid;
};

/* 0 and *info, -1 when there is no live journal to ask, an OS error code,
 * or UFFS_LIVE_JOURNAL_SHORT when the answer is too short to hold one. */
#define UFFS_LIVE_JOURNAL_SHORT (-2)
int uffs_live_journal_query(const struct uffs_live_journal_ops *ops,
			    struct uffs_live_journal_info *info);

/* Reads the records from *start on and gives each to `each`; *start ends
 * at the next USN to ask for. Without `wait`, reads until the journal has
 * no more; with it, one read that waits up to timeout_ms for a first
 * record (a follower calls it in a loop). A record that does not parse,
 * or whose USN goes backwards, is given to `bad` (its offset is the byte
 * in the OS's answer) and the rest of that answer is dropped: the next
 * read starts after the last good record. Returns 0, -1 or an OS error
 * code; *n counts the records given. */
int uffs_live_journal_read(const struct uffs_live_journal_ops *ops,
			   uint64_t id, int64_t *start, bool wait,
			   uint32_t timeout_ms, usn_each_fn *each,
			   usn_bad_fn *bad, void *ctx, uint64_t *n);

#endif
