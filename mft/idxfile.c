/* Saved index files: writer and validator (layout: docs/index-format.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "bytes.h"
#include "idxfile.h"

/* Section ids. Each names one array; its element size is fixed. */
enum section_id {
	SEC_META = 1,
	SEC_SOURCE_PATH = 2,
	SEC_CONTAINER = 3,
	SEC_EXTENTS = 4,
	SEC_BITMAP = 5,
	SEC_UPCASE = 6,
	SEC_JOURNAL = 7,
	SEC_RFLAGS = 16,
	SEC_SEQ,
	SEC_FATTRS,
	SEC_TIMES,
	SEC_DATA_SIZE,
	SEC_DATA_ALLOC,
	SEC_DATA_ID,
	SEC_LINK_FIRST,
	SEC_L_PARENT = 32,
	SEC_L_NAME,
	SEC_L_NAME_LEN,
	SEC_L_NS,
	SEC_L_FLAGS,
	SEC_L_ATTR_ID,
	SEC_L_VALUE_LEN,
	SEC_L_TIMES,
	SEC_S_NAME = 48,
	SEC_S_NAME_LEN,
	SEC_S_KIND,
	SEC_S_FLAGS,
	SEC_S_ATTR_ID,
	SEC_S_SIZE,
	SEC_S_ALLOC,
	SEC_S_OWNER,
	SEC_X_FRS = 64,
	SEC_X_OWNER_ID,
	SEC_X_REPARSE,
	SEC_POOL = 80,
};

struct section_kind {
	uint32_t id;
	uint32_t elem;
	bool optional;
	const char *name;
};

static const struct section_kind kinds[] = {
	{SEC_META, 1, false, "meta"},
	{SEC_SOURCE_PATH, 1, false, "source path"},
	{SEC_CONTAINER, 1, false, "container"},
	{SEC_EXTENTS, 24, false, "extents"},
	{SEC_BITMAP, 1, true, "bitmap"},
	{SEC_UPCASE, 2, true, "upcase"},
	{SEC_JOURNAL, 8, true, "change journal position"},
	{SEC_RFLAGS, 2, false, "record flags"},
	{SEC_SEQ, 2, false, "sequence numbers"},
	{SEC_FATTRS, 4, false, "file attributes"},
	{SEC_TIMES, 8, false, "record times"},
	{SEC_DATA_SIZE, 8, false, "data sizes"},
	{SEC_DATA_ALLOC, 8, false, "data allocated sizes"},
	{SEC_DATA_ID, 2, false, "data attribute ids"},
	{SEC_LINK_FIRST, 4, false, "link starts"},
	{SEC_L_PARENT, 8, false, "link parents"},
	{SEC_L_NAME, 4, false, "link names"},
	{SEC_L_NAME_LEN, 2, false, "link name lengths"},
	{SEC_L_NS, 1, false, "link namespaces"},
	{SEC_L_FLAGS, 1, false, "link flags"},
	{SEC_L_ATTR_ID, 2, false, "link attribute ids"},
	{SEC_L_VALUE_LEN, 2, false, "link value lengths"},
	{SEC_L_TIMES, 8, false, "link times"},
	{SEC_S_NAME, 4, false, "stream names"},
	{SEC_S_NAME_LEN, 2, false, "stream name lengths"},
	{SEC_S_KIND, 1, false, "stream kinds"},
	{SEC_S_FLAGS, 1, false, "stream flags"},
	{SEC_S_ATTR_ID, 2, false, "stream attribute ids"},
	{SEC_S_SIZE, 8, false, "stream sizes"},
	{SEC_S_ALLOC, 8, false, "stream allocated sizes"},
	{SEC_S_OWNER, 4, false, "stream owners"},
	{SEC_X_FRS, 4, false, "extra records"},
	{SEC_X_OWNER_ID, 4, false, "owner ids"},
	{SEC_X_REPARSE, 4, false, "reparse tags"},
	{SEC_POOL, 1, false, "name pool"},
};

#define N_KINDS (sizeof kinds / sizeof *kinds)
#define SECTIONS_MAX 64 /* more than any version writes */
#define STRING_MAX 4096
#define META_SIZE 120
/* The longest name NTFS stores is 255 UTF-16 units: at most 3 WTF-8 bytes
 * each. Longer ones cannot come from a scan, and would only make path
 * building slow. */
