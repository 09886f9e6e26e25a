/* Attribute walk, record parsing, $ATTRIBUTE_LIST entries and UTF-16 names.
 *
 * The FILE record is built by hand from the layout in mft/ntfs_format.h
 * (offsets written out as literals here on purpose, so a wrong constant in
 * the library does not go unnoticed):
 *
 *   0x000 header: usa at 0x30 (3 words), first attribute at 0x38
 *   0x038 $STANDARD_INFORMATION  resident, value 0x48        len 0x060
 *   0x098 $FILE_NAME "hello.txt" Win32, parent (5, seq 5)    len 0x070
 *   0x108 $FILE_NAME "HELLO~1.TXT" DOS twin                  len 0x070
 *   0x178 $DATA unnamed resident, value 0x100 bytes          len 0x118
 *         (its value crosses the first stride's tail at 0x1FE)
 *   0x290 $DATA "ads" non-resident, runlist at +0x48         len 0x050
 *   0x2E0 end marker 0xFFFFFFFF
 *   bytes in use 0x2E8, allocated 0x400
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "put_le.h"

#include "mft.h"

#define REC_SIZE 1024u
#define FRS 42u
#define SEQ 7u

#define SI_OFF 0x038u
#define FN1_OFF 0x098u
#define FN2_OFF 0x108u
#define DATA_OFF 0x178u
#define ADS_OFF 0x290u
#define END_OFF 0x2E0u
#define USED 0x2E8u

#define SI_LEN 0x060u
#define FN_ATTR_LEN 0x070u
#define DATA_LEN 0x118u
#define DATA_VALUE_LEN 0x100u
#define ADS_LEN 0x050u

#define ROOT_REF (5ull | 5ull << 48)

static const uint64_t si_t[4] = {0x01D5000000000001ull, 0x01D5000000000002ull,
				 0x01D5000000000003ull, 0x01D5000000000004ull};
static const uint64_t fn_t[4] = {0x01D6000000000011ull, 0x01D6000000000012ull,
				 0x01D6000000000013ull, 0x01D6000000000014ull};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* ASCII to UTF-16LE; returns the number of units. */
static size_t put_utf16(uint8_t *p, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		put16(p + 2 * i, (uint8_t)s[i]);
	return n;
}

static uint8_t data_byte(size_t i)
{
	return (uint8_t)(i ^ 0x5A);
}

/* Common resident attribute header: the value follows the 0x18 header. */
static void resident_header(uint8_t *a, uint32_t type, uint32_t len,
			    uint16_t id, uint32_t value_len)
{
	put32(a + 0x00, type);
	put32(a + 0x04, len);
	a[0x08] = 0; /* resident */
	a[0x09] = 0; /* no name */
	put16(a + 0x0A, 0x18);
	put16(a + 0x0C, 0);
	put16(a + 0x0E, id);
	put32(a + 0x10, value_len);
	put16(a + 0x14, 0x18);
}

static void file_name_attr(uint8_t *a, uint16_t id, const char *name,
			   uint8_t ns)
{
	size_t units = strlen(name);
	uint32_t vlen = (uint32_t)(0x42 + 2 * units);
	resident_header(a, 0x30, FN_ATTR_LEN, id, vlen);
	a[0x16] = 1; /* indexed */
	uint8_t *v = a + 0x18;
	put64(v + 0x00, ROOT_REF);
	for (int i = 0; i < 4; i++)
		put64(v + 0x08 + 8 * i, fn_t[i]);
	put64(v + 0x28, 0);
	put64(v + 0x30, 0);
	put32(v + 0x38, 0x20); /* archive */
	put32(v + 0x3C, 0);
	v[0x40] = (uint8_t)units;
	v[0x41] = ns;
	put_utf16(v + 0x42, name);
}

