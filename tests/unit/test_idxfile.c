/* Saved index files (mft/idxfile.c): a small index written to memory and
 * loaded back, then hostile copies, each changed at offsets derived from
 * the layout in docs/index-format.md (read here with the test's own
 * little-endian helpers), each rejected with the code, byte offset and
 * section the validator documents. Body changes are resealed (checksum
 * recomputed) so that the check under test is the one that fires. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "digest.h"
#include "idxfile.h"
#include "index.h"

#define REF(frs, seq) ((uint64_t)(frs) | (uint64_t)(seq) << 48)
#define IN_USE 0x01
#define DIR 0x02
#define N_RECORDS 40
#define ROOT 5

/* Section ids and the header layout, from docs/index-format.md. */
enum { S_META = 1, S_EXTENTS = 4, S_JOURNAL = 7, S_LINK_FIRST = 23, S_L_NAME = 33,
       S_S_OWNER = 55, S_X_FRS = 64, S_POOL = 80 };

static _Alignas(64) uint8_t file[1 << 16];
static size_t file_len;
static _Alignas(64) uint8_t work[1 << 16];

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

/* ---- a small index ---------------------------------------------------------- */

static struct mft_record_view view;
static uint8_t utf16[4][64];

static void name(unsigned k, const char *s, uint64_t parent)
{
	struct mft_name_view *n = &view.names[k];
	size_t len = strlen(s);
	for (size_t i = 0; i < len; i++) {
		utf16[k][2 * i] = (uint8_t)s[i];
		utf16[k][2 * i + 1] = 0;
	}
	n->name = utf16[k];
	n->len = (uint8_t)len;
	n->ns = 1;
	n->attr_id = (uint16_t)(2 + k);
	n->value_len = (uint16_t)(0x42 + 2 * len);
	n->parent_ref = parent;
	view.n_names = k + 1;
}

static void add(struct uffs_index *idx, uint64_t frs, uint16_t flags,
		const char *nm, uint64_t parent, const char *stream,
		uint32_t reparse)
{
	memset(&view, 0, sizeof view);
	view.frs = frs;
	view.seq = (uint16_t)frs;
	view.flags = flags;
	view.has_si = true;
	view.si_attrs = 0x20;
	for (int i = 0; i < 4; i++)
		view.si_times[i] = 0x01D8000000000000ull + frs * 8 + (uint64_t)i;
	name(0, nm, parent);
	view.streams[0].kind = MFT_STREAM_DATA;
	view.streams[0].size = 100 + frs;
	view.streams[0].alloc = 4096;
	view.n_streams = 1;
	if (stream) {
		view.streams[1] = view.streams[0];
		view.streams[1].name = utf16[1];
		view.streams[1].name_len = (uint8_t)strlen(stream);
		for (size_t i = 0; stream[i]; i++)
			utf16[1][2 * i] = (uint8_t)stream[i], utf16[1][2 * i + 1] = 0;
		view.streams[1].attr_id = 9;
		view.n_streams = 2;
	}
	if (reparse) {
		view.has_reparse = true;
		view.reparse_tag = reparse;
	}
	struct mft_error err = {0};
	assert_int_equal(uffs_index_add_record(idx, &view, &err), MFT_OK);
}

static void build(struct uffs_index *idx)
{
	struct mft_error err = {0};
	assert_int_equal(uffs_index_init(idx, N_RECORDS, 1024, true, &err), MFT_OK);
	add(idx, ROOT, IN_USE | DIR, ".", REF(ROOT, ROOT), NULL, 0);
	add(idx, 30, IN_USE | DIR, "dir", REF(ROOT, ROOT), NULL, 0);
	add(idx, 31, IN_USE, "a.txt", REF(30, 30), "ads", 0);
	add(idx, 32, IN_USE, "b.txt", REF(30, 30), "zone", 0xA000000C);
	add(idx, 33, 0, "gone.txt", REF(30, 30), NULL, 0);
	assert_int_equal(uffs_index_finish(idx, &err), MFT_OK);
}

static int sink(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	if (n > sizeof file - file_len)
		return -1;
	memcpy(file + file_len, p, n);
	file_len += n;
	return 0;
}