#define NAME_BYTES_MAX (255 * 3)

/* META flags. */
#define META_HAS_BOOT 0x1u
#define META_FROM_MIRROR 0x2u
#define META_FLAGS_KNOWN (META_HAS_BOOT | META_FROM_MIRROR)

static const struct section_kind *kind_of(uint32_t id)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (kinds[i].id == id)
			return &kinds[i];
	return NULL;
}

static uint64_t align_up(uint64_t v)
{
	return (v + UFFS_IDXFILE_ALIGN - 1) & ~(uint64_t)(UFFS_IDXFILE_ALIGN - 1);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

bool uffs_idxfile_is(const uint8_t *p, size_t len)
{
	return len >= UFFS_IDXFILE_MAGIC_LEN &&
	       memcmp(p, UFFS_IDXFILE_MAGIC, UFFS_IDXFILE_MAGIC_LEN) == 0;
}

/* ---- writing ---------------------------------------------------------------- */

struct out_section {
	uint32_t id;
	uint32_t elem;
	const void *data;
	uint64_t count;
	uint64_t offset; /* set by the layout */
};

struct layout {
	struct out_section s[N_KINDS];
	size_t n;
	uint8_t meta[META_SIZE];
	uint64_t journal[2]; /* id, next USN */
	uint8_t header[UFFS_IDXFILE_HEADER_SIZE];
	uint8_t table[N_KINDS * UFFS_IDXFILE_ENTRY_SIZE];
	uint64_t file_size;
};

static void add(struct layout *l, uint32_t id, const void *data,
		uint64_t count)
{
	const struct section_kind *k = kind_of(id);
	l->s[l->n++] = (struct out_section){id, k->elem, data, count, 0};
}

static void encode_meta(uint8_t *m, const struct uffs_index *idx,
			const struct uffs_idxfile_facts *f)
{
	memset(m, 0, META_SIZE);
	put_le64(m + 0, idx->n_records);
	put_le32(m + 8, idx->record_size);
	put_le32(m + 12, (f->has_boot ? META_HAS_BOOT : 0) |
				 (f->from_mirror ? META_FROM_MIRROR : 0));
	put_le64(m + 16, idx->n_damaged);
	put_le64(m + 24, f->warnings);
	put_le64(m + 32, f->indexed_at);
	put_le64(m + 40, f->base);
	put_le32(m + 48, (uint32_t)f->partition);
	put_le32(m + 52, f->bytes_per_sector);
	put_le32(m + 56, f->cluster_size);
	put_le64(m + 64, f->volume_size);
	put_le64(m + 72, f->mft_lcn);
	put_le64(m + 80, f->mftmirr_lcn);
	put_le64(m + 88, f->serial);
	put_le64(m + 96, f->mft_size);
	put_le64(m + 104, f->vol_records);
	memcpy(m + 112, f->volume_prefix, 4);
}

static void plan_sections(struct layout *l, const struct uffs_index *idx,
			  const struct uffs_idxfile_facts *f)
{
	uint64_t n = idx->n_records;
	encode_meta(l->meta, idx, f);
	add(l, SEC_META, l->meta, META_SIZE);
	add(l, SEC_SOURCE_PATH, f->source_path, f->source_path_len);
	add(l, SEC_CONTAINER, f->container, f->container_len);
	add(l, SEC_EXTENTS, f->extents, f->n_extents);
	if (f->bitmap)
		add(l, SEC_BITMAP, f->bitmap, f->bitmap_len);
	if (f->upcase)
		add(l, SEC_UPCASE, f->upcase, UFFS_IDXFILE_UPCASE_UNITS);
	if (f->has_journal) {
		l->journal[0] = f->journal_id;
		l->journal[1] = f->journal_next_usn;
		add(l, SEC_JOURNAL, l->journal, 2);
	}
	/* Per-record columns keep the allocator's spare slot (n + 1; n + 2
	 * link starts) so that a loaded index has the shape of a built one. */
	add(l, SEC_RFLAGS, idx->rflags, n + 1);
	add(l, SEC_SEQ, idx->seq, n + 1);
	add(l, SEC_FATTRS, idx->fattrs, n + 1);
	add(l, SEC_TIMES, idx->times, 4 * n + 1);
	add(l, SEC_DATA_SIZE, idx->data_size, n + 1);
	add(l, SEC_DATA_ALLOC, idx->data_alloc, n + 1);
	add(l, SEC_DATA_ID, idx->data_id, n + 1);
	add(l, SEC_LINK_FIRST, idx->link_first, n + 2);
	const struct uffs_links *k = &idx->links;
	add(l, SEC_L_PARENT, k->parent, k->n);
	add(l, SEC_L_NAME, k->name, k->n);
	add(l, SEC_L_NAME_LEN, k->name_len, k->n);
	add(l, SEC_L_NS, k->ns, k->n);
	add(l, SEC_L_FLAGS, k->flags, k->n);
	add(l, SEC_L_ATTR_ID, k->attr_id, k->n);
	add(l, SEC_L_VALUE_LEN, k->value_len, k->n);
	add(l, SEC_L_TIMES, k->times, 4 * (uint64_t)k->n);
	const struct uffs_streams *s = &idx->streams;
	add(l, SEC_S_NAME, s->name, s->n);
	add(l, SEC_S_NAME_LEN, s->name_len, s->n);
	add(l, SEC_S_KIND, s->kind, s->n);
	add(l, SEC_S_FLAGS, s->flags, s->n);
	add(l, SEC_S_ATTR_ID, s->attr_id, s->n);
	add(l, SEC_S_SIZE, s->size, s->n);
	add(l, SEC_S_ALLOC, s->alloc, s->n);
	add(l, SEC_S_OWNER, s->owner, s->n);
	const struct uffs_extras *x = &idx->extras;
	add(l, SEC_X_FRS, x->frs, x->n);
	add(l, SEC_X_OWNER_ID, x->owner_id, x->n);
	add(l, SEC_X_REPARSE, x->reparse_tag, x->n);
	add(l, SEC_POOL, idx->pool, idx->pool_len);
}

static void place_sections(struct layout *l)
{
	uint64_t at = align_up(UFFS_IDXFILE_HEADER_SIZE +
			       (uint64_t)l->n * UFFS_IDXFILE_ENTRY_SIZE);
	for (size_t i = 0; i < l->n; i++) {
		struct out_section *s = &l->s[i];
		uint8_t *e = l->table + i * UFFS_IDXFILE_ENTRY_SIZE;
		s->offset = at;
		put_le32(e + 0, s->id);
		put_le32(e + 4, s->elem);
		put_le64(e + 8, s->offset);
		put_le64(e + 16, s->count * s->elem);
		put_le64(e + 24, s->count);
		at = s->offset + s->count * s->elem;
		if (i + 1 < l->n)
			at = align_up(at);
	}
	l->file_size = at;
}

/* Everything after the header, in file order, through `sink`: once to
 * hash it, once to write it. */
typedef int (*sink_fn)(void *ctx, const void *p, size_t n);

static int emit_zeros(sink_fn sink, void *ctx, uint64_t n)
{
	static const uint8_t zeros[UFFS_IDXFILE_ALIGN];
	return n ? sink(ctx, zeros, (size_t)n) : 0;
}

static int emit_body(const struct layout *l, sink_fn sink, void *ctx)
{
	uint64_t at = UFFS_IDXFILE_HEADER_SIZE +
		      (uint64_t)l->n * UFFS_IDXFILE_ENTRY_SIZE;
	if (sink(ctx, l->table, l->n * UFFS_IDXFILE_ENTRY_SIZE))
		return -1;
	for (size_t i = 0; i < l->n; i++) {
		const struct out_section *s = &l->s[i];
		uint64_t len = s->count * s->elem;
		if (emit_zeros(sink, ctx, s->offset - at))
			return -1;
		if (len && sink(ctx, s->data, (size_t)len))
			return -1;
		at = s->offset + len;
	}
	return 0;
}

static int hash_sink(void *ctx, const void *p, size_t n)
{
	return XXH3_128bits_update(ctx, p, n) == XXH_OK ? 0 : -1;
}

static void encode_header(uint8_t *h, uint64_t file_size, uint32_t n_sections,
			  XXH128_hash_t sum)
{
	memset(h, 0, UFFS_IDXFILE_HEADER_SIZE);
	memcpy(h, UFFS_IDXFILE_MAGIC, UFFS_IDXFILE_MAGIC_LEN);
	put_le32(h + 8, UFFS_IDXFILE_VERSION);
	put_le32(h + 12, UFFS_IDXFILE_HEADER_SIZE);
	put_le64(h + 16, file_size);
	put_le32(h + 24, n_sections);
	put_le32(h + 28, 0); /* flags: none defined */
	put_le64(h + UFFS_IDXFILE_CHECKSUM_AT, sum.low64);
	put_le64(h + UFFS_IDXFILE_CHECKSUM_AT + 8, sum.high64);
}

/* Index arrays are written as they are in memory: little-endian hosts
 * only, as they are read. */
static bool host_is_little_endian(void)
{
	const uint16_t one = 1;
	uint8_t b;
	memcpy(&b, &one, 1);
	return b == 1;
}

int uffs_idxfile_write(const struct uffs_index *idx,
		       const struct uffs_idxfile_facts *facts,
		       uffs_idxfile_write_fn write, void *ctx,
		       struct mft_error *err)
{
	if (!host_is_little_endian())
		return mft_fail(err, MFT_E_UNSUPPORTED, MFT_NO_FRS, MFT_NO_OFFSET,
				"index files need a little-endian machine");
	if (!idx->finished || !idx->links.times)
		return mft_fail(err, MFT_E_USAGE, MFT_NO_FRS, MFT_NO_OFFSET,
				"index not finished or without $FILE_NAME times");
	struct layout *l = calloc(1, sizeof *l);
	if (!l)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, MFT_NO_OFFSET,
				"out of memory");
	plan_sections(l, idx, facts);
	place_sections(l);
	XXH3_state_t *st = XXH3_createState();
	int rc = MFT_OK;
	if (!st) {
		rc = mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, MFT_NO_OFFSET,
			      "out of memory");
		goto out;
	}
	XXH3_128bits_reset(st);
	emit_body(l, hash_sink, st);
	encode_header(l->header, l->file_size, (uint32_t)l->n,
		      XXH3_128bits_digest(st));
	XXH3_freeState(st);
	if (write(ctx, l->header, UFFS_IDXFILE_HEADER_SIZE) ||
	    emit_body(l, write, ctx))
		rc = mft_fail(err, MFT_E_IO, MFT_NO_FRS, MFT_NO_OFFSET,
			      "write failed");
