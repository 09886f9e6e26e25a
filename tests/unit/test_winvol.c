/* The live-volume checks (scan/winvol.c) with recorded Windows structures:
 * NTFS_VOLUME_DATA_BUFFER and RETRIEVAL_POINTERS_BUFFER bytes laid out by
 * hand from winioctl.h, as FSCTL_GET_NTFS_VOLUME_DATA and
 * FSCTL_GET_RETRIEVAL_POINTERS return them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../scan/winvol.h"

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A 64 GiB volume, 4 KiB clusters, 1 KiB records, $MFT at cluster 786432. */
static void volume_data(uint8_t b[96])
{
	memset(b, 0, 96);
	put64(b + 0, 0x1234ABCD5678EF00ull); /* serial */
	put64(b + 8, 134217728);             /* sectors */
	put64(b + 16, 16777216);             /* total clusters */
	put32(b + 40, 512);
	put32(b + 44, 4096);
	put32(b + 48, 1024);
	put32(b + 52, 0);
	put64(b + 56, 262144 * 1024ull);     /* valid $MFT bytes */
	put64(b + 64, 786432);               /* $MFT LCN */
	put64(b + 72, 2);                    /* $MFTMirr LCN */
}

static void test_parse_volume_data(void **state)
{
	(void)state;
	uint8_t b[96];
	volume_data(b);
	struct uffs_os_volume wv;
	struct mft_error err;
	assert_int_equal(uffs_winvol_parse(b, sizeof b, &wv, &err), MFT_OK);
	assert_int_equal(wv.serial, 0x1234ABCD5678EF00ull);
	assert_int_equal(wv.total_clusters, 16777216);
	assert_int_equal(wv.bytes_per_sector, 512);
	assert_int_equal(wv.bytes_per_cluster, 4096);
	assert_int_equal(wv.bytes_per_record, 1024);
	assert_int_equal(wv.mft_valid_length, 262144 * 1024ull);
	assert_int_equal(wv.mft_lcn, 786432);
	assert_int_equal(wv.mftmirr_lcn, 2);
	assert_int_equal(uffs_winvol_parse(b, 95, &wv, &err), MFT_E_TRUNCATED);
	put32(b + 44, 0);
	assert_int_equal(uffs_winvol_parse(b, sizeof b, &wv, &err), MFT_E_CORRUPT);
	assert_int_equal(err.offset, 44);
}

/* Three runs: clusters 786432+64, then 1000000+32 (VCN 64..95), then
 * 1000032+16 (contiguous with the second: merged). */
static size_t retrieval(uint8_t *b)
{
	memset(b, 0, 64);
	put32(b + 0, 3);
	put64(b + 8, 0);
	put64(b + 16, 64);
	put64(b + 24, 786432);
	put64(b + 32, 96);
	put64(b + 40, 1000000);
	put64(b + 48, 112);
	put64(b + 56, 1000032);
	return 64;
}

static void test_parse_extents(void **state)
{
	(void)state;
	uint8_t b[64];
	size_t len = retrieval(b);
	struct uffs_extent e[4];
	size_t n;
	struct mft_error err;
	assert_int_equal(uffs_winvol_parse_extents(b, len, 4096, e, 4, &n, &err),
			 MFT_OK);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].mft_off, 0);
	assert_int_equal(e[0].vol_off, 786432ull * 4096);
	assert_int_equal(e[0].len, 64 * 4096);
	assert_int_equal(e[1].mft_off, 64 * 4096);
	assert_int_equal(e[1].vol_off, 1000000ull * 4096);
	assert_int_equal(e[1].len, 48 * 4096);
	/* A count that runs past the buffer, a VCN going backwards. */
	put32(b, 4);
	assert_int_equal(uffs_winvol_parse_extents(b, len, 4096, e, 4, &n, &err),
			 MFT_E_CORRUPT);
	retrieval(b);
	put64(b + 32, 10);
	assert_int_equal(uffs_winvol_parse_extents(b, len, 4096, e, 4, &n, &err),
			 MFT_E_CORRUPT);
	assert_int_equal(err.offset, 32);
}

static unsigned warnings;
static void count_warning(void *ctx, const struct mft_error *e)
{
	(void)ctx;
	(void)e;
	warnings++;
}

static void test_check(void **state)
{
	(void)state;
	struct uffs_extent mapped[2] = {
		{0, 786432ull * 4096, 64 * 4096},
		{64 * 4096, 1000000ull * 4096, 48 * 4096},
	};
	struct uffs_volume v = {0};
	v.has_boot = true;
	v.boot.cluster_size = 4096;
	v.boot.mft_lcn = 786432;
	v.boot.serial = 0x1234ABCD5678EF00ull;
	v.record_size = 1024;
	v.mft_size = 262144 * 1024ull;
	v.ext = mapped;
	v.n_ext = 2;
	uint8_t b[96], r[64];
	volume_data(b);
	struct uffs_os_volume wv;
	struct mft_error err;
	assert_int_equal(uffs_winvol_parse(b, sizeof b, &wv, &err), MFT_OK);
	struct uffs_extent e[4];
	size_t n;
	assert_int_equal(uffs_winvol_parse_extents(r, retrieval(r), 4096, e, 4, &n,
						   &err), MFT_OK);
	struct uffs_warn_sink sink = {count_warning, NULL};
	warnings = 0;
	assert_int_equal(uffs_volume_check_os(&v, &wv, e, n, &sink), 0);
	assert_int_equal(warnings, 0);
	/* Each disagreement is one warning. */
	wv.mft_lcn = 786433;
	wv.bytes_per_record = 4096;
	e[1].vol_off += 4096;
	assert_int_equal(uffs_volume_check_os(&v, &wv, e, n, &sink), 3);
	assert_int_equal(warnings, 3);
}

static void test_apply(void **state)
{
	(void)state;
	struct uffs_volume v = {0};
	v.has_boot = true;
	v.boot.cluster_size = 4096;
	v.boot.record_size = 1024;
	v.boot.mft_lcn = 4;
	v.boot.volume_size = 1ull << 36;
	v.record_size = 1024;
	uint8_t b[96];
	volume_data(b);
	struct uffs_os_volume wv;
	struct mft_error err;
	assert_int_equal(uffs_winvol_parse(b, sizeof b, &wv, &err), MFT_OK);
	struct uffs_warn_sink sink = {count_warning, NULL};
	warnings = 0;
	/* Windows puts the $MFT elsewhere: its value wins, with a warning. */
	assert_int_equal(uffs_volume_apply_os(&v, &wv, &sink), 1);
	assert_int_equal(v.boot.mft_lcn, 786432);
	assert_int_equal(warnings, 1);
	/* Agreement changes nothing. */
	assert_int_equal(uffs_volume_apply_os(&v, &wv, &sink), 0);
	/* Insane answers are ignored: a cluster size that is no power of
	 * two, a record size out of range, an $MFT beyond the volume. */
	wv.bytes_per_cluster = 3000;
	assert_int_equal(uffs_volume_apply_os(&v, &wv, &sink), 0);
	wv.bytes_per_cluster = 4096;
	wv.bytes_per_record = 8192;
	assert_int_equal(uffs_volume_apply_os(&v, &wv, &sink), 0);
	wv.bytes_per_record = 1024;
	wv.mft_lcn = 1ull << 40;
	assert_int_equal(uffs_volume_apply_os(&v, &wv, &sink), 0);
	assert_int_equal(v.boot.mft_lcn, 786432);
	assert_int_equal(v.record_size, 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_parse_volume_data),
		cmocka_unit_test(test_parse_extents),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