/* Builds the record described at the top, unprotected (tails hold data). */
static void build_record(uint8_t *rec)
{
	memset(rec, 0, REC_SIZE);
	/* Fill the slack after bytes-in-use so stray reads would show. */
	for (size_t i = USED; i < REC_SIZE; i++)
		rec[i] = (uint8_t)(0xC0 + (i & 0x3F));
	memcpy(rec, "FILE", 4);
	put16(rec + 0x04, 0x30);   /* usa offset */
	put16(rec + 0x06, 3);      /* usa count: USN + 2 strides */
	put64(rec + 0x08, 0x1234); /* $LogFile LSN */
	put16(rec + 0x10, SEQ);
	put16(rec + 0x12, 2);    /* links (Win32 + DOS) */
	put16(rec + 0x14, 0x38); /* first attribute */
	put16(rec + 0x16, 0x01); /* in use */
	put32(rec + 0x18, USED);
	put32(rec + 0x1C, REC_SIZE);
	put64(rec + 0x20, 0); /* base record */
	put16(rec + 0x28, 5); /* next attribute id */
	put32(rec + 0x2C, FRS);

	uint8_t *a = rec + SI_OFF;
	resident_header(a, 0x10, SI_LEN, 0, 0x48);
	for (int i = 0; i < 4; i++)
		put64(a + 0x18 + 8 * i, si_t[i]);
	put32(a + 0x18 + 0x20, 0x20);       /* archive */
	put32(a + 0x18 + 0x30, 0x11223344); /* owner id */
	put32(a + 0x18 + 0x34, 0x100);      /* security id */

	file_name_attr(rec + FN1_OFF, 2, "hello.txt", 1);
	file_name_attr(rec + FN2_OFF, 3, "HELLO~1.TXT", 2);

	a = rec + DATA_OFF;
	resident_header(a, 0x80, DATA_LEN, 1, DATA_VALUE_LEN);
	for (size_t i = 0; i < DATA_VALUE_LEN; i++)
		a[0x18 + i] = data_byte(i);

	a = rec + ADS_OFF;
	put32(a + 0x00, 0x80);
	put32(a + 0x04, ADS_LEN);
	a[0x08] = 1; /* non-resident */
	a[0x09] = 3; /* name length */
	put16(a + 0x0A, 0x40);
	put16(a + 0x0C, 0);
	put16(a + 0x0E, 4);
	put64(a + 0x10, 0);    /* first VCN */
	put64(a + 0x18, 0x0F); /* last VCN */
	put16(a + 0x20, 0x48); /* runlist offset */
	a[0x22] = 0;
	put64(a + 0x28, 0x10000); /* allocated */
	put64(a + 0x30, 0xFFF0);  /* data size */
	put64(a + 0x38, 0xFFF0);  /* initialized */
	put_utf16(a + 0x40, "ads");
	/* 16 clusters at LCN 0x100 */
	static const uint8_t rl[] = {0x21, 0x10, 0x00, 0x01, 0x00};
	memcpy(a + 0x48, rl, sizeof rl);

	put32(rec + END_OFF, 0xFFFFFFFFu);
}

/* Saves each stride tail into the USA and writes the USN there, as NTFS
 * does before writing the record. */
static void protect(uint8_t *rec, uint16_t usn)
{
	uint8_t *usa = rec + get16(rec + 0x04);
	unsigned count = get16(rec + 0x06);
	put16(usa, usn);
	for (unsigned i = 1; i < count; i++) {
		uint8_t *tail = rec + i * 512u - 2;
		usa[2 * i] = tail[0];
		usa[2 * i + 1] = tail[1];
		put16(tail, usn);
	}
}

static void build_protected(uint8_t *rec)
{
	build_record(rec);
	protect(rec, 0x0003);
}

/* The view is large (hundreds of stream slots): keep it off the stack. */
static struct mft_record_view view;

/* ---- the record builder is right ------------------------------------------ */

static void test_protect_really_hides_data(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_protected(rec);
	/* The resident $DATA value crosses 0x1FE: on "disk" its bytes there
	 * are the USN, so parsing without the fixup would read wrong data. */
	assert_int_equal(get16(rec + 0x1FE), 0x0003);
	assert_int_equal(rec[0x1FE], 0x03);
	assert_int_not_equal(data_byte(0x1FE - (DATA_OFF + 0x18)), 0x03);
}

/* ---- attribute iteration ----------------------------------------------------- */

static void test_attr_iteration(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_protected(rec);
	uint32_t first = 0, end = 0;
	struct mft_error err = {0};
	assert_int_equal(mft_record_prepare(rec, REC_SIZE, FRS, &first, &end,
					    &err),
			 MFT_OK);
	assert_int_equal(first, 0x38);
	assert_int_equal(end, USED);

	static const struct {
		uint32_t type, offset, length;
		bool nonresident;
		uint16_t id;
		uint32_t value_len;
	} want[] = {
		{0x10, SI_OFF, SI_LEN, false, 0, 0x48},
		{0x30, FN1_OFF, FN_ATTR_LEN, false, 2, 0x42 + 18},
		{0x30, FN2_OFF, FN_ATTR_LEN, false, 3, 0x42 + 22},
		{0x80, DATA_OFF, DATA_LEN, false, 1, DATA_VALUE_LEN},
		{0x80, ADS_OFF, ADS_LEN, true, 4, 0},
	};
	struct mft_attr_iter it;
	struct mft_attr a;
	mft_attr_iter_init(&it, rec, first, end, FRS);
	for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
		assert_int_equal(mft_attr_next(&it, &a, &err), 1);
		assert_int_equal(a.type, want[k].type);
		assert_int_equal(a.offset, want[k].offset);
		assert_int_equal(a.length, want[k].length);
		assert_int_equal(a.nonresident, want[k].nonresident);
		assert_int_equal(a.id, want[k].id);
		if (!a.nonresident) {
			assert_int_equal(a.value_len, want[k].value_len);
			assert_ptr_equal(a.value, rec + want[k].offset + 0x18);
			assert_int_equal(a.name_len, 0);
		}
	}
	/* The last one is the named non-resident $DATA. */
	assert_int_equal(a.name_len, 3);
	uint8_t ads[6];
	put_utf16(ads, "ads");
	assert_memory_equal(a.name, ads, 6);
	assert_ptr_equal(a.name, rec + ADS_OFF + 0x40);
	assert_int_equal(a.start_vcn, 0);
	assert_int_equal(a.last_vcn, 0x0F);
	assert_int_equal(a.alloc_size, 0x10000);
	assert_int_equal(a.data_size, 0xFFF0);
	assert_int_equal(a.init_size, 0xFFF0);
	assert_ptr_equal(a.runlist, rec + ADS_OFF + 0x48);
	assert_int_equal(a.runlist_len, ADS_LEN - 0x48);

	/* The runlist view decodes to the run written above. */
	struct mft_runlist_iter ri;
	struct mft_run run;
	mft_runlist_init(&ri, a.runlist, a.runlist_len, a.start_vcn);
	assert_int_equal(mft_runlist_next(&ri, &run, &err), 1);
	assert_int_equal(run.lcn, 0x100);
	assert_int_equal(run.length, 0x10);
	assert_int_equal(mft_runlist_next(&ri, &run, &err), 0);

	/* Then the end marker. */
	assert_int_equal(mft_attr_next(&it, &a, &err), 0);
}