out:
	free(l);
	return rc;
}

/* ---- validation ------------------------------------------------------------- */

struct in_section {
	uint64_t offset, length, count;
	bool present;
};

struct reader {
	const uint8_t *p;
	uint64_t len;
	struct in_section sec[N_KINDS];
	struct mft_error *err;
};

static int bad(struct reader *r, int code, uint64_t offset, const char *what,
	       const char *detail)
{
	mft_fail(r->err, code, MFT_NO_FRS, offset, what);
	if (detail && r->err)
		snprintf(r->err->detail, sizeof r->err->detail, "%s", detail);
	return code;
}

static int check_header(struct reader *r, uint32_t *n_sections)
{
	const uint8_t *h = r->p;
	if (r->len < UFFS_IDXFILE_HEADER_SIZE)
		return bad(r, MFT_E_TRUNCATED, 0,
			   "saved index truncated: shorter than its header",
			   NULL);
	if (!uffs_idxfile_is(h, (size_t)r->len))
		return bad(r, MFT_E_CORRUPT, 0, "not a uffs index file (bad magic)",
			   NULL);
	uint32_t version = le32(h + 8);
	if (version > UFFS_IDXFILE_VERSION)
		return bad(r, MFT_E_UNSUPPORTED, 8,
			   "saved index made by a newer uffs (format version too new); index the source again or upgrade",
			   NULL);
	if (version != UFFS_IDXFILE_VERSION)
		return bad(r, MFT_E_CORRUPT, 8, "saved index: unknown format version",
			   NULL);
	if (le32(h + 12) != UFFS_IDXFILE_HEADER_SIZE)
		return bad(r, MFT_E_CORRUPT, 12, "saved index: bad header size", NULL);
	uint64_t size = le64(h + 16);
	if (size > r->len)
		return bad(r, MFT_E_TRUNCATED, r->len,
			   "saved index truncated: the file is shorter than its header says",
			   NULL);
	if (size < r->len)
		return bad(r, MFT_E_CORRUPT, 16,
			   "saved index: bytes after the end its header gives", NULL);
	*n_sections = le32(h + 24);
	if (*n_sections == 0 || *n_sections > SECTIONS_MAX)
		return bad(r, MFT_E_CORRUPT, 24, "saved index: bad section count", NULL);
	if (le32(h + 28) != 0)
		return bad(r, MFT_E_CORRUPT, 28, "saved index: unknown header flags",
			   NULL);
	for (size_t i = 48; i < UFFS_IDXFILE_HEADER_SIZE; i++)
		if (h[i])
			return bad(r, MFT_E_CORRUPT, i,
				   "saved index: reserved header bytes are not zero",
				   NULL);
	uint64_t table_end = UFFS_IDXFILE_HEADER_SIZE +
			     (uint64_t)*n_sections * UFFS_IDXFILE_ENTRY_SIZE;
	if (table_end > size)
		return bad(r, MFT_E_TRUNCATED, size,
			   "saved index truncated: section table past the end", NULL);
	return MFT_OK;
}

