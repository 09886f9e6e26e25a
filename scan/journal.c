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

/* ---- a cursor over $J, a block at a time --------------------------------- */

static int volume_block(struct uffs_journal_cursor *c, usn_each_fn *each,
			usn_bad_fn *bad, void *ctx, uint64_t *fail_at,
			struct mft_error *err)
{
	const struct uffs_stream_map *m = &c->j->j;
	while (c->ext < m->n_ext) {
		const struct uffs_extent *e = &m->ext[c->ext];
		uint64_t end = e->mft_off + e->len < m->size ? e->mft_off + e->len
							     : m->size;
		if (e->vol_off == UFFS_SPARSE_OFFSET || e->mft_off >= m->size) {
			c->ext++;
			continue;
		}
		uint64_t at = e->mft_off - e->mft_off % USN_PAGE;
		if (at < c->done)
			at = c->done;
		if (at >= end) {
			c->ext++;
			continue;
		}
		uint64_t n = m->size - at < BLOCK ? m->size - at : BLOCK;
		/* Whole pages, so no record is cut between blocks. */
		if (end - at < n)
			n = (end - at + USN_PAGE - 1) / USN_PAGE * USN_PAGE;
		if (n > m->size - at)
			n = m->size - at;
		int rc = uffs_volume_read_stream(c->v, m, at, c->buf, (size_t)n, err);
		if (rc) {
			*fail_at = at;
			return rc;
		}
		uffs_journal_walk_block(c->buf, (size_t)n, at, each, bad, ctx);
		c->done = at + n;
		return 1;
	}
	/* A resident $J (a tiny journal) has no runs: its value is the data. */
	if (m->value && m->size > c->done) {
		uffs_journal_walk_block(m->value + c->done,
					(size_t)(m->size - c->done), c->done,
					each, bad, ctx);
		c->done = m->size;
		return 1;
	}
	return 0;
}

/* Where file byte 0 sits in the $J stream: a captured $J may start at the
 * stream's start (its hole included, as icat writes it) or at the first
 * record (the hole left out). The first record whose USN is plausible
 * says which. */
static uint64_t stream_base(const uint8_t *buf, size_t len, uint64_t file_off)
{
	for (size_t at = 0; at + 8 <= len; at += 8) {
		struct usn_record r;
		struct mft_error ignored;
		if (le32(buf + at) == 0)
			continue;
		if (usn_record_parse(buf + at, len - at, &r, &ignored) == MFT_OK &&
		    r.usn >= 0 && (uint64_t)r.usn >= file_off + at &&
		    (((uint64_t)r.usn - (file_off + at)) % 8) == 0)
			return (uint64_t)r.usn - (file_off + at);
	}
	return 0;
}

static int file_read(const struct uffs_journal_cursor *c, size_t len,
		     uint64_t off, int64_t *got, uint64_t *fail_at,
		     struct mft_error *err)
{
	int os_error = 0;
	*got = uffs_file_pread(c->f, c->buf, len, off, &os_error);
	if (*got >= 0)
		return MFT_OK;
	*fail_at = off;
	return mft_fail(err, MFT_E_IO, MFT_NO_FRS, off,
			uffs_file_strerror(os_error));
}

static int file_block(struct uffs_journal_cursor *c, usn_each_fn *each,
		      usn_bad_fn *bad, void *ctx, uint64_t *fail_at,
		      struct mft_error *err)
{
	const struct uffs_file *f = c->f;
	if (c->done >= f->size)
		return 0;
	int64_t got;
	int rc;
	if (!c->based) {
		if ((rc = file_read(c, BLOCK, c->done, &got, fail_at, err)))
			return rc;
		c->base = stream_base(c->buf, (size_t)got, c->done);
		c->based = true;
	}
	/* Blocks end on page boundaries of the stream. */
	uint64_t s = c->base + c->done;
	uint64_t start = s - s % USN_PAGE;
	uint64_t f0 = start >= c->base ? start - c->base : 0;
	uint64_t end = start + BLOCK;
	uint64_t n = end - c->base > f->size ? f->size - f0 : end - c->base - f0;
	if ((rc = file_read(c, (size_t)n, f0, &got, fail_at, err)))
		return rc;
	uffs_journal_walk_block(c->buf, (size_t)got, c->base + f0, each, bad, ctx);
	c->done = (uint64_t)got < n ? f->size /* the file ended early */
				    : uffs_file_next_data(f, f0 + n);
	return 1;
}

int uffs_journal_cursor_volume(struct uffs_journal_cursor *c,
			       const struct uffs_volume *v,
			       const struct uffs_journal *j, uint64_t from,
			       struct mft_error *err)
{
	*c = (struct uffs_journal_cursor){.v = v, .j = j,
					  .done = from - from % USN_PAGE};
	c->buf = malloc(BLOCK);
	if (!c->buf)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	return MFT_OK;
}

int uffs_journal_cursor_file(struct uffs_journal_cursor *c,
			     const struct uffs_file *f, struct mft_error *err)
{
	*c = (struct uffs_journal_cursor){.f = f,
					  .done = uffs_file_next_data(f, 0)};
	c->buf = malloc(BLOCK);
	if (!c->buf)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	return MFT_OK;
}

int uffs_journal_cursor_next(struct uffs_journal_cursor *c, usn_each_fn *each,
			     usn_bad_fn *bad, void *ctx, uint64_t *fail_at,
			     struct mft_error *err)
{
	return c->f ? file_block(c, each, bad, ctx, fail_at, err)
		    : volume_block(c, each, bad, ctx, fail_at, err);
}

void uffs_journal_cursor_free(struct uffs_journal_cursor *c)
{
	free(c->buf);
	c->buf = NULL;
}

int uffs_journal_read(const struct uffs_volume *v, const struct uffs_journal *j,
		      uint64_t from, usn_each_fn *each, usn_bad_fn *bad,
		      void *ctx, uint64_t *fail_at, struct mft_error *err)
{
	struct uffs_journal_cursor c;
	int rc = uffs_journal_cursor_volume(&c, v, j, from, err);
	while (rc == MFT_OK &&
	       (rc = uffs_journal_cursor_next(&c, each, bad, ctx, fail_at, err)) == 1)
		rc = MFT_OK;
	uffs_journal_cursor_free(&c);
	return rc;
}

/* A captured $J: after its hole, a record of a known version. */
bool uffs_journal_file_looks(const struct uffs_file *f)
{
	uint8_t buf[USN_PAGE];
	uint64_t off = uffs_file_next_data(f, 0);
	if (off >= f->size)
		return false;
	int os_error;
	int64_t n = uffs_file_pread(f, buf, sizeof buf, off, &os_error);
	for (int64_t at = 0; at + 8 <= n; at += 8) {
		if (le32(buf + at) == 0)
			continue;
		struct usn_record r;
		struct mft_error ignored;
		return usn_record_parse(buf + at, (size_t)(n - at), &r,
					&ignored) == MFT_OK;
	}
	return false;
}