/* The fixup put the original bytes back under the resident value. */
static void test_resident_value_across_stride(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_protected(rec);
	uint32_t first, end;
	struct mft_error err = {0};
	assert_int_equal(mft_record_prepare(rec, REC_SIZE, FRS, &first, &end,
					    &err),
			 MFT_OK);
	struct mft_attr_iter it;
	struct mft_attr a;
	mft_attr_iter_init(&it, rec, first, end, FRS);
	for (int k = 0; k < 4; k++)
		assert_int_equal(mft_attr_next(&it, &a, &err), 1);
	assert_int_equal(a.type, 0x80);
	assert_int_equal(a.value_len, DATA_VALUE_LEN);
	for (size_t i = 0; i < DATA_VALUE_LEN; i++)
		if (a.value[i] != data_byte(i))
			fail_msg("value byte %zu: %02x want %02x", i,
				 a.value[i], data_byte(i));
}

/* ---- mft_record_parse --------------------------------------------------------- */

static void test_record_parse(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_protected(rec);
	struct mft_error err = {0};
	memset(&view, 0xEE, sizeof view);
	assert_int_equal(mft_record_parse(rec, REC_SIZE, FRS, &view, &err),
			 MFT_OK);
	assert_int_equal(view.frs, FRS);
	assert_int_equal(view.seq, SEQ);
	assert_int_equal(view.flags, 0x01);
	assert_int_equal(view.link_count, 2);
	assert_int_equal(view.base_ref, 0);
	assert_false(view.has_attr_list);
	assert_false(view.has_reparse);
	assert_false(view.baad);
	assert_false(view.partial);
	assert_int_equal(view.n_attrs, 5);

	assert_true(view.has_si);
	for (int i = 0; i < 4; i++)
		assert_int_equal(view.si_times[i], si_t[i]);
	assert_int_equal(view.si_times[MFT_T_CREATED], si_t[0]);
	assert_int_equal(view.si_times[MFT_T_ACCESSED], si_t[3]);
	assert_int_equal(view.si_attrs, 0x20);
	assert_int_equal(view.owner_id, 0x11223344);

	uint8_t u16[64];
	assert_int_equal(view.n_names, 2);
	const struct mft_name_view *n = &view.names[0];
	assert_int_equal(n->len, 9);
	assert_int_equal(n->ns, 1);
	assert_int_equal(n->parent_ref, ROOT_REF);
	assert_int_equal(n->attr_id, 2);
	assert_int_equal(n->value_len, 0x42 + 18);
	assert_int_equal(n->flags, 0x20);
	put_utf16(u16, "hello.txt");
	assert_memory_equal(n->name, u16, 18);
	assert_ptr_equal(n->name, rec + FN1_OFF + 0x18 + 0x42);
	for (int i = 0; i < 4; i++)
		assert_int_equal(n->times[i], fn_t[i]);

	n = &view.names[1];
	assert_int_equal(n->len, 11);
	assert_int_equal(n->ns, 2);
	assert_int_equal(n->parent_ref, ROOT_REF);
	assert_int_equal(n->attr_id, 3);
	put_utf16(u16, "HELLO~1.TXT");
	assert_memory_equal(n->name, u16, 22);

	assert_int_equal(view.n_streams, 2);
	const struct mft_stream_view *s = &view.streams[0];
	assert_null(s->name);
	assert_int_equal(s->name_len, 0);
	assert_int_equal(s->kind, MFT_STREAM_DATA);
	assert_false(s->nonresident);
	assert_int_equal(s->size, DATA_VALUE_LEN);
	assert_int_equal(s->attr_id, 1);

	s = &view.streams[1];
	assert_non_null(s->name);
	assert_int_equal(s->name_len, 3);
	put_utf16(u16, "ads");
	assert_memory_equal(s->name, u16, 6);
	assert_int_equal(s->kind, MFT_STREAM_DATA);
	assert_true(s->nonresident);
	assert_int_equal(s->size, 0xFFF0);
	assert_int_equal(s->alloc, 0x10000);
	assert_int_equal(s->start_vcn, 0);
	assert_int_equal(s->attr_id, 4);

	/* Parsing fixed the record up in place. */
	for (size_t i = 0; i < DATA_VALUE_LEN; i++)
		assert_int_equal(rec[DATA_OFF + 0x18 + i], data_byte(i));
}

/* A later piece of a split non-resident attribute (first VCN != 0) carries
 * no sizes: it must not become a second stream. */
