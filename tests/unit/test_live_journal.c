/* A live volume's change journal through the OS's two calls
 * (scan/live_journal.c), served here from records built to the documented
 * USN_RECORD_V2 layout in the documented FSCTL_READ_USN_JOURNAL answer
 * (the next USN, then whole records): every record once and in order
 * however the answers are cut, from a USN on, damage and USNs that go
 * backwards reported and passed, answers the OS gets wrong bounded, a
 * follower's single waiting read, and the query's journal facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "put_le.h"

#include "../../scan/live_journal.h"

/* Version 2, file frs 0x100 + i, at USN usn; returns its length. */
static uint32_t make_v2(uint8_t *p, uint64_t usn, unsigned i)
{
	char name[16];
	int nl = snprintf(name, sizeof name, "f%u.txt", i);
	uint32_t len = (60 + 2 * (uint32_t)nl + 7) & ~7u;
	memset(p, 0, len);
	put32(p, len);
	put16(p + 4, 2);
	put64(p + 8, 0x0001000000000100ull + i);
	put64(p + 16, 0x0005000000000005ull);
	put64(p + 24, usn);
	put64(p + 32, 132000000000000000ull);
	put32(p + 40, 0x100);
	put32(p + 52, 0x20);
	put16(p + 56, (uint16_t)(2 * nl));
	put16(p + 58, 60);
	for (int k = 0; k < nl; k++)
		put16(p + 60 + 2 * k, (uint8_t)name[k]);
	return len;
}

/* The journal: records at USNs that are their offsets, as NTFS has them. */
#define N_RECS 50
#define JOURNAL_ID 0x01D9A1B2C3D4E5F6ull
struct fake {
	uint8_t j[8192];
	size_t len;
	int64_t usn[N_RECS + 1];
	unsigned per_answer; /* records an answer holds */
	int fail;            /* an OS error to give, or 0 */
	size_t lie_got;      /* a got larger than the buffer, when set */
	unsigned reads, waits;
};

static void build(struct fake *f)
{
	memset(f, 0, sizeof *f);
	for (unsigned i = 0; i < N_RECS; i++) {
		f->usn[i] = (int64_t)f->len;
		f->len += make_v2(f->j + f->len, f->len, i);
	}
	f->usn[N_RECS] = (int64_t)f->len;
	f->per_answer = 3;
}

static int fake_query(void *ctx, uint8_t *q, size_t cap, size_t *len)
{
	struct fake *f = ctx;
	if (f->fail)
		return f->fail;
	assert_true(cap >= 64);
	memset(q, 0, 64);
	put64(q, JOURNAL_ID);
	put64(q + 8, 0);
	put64(q + 16, f->len);
	put64(q + 24, 0);
	*len = 64;
	return 0;
}

static int fake_read(void *ctx, uint64_t id, int64_t start, bool wait,
		     uint32_t timeout_ms, uint8_t *out, size_t cap, size_t *got)
{
	struct fake *f = ctx;
	(void)timeout_ms;
	f->reads++;
	f->waits += wait;
	if (f->fail)
		return f->fail;
	assert_int_equal(id, JOURNAL_ID);
	unsigned i = 0;
	while (i < N_RECS && f->usn[i] < start)
		i++;
	size_t n = 8;
	unsigned k = 0;
	for (; i + k < N_RECS && k < f->per_answer; k++) {
		size_t l = (size_t)(f->usn[i + k + 1] - f->usn[i + k]);
		assert_true(n + l <= cap);
		memcpy(out + n, f->j + f->usn[i + k], l);
		n += l;
	}
	put64(out, (uint64_t)f->usn[i + k]);
	*got = f->lie_got ? f->lie_got : n;
	return 0;
}

struct seen {
	int64_t usn[2 * N_RECS];
	unsigned n, bad;
	uint64_t bad_offset;
};

static void on_record(void *ctx, const struct usn_record *r)
{
	struct seen *s = ctx;
	assert_true(s->n < 2 * N_RECS);
	s->usn[s->n++] = r->usn;
}

static void on_bad(void *ctx, const struct mft_error *e)
{
	struct seen *s = ctx;
	s->bad++;
	s->bad_offset = e->offset;
}

static struct uffs_live_journal_ops ops_of(struct fake *f)
{
	return (struct uffs_live_journal_ops){fake_query, fake_read, f};
}

/* Reads the journal from *start to its end, without waiting. */
static int read_all(const struct uffs_live_journal_ops *ops, int64_t *start,
		    struct seen *s, uint64_t *n)
{
	return uffs_live_journal_read(ops, JOURNAL_ID, start, false, 0,
				      on_record, on_bad, s, n);
}