static int check_sum(struct reader *r)
{
	XXH128_hash_t sum = XXH3_128bits(r->p + UFFS_IDXFILE_HEADER_SIZE,
					 (size_t)(r->len - UFFS_IDXFILE_HEADER_SIZE));
	const uint8_t *c = r->p + UFFS_IDXFILE_CHECKSUM_AT;
	if (le64(c) != sum.low64 || le64(c + 8) != sum.high64)
		return bad(r, MFT_E_CORRUPT, UFFS_IDXFILE_CHECKSUM_AT,
			   "saved index corrupt: checksum mismatch", NULL);
	return MFT_OK;
}

static int check_table(struct reader *r, uint32_t n_sections)
{
	uint64_t end = UFFS_IDXFILE_HEADER_SIZE +
		       (uint64_t)n_sections * UFFS_IDXFILE_ENTRY_SIZE;
	for (uint32_t i = 0; i < n_sections; i++) {
		uint64_t at = UFFS_IDXFILE_HEADER_SIZE +
			      (uint64_t)i * UFFS_IDXFILE_ENTRY_SIZE;
		const uint8_t *e = r->p + at;
		uint32_t id = le32(e), elem = le32(e + 4);
		uint64_t off = le64(e + 8), len = le64(e + 16), count = le64(e + 24);
		const struct section_kind *k = kind_of(id);
		if (!k)
			return bad(r, MFT_E_CORRUPT, at, "saved index: unknown section",
				   NULL);
		if (off > r->len || len > r->len - off)
			return bad(r, MFT_E_CORRUPT, at,
				   "saved index: section past the end of the file",
				   k->name);
		if (off % UFFS_IDXFILE_ALIGN || off < end)
			return bad(r, MFT_E_CORRUPT, at,
				   "saved index: section misaligned or overlapping",
				   k->name);
		if (elem != k->elem || count > len || count * elem != len)
			return bad(r, MFT_E_CORRUPT, at,
				   "saved index: section size does not match its element count",
				   k->name);
		struct in_section *s = &r->sec[k - kinds];
		if (s->present)
			return bad(r, MFT_E_CORRUPT, at, "saved index: section twice",
				   k->name);
		*s = (struct in_section){off, len, count, true};
		end = off + len;
	}
	for (size_t i = 0; i < N_KINDS; i++)
		if (!r->sec[i].present && !kinds[i].optional)
			return bad(r, MFT_E_CORRUPT, UFFS_IDXFILE_HEADER_SIZE,
				   "saved index: a section is missing", kinds[i].name);
	return MFT_OK;
}