static void test_record_parse_skips_later_piece(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_record(rec);
	put64(rec + ADS_OFF + 0x10, 0x10); /* first VCN */
	put64(rec + ADS_OFF + 0x18, 0x1F);
	protect(rec, 0x0003);
	struct mft_error err = {0};
	assert_int_equal(mft_record_parse(rec, REC_SIZE, FRS, &view, &err),
			 MFT_OK);
	assert_int_equal(view.n_streams, 1);
	assert_null(view.streams[0].name);
}

/* ---- errors --------------------------------------------------------------------- */

/* A header error: the record is unusable, mft_record_parse fails. */
static void expect_parse_error(uint8_t *rec, int code, uint64_t offset)
{
	struct mft_error err = {0};
	int rc = mft_record_parse(rec, REC_SIZE, FRS, &view, &err);
	assert_int_equal(rc, code);
	assert_int_equal(err.code, code);
	assert_int_equal(err.frs, FRS);
	assert_int_equal(err.offset, offset);
	assert_non_null(err.what);
}

/* What the walk had collected before the damaged attribute. */
struct kept {
	unsigned attrs, names, streams;
	bool si;
};

/* An attribute error, seen two ways. `plain` is a mutated, unprotected
 * record. mft_attr_next stops on the bad attribute with `code` at an offset
 * in [lo, hi) (skipped when walk is false: errors found while reading an
 * attribute's value); mft_record_parse (mft.h) keeps what came before it
 * and reports the damage in view.partial / view.damage. */
static void expect_attr_damage(const uint8_t *plain, bool walk, int code,
			       uint64_t lo, uint64_t hi, struct kept k)
{
	uint8_t rec[REC_SIZE];
	struct mft_error err = {0};
	if (walk) {
		memcpy(rec, plain, REC_SIZE);
		struct mft_attr_iter it;
		struct mft_attr a;
		uint32_t end = (uint32_t)(rec[0x18] | rec[0x19] << 8 |
					  rec[0x1A] << 16 |
					  (uint32_t)rec[0x1B] << 24);
		mft_attr_iter_init(&it, rec, get16(rec + 0x14), end, FRS);
		unsigned n = 0;
		int rc;
		while ((rc = mft_attr_next(&it, &a, &err)) == 1)
			assert_true(++n <= 16);
		assert_int_equal(rc, code);
		assert_int_equal(err.code, code);
		assert_int_equal(err.frs, FRS);
		if (err.offset < lo || err.offset >= hi)
			fail_msg("walk error offset %#llx not in [%#llx, %#llx)",
				 (unsigned long long)err.offset,
				 (unsigned long long)lo,
				 (unsigned long long)hi);
		assert_int_equal(n, k.attrs);
	}

	memcpy(rec, plain, REC_SIZE);
	protect(rec, 0x0003);
	memset(&err, 0, sizeof err);
	memset(&view, 0xEE, sizeof view);
	assert_int_equal(mft_record_parse(rec, REC_SIZE, FRS, &view, &err),
			 MFT_OK);
	assert_true(view.partial);
	assert_int_equal(view.damage.code, code);
	assert_int_equal(view.damage.frs, FRS);
	assert_non_null(view.damage.what);
	if (view.damage.offset < lo || view.damage.offset >= hi)
		fail_msg("damage offset %#llx not in [%#llx, %#llx)",
			 (unsigned long long)view.damage.offset,
			 (unsigned long long)lo, (unsigned long long)hi);
	assert_int_equal(view.n_attrs, k.attrs);
	assert_int_equal(view.n_names, k.names);
	assert_int_equal(view.n_streams, k.streams);
	assert_int_equal(view.has_si, k.si);
	assert_int_equal(view.frs, FRS);
	assert_int_equal(view.seq, SEQ);
	if (k.si)
		assert_int_equal(view.si_times[MFT_T_MODIFIED], si_t[1]);
	if (k.names)
		assert_int_equal(view.names[0].len, 9);
}

static void test_err_attr_length_zero(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_record(rec);
	put32(rec + FN1_OFF + 0x04, 0);
	/* The offset names the bad attribute's length field. */
	expect_attr_damage(rec, true, MFT_E_CORRUPT, FN1_OFF + 0x04,
			   FN1_OFF + 0x05, (struct kept){1, 0, 0, true});
}

/* Shorter than the smallest attribute header (0x18) cannot be right either:
 * 8 would make the next "attribute" start inside this one. */
static void test_err_attr_length_too_small(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_record(rec);
	put32(rec + FN1_OFF + 0x04, 0x08);
	expect_attr_damage(rec, true, MFT_E_CORRUPT, FN1_OFF + 0x04,
			   FN1_OFF + 0x05, (struct kept){1, 0, 0, true});
}

static void test_err_attr_length_past_bytes_in_use(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	/* The attribute's own length reaches past bytes in use... */
	build_record(rec);
	put32(rec + ADS_OFF + 0x04, 0x60); /* 0x290 + 0x60 > 0x2E8 */
	expect_attr_damage(rec, true, MFT_E_CORRUPT, ADS_OFF + 0x04,
			   ADS_OFF + 0x05, (struct kept){4, 2, 1, true});

	/* ...or bytes in use was cut below an intact attribute. */
	build_record(rec);
	put32(rec + 0x18, 0x2C0);
	expect_attr_damage(rec, true, MFT_E_CORRUPT, ADS_OFF + 0x04,
			   ADS_OFF + 0x05, (struct kept){4, 2, 1, true});
}

