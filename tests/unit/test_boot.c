/* mft_boot_parse: NTFS boot sector validation.
 *
 * Sectors built by hand (ntfs_format.h, boot sector):
 *   0x03 8 OEM "NTFS    "       0x0B 2 bytes per sector
 *   0x0D 1 sectors per cluster (> 0x80: 2^(256-n))
 *   0x28 8 total sectors        0x30 8 $MFT LCN      0x38 8 $MFTMirr LCN
 *   0x40 1 clusters per MFT record, signed (< 0: 2^-n bytes)
 *   0x44 1 clusters per index record, same encoding
 *   0x48 8 serial               0x1FE 2 0xAA55 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mft.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

struct geom {
	uint16_t bps;
	uint8_t spc;
	uint64_t total;
	uint64_t mft;
	uint64_t mirr;
	uint8_t cpr; /* clusters per record, raw */
	uint8_t cpi; /* clusters per index record, raw */
};

/* A usual volume: 8 GiB, 512-byte sectors, 4 KiB clusters, 1 KiB records. */
static const struct geom usual = {
	.bps = 512,
	.spc = 8,
	.total = 0x1000000,
	.mft = 0xC0000,
	.mirr = 2,
	.cpr = 0xF6, /* -10: 2^10 = 1024 bytes */
	.cpi = 0x01, /* one cluster */
};

static void make_boot(uint8_t *s, size_t len, const struct geom *g)
{
	memset(s, 0, len);
	s[0] = 0xEB;
	s[1] = 0x52;
	s[2] = 0x90;
	memcpy(s + 0x03, "NTFS    ", 8);
	put16(s + 0x0B, g->bps);
	s[0x0D] = g->spc;
	s[0x15] = 0xF8; /* media: fixed disk */
	put16(s + 0x18, 63);
	put16(s + 0x1A, 255);
	s[0x24] = 0x80;
	s[0x26] = 0x80;
	put64(s + 0x28, g->total);
	put64(s + 0x30, g->mft);
	put64(s + 0x38, g->mirr);
	s[0x40] = g->cpr;
	s[0x44] = g->cpi;
	put64(s + 0x48, 0x1122334455667788ull);
	s[0x1FE] = 0x55;
	s[0x1FF] = 0xAA;
}

static void expect_error(const struct geom *g, int code, uint64_t offset)
{
	uint8_t s[512];
	make_boot(s, sizeof s, g);
	struct mft_boot b;
	struct mft_error err = {0};
	assert_int_equal(mft_boot_parse(s, sizeof s, &b, &err), code);
	assert_int_equal(err.code, code);
	assert_int_equal(err.offset, offset);
	assert_int_equal(err.frs, MFT_NO_FRS);
	assert_non_null(err.what);
}

static void parse_ok(const struct geom *g, struct mft_boot *b)
{
	uint8_t s[512];
	make_boot(s, sizeof s, g);
	struct mft_error err = {0};
	int rc = mft_boot_parse(s, sizeof s, b, &err);
	if (rc != MFT_OK)
		fail_msg("rc %d (%s) at offset %#llx", rc,
			 err.what ? err.what : "?",
			 (unsigned long long)err.offset);
}

static void test_valid_512(void **state)
{
	(void)state;
	struct mft_boot b;
	memset(&b, 0, sizeof b);
	parse_ok(&usual, &b);
	assert_int_equal(b.bytes_per_sector, 512);
	assert_int_equal(b.cluster_size, 4096);
	assert_int_equal(b.record_size, 1024);
	assert_int_equal(b.index_record_size, 4096);
	assert_int_equal(b.total_sectors, 0x1000000);
	assert_int_equal(b.volume_size, 0x1000000ull * 512);
	assert_int_equal(b.mft_lcn, 0xC0000);
	assert_int_equal(b.mftmirr_lcn, 2);
	assert_int_equal(b.serial, 0x1122334455667788ull);

	uint8_t s[512];
	make_boot(s, sizeof s, &usual);
	assert_true(mft_boot_looks_ntfs(s, sizeof s));
}

/* A whole 4096-byte sector is fine too (only the first 512 are read). */
static void test_valid_long_buffer(void **state)
{
	(void)state;
	static uint8_t s[4096];
	struct geom g = usual;
	g.bps = 4096;
	g.spc = 1;
	g.total = 0x200000;
	g.mft = 0x40000;
	g.cpr = 0xF4; /* -12: 4096 bytes */
	make_boot(s, sizeof s, &g);
	struct mft_boot b;
	struct mft_error err = {0};
	assert_int_equal(mft_boot_parse(s, sizeof s, &b, &err), MFT_OK);
	assert_int_equal(b.bytes_per_sector, 4096);
	assert_int_equal(b.cluster_size, 4096);
	assert_int_equal(b.record_size, 4096);
	assert_int_equal(b.volume_size, 0x200000ull * 4096);
}

