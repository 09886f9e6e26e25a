/* Change journal records (mft/usn.c): the four real records of the shared
 * samples against their published field values (usn/answers.md, from
 * msuhanov/dfir_ntfs), then records built here from the documented
 * USN_RECORD_V2/V3/V4 layouts, damaged ones, and pages with torn records
 * in them. The samples' folder is the first argument, else the shared
 * folder beside the source tree; when it is absent their tests are
 * skipped, not passed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "put_le.h"

#include "../../mft/usn.h"

static const char *samples;

static size_t load(const char *name, uint8_t *buf, size_t cap)
{
	char path[1024];
	if (!samples)
		skip();
	snprintf(path, sizeof path, "%s/%s", samples, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		skip();
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void name_is(const struct usn_record *r, const char *ascii)
{
	size_t n = strlen(ascii);
	assert_int_equal(r->name_len, 2 * n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r->name[2 * i], (uint8_t)ascii[i]);
		assert_int_equal(r->name[2 * i + 1], 0);
	}
}

/* FILETIME -> seconds since 1970. */
static int64_t unix_of(uint64_t ft)
{
	return (int64_t)(ft / 10000000u) - 11644473600LL;
}

static void sample_v2_large_file(void **state)
{
	(void)state;
	uint8_t b[4096];
	size_t n = load("usn_1170953448.bin", b, sizeof b);
	struct usn_record r;
	struct mft_error err;
	assert_int_equal(usn_record_parse(b, n, &r, &err), MFT_OK);
	assert_int_equal(r.major, 2);
	assert_int_equal(r.usn, 1170953448);
	name_is(&r, "large_file.txt");
	assert_int_equal(r.reason, 0x80000001u);
	assert_int_equal(r.attributes, 0x20);
	assert_int_equal(r.file_ref, 0x000d000000013252ull);
	assert_int_equal(usn_ref_frs(r.file_ref), 0x13252);
	assert_int_equal(usn_ref_seq(r.file_ref), 0x0d);
	assert_int_equal(r.parent_ref, 0x00060000000009ebull);
	assert_int_equal(r.source_info, 0);
	assert_int_equal(r.security_id, 0);
	/* 2019-01-21 22:36:05 UTC */
	assert_int_equal(unix_of(r.time), 1548110165);
}

static void sample_v2_mpasbase(void **state)
{
	(void)state;
	uint8_t b[4096];
	size_t n = load("usn_1170990440.bin", b, sizeof b);
	struct usn_record r;
	struct mft_error err;
	assert_int_equal(usn_record_parse(b, n, &r, &err), MFT_OK);
	assert_int_equal(r.major, 2);
	assert_int_equal(r.usn, 1170990440);
	name_is(&r, "mpasbase.vdm");
	assert_int_equal(r.reason, 0x80010800u);
	assert_int_equal(r.attributes, 0x20);
	assert_int_equal(r.file_ref, 0x0002000000013424ull);
	assert_int_equal(r.parent_ref, 0x00010000000006b7ull);
	/* 2019-01-21 22:41:17 UTC */
	assert_int_equal(unix_of(r.time), 1548110477);
}

static void extent_is(const struct usn_record *r, unsigned i, int64_t off,
		      int64_t len)
{
	int64_t o, l;
	memcpy(&o, r->extents + 16 * i, 8);
	memcpy(&l, r->extents + 16 * i + 8, 8);
	assert_int_equal(o, off);
	assert_int_equal(l, len);
}

static void sample_v4_one_extent(void **state)
{
	(void)state;
	uint8_t b[4096];
	size_t n = load("usn_1170989584.bin", b, sizeof b);
	struct usn_record r;
	struct mft_error err;
	assert_int_equal(usn_record_parse(b, n, &r, &err), MFT_OK);
	assert_int_equal(r.major, 4);
	assert_int_equal(r.usn, 1170989584);
	assert_null(r.name);
	assert_int_equal(r.reason, 0x80000102u);
	assert_int_equal(r.file_ref, 0x0004000000013de8ull);
	assert_int_equal(r.parent_ref, 0x0004000000001076ull);
	assert_int_equal(r.source_info, 0);
	assert_int_equal(r.n_extents, 1);
	extent_is(&r, 0, 0, 2162688);
}