static void test_err_name_past_attribute(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_record(rec);
	put16(rec + ADS_OFF + 0x0A, 0x4C); /* 0x4C + 6 > 0x50 */
	expect_attr_damage(rec, true, MFT_E_CORRUPT, ADS_OFF + 0x0A,
			   ADS_OFF + 0x0B, (struct kept){4, 2, 1, true});

	build_record(rec);
	rec[ADS_OFF + 0x09] = 0xFF; /* 510 bytes of name */
	expect_attr_damage(rec, true, MFT_E_CORRUPT, ADS_OFF + 0x0A,
			   ADS_OFF + 0x0B, (struct kept){4, 2, 1, true});
}

static void test_err_resident_value_past_attribute(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_record(rec);
	put32(rec + DATA_OFF + 0x10, DATA_VALUE_LEN + 1);
	expect_attr_damage(rec, true, MFT_E_CORRUPT, DATA_OFF + 0x10,
			   DATA_OFF + 0x11, (struct kept){3, 2, 0, true});

	/* Value offset past the attribute (length 0 value there). */
	build_record(rec);
	put32(rec + DATA_OFF + 0x10, 0);
	put16(rec + DATA_OFF + 0x14, DATA_LEN + 8);
	expect_attr_damage(rec, true, MFT_E_CORRUPT, DATA_OFF + 0x10,
			   DATA_OFF + 0x11, (struct kept){3, 2, 0, true});

	/* A huge length must not wrap the bounds check. */
	build_record(rec);
	put32(rec + DATA_OFF + 0x10, 0xFFFFFFF0u);
	expect_attr_damage(rec, true, MFT_E_CORRUPT, DATA_OFF + 0x10,
			   DATA_OFF + 0x11, (struct kept){3, 2, 0, true});
}

static void test_err_runlist_offset_outside(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_record(rec);
	put16(rec + ADS_OFF + 0x20, ADS_LEN + 8);
	expect_attr_damage(rec, true, MFT_E_CORRUPT, ADS_OFF + 0x20,
			   ADS_OFF + 0x21, (struct kept){4, 2, 1, true});
}

/* The $FILE_NAME value itself is inconsistent: the attribute walks fine,
 * the parse stops there. */
static void test_err_file_name_past_value(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_record(rec);
	rec[FN1_OFF + 0x18 + 0x40] = 40; /* 0x42 + 80 > value length 0x54 */
	expect_attr_damage(rec, false, MFT_E_CORRUPT, FN1_OFF,
			   FN1_OFF + FN_ATTR_LEN, (struct kept){1, 0, 0, true});
}

/* A name of 0 units names nothing: damage, not a silently missing file. */
static void test_err_file_name_empty(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_record(rec);
	rec[FN1_OFF + 0x18 + 0x40] = 0;
	expect_attr_damage(rec, false, MFT_E_CORRUPT, FN1_OFF,
			   FN1_OFF + FN_ATTR_LEN, (struct kept){1, 0, 0, true});
}

static void test_err_no_end_marker(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_record(rec);
	put32(rec + END_OFF, 0); /* end marker gone, 8 bytes left */
	expect_attr_damage(rec, true, MFT_E_CORRUPT, END_OFF, END_OFF + 1,
			   (struct kept){5, 2, 2, true});
}

static void test_err_bytes_in_use_too_large(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_record(rec);
	put32(rec + 0x18, REC_SIZE + 8);
	protect(rec, 0x0003);
	expect_parse_error(rec, MFT_E_CORRUPT, 0x18);
}

static void test_err_first_attr_offset(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_record(rec);
	put16(rec + 0x14, USED); /* at bytes in use: no room */
	protect(rec, 0x0003);
	expect_parse_error(rec, MFT_E_CORRUPT, 0x14);

	build_record(rec);
	put16(rec + 0x14, 0x10); /* inside the header */
	protect(rec, 0x0003);
	expect_parse_error(rec, MFT_E_CORRUPT, 0x14);
}

/* mft.h: a "BAAD" record whose fixup holds is parsed, flagged baad. */
static void test_baad_intact_is_parsed(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_protected(rec);
	memcpy(rec, "BAAD", 4);
	struct mft_error err = {0};
	memset(&view, 0, sizeof view);
	assert_int_equal(mft_record_parse(rec, REC_SIZE, FRS, &view, &err),
			 MFT_OK);
	assert_true(view.baad);
	assert_false(view.partial);
	assert_int_equal(view.n_names, 2);
	assert_int_equal(view.n_streams, 2);
	assert_int_equal(rec[DATA_OFF + 0x18 + 0x6E], data_byte(0x6E));
}

/* A "BAAD" record that is also torn is still unusable. */
static void test_baad_torn(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_protected(rec);
	memcpy(rec, "BAAD", 4);
	put16(rec + 0x1FE, 0x0002);
	expect_parse_error(rec, MFT_E_FIXUP, 0x1FE);
}

static void test_err_empty(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	memset(rec, 0, sizeof rec);
	expect_parse_error(rec, MFT_E_EMPTY, 0);
}