static const uint16_t upcase_seed = 0;

static struct uffs_digest saved_digest;

static int setup(void **state)
{
	(void)state;
	struct uffs_index idx;
	build(&idx);
	saved_digest = uffs_index_digest(&idx);
	static const uint64_t extents[3] = {0, 16384, 40 * 1024};
	static const uint8_t bitmap[5] = {0xff, 0xff, 0xff, 0xff, 0x03};
	struct uffs_idxfile_facts f = {0};
	f.indexed_at = 1764000000;
	f.has_boot = true;
	f.cluster_size = 4096;
	f.bytes_per_sector = 512;
	f.vol_records = N_RECORDS;
	f.source_path = "disk.img";
	f.source_path_len = 8;
	f.container = "raw volume";
	f.container_len = 10;
	f.extents = extents;
	f.n_extents = 1;
	f.bitmap = bitmap;
	f.bitmap_len = sizeof bitmap;
	f.has_journal = true;
	f.journal_id = 0x01DA5A3C2E7F4001ull;
	f.journal_next_usn = 12288;
	(void)upcase_seed;
	struct mft_error err = {0};
	file_len = 0;
	assert_int_equal(uffs_idxfile_write(&idx, &f, sink, NULL, &err), MFT_OK);
	uffs_index_free(&idx);
	return 0;
}

/* ---- helpers over the written file ----------------------------------------- */

static uint32_t n_sections(const uint8_t *p)
{
	return rd32(p + 24);
}

static uint8_t *entry(uint8_t *p, uint32_t id)
{
	for (uint32_t i = 0; i < n_sections(p); i++) {
		uint8_t *e = p + 64 + 32 * i;
		if (rd32(e) == id)
			return e;
	}
	fail_msg("no section %u", id);
	return NULL;
}

static uint8_t *section(uint8_t *p, uint32_t id)
{
	return p + rd64(entry(p, id) + 8);
}

static void fresh(void)
{
	memcpy(work, file, file_len);
}

static int load(size_t len, struct mft_error *err)
{
	struct uffs_index idx;
	struct uffs_idxfile_facts f;
	return uffs_idxfile_load(work, len, true, &idx, &f, err);
}

static void expect(size_t len, int code, uint64_t offset, const char *what,
		   const char *detail)
{
	struct mft_error err = {0};
	assert_int_equal(load(len, &err), code);
	assert_int_equal(err.offset, offset);
	assert_non_null(strstr(err.what, what));
	if (detail)
		assert_string_equal(err.detail, detail);
}

static void resealed(int code, uint64_t offset, const char *what,
		     const char *detail)
{
	uffs_idxfile_reseal(work, file_len);
	expect(file_len, code, offset, what, detail);
}

/* ---- tests ------------------------------------------------------------------ */

static void round_trip(void **state)
{
	(void)state;
	fresh();
	struct uffs_index idx;
	struct uffs_idxfile_facts f;
	struct mft_error err = {0};
	assert_int_equal(uffs_idxfile_load(work, file_len, true, &idx, &f, &err),
			 MFT_OK);
	assert_int_equal(idx.n_records, N_RECORDS);
	assert_int_equal(idx.links.n, 5);
	assert_int_equal(idx.streams.n, 2);
	assert_int_equal(idx.extras.n, 1);
	assert_int_equal(uffs_index_reparse_tag(&idx, 32), 0xA000000C);
	assert_memory_equal(idx.pool + idx.links.name[idx.link_first[31]],
			    "a.txt", 5);
	assert_true(uffs_index_digest(&idx).hi == saved_digest.hi &&
		    uffs_index_digest(&idx).lo == saved_digest.lo);
	assert_int_equal(f.indexed_at, 1764000000);
	assert_memory_equal(f.source_path, "disk.img", 8);
	assert_int_equal(f.bitmap_len, 5);
	assert_int_equal(f.extents[1], 16384);
	assert_null(f.upcase);
	assert_true(f.has_journal);
	assert_int_equal(f.journal_id, 0x01DA5A3C2E7F4001ull);
	assert_int_equal(f.journal_next_usn, 12288);
	/* Every section where the format puts it. */
	assert_int_equal(file_len, rd64(work + 16));
	for (uint32_t i = 0; i < n_sections(work); i++)
		assert_int_equal(rd64(work + 64 + 32 * i + 8) % 64, 0);
}