static const struct in_section *sec(const struct reader *r, uint32_t id)
{
	return &r->sec[kind_of(id) - kinds];
}

static const void *sec_data(const struct reader *r, uint32_t id)
{
	const struct in_section *s = sec(r, id);
	return s->present ? r->p + s->offset : NULL;
}

/* Casting away const: the consumers of a finished index only read it. */
#define DATA(r, id) ((void *)(uintptr_t)sec_data(r, id))

static int want_count(struct reader *r, uint32_t id, uint64_t count)
{
	const struct in_section *s = sec(r, id);
	if (s->present && s->count != count)
		return bad(r, MFT_E_CORRUPT, s->offset,
			   "saved index: section has the wrong number of elements",
			   kind_of(id)->name);
	return MFT_OK;
}

static int decode_meta(struct reader *r, struct uffs_index *idx,
		       struct uffs_idxfile_facts *f)
{
	const struct in_section *s = sec(r, SEC_META);
	if (s->length != META_SIZE)
		return bad(r, MFT_E_CORRUPT, s->offset, "saved index: bad meta section",
			   NULL);
	const uint8_t *m = r->p + s->offset;
	uint32_t flags = le32(m + 12);
	if (flags & ~META_FLAGS_KNOWN || le32(m + 60) || m[116] || m[117] ||
	    m[118] || m[119])
		return bad(r, MFT_E_CORRUPT, s->offset + 12,
			   "saved index: unknown meta flags", NULL);
	idx->n_records = le64(m);
	idx->record_size = le32(m + 8);
	idx->n_damaged = le64(m + 16);
	f->has_boot = flags & META_HAS_BOOT;
	f->from_mirror = flags & META_FROM_MIRROR;
	f->warnings = le64(m + 24);
	f->indexed_at = le64(m + 32);
	f->base = le64(m + 40);
	f->partition = (int32_t)le32(m + 48);
	f->bytes_per_sector = le32(m + 52);
	f->cluster_size = le32(m + 56);
	f->volume_size = le64(m + 64);
	f->mft_lcn = le64(m + 72);
	f->mftmirr_lcn = le64(m + 80);
	f->serial = le64(m + 88);
	f->mft_size = le64(m + 96);
	f->vol_records = le64(m + 104);
	memcpy(f->volume_prefix, m + 112, 4);
	/* The scan indexes every record of the mapped $MFT; counting them
	 * again (info) must not run past the index. */
	if (f->vol_records != idx->n_records)
		return bad(r, MFT_E_CORRUPT, s->offset + 104,
			   "saved index: record counts disagree", NULL);
	/* Printed as a C string: "" or a drive like "C:". */
	if (f->volume_prefix[3] || f->partition < 0 ||
	    (f->volume_prefix[0] && f->volume_prefix[1] != ':'))
		return bad(r, MFT_E_CORRUPT, s->offset + 48,
			   "saved index: bad volume facts", NULL);
	uint32_t rs = idx->record_size;
	if (rs < 256 || rs > 65536 || (rs & (rs - 1)))
		return bad(r, MFT_E_CORRUPT, s->offset + 8,
			   "saved index: bad record size", NULL);
	/* Two spare slots per record column must fit in 32-bit counts. */
	if (idx->n_records > UINT32_MAX - 2)
		return bad(r, MFT_E_CORRUPT, s->offset, "saved index: bad record count",
			   NULL);
	return MFT_OK;
}