static void test_err_bad_magic(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	for (size_t i = 0; i < sizeof rec; i++)
		rec[i] = (uint8_t)(i * 31 + 17);
	expect_parse_error(rec, MFT_E_BAD_MAGIC, 0);

	/* Zero except one byte at the very end is not empty. */
	memset(rec, 0, sizeof rec);
	rec[REC_SIZE - 1] = 1;
	expect_parse_error(rec, MFT_E_BAD_MAGIC, 0);

	/* An index record is not a FILE record. */
	build_protected(rec);
	memcpy(rec, "INDX", 4);
	expect_parse_error(rec, MFT_E_BAD_MAGIC, 0);
}

static void test_err_torn(void **state)
{
	(void)state;
	uint8_t rec[REC_SIZE];
	build_protected(rec);
	put16(rec + 0x3FE, 0x0002); /* second sector from an older write */
	expect_parse_error(rec, MFT_E_FIXUP, 0x3FE);
}

/* ---- $ATTRIBUTE_LIST ------------------------------------------------------------ */

/* Entry: 0x00 type, 0x04 length, 0x06 name length, 0x07 name offset,
 * 0x08 first VCN, 0x10 record reference, 0x18 attribute id, 0x1A name. */
static size_t al_entry(uint8_t *p, uint32_t type, uint16_t len,
		       const char *name, uint64_t vcn, uint64_t ref,
		       uint16_t id)
{
	memset(p, 0, len);
	put32(p + 0x00, type);
	put16(p + 0x04, len);
	p[0x06] = name ? (uint8_t)strlen(name) : 0;
	p[0x07] = 0x1A;
	put64(p + 0x08, vcn);
	put64(p + 0x10, ref);
	put16(p + 0x18, id);
	if (name)
		put_utf16(p + 0x1A, name);
	return len;
}

static void test_al_two_entries(void **state)
{
	(void)state;
	uint8_t buf[0x60];
	size_t k = 0;
	k += al_entry(buf + k, 0x10, 0x20, NULL, 0, 42 | 7ull << 48, 0);
	k += al_entry(buf + k, 0x80, 0x20, "ads", 0x10, 43 | 2ull << 48, 5);
	memset(buf + k, 0, sizeof buf - k); /* a zero entry ends the list */

	struct mft_al_iter it;
	struct mft_al_entry e;
	struct mft_error err = {0};
	mft_al_iter_init(&it, buf, sizeof buf);
	assert_int_equal(mft_al_next(&it, &e, &err), 1);
	assert_int_equal(e.type, 0x10);
	assert_int_equal(e.length, 0x20);
	assert_int_equal(e.name_len, 0);
	assert_null(e.name);
	assert_int_equal(e.start_vcn, 0);
	assert_int_equal(e.record_ref, 42 | 7ull << 48);
	assert_int_equal(e.attr_id, 0);

	assert_int_equal(mft_al_next(&it, &e, &err), 1);
	assert_int_equal(e.type, 0x80);
	assert_int_equal(e.length, 0x20);
	assert_int_equal(e.name_len, 3);
	assert_ptr_equal(e.name, buf + 0x20 + 0x1A);
	uint8_t ads[6];
	put_utf16(ads, "ads");
	assert_memory_equal(e.name, ads, 6);
	assert_int_equal(e.start_vcn, 0x10);
	assert_int_equal(e.record_ref, 43 | 2ull << 48);
	assert_int_equal(e.attr_id, 5);

	assert_int_equal(mft_al_next(&it, &e, &err), 0);
}

/* The list may end exactly with its value, no zero entry. */
static void test_al_ends_with_value(void **state)
{
	(void)state;
	uint8_t buf[0x40];
	al_entry(buf, 0x30, 0x20, NULL, 0, 42 | 7ull << 48, 2);
	al_entry(buf + 0x20, 0x80, 0x20, NULL, 0, 44 | 1ull << 48, 3);
	struct mft_al_iter it;
	struct mft_al_entry e;
	struct mft_error err = {0};
	mft_al_iter_init(&it, buf, sizeof buf);
	assert_int_equal(mft_al_next(&it, &e, &err), 1);
	assert_int_equal(e.type, 0x30);
	assert_int_equal(mft_al_next(&it, &e, &err), 1);
	assert_int_equal(e.type, 0x80);
	assert_int_equal(e.record_ref, 44 | 1ull << 48);
	assert_int_equal(mft_al_next(&it, &e, &err), 0);
}

static void test_al_zero_length_terminates(void **state)
{
	(void)state;
	uint8_t buf[0x40];
	al_entry(buf, 0x10, 0x20, NULL, 0, 42 | 7ull << 48, 0);
	memset(buf + 0x20, 0, 0x20);
	struct mft_al_iter it;
	struct mft_al_entry e;
	struct mft_error err = {0};
	mft_al_iter_init(&it, buf, sizeof buf);
	assert_int_equal(mft_al_next(&it, &e, &err), 1);
	assert_int_equal(mft_al_next(&it, &e, &err), 0);

	/* A typed entry claiming length 0 must not be yielded, nor yielded
	 * forever: the walk stops (as end or as corruption). */
	al_entry(buf + 0x20, 0x80, 0x20, NULL, 0, 43, 1);
	put16(buf + 0x20 + 0x04, 0);
	mft_al_iter_init(&it, buf, sizeof buf);
	assert_int_equal(mft_al_next(&it, &e, &err), 1);
	assert_true(mft_al_next(&it, &e, &err) <= 0);
}