static void query_gives_the_journal(void **state)
{
	(void)state;
	static struct fake f;
	build(&f);
	struct uffs_live_journal_ops ops = ops_of(&f);
	struct uffs_live_journal_info info;
	assert_int_equal(uffs_live_journal_query(&ops, &info), 0);
	assert_int_equal(info.id, JOURNAL_ID);
	assert_int_equal(info.next_usn, (int64_t)f.len);
	f.fail = 1179; /* ERROR_JOURNAL_NOT_ACTIVE */
	assert_int_equal(uffs_live_journal_query(&ops, &info), 1179);
}

static void every_record_once_in_order(void **state)
{
	(void)state;
	static struct fake f;
	build(&f);
	struct uffs_live_journal_ops ops = ops_of(&f);
	for (unsigned per = 1; per <= 7; per += 3) {
		f.per_answer = per;
		struct seen s = {0};
		int64_t start = 0;
		uint64_t n = 0;
		assert_int_equal(read_all(&ops, &start, &s, &n), 0);
		assert_int_equal(n, N_RECS);
		assert_int_equal(s.n, N_RECS);
		assert_int_equal(s.bad, 0);
		for (unsigned i = 0; i < N_RECS; i++)
			assert_int_equal(s.usn[i], f.usn[i]);
		assert_int_equal(start, f.usn[N_RECS]);
	}
	/* from a USN on */
	struct seen s = {0};
	int64_t start = f.usn[30];
	uint64_t n = 0;
	assert_int_equal(read_all(&ops, &start, &s, &n), 0);
	assert_int_equal(s.n, N_RECS - 30);
	assert_int_equal(s.usn[0], f.usn[30]);
}

static void damage_is_reported_and_passed(void **state)
{
	(void)state;
	static struct fake f;
	build(&f);
	f.per_answer = 5;
	put32(f.j + f.usn[12], 3); /* a length that cannot be */
	struct uffs_live_journal_ops ops = ops_of(&f);
	struct seen s = {0};
	int64_t start = 0;
	uint64_t n = 0;
	assert_int_equal(read_all(&ops, &start, &s, &n), 0);
	assert_int_equal(s.bad, 1);
	assert_int_equal(s.n, N_RECS - 1);
	for (unsigned i = 0, k = 0; i < N_RECS; i++)
		if (i != 12)
			assert_int_equal(s.usn[k++], f.usn[i]);

	/* a USN that goes backwards */
	build(&f);
	put64(f.j + f.usn[20] + 24, 8);
	s = (struct seen){0};
	start = 0;
	assert_int_equal(read_all(&ops, &start, &s, &n), 0);
	assert_true(s.bad >= 1);
	for (unsigned i = 1; i < s.n; i++)
		assert_true(s.usn[i] > s.usn[i - 1]);
	assert_int_equal(s.usn[s.n - 1], f.usn[N_RECS - 1]);
}

static void bad_answers_are_bounded(void **state)
{
	(void)state;
	static struct fake f;
	build(&f);
	f.lie_got = 1u << 30; /* more than any buffer */
	struct uffs_live_journal_ops ops = ops_of(&f);
	struct seen s = {0};
	int64_t start = 0;
	uint64_t n = 0;
	assert_int_equal(read_all(&ops, &start, &s, &n), 0);
	assert_int_equal(s.n, 0);
	f.lie_got = 0;
	f.fail = 5; /* ERROR_ACCESS_DENIED */
	assert_int_equal(read_all(&ops, &start, &s, &n),
			 5);
}

static void a_follower_reads_once(void **state)
{
	(void)state;
	static struct fake f;
	build(&f);
	struct uffs_live_journal_ops ops = ops_of(&f);
	struct seen s = {0};
	int64_t start = 0;
	uint64_t n = 0;
	assert_int_equal(uffs_live_journal_read(&ops, JOURNAL_ID, &start,
					       true, 1000, on_record, on_bad, &s, &n),
			 0);
	assert_int_equal(f.reads, 1);
	assert_int_equal(f.waits, 1);
	assert_int_equal(s.n, f.per_answer);
	assert_int_equal(start, f.usn[f.per_answer]);
}

static void no_live_journal_on_an_image(void **state)
{
	(void)state;
	struct uffs_file file = {0};
	struct uffs_live_journal_ops ops;
	uffs_live_journal_os(&ops, &file);
	struct uffs_live_journal_info info;
	assert_int_equal(uffs_live_journal_query(&ops, &info), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(query_gives_the_journal),
		cmocka_unit_test(every_record_once_in_order),
		cmocka_unit_test(damage_is_reported_and_passed),
		cmocka_unit_test(bad_answers_are_bounded),
		cmocka_unit_test(a_follower_reads_once),
		cmocka_unit_test(no_live_journal_on_an_image),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