static void header_checks(void **state)
{
	(void)state;
	fresh();
	expect(63, MFT_E_TRUNCATED, 0, "shorter than its header", NULL);
	expect(file_len - 1, MFT_E_TRUNCATED, file_len - 1, "shorter than its header says",
	       NULL);
	work[3] = 'X';
	expect(file_len, MFT_E_CORRUPT, 0, "bad magic", NULL);
	fresh();
	wr32(work + 8, 2);
	expect(file_len, MFT_E_UNSUPPORTED, 8, "newer uffs", NULL);
	wr32(work + 8, 0);
	expect(file_len, MFT_E_CORRUPT, 8, "unknown format version", NULL);
	fresh();
	wr32(work + 12, 128);
	expect(file_len, MFT_E_CORRUPT, 12, "header size", NULL);
	fresh();
	wr64(work + 16, file_len - 1);
	expect(file_len, MFT_E_CORRUPT, 16, "bytes after the end", NULL);
	fresh();
	wr32(work + 24, 0);
	expect(file_len, MFT_E_CORRUPT, 24, "section count", NULL);
	wr32(work + 24, 65);
	expect(file_len, MFT_E_CORRUPT, 24, "section count", NULL);
	fresh();
	wr32(work + 28, 1);
	expect(file_len, MFT_E_CORRUPT, 28, "header flags", NULL);
	fresh();
	work[63] = 1;
	expect(file_len, MFT_E_CORRUPT, 63, "reserved", NULL);
	fresh();
	work[40] ^= 1;
	expect(file_len, MFT_E_CORRUPT, 32, "checksum", NULL);
	fresh();
	work[file_len - 1] ^= 1; /* a name byte */
	expect(file_len, MFT_E_CORRUPT, 32, "checksum", NULL);
}

static void table_checks(void **state)
{
	(void)state;
	uint8_t *e;
	fresh();
	e = entry(work, S_POOL);
	wr64(e + 8, rd64(e + 8) + 8);
	resealed(MFT_E_CORRUPT, (uint64_t)(e - work), "past the end", "name pool");
	fresh();
	e = entry(work, S_EXTENTS);
	wr64(e + 8, rd64(e + 8) + 64 * 1000);
	resealed(MFT_E_CORRUPT, (uint64_t)(e - work), "past the end", "extents");
	fresh();
	e = entry(work, S_LINK_FIRST);
	wr64(e + 8, rd64(e + 8) - 32);
	resealed(MFT_E_CORRUPT, (uint64_t)(e - work), "misaligned", "link starts");
	fresh();
	e = entry(work, S_LINK_FIRST);
	wr64(e + 8, rd64(e - 32 + 8)); /* on the section before it */
	resealed(MFT_E_CORRUPT, (uint64_t)(e - work), "overlapping", "link starts");
	fresh();
	e = entry(work, S_L_NAME);
	wr32(e + 4, 8);
	resealed(MFT_E_CORRUPT, (uint64_t)(e - work), "element count", "link names");
	fresh();
	e = entry(work, S_L_NAME);
	wr64(e + 24, rd64(e + 24) - 1);
	resealed(MFT_E_CORRUPT, (uint64_t)(e - work), "element count", "link names");
	fresh();
	e = entry(work, S_L_NAME);
	wr32(e, 99);
	resealed(MFT_E_CORRUPT, (uint64_t)(e - work), "unknown section", NULL);
	/* The journal's position is two numbers, no more. */
	fresh();
	e = entry(work, S_JOURNAL);
	wr32(e + 4, 4);
	wr64(e + 24, 4);
	resealed(MFT_E_CORRUPT, (uint64_t)(e - work), "element count",
		 "change journal position");
	fresh();
	e = entry(work, S_L_NAME);
	wr32(e, S_META);
	resealed(MFT_E_CORRUPT, (uint64_t)(e - work), "element count", "meta");
	/* The last entry (the pool) left out of the table. */
	fresh();
	wr32(work + 24, n_sections(work) - 1);
	resealed(MFT_E_CORRUPT, 64, "missing", "name pool");
}