static void sample_v4_two_extents(void **state)
{
	(void)state;
	uint8_t b[4096];
	size_t n = load("usn_1170955904.bin", b, sizeof b);
	struct usn_record r;
	struct mft_error err;
	assert_int_equal(usn_record_parse(b, n, &r, &err), MFT_OK);
	assert_int_equal(r.major, 4);
	assert_int_equal(r.usn, 1170955904);
	assert_int_equal(r.reason, 0x80000001u);
	assert_int_equal(r.file_ref, 0x00020000000051c0ull);
	assert_int_equal(r.parent_ref, 0x0004000000001066ull);
	assert_int_equal(r.n_extents, 2);
	extent_is(&r, 0, 0, 16384);
	extent_is(&r, 1, 6242304, 32768);
}

/* A version 2 record of `name` at USN usn; returns its length. */
static uint32_t make_v2(uint8_t *p, uint64_t usn, const char *name)
{
	uint32_t nl = 2 * (uint32_t)strlen(name);
	uint32_t len = (60 + nl + 7) & ~7u;
	memset(p, 0, len);
	put32(p, len);
	put16(p + 4, 2);
	put64(p + 8, 0x0005000000000123ull);
	put64(p + 16, 0x0005000000000005ull);
	put64(p + 24, usn);
	put64(p + 32, 132000000000000000ull);
	put32(p + 40, 0x100); /* FILE_CREATE */
	put32(p + 52, 0x20);
	put16(p + 56, (uint16_t)nl);
	put16(p + 58, 60);
	for (uint32_t i = 0; i < nl / 2; i++)
		put16(p + 60 + 2 * i, (uint8_t)name[i]);
	return len;
}

static void built_v3(void **state)
{
	(void)state;
	uint8_t p[128] = {0};
	put32(p, 88);
	put16(p + 4, 3);
	put64(p + 8, 0x0007000000000042ull);
	put64(p + 16, 0);
	put64(p + 24, 0x0001000000000005ull);
	put64(p + 40, 4096);
	put64(p + 48, 132000000000000001ull);
	put32(p + 56, 0x80000000u);
	put32(p + 64, 77);
	put32(p + 68, 0x10);
	put16(p + 72, 6);
	put16(p + 74, 76);
	put16(p + 76, 'a');
	put16(p + 78, 'b');
	put16(p + 80, 'c');
	struct usn_record r;
	struct mft_error err;
	assert_int_equal(usn_record_parse(p, sizeof p, &r, &err), MFT_OK);
	assert_int_equal(r.major, 3);
	assert_int_equal(usn_ref_frs(r.file_ref), 0x42);
	assert_int_equal(usn_ref_seq(r.file_ref), 7);
	assert_int_equal(usn_ref_frs(r.parent_ref), 5);
	assert_int_equal(r.usn, 4096);
	assert_int_equal(r.security_id, 77);
	assert_int_equal(r.attributes, 0x10);
	name_is(&r, "abc");
}

static void damaged_records(void **state)
{
	(void)state;
	uint8_t p[256];
	struct usn_record r;
	struct mft_error err;
	uint32_t len = make_v2(p, 0, "x.txt");
	/* a length of 0, an odd length, past the page */
	put32(p, 0);
	assert_int_not_equal(usn_record_parse(p, sizeof p, &r, &err), MFT_OK);
	put32(p, 61);
	assert_int_not_equal(usn_record_parse(p, sizeof p, &r, &err), MFT_OK);
	put32(p, len);
	assert_int_not_equal(usn_record_parse(p, len - 8, &r, &err), MFT_OK);
	/* a name past the record, an odd name length, a name inside the header */
	put16(p + 56, 200);
	assert_int_not_equal(usn_record_parse(p, sizeof p, &r, &err), MFT_OK);
	put16(p + 56, 9);
	assert_int_not_equal(usn_record_parse(p, sizeof p, &r, &err), MFT_OK);
	put16(p + 56, 10);
	put16(p + 58, 8);
	assert_int_not_equal(usn_record_parse(p, sizeof p, &r, &err), MFT_OK);
	put16(p + 58, 60);
	assert_int_equal(usn_record_parse(p, sizeof p, &r, &err), MFT_OK);
	/* an unknown version */
	put16(p + 4, 9);
	assert_int_not_equal(usn_record_parse(p, sizeof p, &r, &err), MFT_OK);
	/* v4 with more extents than it holds, or extents of another size */
	memset(p, 0, sizeof p);
	put32(p, 80);
	put16(p + 4, 4);
	put16(p + 60, 2);
	put16(p + 62, 16);
	assert_int_not_equal(usn_record_parse(p, sizeof p, &r, &err), MFT_OK);
	put16(p + 60, 1);
	put16(p + 62, 24);
	assert_int_not_equal(usn_record_parse(p, sizeof p, &r, &err), MFT_OK);
	put16(p + 62, 16);
	assert_int_equal(usn_record_parse(p, sizeof p, &r, &err), MFT_OK);
}