static void test_al_entry_longer_than_buffer(void **state)
{
	(void)state;
	uint8_t buf[0x40];
	al_entry(buf, 0x10, 0x20, NULL, 0, 42 | 7ull << 48, 0);
	al_entry(buf + 0x20, 0x80, 0x20, NULL, 0, 43, 1);
	put16(buf + 0x20 + 0x04, 0x28); /* 0x20 + 0x28 > 0x40 */
	struct mft_al_iter it;
	struct mft_al_entry e;
	struct mft_error err = {0};
	mft_al_iter_init(&it, buf, sizeof buf);
	assert_int_equal(mft_al_next(&it, &e, &err), 1);
	assert_int_equal(mft_al_next(&it, &e, &err), MFT_E_CORRUPT);
	assert_int_equal(err.offset, 0x20 + 0x04);

	/* Shorter than the fixed entry header is corrupt too. */
	put16(buf + 0x20 + 0x04, 0x10);
	mft_al_iter_init(&it, buf, sizeof buf);
	assert_int_equal(mft_al_next(&it, &e, &err), 1);
	assert_int_equal(mft_al_next(&it, &e, &err), MFT_E_CORRUPT);
	assert_int_equal(err.offset, 0x20 + 0x04);
}

static void test_al_name_past_entry(void **state)
{
	(void)state;
	uint8_t buf[0x40];
	al_entry(buf, 0x80, 0x20, "ads", 0, 43, 1);
	buf[0x07] = 0x1E; /* 0x1E + 6 > 0x20 */
	memset(buf + 0x20, 0, 0x20);
	struct mft_al_iter it;
	struct mft_al_entry e;
	struct mft_error err = {0};
	mft_al_iter_init(&it, buf, sizeof buf);
	assert_int_equal(mft_al_next(&it, &e, &err), MFT_E_CORRUPT);
	assert_int_equal(err.offset, 0x07);
}

/* ---- UTF-16 to WTF-8 --------------------------------------------------------- */

