/* The range and attribute filters of uffs search (cli/filter.c). Expected
 * FILETIMEs are (Unix seconds + 11644473600) * 10^7, the Unix seconds of
 * each date worked out with Python's calendar.timegm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../cli/filter.h"

#define FT_2024_01_01 133485408000000000ull
#define FT_2024_02_29 133536384000000000ull
#define FT_1970_01_01 116444736000000000ull
#define FT_2024_05_01_123015 133590402150000000ull
#define FT_DAY 864000000000ull
#define NOW_2024_01_01_NOON (1704067200 + 43200)

static void sizes(void **state)
{
	(void)state;
	struct uffs_range r;
	assert_int_equal(filter_parse_size("100", &r), 0);
	assert_true(r.on && r.lo == 100 && r.hi == 100);
	assert_int_equal(filter_parse_size(">1G", &r), 0);
	assert_true(r.lo == (1ull << 30) + 1 && r.hi == UINT64_MAX);
	assert_int_equal(filter_parse_size("<4K", &r), 0);
	assert_true(r.lo == 0 && r.hi == 4095);
	assert_int_equal(filter_parse_size("10M..1G", &r), 0);
	assert_true(r.lo == 10ull << 20 && r.hi == 1ull << 30);
	assert_int_equal(filter_parse_size("1.5K..", &r), 0);
	assert_true(r.lo == 1536 && r.hi == UINT64_MAX);
	assert_int_equal(filter_parse_size("..2KiB", &r), 0);
	assert_true(r.lo == 0 && r.hi == 2048);
	assert_int_equal(filter_parse_size(">=1t", &r), 0);
	assert_true(r.lo == 1ull << 40);
	assert_int_equal(filter_parse_size("5B", &r), 0);
	assert_true(r.lo == 5 && r.hi == 5);
	assert_int_equal(filter_parse_size("1X", &r), -1);
	assert_int_equal(filter_parse_size("5 ", &r), -1);
	assert_int_equal(filter_parse_size("5@", &r), -1);
	assert_int_equal(filter_parse_size("-1", &r), -1);
	assert_int_equal(filter_parse_size("..", &r), -1);
	assert_int_equal(filter_parse_size("2G..1G", &r), -1);
	assert_int_equal(filter_parse_size("<0", &r), -1);
	assert_int_equal(filter_parse_size("99999999999P", &r), -1);
	assert_true(uffs_range_in(&(struct uffs_range){0}, 12345));
}

static void times(void **state)
{
	(void)state;
	struct uffs_range r;
	int64_t now = NOW_2024_01_01_NOON;
	assert_int_equal(filter_parse_time("2024-01-01", now, &r), 0);
	assert_true(r.lo == FT_2024_01_01 && r.hi == FT_2024_01_01 + FT_DAY - 1);
	assert_int_equal(filter_parse_time("2024-02-29..2024-02-29", now, &r), 0);
	assert_true(r.lo == FT_2024_02_29 && r.hi == FT_2024_02_29 + FT_DAY - 1);
	assert_int_equal(filter_parse_time(">1970-01-01", now, &r), 0);
	assert_true(r.lo == FT_1970_01_01 + FT_DAY && r.hi == UINT64_MAX);
	assert_int_equal(filter_parse_time("<2024-01-01", now, &r), 0);
	assert_true(r.lo == 0 && r.hi == FT_2024_01_01 - 1);
	assert_int_equal(filter_parse_time("2024-05-01T12:30:15", now, &r), 0);
	assert_true(r.lo == FT_2024_05_01_123015 &&
		    r.hi == FT_2024_05_01_123015 + 10000000 - 1);
	assert_int_equal(filter_parse_time("2024-05-01T12:30:15Z", now, &r), 0);
	assert_true(r.lo == FT_2024_05_01_123015);
	assert_int_equal(filter_parse_time("2024-05-01 12:30", now, &r), 0);
	assert_true(r.lo == FT_2024_05_01_123015 - 150000000ull &&
		    r.hi == r.lo + 600000000ull - 1);
	assert_int_equal(filter_parse_time("today", now, &r), 0);
	assert_true(r.lo == FT_2024_01_01 && r.hi == FT_2024_01_01 + FT_DAY - 1);
	assert_int_equal(filter_parse_time("yesterday", now, &r), 0);
	assert_true(r.lo == FT_2024_01_01 - FT_DAY && r.hi == FT_2024_01_01 - 1);
	/* "7d": from 7 days before now on; "<7d": before that moment. */
	uint64_t week_ago = FT_2024_01_01 + FT_DAY / 2 - 7 * FT_DAY;
	assert_int_equal(filter_parse_time("7d", now, &r), 0);
	assert_true(r.lo == week_ago && r.hi == UINT64_MAX);
	assert_int_equal(filter_parse_time("<7d", now, &r), 0);
	assert_true(r.lo == 0 && r.hi == week_ago - 1);
	assert_int_equal(filter_parse_time("12h", now, &r), 0);
	assert_true(r.lo == FT_2024_01_01);
	assert_int_equal(filter_parse_time("2024-13-01", now, &r), -1);
	assert_int_equal(filter_parse_time("2024-01-01T25:00", now, &r), -1);
	assert_int_equal(filter_parse_time("1500-01-01", now, &r), -1);
	assert_int_equal(filter_parse_time("7x", now, &r), -1);
	assert_int_equal(filter_parse_time("", now, &r), -1);
}

static void attributes(void **state)
{
	(void)state;
	uint32_t set, clear;
	assert_int_equal(filter_parse_attrs("hidden,system", &set, &clear), 0);
	assert_true(set == 0x6 && clear == 0);
	assert_int_equal(filter_parse_attrs("!hidden,-compressed,sparse", &set,
					    &clear), 0);
	assert_true(set == 0x200 && clear == 0x802);
	assert_int_equal(filter_parse_attrs("hidden,bogus", &set, &clear), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(times),
		cmocka_unit_test(attributes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