static int decode_string(struct reader *r, uint32_t id, const char **p,
			 size_t *len)
{
	const struct in_section *s = sec(r, id);
	*p = (const char *)(r->p + s->offset);
	*len = (size_t)s->length;
	if (s->length > STRING_MAX || memchr(*p, 0, *len))
		return bad(r, MFT_E_CORRUPT, s->offset, "saved index: bad string",
			   kind_of(id)->name);
	return MFT_OK;
}

static int check_counts(struct reader *r, const struct uffs_index *idx)
{
	uint64_t n = idx->n_records;
	uint64_t nl = sec(r, SEC_L_PARENT)->count;
	uint64_t ns = sec(r, SEC_S_OWNER)->count;
	uint64_t nx = sec(r, SEC_X_FRS)->count;
	if (nl > UINT32_MAX / 4 || ns > UINT32_MAX || nx > UINT32_MAX ||
	    sec(r, SEC_POOL)->count > UINT32_MAX)
		return bad(r, MFT_E_CORRUPT, UFFS_IDXFILE_HEADER_SIZE,
			   "saved index: table too large", NULL);
	static const uint32_t per_record[] = {SEC_RFLAGS, SEC_SEQ, SEC_FATTRS,
					      SEC_DATA_SIZE, SEC_DATA_ALLOC,
					      SEC_DATA_ID};
	static const uint32_t per_link[] = {SEC_L_NAME, SEC_L_NAME_LEN, SEC_L_NS,
					    SEC_L_FLAGS, SEC_L_ATTR_ID,
					    SEC_L_VALUE_LEN};
	static const uint32_t per_stream[] = {SEC_S_NAME, SEC_S_NAME_LEN,
					      SEC_S_KIND, SEC_S_FLAGS,
					      SEC_S_ATTR_ID, SEC_S_SIZE,
					      SEC_S_ALLOC};
	int rc = MFT_OK;
	for (size_t i = 0; !rc && i < sizeof per_record / sizeof *per_record; i++)
		rc = want_count(r, per_record[i], n + 1);
	for (size_t i = 0; !rc && i < sizeof per_link / sizeof *per_link; i++)
		rc = want_count(r, per_link[i], nl);
	for (size_t i = 0; !rc && i < sizeof per_stream / sizeof *per_stream; i++)
		rc = want_count(r, per_stream[i], ns);
	if (!rc)
		rc = want_count(r, SEC_TIMES, 4 * n + 1);
	if (!rc)
		rc = want_count(r, SEC_LINK_FIRST, n + 2);
	if (!rc)
		rc = want_count(r, SEC_L_TIMES, 4 * nl);
	if (!rc)
		rc = want_count(r, SEC_X_OWNER_ID, nx);
	if (!rc)
		rc = want_count(r, SEC_X_REPARSE, nx);
	if (!rc)
		rc = want_count(r, SEC_UPCASE, UFFS_IDXFILE_UPCASE_UNITS);
	if (!rc)
		rc = want_count(r, SEC_JOURNAL, 2);
	return rc;
}

