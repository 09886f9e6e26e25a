/* A live volume's change journal through the OS: the answers of
 * FSCTL_QUERY_USN_JOURNAL and FSCTL_READ_USN_JOURNAL, bounded and walked. */
#include "live_journal.h"

#include <stdlib.h>

#include "../mft/bytes.h"

#define QUERY_MIN 56u         /* USN_JOURNAL_DATA_V0 */
#define READ_BUF UFFS_LIVE_JOURNAL_ANSWER /* whole records after 8 bytes */

int uffs_live_journal_query(const struct uffs_live_journal_ops *ops,
			    struct uffs_live_journal_info *info)
{
	uint8_t q[80];
	size_t len = 0;
	int rc = ops->query(ops->ctx, q, sizeof q, &len);
	if (rc)
		return rc;
	if (len < QUERY_MIN || len > sizeof q)
		return UFFS_LIVE_JOURNAL_SHORT;
	/* UsnJournalID, FirstUsn, NextUsn, LowestValidUsn, MaxUsn, ... */
	info->id = le64(q);
	info->first_usn = (int64_t)le64(q + 8);
	info->next_usn = (int64_t)le64(q + 16);
	info->lowest_valid = (int64_t)le64(q + 24);
	return 0;
}

/* Walks one answer, giving each good record; damage (a record that does
 * not parse, or whose USN is not past the last one's) is reported once per
 * stretch, and the walk looks for the next good record 8 bytes at a time,
 * as records are 8-byte aligned. Returns the records given. */
static uint64_t walk_answer(const uint8_t *buf, size_t got, int64_t *last,
			    usn_each_fn *each, usn_bad_fn *bad, void *ctx)
{
	uint64_t n = 0;
	bool damaged = false;
	for (size_t at = 8; at + 4 <= got;) {
		struct usn_record r;
		struct mft_error err;
		if (!damaged && le32(buf + at) == 0)
			break; /* the answer's end */
		int rc = usn_record_parse(buf + at, got - at, &r, &err);
		if (rc == MFT_OK && r.usn < *last)
			rc = mft_fail(&err, MFT_E_CORRUPT, MFT_NO_FRS, 0,
				      "record USN goes backwards");
		if (rc != MFT_OK) {
			if (!damaged) {
				err.offset = at;
				bad(ctx, &err);
			}
			damaged = true;
			at += 8;
			continue;
		}
		damaged = false;
		each(ctx, &r);
		n++;
		/* the USN after it; a record at the largest USN has none */
		*last = r.usn < INT64_MAX ? r.usn + 1 : INT64_MAX;
		at += r.length;
	}
	return n;
}

int uffs_live_journal_read(const struct uffs_live_journal_ops *ops,
			   uint64_t id, int64_t *start, bool wait,
			   uint32_t timeout_ms, usn_each_fn *each,
			   usn_bad_fn *bad, void *ctx, uint64_t *n)
{
	uint8_t *buf = malloc(READ_BUF);
	if (!buf)
		return MFT_E_NOMEM;
	*n = 0;
	int rc = 0;
	for (;;) {
		size_t got = 0;
		rc = ops->read(ops->ctx, id, *start, wait, timeout_ms, buf,
			       READ_BUF, &got);
		if (rc || got < 8 || got > READ_BUF)
			break;
		int64_t next = (int64_t)le64(buf);
		int64_t last = *start;
		uint64_t k = walk_answer(buf, got, &last, each, bad, ctx);
		*n += k;
		/* The OS's next USN, unless it does not move on (then past the
		 * last record given, if any). */
		int64_t after = next > *start ? next : last;
		if (after <= *start)
			break;
		*start = after;
		if (wait || got <= 8)
			break; /* a follower's one read, or the journal's end */
	}
	free(buf);
	return rc;
}
