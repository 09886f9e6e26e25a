/* uffs_mem_large, the allocator scans hand the index: zeroed memory,
 * contents kept across growth and shrinking, whatever the sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../source/proc.h"

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 31);
}

static bool holds(const uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(seed + i * 31))
			return false;
	return true;
}

static bool zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_new_is_zeroed(void **state)
{
	(void)state;
	const struct mft_mem_ops *m = &uffs_mem_large;
	const size_t sizes[] = {1, 100, 4096, 5000, 1u << 20, (2u << 20) + 1,
				9u << 20};
	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		uint8_t *p = m->resize(NULL, 0, sizes[k]);
		assert_non_null(p);
		assert_true(zero(p, sizes[k]));
		fill(p, sizes[k], 7);
		m->release(p, sizes[k]);
	}
}

/* Growing by doubling from a few bytes to 64 MiB and back down: every
 * step keeps what was written, across the 2 MiB huge-page size. */
static void test_grow_and_shrink_keep_contents(void **state)
{
	(void)state;
	const struct mft_mem_ops *m = &uffs_mem_large;
	size_t n = 24;
	uint8_t *p = m->resize(NULL, 0, n);
	assert_non_null(p);
	fill(p, n, 3);
	while (n < (64u << 20)) {
		size_t next = n * 2 + 13;
		p = m->resize(p, n, next);
		assert_non_null(p);
		assert_true(holds(p, n, 3));
		fill(p, next, 3);
		n = next;
	}
	while (n > 100) {
		size_t next = n / 3;
		p = m->resize(p, n, next);
		assert_non_null(p);
		assert_true(holds(p, next, 3));
		n = next;
	}
	m->release(p, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_is_zeroed),
		cmocka_unit_test(test_grow_and_shrink_keep_contents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