static void point_index(const struct reader *r, struct uffs_index *idx)
{
	idx->keep_fn_times = true;
	idx->rflags = DATA(r, SEC_RFLAGS);
	idx->seq = DATA(r, SEC_SEQ);
	idx->fattrs = DATA(r, SEC_FATTRS);
	idx->times = DATA(r, SEC_TIMES);
	idx->data_size = DATA(r, SEC_DATA_SIZE);
	idx->data_alloc = DATA(r, SEC_DATA_ALLOC);
	idx->data_id = DATA(r, SEC_DATA_ID);
	idx->link_first = DATA(r, SEC_LINK_FIRST);
	struct uffs_links *k = &idx->links;
	k->n = k->cap = (uint32_t)sec(r, SEC_L_PARENT)->count;
	k->parent = DATA(r, SEC_L_PARENT);
	k->name = DATA(r, SEC_L_NAME);
	k->name_len = DATA(r, SEC_L_NAME_LEN);
	k->ns = DATA(r, SEC_L_NS);
	k->flags = DATA(r, SEC_L_FLAGS);
	k->attr_id = DATA(r, SEC_L_ATTR_ID);
	k->value_len = DATA(r, SEC_L_VALUE_LEN);
	k->times = DATA(r, SEC_L_TIMES);
	struct uffs_streams *s = &idx->streams;
	s->n = s->cap = (uint32_t)sec(r, SEC_S_OWNER)->count;
	s->name = DATA(r, SEC_S_NAME);
	s->name_len = DATA(r, SEC_S_NAME_LEN);
	s->kind = DATA(r, SEC_S_KIND);
	s->flags = DATA(r, SEC_S_FLAGS);
	s->attr_id = DATA(r, SEC_S_ATTR_ID);
	s->size = DATA(r, SEC_S_SIZE);
	s->alloc = DATA(r, SEC_S_ALLOC);
	s->owner = DATA(r, SEC_S_OWNER);
	struct uffs_extras *x = &idx->extras;
	x->n = x->cap = (uint32_t)sec(r, SEC_X_FRS)->count;
	x->frs = DATA(r, SEC_X_FRS);
	x->owner_id = DATA(r, SEC_X_OWNER_ID);
	x->reparse_tag = DATA(r, SEC_X_REPARSE);
	idx->pool = DATA(r, SEC_POOL);
	idx->pool_len = idx->pool_cap = (size_t)sec(r, SEC_POOL)->count;
	idx->last_base = (int64_t)idx->n_records - 1;
	idx->finished = true;
}

static int structure_error(struct reader *r, uint32_t id, uint64_t row,
			   const char *what)
{
	const struct in_section *s = sec(r, id);
	uint64_t at = s->offset + row * kind_of(id)->elem;
	return bad(r, MFT_E_CORRUPT, at, what, kind_of(id)->name);
}

/* What makes every later access safe: rows of record i are
 * [link_first[i], link_first[i + 1]) within the link table; every name
 * lies in the pool; streams are grouped by owner in record order (their
 * lookup is a binary search); extras are sorted by record. */