struct walk_seen {
	int64_t usn[64];
	unsigned n, bad;
	uint64_t bad_at[8];
};

static void seen_record(void *ctx, const struct usn_record *r)
{
	struct walk_seen *w = ctx;
	w->usn[w->n++] = r->usn;
}

static void seen_bad(void *ctx, const struct mft_error *e)
{
	struct walk_seen *w = ctx;
	if (w->bad < 8)
		w->bad_at[w->bad] = e->offset;
	w->bad++;
}

/* A page of records at stream offset 8192: the third torn (its USN is
 * not its offset), the fifth with a garbage length; the walk reports each
 * once and still gives every other record, then stops at the padding. */
static void page_with_torn_records(void **state)
{
	(void)state;
	uint8_t page[USN_PAGE] = {0};
	uint64_t base = 8192, at = 0;
	uint64_t offs[8];
	for (int i = 0; i < 8; i++) {
		offs[i] = at;
		at += make_v2(page + at, base + at, "file.txt");
	}
	put64(page + offs[2] + 24, 12345); /* torn */
	put32(page + offs[4], 0xFFFF);     /* garbage length */
	struct walk_seen w = {0};
	size_t n = usn_page_walk(page, sizeof page, base, seen_record, seen_bad,
				 &w);
	assert_int_equal(n, 6);
	assert_int_equal(w.bad, 2);
	assert_int_equal(w.bad_at[0], base + offs[2] + 24);
	assert_int_equal(w.bad_at[1], base + offs[4]);
	unsigned k = 0;
	for (int i = 0; i < 8; i++)
		if (i != 2 && i != 4)
			assert_int_equal(w.usn[k++], (int64_t)(base + offs[i]));
}

static void zero_page_and_reasons(void **state)
{
	(void)state;
	uint8_t page[USN_PAGE] = {0};
	struct walk_seen w = {0};
	assert_true(usn_all_zero(page, sizeof page));
	assert_int_equal(usn_page_walk(page, sizeof page, 0, seen_record,
				       seen_bad, &w), 0);
	assert_int_equal(w.bad, 0);
	page[4095] = 1;
	assert_false(usn_all_zero(page, sizeof page));
	assert_string_equal(usn_reason_name(0), "DATA_OVERWRITE");
	assert_string_equal(usn_reason_name(8), "FILE_CREATE");
	assert_string_equal(usn_reason_name(31), "CLOSE");
	assert_null(usn_reason_name(3));
	assert_int_equal(usn_reason_bit("close", 5), 31);
	assert_int_equal(usn_reason_bit("USN_REASON_FILE_DELETE", 22), 9);
	assert_int_equal(usn_reason_bit("rename-new-name", 15), 13);
	assert_int_equal(usn_reason_bit("nonsense", 8), -1);
}

int main(int argc, char **argv)
{
	samples = argc > 1 ? argv[1] : USN_SAMPLES;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sample_v2_large_file),
		cmocka_unit_test(sample_v2_mpasbase),
		cmocka_unit_test(sample_v4_one_extent),
		cmocka_unit_test(sample_v4_two_extents),
		cmocka_unit_test(built_v3),
		cmocka_unit_test(damaged_records),
		cmocka_unit_test(page_with_torn_records),
		cmocka_unit_test(zero_page_and_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