static void check_wtf8(const uint16_t *units, size_t n, const char *want,
		       size_t want_len)
{
	uint8_t in[2 * 80];
	char out[3 * 80 + 1];
	assert_true(n <= 80);
	for (size_t i = 0; i < n; i++)
		put16(in + 2 * i, units[i]);
	memset(out, 0x7F, sizeof out);
	size_t len = mft_utf16_to_wtf8(in, n, out);
	assert_int_equal(len, want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(out[len], 0x7F); /* nothing written past */
	/* The variant that also says whether the name is printable ASCII:
	 * the same bytes, and the answer the units give. */
	bool printable_units = n > 0;
	for (size_t i = 0; i < n; i++)
		printable_units &= units[i] >= 0x20 && units[i] <= 0x7E;
	memset(out, 0x7F, sizeof out);
	bool printable = !printable_units;
	len = mft_utf16_to_wtf8_printable(in, n, out, &printable);
	assert_int_equal(len, want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(out[len], 0x7F);
	assert_int_equal(printable, printable_units);
}

static void test_utf16_ascii(void **state)
{
	(void)state;
	static const uint16_t u[] = {'a', 'B', '.', '~', '1'};
	check_wtf8(u, 5, "aB.~1", 5);
	check_wtf8(u, 0, "", 0);
}

static void test_utf16_two_and_three_bytes(void **state)
{
	(void)state;
	static const uint16_t e_acute[] = {0x00E9};
	check_wtf8(e_acute, 1, "\xC3\xA9", 2);
	static const uint16_t mixed[] = {'c', 0x00E9, 0x20AC, 'x'};
	check_wtf8(mixed, 4, "c\xC3\xA9\xE2\x82\xAC"
			     "x",
		   7);
	static const uint16_t bounds[] = {0x007F, 0x0080, 0x07FF, 0x0800,
					  0xFFFF};
	check_wtf8(bounds, 5,
		   "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF", 11);
}

/* The ASCII fast paths take 16 and 4 units at a time: a non-ASCII unit
 * (two bytes in UTF-8, a high byte only, a low byte above 0x7F, a pair)
 * at any position of a 40-unit name gives the bytes worked out unit by
 * unit. */
static void test_utf16_non_ascii_at_every_position(void **state)
{
	(void)state;
	static const struct {
		uint16_t u[2];
		size_t n;
		const char *utf8;
	} odd[] = {
		{{0x00E9}, 1, "\xC3\xA9"},
		{{0x0100}, 1, "\xC4\x80"},
		{{0x0080}, 1, "\xC2\x80"},
		{{0xD83D, 0xDE00}, 2, "\xF0\x9F\x98\x80"},
	};
	/* Every length from one unit to past four blocks of 16: the blocks,
	 * the overlapping last block, the groups of four and single units. */
	for (size_t len = 1; len <= 70; len++) {
		uint16_t u[70];
		char want[96];
		for (size_t i = 0; i < len; i++) {
			u[i] = (uint16_t)('a' + i % 26);
			want[i] = (char)u[i];
		}
		check_wtf8(u, len, want, len);
		for (size_t k = 0; k < sizeof odd / sizeof *odd; k++)
			for (size_t pos = 0; pos + odd[k].n <= len; pos++) {
				size_t w = 0;
				for (size_t i = 0; i < len; i++)
					u[i] = (uint16_t)('a' + i % 26);
				memcpy(u + pos, odd[k].u, odd[k].n * sizeof *u);
				for (size_t i = 0; i < pos; i++)
					want[w++] = (char)u[i];
				size_t m = strlen(odd[k].utf8);
				memcpy(want + w, odd[k].utf8, m);
				w += m;
				for (size_t i = pos + odd[k].n; i < len; i++)
					want[w++] = (char)u[i];
				check_wtf8(u, len, want, w);
			}
	}
}

/* Printable ASCII is 0x20..0x7E: a control character, DEL or the first
 * unit past either end, at any position of a name of any length, makes it
 * not printable (check_wtf8 asks, and works out the answer unit by unit). */
static void test_utf16_printable_at_every_position(void **state)
{
	(void)state;
	static const uint16_t edge[] = {0x00, 0x09, 0x1F, 0x20, 0x7E, 0x7F};
	for (size_t len = 1; len <= 70; len++) {
		uint16_t u[70];
		char want[70];
		for (size_t k = 0; k < sizeof edge / sizeof *edge; k++)
			for (size_t pos = 0; pos < len; pos++) {
				for (size_t i = 0; i < len; i++)
					u[i] = (uint16_t)('A' + i % 26);
				u[pos] = edge[k];
				for (size_t i = 0; i < len; i++)
					want[i] = (char)u[i];
				check_wtf8(u, len, want, len);
			}
	}
}

static void test_utf16_surrogate_pair(void **state)
{
	(void)state;
	static const uint16_t grin[] = {0xD83D, 0xDE00}; /* U+1F600 */
	check_wtf8(grin, 2, "\xF0\x9F\x98\x80", 4);
	static const uint16_t first[] = {0xD800, 0xDC00}; /* U+10000 */
	check_wtf8(first, 2, "\xF0\x90\x80\x80", 4);
	static const uint16_t last[] = {0xDBFF, 0xDFFF}; /* U+10FFFF */
	check_wtf8(last, 2, "\xF4\x8F\xBF\xBF", 4);
}

static void test_utf16_lone_surrogates(void **state)
{
	(void)state;
	static const uint16_t hi_end[] = {0xD800};
	check_wtf8(hi_end, 1, "\xED\xA0\x80", 3);
	static const uint16_t hi_then_a[] = {0xD800, 'A'};
	check_wtf8(hi_then_a, 2, "\xED\xA0\x80"
				 "A",
		   4);
	static const uint16_t lo_end[] = {'a', 0xDC00};
	check_wtf8(lo_end, 2, "a\xED\xB0\x80", 4);
	/* Reversed pair: two lone surrogates, not one code point. */
	static const uint16_t reversed[] = {0xDE00, 0xD83D};
	check_wtf8(reversed, 2, "\xED\xB8\x80\xED\xA0\xBD", 6);
	/* Two highs then a low: the second high pairs with the low. */
	static const uint16_t hh_l[] = {0xD83D, 0xD83D, 0xDE00};
	check_wtf8(hh_l, 3, "\xED\xA0\xBD\xF0\x9F\x98\x80", 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protect_really_hides_data),
		cmocka_unit_test(test_attr_iteration),
		cmocka_unit_test(test_resident_value_across_stride),
		cmocka_unit_test(test_record_parse),
		cmocka_unit_test(test_record_parse_skips_later_piece),
		cmocka_unit_test(test_err_attr_length_zero),
		cmocka_unit_test(test_err_attr_length_too_small),
		cmocka_unit_test(test_err_attr_length_past_bytes_in_use),
		cmocka_unit_test(test_err_name_past_attribute),
		cmocka_unit_test(test_err_resident_value_past_attribute),
		cmocka_unit_test(test_err_runlist_offset_outside),
		cmocka_unit_test(test_err_file_name_past_value),
		cmocka_unit_test(test_err_file_name_empty),
		cmocka_unit_test(test_err_bytes_in_use_too_large),
		cmocka_unit_test(test_err_first_attr_offset),
		cmocka_unit_test(test_err_no_end_marker),
		cmocka_unit_test(test_baad_intact_is_parsed),
		cmocka_unit_test(test_baad_torn),
		cmocka_unit_test(test_err_empty),
		cmocka_unit_test(test_err_bad_magic),
		cmocka_unit_test(test_err_torn),
		cmocka_unit_test(test_al_two_entries),
		cmocka_unit_test(test_al_ends_with_value),
		cmocka_unit_test(test_al_zero_length_terminates),
		cmocka_unit_test(test_al_entry_longer_than_buffer),
		cmocka_unit_test(test_al_name_past_entry),
		cmocka_unit_test(test_utf16_ascii),
		cmocka_unit_test(test_utf16_two_and_three_bytes),
		cmocka_unit_test(test_utf16_surrogate_pair),
		cmocka_unit_test(test_utf16_non_ascii_at_every_position),
		cmocka_unit_test(test_utf16_printable_at_every_position),
		cmocka_unit_test(test_utf16_lone_surrogates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