static int check_structure(struct reader *r, const struct uffs_index *idx)
{
	uint64_t n = idx->n_records;
	const uint32_t *lf = idx->link_first;
	for (uint64_t i = 0; i <= n + 1; i++)
		if (lf[i] > idx->links.n || (i > 0 && i <= n && lf[i] < lf[i - 1]))
			return structure_error(r, SEC_LINK_FIRST, i,
					       "saved index corrupt: link rows out of order or range");
	for (uint32_t i = 0; i < idx->links.n; i++)
		if (idx->links.name_len[i] > NAME_BYTES_MAX ||
		    idx->links.name[i] > idx->pool_len ||
		    idx->links.name_len[i] > idx->pool_len - idx->links.name[i])
			return structure_error(r, SEC_L_NAME, i,
					       "saved index corrupt: a name too long or outside the name pool");
	const struct uffs_streams *s = &idx->streams;
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->name_len[i] > NAME_BYTES_MAX || s->name[i] > idx->pool_len ||
		    s->name_len[i] > idx->pool_len - s->name[i])
			return structure_error(r, SEC_S_NAME, i,
					       "saved index corrupt: a stream name too long or outside the name pool");
		if (s->owner[i] >= n || (i > 0 && s->owner[i] < s->owner[i - 1]))
			return structure_error(r, SEC_S_OWNER, i,
					       "saved index corrupt: stream owners out of order or range");
	}
	const struct uffs_extras *x = &idx->extras;
	for (uint32_t i = 0; i < x->n; i++)
		if (x->frs[i] >= n || (i > 0 && x->frs[i] <= x->frs[i - 1]))
			return structure_error(r, SEC_X_FRS, i,
					       "saved index corrupt: extra rows out of order or range");
	return MFT_OK;
}

static int decode_facts(struct reader *r, struct uffs_idxfile_facts *f)
{
	int rc = decode_string(r, SEC_SOURCE_PATH, &f->source_path,
			       &f->source_path_len);
	if (!rc)
		rc = decode_string(r, SEC_CONTAINER, &f->container,
				   &f->container_len);
	f->extents = sec_data(r, SEC_EXTENTS);
	f->n_extents = sec(r, SEC_EXTENTS)->count;
	f->bitmap = sec_data(r, SEC_BITMAP);
	f->bitmap_len = sec(r, SEC_BITMAP)->count;
	f->upcase = sec_data(r, SEC_UPCASE);
	const uint8_t *j = sec_data(r, SEC_JOURNAL);
	f->has_journal = j != NULL;
	if (j) {
		memcpy(&f->journal_id, j, 8);
		memcpy(&f->journal_next_usn, j + 8, 8);
	}
	return rc;
}

int uffs_idxfile_load(const uint8_t *p, uint64_t len, bool check_checksum,
		      struct uffs_index *idx, struct uffs_idxfile_facts *facts,
		      struct mft_error *err)
{
	*idx = (struct uffs_index){0};
	*facts = (struct uffs_idxfile_facts){0};
	if (!host_is_little_endian())
		return mft_fail(err, MFT_E_UNSUPPORTED, MFT_NO_FRS, MFT_NO_OFFSET,
				"index files need a little-endian machine");
	struct reader *r = calloc(1, sizeof *r);
	if (!r)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, MFT_NO_OFFSET,
				"out of memory");
	r->p = p;
	r->len = len;
	r->err = err;
	uint32_t n_sections = 0;
	int rc = check_header(r, &n_sections);
	if (!rc && check_checksum)
		rc = check_sum(r);
	if (!rc)
		rc = check_table(r, n_sections);
	if (!rc)
		rc = decode_meta(r, idx, facts);
	if (!rc)
		rc = decode_facts(r, facts);
	if (!rc)
		rc = check_counts(r, idx);
	if (!rc) {
		point_index(r, idx);
		rc = check_structure(r, idx);
	}
	if (rc)
		*idx = (struct uffs_index){0};
	free(r);
	return rc;
}

void uffs_idxfile_reseal(uint8_t *p, size_t len)
{
	if (len < UFFS_IDXFILE_HEADER_SIZE)
		return;
	XXH128_hash_t sum = XXH3_128bits(p + UFFS_IDXFILE_HEADER_SIZE,
					 len - UFFS_IDXFILE_HEADER_SIZE);
	put_le64(p + UFFS_IDXFILE_CHECKSUM_AT, sum.low64);
	put_le64(p + UFFS_IDXFILE_CHECKSUM_AT + 8, sum.high64);
}
