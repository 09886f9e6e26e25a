/* Rows formatted on several threads (cli/rows_par.c): whatever the thread
 * count and the number of items, the bytes written are exactly those of one
 * thread formatting every item in order; and the in-memory output that
 * carries each block grows without losing a byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../cli/rows.h"

/* Item i's text: its number, then a run whose length varies from nothing
 * to longer than the out buffer, so blocks range from empty to large. */
static void put_item(struct out *o, uint64_t i)
{
	/* Nothing at all for every fifth item, and for a whole run of items
	 * (whole blocks with no text). */
	if (i % 5 == 0 || (i >= 1000 && i < 3000))
		return;
	out_u64(o, i);
	size_t run = (i % 4001 == 3) ? 70000 : (size_t)(i % 13);
	for (size_t k = 0; k < run; k++)
		out_char(o, (char)('a' + (i + k) % 26));
	out_char(o, '\n');
}

struct fill_ctx {
	const struct rows *owner;
	int calls_on_copies;
};

static void fill(struct rows *w, uint64_t first, uint64_t end, void *ctx)
{
	struct fill_ctx *fc = ctx;
	if (w != fc->owner)
		__atomic_add_fetch(&fc->calls_on_copies, 1, __ATOMIC_RELAXED);
	for (uint64_t i = first; i < end; i++)
		put_item(&w->o, i);
}

static char *read_all(FILE *f, size_t *len)
{
	fflush(f);
	long n = ftell(f);
	assert_true(n >= 0);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	rewind(f);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	*len = (size_t)n;
	return buf;
}

static char *expected(uint64_t n, size_t *len)
{
	struct out o;
	out_init_memory(&o);
	for (uint64_t i = 0; i < n; i++)
		put_item(&o, i);
	assert_false(o.failed);
	*len = o.len;
	return o.buf;
}

static void run_case(uint64_t n, unsigned threads)
{
	struct rows p = {.fmt = FMT_TEXT, .end = '\n', .path_frs = UINT64_MAX};
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(out_init(&p.o, f), 0);
	assert_int_equal(uffs_path_cache_init(&p.cache, '/'), 0);
	struct fill_ctx fc = {.owner = &p};
	rows_parallel(&p, n, threads, fill, &fc);
	assert_int_equal(out_finish(&p.o), 0);
	uffs_path_cache_free(&p.cache);

	size_t got_len, want_len;
	char *got = read_all(f, &got_len);
	char *want = expected(n, &want_len);
	assert_int_equal(got_len, want_len);
	if (want_len)
		assert_memory_equal(got, want, want_len);
	/* More than one block on more than one thread: the work really ran
	 * on the workers' copies. */
	if (threads > 1 && n > 64)
		assert_true(fc.calls_on_copies > 1);
	if (threads <= 1)
		assert_int_equal(fc.calls_on_copies, 0);
	free(got);
	free(want);
	fclose(f);
}

static void same_bytes_on_any_thread_count(void **state)
{
	(void)state;
	static const uint64_t counts[] = {0, 1, 63, 64, 65, 1000, 4097, 200000};
	static const unsigned threads[] = {1, 2, 3, 8};
	for (size_t c = 0; c < sizeof counts / sizeof *counts; c++)
		for (size_t t = 0; t < sizeof threads / sizeof *threads; t++)
			run_case(counts[c], threads[t]);
}

static void memory_out_grows_and_resets(void **state)
{
	(void)state;
	struct out o;
	out_init_memory(&o);
	for (int i = 0; i < 300000; i++)
		out_char(&o, (char)('0' + i % 10));
	char big[100000];
	memset(big, 'x', sizeof big);
	out_bytes(&o, big, sizeof big);
	assert_false(o.failed);
	assert_int_equal(o.len, 300000 + sizeof big);
	for (int i = 0; i < 300000; i++)
		assert_int_equal(o.buf[i], '0' + i % 10);
	assert_memory_equal(o.buf + 300000, big, sizeof big);
	size_t cap = o.cap;
	out_reset(&o);
	out_bytes(&o, "abc", 3);
	assert_int_equal(o.len, 3);
	assert_int_equal(o.cap, cap);
	assert_memory_equal(o.buf, "abc", 3);
	free(o.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_bytes_on_any_thread_count),
		cmocka_unit_test(memory_out_grows_and_resets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
