/* A volume's change journal: finding $UsnJrnl, its $Max and $J streams,
 * and walking $J's records without reading its holes. */
#include "journal.h"

#include <stdlib.h>
#include <string.h>

#include "../mft/bytes.h"
#include "../mft/ntfs_format.h"

#define BLOCK (1u << 20) /* read size: a whole number of journal pages */
#define MAX_LEN 32u      /* $Max: size, allocation delta, ID, lowest USN */

uint64_t uffs_journal_find(const struct uffs_index *idx)
{
	static const char want[] = "$UsnJrnl";
	for (uint64_t r = 0; r < idx->n_records; r++) {
		if (!(idx->rflags[r] & UFFS_REC_IN_USE))
			continue;
		UFFS_FOR_EACH_LINK(idx, r, i)
		if (MFT_REF_FRS(idx->links.parent[i]) == MFT_FRS_EXTEND &&
		    idx->links.name_len[i] == sizeof want - 1 &&
		    !memcmp(idx->pool + idx->links.name[i], want, sizeof want - 1))
			return r;
	}
	return UFFS_JOURNAL_NONE;
}

/* $Max is resident on every volume seen; a non-resident one is read
 * through its runs like any stream. */
static void read_max(const struct uffs_volume *v, struct uffs_journal *j)
{
	struct uffs_stream_map m;
	struct mft_error ignored;
	if (uffs_volume_map_stream(v, j->frs, AT_DATA, "$Max", &m, &ignored))
		return;
	uint8_t max[MAX_LEN];
	if (m.size >= MAX_LEN &&
	    uffs_volume_read_stream(v, &m, 0, max, MAX_LEN, &ignored) == MFT_OK) {
		j->has_max = true;
		j->id = le64(max + 16);
		j->lowest_valid = (int64_t)le64(max + 24);
	}
	uffs_stream_map_free(&m);
}

int uffs_journal_open(const struct uffs_volume *v, uint64_t frs,
		      struct uffs_journal *j, struct mft_error *err)
{
	*j = (struct uffs_journal){.frs = frs};
	int rc = uffs_volume_map_stream(v, frs, AT_DATA, "$J", &j->j, err);
	if (rc)
		return rc;
	j->next_usn = j->j.size;
	read_max(v, j);
	return MFT_OK;
}

void uffs_journal_close(struct uffs_journal *j)
{
	uffs_stream_map_free(&j->j);
}

void uffs_journal_walk_block(const uint8_t *buf, size_t n, uint64_t stream_off,
			     usn_each_fn *each, usn_bad_fn *bad, void *ctx)
{
	size_t p = 0;
	while (p < n) {
		uint64_t s = stream_off + p;
		size_t len = USN_PAGE - (size_t)(s % USN_PAGE);
		if (len > n - p)
			len = n - p;
		if (!usn_all_zero(buf + p, len))
			usn_page_walk(buf + p, len, s, each, bad, ctx);
		p += len;
	}
}

int uffs_journal_read(const struct uffs_volume *v, const struct uffs_journal *j,
		      uint64_t from, usn_each_fn *each, usn_bad_fn *bad,
		      void *ctx, uint64_t *fail_at, struct mft_error *err)
{
	const struct uffs_stream_map *m = &j->j;
	uint8_t *buf = malloc(BLOCK);
	if (!buf)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	uint64_t done = from - from % USN_PAGE; /* pages before it are not read */
	int rc = MFT_OK;
	for (size_t i = 0; i < m->n_ext && rc == MFT_OK; i++) {
		const struct uffs_extent *e = &m->ext[i];
		if (e->vol_off == UFFS_SPARSE_OFFSET || e->mft_off >= m->size)
			continue;
		uint64_t end = e->mft_off + e->len < m->size ? e->mft_off + e->len
							     : m->size;
		uint64_t at = e->mft_off - e->mft_off % USN_PAGE;
		if (at < done)
			at = done;
		while (at < end) {
			uint64_t n = m->size - at < BLOCK ? m->size - at : BLOCK;
			/* Whole pages, so no record is cut between blocks. */
			if (end - at < n)
				n = (end - at + USN_PAGE - 1) / USN_PAGE * USN_PAGE;
			if (n > m->size - at)
				n = m->size - at;
			rc = uffs_volume_read_stream(v, m, at, buf, (size_t)n, err);
			if (rc) {
				*fail_at = at;
				break;
			}
			uffs_journal_walk_block(buf, (size_t)n, at, each, bad, ctx);
			at += n;
			done = at;
		}
	}
	/* A resident $J (a tiny journal) has no runs: its value is the data. */
	if (rc == MFT_OK && m->value && m->size > done)
		uffs_journal_walk_block(m->value + done, (size_t)(m->size - done),
					done, each, bad, ctx);
	free(buf);
	return rc;
}