static void test_cluster_2mib_accepted(void **state)
{
	(void)state;
	struct geom g = usual;
	g.spc = 0xF4; /* 2^(256-244) = 4096 sectors * 512 = 2 MiB */
	g.mft = 4;    /* 8 GiB / 2 MiB = 4096 clusters */
	struct mft_boot b;
	parse_ok(&g, &b);
	assert_int_equal(b.cluster_size, 2u * 1024 * 1024);
	/* The record size does not scale with the cluster when negative. */
	assert_int_equal(b.record_size, 1024);
	assert_int_equal(b.index_record_size, 2u * 1024 * 1024);

	/* The same 2 MiB from 4096-byte sectors: 2^9 sectors. */
	g.bps = 4096;
	g.spc = 0xF7;
	g.total = 0x200000;
	parse_ok(&g, &b);
	assert_int_equal(b.cluster_size, 2u * 1024 * 1024);

	/* 0x80 is a plain count: 128 sectors. */
	g.bps = 512;
	g.spc = 0x80;
	g.total = 0x1000000;
	parse_ok(&g, &b);
	assert_int_equal(b.cluster_size, 65536);
}

static void test_cluster_over_2mib_rejected(void **state)
{
	(void)state;
	struct geom g = usual;
	g.spc = 0xF3; /* 8192 sectors = 4 MiB */
	g.mft = 4;
	expect_error(&g, MFT_E_CORRUPT, 0x0D);
	g.bps = 4096;
	g.spc = 0xF6; /* 1024 * 4096 = 4 MiB */
	g.total = 0x200000;
	expect_error(&g, MFT_E_CORRUPT, 0x0D);
}

static void test_sectors_per_cluster_bad(void **state)
{
	(void)state;
	struct geom g = usual;
	g.spc = 0;
	expect_error(&g, MFT_E_CORRUPT, 0x0D);
	g.spc = 3;
	expect_error(&g, MFT_E_CORRUPT, 0x0D);
	g.spc = 0x81; /* 2^127 sectors */
	expect_error(&g, MFT_E_CORRUPT, 0x0D);
}

static void test_record_sizes(void **state)
{
	(void)state;
	struct mft_boot b;
	struct geom g = usual;
	g.cpr = 0xF4; /* -12: 4096 */
	parse_ok(&g, &b);
	assert_int_equal(b.record_size, 4096);

	g.cpr = 0x01; /* one 4 KiB cluster */
	parse_ok(&g, &b);
	assert_int_equal(b.record_size, 4096);

	g.cpr = 0xF5; /* -11: 2048 */
	parse_ok(&g, &b);
	assert_int_equal(b.record_size, 2048);

	g.cpr = 0xF7; /* -9: 512 */
	parse_ok(&g, &b);
	assert_int_equal(b.record_size, 512);

	/* Two 512-byte clusters. */
	g.spc = 1;
	g.cpr = 0x02;
	g.mft = 0x10000;
	parse_ok(&g, &b);
	assert_int_equal(b.cluster_size, 512);
	assert_int_equal(b.record_size, 1024);
}

static void test_record_size_unsupported(void **state)
{
	(void)state;
	struct geom g = usual;
	g.cpr = 0xF3; /* 8192 */
	expect_error(&g, MFT_E_UNSUPPORTED, 0x40);
	g.cpr = 0xF8; /* 256 */
	expect_error(&g, MFT_E_UNSUPPORTED, 0x40);
	g.cpr = 0x00; /* zero clusters */
	expect_error(&g, MFT_E_UNSUPPORTED, 0x40);
	g.cpr = 0x80; /* -128 */
	expect_error(&g, MFT_E_UNSUPPORTED, 0x40);
	g.cpr = 0x03; /* 3 clusters: 12 KiB */
	expect_error(&g, MFT_E_UNSUPPORTED, 0x40);
	/* One 64 KiB cluster. */
	g.spc = 0x80;
	g.mft = 4;
	g.cpr = 0x01;
	expect_error(&g, MFT_E_UNSUPPORTED, 0x40);
}

