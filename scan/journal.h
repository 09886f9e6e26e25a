/*
 * A volume's change journal: $Extend/$UsnJrnl, its $Max stream (the
 * journal's identity and the oldest USN still kept) and its $J stream of
 * records. Below both `uffs usn` (which prints the records) and
 * `uffs index --update` (which follows them); see mft/usn.h for the
 * records themselves.
 */
#ifndef UFFS_JOURNAL_H
#define UFFS_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../mft/index.h"
#include "../mft/usn.h"
#include "../source/file.h"
#include "volume.h"

#define UFFS_JOURNAL_NONE UINT64_MAX

struct uffs_journal {
	uint64_t frs;            /* the $UsnJrnl record */
	struct uffs_stream_map j; /* its $J stream */
	bool has_max;            /* $Max was read (32 bytes or more) */
	uint64_t id;             /* $Max: the journal ID (its creation time) */
	int64_t lowest_valid;    /* $Max: the oldest USN the journal keeps */
	uint64_t next_usn;       /* the USN the next record gets: $J's size */
};

/* The in-use record named $UsnJrnl in $Extend (record 11), or
 * UFFS_JOURNAL_NONE. */
uint64_t uffs_journal_find(const struct uffs_index *idx);

/* Maps record frs's $J stream and reads its $Max. MFT_OK, or an error
 * naming the record (a missing or unreadable $J). A missing or short $Max
 * is not an error: has_max says whether it was there. */
int uffs_journal_open(const struct uffs_volume *v, uint64_t frs,
		      struct uffs_journal *j, struct mft_error *err);
void uffs_journal_close(struct uffs_journal *j);

/* Walks the records of $J from stream offset `from` (rounded down to its
 * page) to the end, reading only data runs a block at a time; holes (the
 * trimmed past) are passed over unread. Records before `from` on its page
 * are given too: callers filter by USN. MFT_OK, or a read error with
 * *fail_at set to the stream offset of the block that failed. */
int uffs_journal_read(const struct uffs_volume *v, const struct uffs_journal *j,
		      uint64_t from, usn_each_fn *each, usn_bad_fn *bad,
		      void *ctx, uint64_t *fail_at, struct mft_error *err);

/* Reading $J a block (1 MiB, whole pages) at a time, from a volume's
 * $UsnJrnl or from a captured $J stream in a file, with the same walk:
 * the pull side of uffs_journal_read, for readers that take records at
 * their own pace (the library). */
struct uffs_journal_cursor {
	const struct uffs_volume *v; /* a volume's $J ... */
	const struct uffs_journal *j;
	const struct uffs_file *f;   /* ... or a captured one */
	uint8_t *buf;
	size_t ext;                  /* the volume's: the extent being read */
	uint64_t done;               /* stream (volume) or file offset read to */
	uint64_t base;               /* file: its byte 0's offset in the stream */
	bool based;
};

/* From stream offset `from` (rounded down to its page; records before it
 * on that page are given too). MFT_OK or MFT_E_NOMEM. */
int uffs_journal_cursor_volume(struct uffs_journal_cursor *c,
			       const struct uffs_volume *v,
			       const struct uffs_journal *j, uint64_t from,
			       struct mft_error *err);
/* A captured $J: where its bytes sit in the stream is found from its
 * first record's USN (a copy with or without the leading hole); holes of
 * a sparse file are passed over unread. */
int uffs_journal_cursor_file(struct uffs_journal_cursor *c,
			     const struct uffs_file *f, struct mft_error *err);
/* Reads the next block and walks its records: 1, 0 at the end, or an
 * error with *fail_at set to the stream (volume) or file offset of the
 * block that could not be read. */
int uffs_journal_cursor_next(struct uffs_journal_cursor *c, usn_each_fn *each,
			     usn_bad_fn *bad, void *ctx, uint64_t *fail_at,
			     struct mft_error *err);
void uffs_journal_cursor_free(struct uffs_journal_cursor *c);

/* Whether a file holds a captured $J: after its leading hole, a record of
 * a known version. */
bool uffs_journal_file_looks(const struct uffs_file *f);

/* Walks one block of journal bytes (whole pages of the stream, the first
 * of which may start inside a page), whose first byte is at stream offset
 * stream_off; all-zero pages are passed over. */
void uffs_journal_walk_block(const uint8_t *buf, size_t n, uint64_t stream_off,
			     usn_each_fn *each, usn_bad_fn *bad, void *ctx);

#endif