static void meta_checks(void **state)
{
	(void)state;
	uint8_t *m;
	uint64_t at;
	fresh();
	m = section(work, S_META);
	at = (uint64_t)(m - work);
	wr32(m + 8, 1000);
	resealed(MFT_E_CORRUPT, at + 8, "record size", NULL);
	fresh();
	m = section(work, S_META);
	wr32(m + 12, 4);
	resealed(MFT_E_CORRUPT, at + 12, "meta flags", NULL);
	fresh();
	m = section(work, S_META);
	m[117] = 1;
	resealed(MFT_E_CORRUPT, at + 12, "meta flags", NULL);
	fresh();
	m = section(work, S_META);
	wr64(m + 104, N_RECORDS + 1);
	resealed(MFT_E_CORRUPT, at + 104, "record counts disagree", NULL);
	fresh();
	m = section(work, S_META);
	wr64(m, N_RECORDS + 1);
	wr64(m + 104, N_RECORDS + 1);
	resealed(MFT_E_CORRUPT, rd64(entry(work, 16) + 8), "wrong number",
		 "record flags");
	fresh();
	m = section(work, S_META);
	wr64(m, 0xFFFFFFFFull);
	wr64(m + 104, 0xFFFFFFFFull);
	resealed(MFT_E_CORRUPT, at, "record count", NULL);
}

static void structure_checks(void **state)
{
	(void)state;
	uint8_t *s;
	fresh();
	s = section(work, S_LINK_FIRST);
	wr32(s + 4 * 31, rd32(s + 4 * 32) + 1); /* record 31 starts after 32 */
	resealed(MFT_E_CORRUPT, (uint64_t)(s - work) + 4 * 32, "link rows",
		 "link starts");
	fresh();
	s = section(work, S_LINK_FIRST);
	wr32(s + 4 * (N_RECORDS + 1), 6); /* the spare slot past the rows */
	resealed(MFT_E_CORRUPT, (uint64_t)(s - work) + 4 * (N_RECORDS + 1),
		 "link rows", "link starts");
	fresh();
	s = section(work, S_L_NAME);
	uint32_t pool_len = (uint32_t)rd64(entry(work, S_POOL) + 16);
	wr32(s + 4 * 2, pool_len - 2); /* "a.txt" would end past the pool */
	resealed(MFT_E_CORRUPT, (uint64_t)(s - work) + 8, "outside the name pool",
		 "link names");
	fresh();
	s = section(work, S_L_NAME + 1); /* name lengths */
	s[2 * 2] = 0xFE; /* 766 bytes: longer than NTFS allows */
	s[2 * 2 + 1] = 0x02;
	resealed(MFT_E_CORRUPT, (uint64_t)(section(work, S_L_NAME) - work) + 8,
		 "outside the name pool", "link names");
	fresh();
	s = section(work, S_S_OWNER);
	wr32(s + 4, 31); /* owners 32, 31: out of order */
	wr32(s, 32);
	resealed(MFT_E_CORRUPT, (uint64_t)(s - work) + 4, "stream owners",
		 "stream owners");
	fresh();
	s = section(work, S_S_OWNER);
	wr32(s + 4, N_RECORDS);
	resealed(MFT_E_CORRUPT, (uint64_t)(s - work) + 4, "stream owners",
		 "stream owners");
	fresh();
	s = section(work, S_X_FRS);
	wr32(s, N_RECORDS + 3);
	resealed(MFT_E_CORRUPT, (uint64_t)(s - work), "extra rows",
		 "extra records");
	/* Without the checksum the same checks still stand. */
	fresh();
	s = section(work, S_X_FRS);
	wr32(s, N_RECORDS + 3);
	struct uffs_index idx;
	struct uffs_idxfile_facts f;
	struct mft_error err = {0};
	assert_int_equal(uffs_idxfile_load(work, file_len, false, &idx, &f, &err),
			 MFT_E_CORRUPT);
	assert_string_equal(err.detail, "extra records");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(header_checks),
		cmocka_unit_test(table_checks),
		cmocka_unit_test(meta_checks),
		cmocka_unit_test(structure_checks),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