static void test_bps_4096(void **state)
{
	(void)state;
	struct geom g = usual;
	g.bps = 4096;
	g.spc = 1;
	g.total = 0x200000; /* 8 GiB */
	g.mft = 0x40000;
	g.cpr = 0xF4;
	struct mft_boot b;
	parse_ok(&g, &b);
	assert_int_equal(b.bytes_per_sector, 4096);
	assert_int_equal(b.cluster_size, 4096);
	assert_int_equal(b.record_size, 4096);
	assert_int_equal(b.total_sectors, 0x200000);
	assert_int_equal(b.volume_size, 0x200000ull * 4096);
	assert_int_equal(b.mft_lcn, 0x40000);
}

static void test_bad_oem(void **state)
{
	(void)state;
	uint8_t s[512];
	make_boot(s, sizeof s, &usual);
	memcpy(s + 0x03, "MSDOS5.0", 8);
	struct mft_boot b;
	struct mft_error err = {0};
	assert_int_equal(mft_boot_parse(s, sizeof s, &b, &err),
			 MFT_E_NOT_NTFS);
	assert_int_equal(err.offset, 0x03);
	assert_false(mft_boot_looks_ntfs(s, sizeof s));

	/* "NTFS" must be space padded. */
	make_boot(s, sizeof s, &usual);
	memcpy(s + 0x03, "NTFS\0\0\0\0", 8);
	assert_int_equal(mft_boot_parse(s, sizeof s, &b, &err),
			 MFT_E_NOT_NTFS);

	/* An all-zero sector. */
	memset(s, 0, sizeof s);
	assert_int_equal(mft_boot_parse(s, sizeof s, &b, &err),
			 MFT_E_NOT_NTFS);
}

static void test_bytes_per_sector_bad(void **state)
{
	(void)state;
	static const uint16_t bad[] = {0, 3000, 1, 128, 513, 1000, 8192, 0xFFFF};
	struct geom g = usual;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		g.bps = bad[i];
		expect_error(&g, MFT_E_CORRUPT, 0x0B);
	}
}

static void test_total_sectors_zero(void **state)
{
	(void)state;
	struct geom g = usual;
	g.total = 0;
	expect_error(&g, MFT_E_CORRUPT, 0x28);
	/* So large that bytes overflow 64 bits. */
	g.total = UINT64_MAX / 256;
	expect_error(&g, MFT_E_CORRUPT, 0x28);
}

static void test_mft_lcn_beyond_volume(void **state)
{
	(void)state;
	struct geom g = usual; /* 0x1000000 * 512 / 4096 = 0x200000 clusters */
	struct mft_boot b;
	g.mft = 0x1FFFFF; /* the last cluster */
	parse_ok(&g, &b);
	assert_int_equal(b.mft_lcn, 0x1FFFFF);
	g.mft = 0x200000;
	expect_error(&g, MFT_E_CORRUPT, 0x30);
	g.mft = 0x8000000000000000ull;
	expect_error(&g, MFT_E_CORRUPT, 0x30);
	g.mft = UINT64_MAX;
	expect_error(&g, MFT_E_CORRUPT, 0x30);
	/* Cluster 0 holds the boot sector itself. */
	g.mft = 0;
	expect_error(&g, MFT_E_CORRUPT, 0x30);
}

static void test_short_buffer(void **state)
{
	(void)state;
	uint8_t s[512];
	make_boot(s, sizeof s, &usual);
	struct mft_boot b;
	struct mft_error err = {0};
	assert_int_equal(mft_boot_parse(s, 511, &b, &err), MFT_E_TRUNCATED);
	assert_int_equal(err.code, MFT_E_TRUNCATED);
	assert_int_equal(mft_boot_parse(s, 0, &b, &err), MFT_E_TRUNCATED);
	assert_false(mft_boot_looks_ntfs(s, 511));
	assert_int_equal(mft_boot_parse(s, 512, &b, &err), MFT_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_512),
		cmocka_unit_test(test_valid_long_buffer),
		cmocka_unit_test(test_cluster_2mib_accepted),
		cmocka_unit_test(test_cluster_over_2mib_rejected),
		cmocka_unit_test(test_sectors_per_cluster_bad),
		cmocka_unit_test(test_record_sizes),
		cmocka_unit_test(test_record_size_unsupported),
		cmocka_unit_test(test_bps_4096),
		cmocka_unit_test(test_bad_oem),
		cmocka_unit_test(test_bytes_per_sector_bad),
		cmocka_unit_test(test_total_sectors_zero),
		cmocka_unit_test(test_mft_lcn_beyond_volume),
		cmocka_unit_test(test_short_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
