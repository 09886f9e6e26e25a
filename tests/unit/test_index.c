/* The merger (uffs_index_add_record / finish) and path resolution
 * (uffs_tree_build / uffs_link_path), through the public API only.
 *
 * Records are struct mft_record_view values built by hand, as
 * mft_record_parse would fill them: names and stream names point at UTF-16LE
 * buffers owned by the test. A file reference is FRS | seq << 48. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "index.h"
#include "path.h"

#define REF(frs, seq) ((uint64_t)(frs) | (uint64_t)(seq) << 48)

/* Header flags (ntfs_format.h: 0x01 in use, 0x02 directory). */
#define IN_USE 0x01
#define DIR 0x02

/* $FILE_NAME namespaces. */
#define NS_POSIX 0
#define NS_WIN32 1
#define NS_DOS 2
#define NS_BOTH 3

#define N_RECORDS 256
#define ROOT 5
#define ROOT_SEQ 5

/* ---- building record views -------------------------------------------------- */

static struct {
	struct mft_record_view v;
	uint8_t names[8][510];
	uint8_t snames[8][510];
} rb;

static void rb_begin(uint64_t frs, uint16_t seq, uint16_t flags)
{
	memset(&rb.v, 0, sizeof rb.v);
	rb.v.frs = frs;
	rb.v.seq = seq;
	rb.v.flags = flags;
	rb.v.has_si = true;
	rb.v.si_attrs = 0x20;
	for (int i = 0; i < 4; i++)
		rb.v.si_times[i] = 0x01D7000000000000ull + frs * 4 + (uint64_t)i;
}

static void rb_base(uint64_t base_ref)
{
	rb.v.base_ref = base_ref;
}

static void to_utf16(uint8_t *out, const char *s, uint8_t *units)
{
	size_t n = strlen(s);
	assert_true(n <= 255);
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = (uint8_t)s[i];
		out[2 * i + 1] = 0;
	}
	*units = (uint8_t)n;
}

static void rb_name(const char *name, uint8_t ns, uint64_t parent_ref)
{
	unsigned k = rb.v.n_names++;
	assert_true(k < 8);
	struct mft_name_view *n = &rb.v.names[k];
	to_utf16(rb.names[k], name, &n->len);
	n->name = rb.names[k];
	n->ns = ns;
	n->attr_id = (uint16_t)(2 + k);
	n->value_len = (uint16_t)(0x42 + 2 * n->len);
	n->parent_ref = parent_ref;
	n->flags = (rb.v.flags & DIR) ? 0x10000000u : 0x20u;
}

static void rb_stream(const char *name, uint64_t size, uint16_t attr_flags)
{
	unsigned k = rb.v.n_streams++;
	assert_true(k < 8);
	struct mft_stream_view *s = &rb.v.streams[k];
	if (name) {
		to_utf16(rb.snames[k], name, &s->name_len);
		s->name = rb.snames[k];
	}
	s->kind = MFT_STREAM_DATA;
	s->attr_id = (uint16_t)(16 + k);
	s->flags = attr_flags;
	s->nonresident = size > 700;
	s->size = size;
	s->alloc = (size + 4095) & ~4095ull;
}

/* rb_add adds only records in [first, end) (batches of a range). */
static struct {
	uint64_t first, end;
} rb_only = {0, UINT64_MAX};

static void rb_add(struct uffs_index *idx)
{
	struct mft_error err = {0};
	if (rb.v.frs < rb_only.first || rb.v.frs >= rb_only.end)
		return;
	assert_int_equal(uffs_index_add_record(idx, &rb.v, &err), MFT_OK);
}

/* Common records. */
static void add_root(struct uffs_index *idx)
{
	rb_begin(ROOT, ROOT_SEQ, IN_USE | DIR);
	rb_name(".", NS_BOTH, REF(ROOT, ROOT_SEQ));
	rb_add(idx);
}

static void add_dir(struct uffs_index *idx, uint64_t frs, uint16_t seq,
		    uint16_t flags, const char *name, uint64_t parent_ref)
{
	rb_begin(frs, seq, flags | DIR);
	rb_name(name, NS_WIN32, parent_ref);
	rb_add(idx);
}

static void add_file(struct uffs_index *idx, uint64_t frs, uint16_t seq,
		     uint16_t flags, const char *name, uint64_t parent_ref)
{
	rb_begin(frs, seq, flags);
	rb_name(name, NS_WIN32, parent_ref);
	rb_stream(NULL, 100, 0);
	rb_add(idx);
}

static void init(struct uffs_index *idx, uint64_t n)
{
	struct mft_error err = {0};
	assert_int_equal(uffs_index_init(idx, n, 1024, true, &err), MFT_OK);
}

static void finish(struct uffs_index *idx, struct uffs_tree *t)
{
	struct mft_error err = {0};
	assert_int_equal(uffs_index_finish(idx, &err), MFT_OK);
	assert_true(idx->finished);
	assert_int_equal(uffs_tree_build(t, idx, &err), MFT_OK);
}

static void done(struct uffs_index *idx, struct uffs_tree *t)
{
	uffs_tree_free(t);
	uffs_index_free(idx);
}

/* ---- looking things up --------------------------------------------------------- */

static bool link_is(const struct uffs_index *idx, uint32_t i, const char *name)
{
	size_t n = strlen(name);
	return idx->links.name_len[i] == n &&
	       memcmp(idx->pool + idx->links.name[i], name, n) == 0;
}

/* The link of record `owner` called `name`; fails the test if none. */
static uint32_t find_link(const struct uffs_index *idx, uint64_t owner,
			  const char *name)
{
	UFFS_FOR_EACH_LINK(idx, owner, i)
	if (link_is(idx, i, name))
		return i;
	fail_msg("record %llu has no link \"%s\"", (unsigned long long)owner,
		 name);
	return UINT32_MAX;
}

/* Whether record `owner` has a link called `name`. */
static bool has_link(const struct uffs_index *idx, uint64_t owner,
		     const char *name)
{
	UFFS_FOR_EACH_LINK(idx, owner, i)
	if (link_is(idx, i, name))
		return true;
	return false;
}

/* The record a link belongs to (links are grouped by record). */
static uint64_t owner_of(const struct uffs_index *idx, uint32_t link)
{
	for (uint64_t r = 0; r < idx->n_records; r++)
		if (link >= idx->link_first[r] && link < idx->link_first[r + 1])
			return r;
	fail_msg("link %u belongs to no record", link);
	return 0;
}

static unsigned count_streams(const struct uffs_index *idx, uint64_t owner)
{
	unsigned n = 0;
	UFFS_FOR_EACH_STREAM(idx, owner, i)
	n++;
	return n;
}

static unsigned count_links(const struct uffs_index *idx, uint64_t owner)
{
	return idx->link_first[owner + 1] - idx->link_first[owner];
}

static bool has_stream(const struct uffs_index *idx, uint64_t owner,
		       const char *name)
{
	size_t n = strlen(name);
	UFFS_FOR_EACH_STREAM(idx, owner, i)
	if (idx->streams.name_len[i] == n &&
	    memcmp(idx->pool + idx->streams.name[i], name, n) == 0)
		return true;
	return false;
}

/* A named stream row (the unnamed $DATA lives in the record's columns). */
static uint32_t find_stream(const struct uffs_index *idx, uint64_t owner,
			    const char *name)
{
	size_t n = name ? strlen(name) : 0;
	UFFS_FOR_EACH_STREAM(idx, owner, i)
	if (idx->streams.name_len[i] == n &&
	    (n == 0 || memcmp(idx->pool + idx->streams.name[i], name, n) == 0))
		return i;
	fail_msg("record %llu has no stream \"%s\"", (unsigned long long)owner,
		 name ? name : "");
	return UINT32_MAX;
}

static char pathbuf[1 << 17];

static const char *path(const struct uffs_tree *t, uint32_t link)
{
	size_t len = uffs_link_path(t, owner_of(t->idx, link), link, '/',
				    pathbuf, sizeof pathbuf);
	assert_true(len > 0);
	assert_int_equal(strlen(pathbuf), len);
	return pathbuf;
}

static const char *path_of(const struct uffs_tree *t, uint64_t owner,
			   const char *name)
{
	return path(t, find_link(t->idx, owner, name));
}

static bool hidden(const struct uffs_index *idx, uint32_t link)
{
	return (idx->links.flags[link] & UFFS_LINK_HIDDEN) != 0;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_simple_path(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	add_file(&idx, 65, 3, IN_USE, "b", REF(64, 1));
	add_file(&idx, 66, 1, IN_USE, "top.txt", REF(ROOT, ROOT_SEQ));
	finish(&idx, &t);

	assert_string_equal(path_of(&t, 65, "b"), "a/b");
	assert_string_equal(path_of(&t, 64, "a"), "a");
	assert_string_equal(path_of(&t, 66, "top.txt"), "top.txt");
	uint32_t b = find_link(&idx, 65, "b");
	assert_true(uffs_parent_ok(&idx, 65, b));
	assert_false(hidden(&idx, b));
	assert_int_equal(idx.links.parent[b], REF(64, 1));
	/* Another separator. */
	char buf[64];
	assert_int_equal(uffs_link_path(&t, 65, b, '\\', buf, sizeof buf), 3);
	assert_string_equal(buf, "a\\b");

	/* Record columns. */
	assert_true(uffs_rec_is(&idx, 64, UFFS_REC_PRESENT));
	assert_true(uffs_rec_is(&idx, 64, UFFS_REC_DIR));
	assert_true(uffs_rec_is(&idx, 64, UFFS_REC_IN_USE));
	assert_false(uffs_rec_is(&idx, 65, UFFS_REC_DIR));
	assert_false(uffs_rec_is(&idx, 67, UFFS_REC_PRESENT));
	assert_false(uffs_rec_is(&idx, N_RECORDS + 10, UFFS_REC_PRESENT));
	assert_int_equal(idx.seq[65], 3);
	assert_int_equal(idx.times[4 * 65 + 1], 0x01D7000000000000ull + 65 * 4 + 1);
	assert_int_equal(count_links(&idx, 65), 1);
	assert_int_equal(t.n_orphan_tops, 0);
	assert_int_equal(t.n_cycles, 0);
	done(&idx, &t);
}

/* The cached path equals the plain walk for every name, whatever order
 * the names come in: interleaved directories, a parent path longer than a
 * cache slot, orphans, and slot collisions (records 256 apart). */
static void test_path_cache_matches(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	char longname[201];
	memset(longname, 'L', 200);
	longname[200] = '\0';
	init(&idx, 1024);
	add_root(&idx);
	add_dir(&idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	add_dir(&idx, 65, 1, IN_USE, longname, REF(64, 1));
	add_dir(&idx, 66, 1, IN_USE, longname, REF(65, 1));
	add_dir(&idx, 67, 1, IN_USE, longname, REF(66, 1));
	add_dir(&idx, 68, 1, IN_USE, "b", REF(ROOT, ROOT_SEQ));
	add_dir(&idx, 64 + 256, 1, IN_USE, "collide", REF(ROOT, ROOT_SEQ));
	char name[16];
	for (uint64_t r = 400; r < 600; r++) {
		static const uint64_t parents[] = {64, 67, 68, 64 + 256, 999};
		uint64_t p = parents[r % 5];
		snprintf(name, sizeof name, "f%llu", (unsigned long long)r);
		add_file(&idx, r, 1, IN_USE, name, REF(p, p == 999 ? 7 : 1));
	}
	finish(&idx, &t);
	struct uffs_path_cache c;
	assert_int_equal(uffs_path_cache_init(&c, '/'), MFT_OK);
	static char want[1 << 12], got[1 << 12];
	unsigned checked = 0;
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t r = 0; r < idx.n_records; r++)
			UFFS_FOR_EACH_LINK(&idx, r, i)
			{
				size_t a = uffs_link_path(&t, r, i, '/', want,
							  sizeof want);
				size_t b = uffs_link_path_cached(&t, &c, r, i, got,
								 sizeof got);
				assert_int_equal(a, b);
				assert_string_equal(want, got);
				/* and in parts, joined as a listing writes them */
				struct uffs_path_parts pp;
				char parts_buf[sizeof got];
				assert_true(uffs_link_path_parts(&t, &c, r, i, parts_buf,
								 sizeof parts_buf, &pp));
				if (pp.name)
					assert_int_equal(pp.dir_frs,
							 idx.links.parent[i] & 0xFFFFFFFFFFFFull);
				else
					assert_true(pp.dir == parts_buf &&
						    pp.dir_frs == UINT64_MAX);
				char joined[sizeof got];
				assert_int_equal(uffs_path_parts_join(&pp, '/', joined), a);
				assert_string_equal(want, joined);
				checked++;
			}
	assert_true(checked > 400);
	uffs_path_cache_free(&c);
	done(&idx, &t);
}

/* The buffer holds exactly the path plus its NUL: 3 + 1 bytes for "a/b". */
static void test_path_buffer_capacity(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	add_file(&idx, 65, 1, IN_USE, "b", REF(64, 1));
	finish(&idx, &t);
	uint32_t b = find_link(&idx, 65, "b");
	char buf[8];
	/* Too small: 0, whatever the cut. */
	assert_int_equal(uffs_link_path(&t, 65, b, '/', buf, 0), 0);
	assert_int_equal(uffs_link_path(&t, 65, b, '/', buf, 1), 0);
	assert_int_equal(uffs_link_path(&t, 65, b, '/', buf, 3), 0);
	/* One byte spare works. */
	assert_int_equal(uffs_link_path(&t, 65, b, '/', buf, 5), 3);
	assert_string_equal(buf, "a/b");
	/* Exactly enough: "Returns its length, or 0 when it does not fit
	 * in cap" and "a/b" + NUL fits in 4 bytes. */
	memset(buf, 'Z', sizeof buf);
	assert_int_equal(uffs_link_path(&t, 65, b, '/', buf, 4), 3);
	assert_string_equal(buf, "a/b");
	done(&idx, &t);
}

static void test_hard_links(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	add_dir(&idx, 66, 2, IN_USE, "c", REF(ROOT, ROOT_SEQ));
	rb_begin(70, 1, IN_USE);
	rb_name("h1", NS_WIN32, REF(64, 1));
	rb_name("h2", NS_WIN32, REF(66, 2));
	rb_stream(NULL, 5, 0);
	rb_add(&idx);
	finish(&idx, &t);

	assert_int_equal(count_links(&idx, 70), 2);
	uint32_t h1 = find_link(&idx, 70, "h1");
	uint32_t h2 = find_link(&idx, 70, "h2");
	assert_false(hidden(&idx, h1));
	assert_false(hidden(&idx, h2));
	assert_string_equal(path(&t, h1), "a/h1");
	assert_string_equal(path(&t, h2), "c/h2");
	/* The file's data is one, in its record, not one per link. */
	assert_int_equal(count_streams(&idx, 70), 0);
	assert_true(uffs_rec_is(&idx, 70, UFFS_REC_HAS_DATA));
	assert_int_equal(idx.data_size[70], 5);
	done(&idx, &t);
}

/* Two $FILE_NAME attributes with the same parent and name are one link. */
static void test_duplicate_link_hidden(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	rb_begin(70, 1, IN_USE);
	rb_name("same", NS_POSIX, REF(64, 1));
	rb_name("same", NS_WIN32, REF(64, 1));
	rb_add(&idx);
	finish(&idx, &t);
	unsigned visible = 0;
	UFFS_FOR_EACH_LINK(&idx, 70, i)
	visible += !hidden(&idx, i);
	assert_int_equal(visible, 1);
	done(&idx, &t);
}

static void test_dos_twin(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	/* Win32 name then its DOS twin. */
	rb_begin(71, 1, IN_USE);
	rb_name("LongFileName.txt", NS_WIN32, REF(64, 1));
	rb_name("LONGFI~1.TXT", NS_DOS, REF(64, 1));
	rb_add(&idx);
	/* DOS twin first: still the DOS one that goes. */
	rb_begin(72, 1, IN_USE);
	rb_name("OTHERN~1.TXT", NS_DOS, REF(64, 1));
	rb_name("other name.txt", NS_WIN32, REF(64, 1));
	rb_add(&idx);
	/* Only a DOS name: it is the file's name. */
	rb_begin(73, 1, IN_USE);
	rb_name("SHORT.TXT", NS_DOS, REF(64, 1));
	rb_add(&idx);
	/* A Win32&DOS name is one link, visible. */
	rb_begin(74, 1, IN_USE);
	rb_name("BOTH.TXT", NS_BOTH, REF(64, 1));
	rb_add(&idx);
	finish(&idx, &t);

	uint32_t l = find_link(&idx, 71, "LongFileName.txt");
	uint32_t d = find_link(&idx, 71, "LONGFI~1.TXT");
	assert_false(hidden(&idx, l));
	assert_true(hidden(&idx, d));
	assert_string_equal(path(&t, l), "a/LongFileName.txt");
	uint32_t p;
	assert_true(uffs_index_primary_link(&idx, 71, &p));
	assert_int_equal(p, l);

	assert_true(hidden(&idx, find_link(&idx, 72, "OTHERN~1.TXT")));
	assert_false(hidden(&idx, find_link(&idx, 72, "other name.txt")));
	assert_true(uffs_index_primary_link(&idx, 72, &p));
	assert_int_equal(p, find_link(&idx, 72, "other name.txt"));

	uint32_t s = find_link(&idx, 73, "SHORT.TXT");
	assert_false(hidden(&idx, s));
	assert_string_equal(path(&t, s), "a/SHORT.TXT");

	assert_false(hidden(&idx, find_link(&idx, 74, "BOTH.TXT")));
	done(&idx, &t);
}

/* Records are looked at eight at a time for more than one name: a DOS
 * twin in each of the last records of an index whose size is not a
 * multiple of eight is hidden as well. */
static void test_dos_twin_in_last_records(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS + 3);
	add_root(&idx);
	add_dir(&idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	for (uint64_t r = N_RECORDS - 1; r < N_RECORDS + 3; r++) {
		rb_begin(r, 1, IN_USE);
		rb_name("LongFileName.txt", NS_WIN32, REF(64, 1));
		rb_name("LONGFI~1.TXT", NS_DOS, REF(64, 1));
		rb_add(&idx);
	}
	finish(&idx, &t);
	for (uint64_t r = N_RECORDS - 1; r < N_RECORDS + 3; r++) {
		assert_false(hidden(&idx, find_link(&idx, r, "LongFileName.txt")));
		assert_true(hidden(&idx, find_link(&idx, r, "LONGFI~1.TXT")));
	}
	done(&idx, &t);
}

/* A DOS twin in a directory: the directory's path uses the long name. */
static void test_dos_twin_of_directory(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	rb_begin(64, 1, IN_USE | DIR);
	rb_name("PROGRA~1", NS_DOS, REF(ROOT, ROOT_SEQ));
	rb_name("Program Files", NS_WIN32, REF(ROOT, ROOT_SEQ));
	rb_add(&idx);
	add_file(&idx, 65, 1, IN_USE, "x.exe", REF(64, 1));
	finish(&idx, &t);
	assert_string_equal(path_of(&t, 65, "x.exe"), "Program Files/x.exe");
	done(&idx, &t);
}

static void test_extension_merges(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	/* Base: $STANDARD_INFORMATION and the unnamed $DATA only. */
	rb_begin(80, 3, IN_USE);
	rb.v.has_attr_list = true;
	rb_stream(NULL, 5000, 0);
	rb_add(&idx);
	/* Extension: the name and a named stream. */
	rb_begin(81, 1, IN_USE);
	rb.v.has_si = false;
	rb_base(REF(80, 3));
	rb_name("big.bin", NS_WIN32, REF(64, 1));
	rb_stream("ads", 1234, 0);
	rb_add(&idx);
	finish(&idx, &t);

	assert_int_equal(count_links(&idx, 80), 1);
	uint32_t l = find_link(&idx, 80, "big.bin");
	assert_int_equal(owner_of(&idx, l), 80);
	assert_false(hidden(&idx, l));
	assert_true(idx.links.flags[l] & UFFS_LINK_FROM_EXT);
	assert_string_equal(path(&t, l), "a/big.bin");

	uint32_t s = find_stream(&idx, 80, "ads");
	assert_int_equal(idx.streams.size[s], 1234);
	assert_true(idx.streams.flags[s] & UFFS_STREAM_FROM_EXT);
	/* The base's unnamed $DATA is in its record's columns. */
	assert_true(uffs_rec_is(&idx, 80, UFFS_REC_HAS_DATA));
	assert_int_equal(idx.data_size[80], 5000);

	/* The extension's own slot owns nothing and is no file. */
	assert_int_equal(count_links(&idx, 81), 0);
	assert_int_equal(count_streams(&idx, 81), 0);
	assert_true(uffs_rec_is(&idx, 81, UFFS_REC_EXTENSION));
	assert_false(uffs_rec_is(&idx, 81, UFFS_REC_PRESENT));
	/* The base record's own columns are not overwritten by it. */
	assert_true(uffs_rec_is(&idx, 80, UFFS_REC_PRESENT));
	assert_true(uffs_rec_is(&idx, 80, UFFS_REC_ATTR_LIST));
	assert_int_equal(idx.seq[80], 3);
	done(&idx, &t);
}

static void test_extension_stale_seq(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	/* Record 82 was reused (seq 4); extension 83 still names seq 3. */
	add_file(&idx, 82, 4, IN_USE, "cur.txt", REF(64, 1));
	rb_begin(83, 2, IN_USE);
	rb_base(REF(82, 3));
	rb_name("stale.txt", NS_WIN32, REF(64, 1));
	rb_stream("old", 77, 0);
	rb_add(&idx);
	finish(&idx, &t);

	/* The stale extension's rows are dropped. */
	assert_false(has_link(&idx, 82, "stale.txt"));
	assert_false(hidden(&idx, find_link(&idx, 82, "cur.txt")));
	uint32_t p;
	assert_true(uffs_index_primary_link(&idx, 82, &p));
	assert_true(link_is(&idx, p, "cur.txt"));
	assert_false(has_stream(&idx, 82, "old"));
	assert_true(uffs_rec_is(&idx, 82, UFFS_REC_HAS_DATA));
	assert_int_equal(idx.data_size[82], 100);
	done(&idx, &t);
}

/* An extension still in use whose base is free (or the reverse) belongs to
 * another generation of the file. */
static void test_extension_alloc_state_mismatch(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	add_file(&idx, 86, 2, 0, "freed.txt", REF(64, 1));
	rb_begin(87, 1, IN_USE);
	rb_base(REF(86, 2));
	rb_name("live.txt", NS_WIN32, REF(64, 1));
	rb_stream("s", 1, 0);
	rb_add(&idx);
	finish(&idx, &t);
	assert_false(has_link(&idx, 86, "live.txt"));
	assert_true(has_link(&idx, 86, "freed.txt"));
	assert_false(has_stream(&idx, 86, "s"));
	done(&idx, &t);
}

static void test_extension_before_base(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	/* Scan order: extension 85 first, its base 84 later. */
	rb_begin(85, 1, IN_USE);
	rb_base(REF(84, 2));
	rb_name("early.txt", NS_WIN32, REF(64, 1));
	rb_stream("x", 9, 0);
	rb_add(&idx);
	rb_begin(84, 2, IN_USE);
	rb_stream(NULL, 3, 0);
	rb_add(&idx);
	finish(&idx, &t);

	uint32_t l = find_link(&idx, 84, "early.txt");
	assert_false(hidden(&idx, l));
	assert_string_equal(path(&t, l), "a/early.txt");
	assert_true(has_stream(&idx, 84, "x"));
	assert_int_equal(count_streams(&idx, 84), 1);
	assert_int_equal(idx.data_size[84], 3);
	done(&idx, &t);
}

/* An extension naming a record outside the index, or itself, is ignored. */
static void test_extension_bad_base(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	rb_begin(90, 1, IN_USE);
	rb_base(REF(N_RECORDS + 5, 1));
	rb_name("nowhere", NS_WIN32, REF(ROOT, ROOT_SEQ));
	rb_add(&idx);
	rb_begin(91, 1, IN_USE);
	rb_base(REF(91, 1));
	rb_name("self", NS_WIN32, REF(ROOT, ROOT_SEQ));
	rb_add(&idx);
	finish(&idx, &t);
	assert_int_equal(idx.links.n, 1); /* the root's "." */
	assert_int_equal(count_links(&idx, 91), 0);
	done(&idx, &t);
}

static void test_record_outside_index(void **state)
{
	(void)state;
	struct uffs_index idx;
	init(&idx, N_RECORDS);
	rb_begin(N_RECORDS, 1, IN_USE);
	struct mft_error err = {0};
	assert_int_equal(uffs_index_add_record(&idx, &rb.v, &err),
			 MFT_E_USAGE);
	assert_int_equal(err.code, MFT_E_USAGE);
	uffs_index_free(&idx);
}

static void test_stream_flags(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	rb_begin(70, 1, IN_USE);
	rb_name("f", NS_WIN32, REF(ROOT, ROOT_SEQ));
	rb_stream(NULL, 1 << 20, 0x8000); /* sparse */
	rb_stream("c", 1 << 20, 0x0001);  /* compressed (LZNT1) */
	rb_stream("e", 1 << 20, 0x4000);  /* encrypted */
	rb_stream("p", 10, 0);
	rb_add(&idx);
	finish(&idx, &t);
	uint16_t rf = idx.rflags[70];
	assert_int_equal(rf & (UFFS_REC_DATA_SPARSE | UFFS_REC_DATA_COMPRESSED |
			       UFFS_REC_DATA_ENCRYPTED),
			 UFFS_REC_DATA_SPARSE);
	uint8_t f = idx.streams.flags[find_stream(&idx, 70, "c")];
	assert_int_equal(f & (UFFS_STREAM_SPARSE | UFFS_STREAM_COMPRESSED |
			      UFFS_STREAM_ENCRYPTED),
			 UFFS_STREAM_COMPRESSED);
	f = idx.streams.flags[find_stream(&idx, 70, "e")];
	assert_int_equal(f & (UFFS_STREAM_SPARSE | UFFS_STREAM_COMPRESSED |
			      UFFS_STREAM_ENCRYPTED),
			 UFFS_STREAM_ENCRYPTED);
	assert_int_equal(idx.streams.flags[find_stream(&idx, 70, "p")], 0);
	assert_int_equal(idx.streams.alloc[find_stream(&idx, 70, "c")], 1 << 20);
	done(&idx, &t);
}

static void test_parent_seq_mismatch(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	add_file(&idx, 65, 1, IN_USE, "b", REF(64, 2)); /* a is seq 1 */
	add_file(&idx, 66, 1, IN_USE, "ok", REF(64, 1));
	finish(&idx, &t);
	uint32_t b = find_link(&idx, 65, "b");
	assert_false(uffs_parent_ok(&idx, owner_of(&idx, b), b));
	assert_string_equal(path(&t, b), "$OrphanFiles/b");
	assert_string_equal(path_of(&t, 66, "ok"), "a/ok");
	done(&idx, &t);
}

static void test_parent_not_directory(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_file(&idx, 91, 1, IN_USE, "plain", REF(ROOT, ROOT_SEQ));
	add_file(&idx, 92, 1, IN_USE, "q", REF(91, 1));
	/* Parent never seen in the scan, and parent beyond the $MFT. */
	add_file(&idx, 93, 1, IN_USE, "r", REF(200, 1));
	add_file(&idx, 94, 1, IN_USE, "s", REF(0x123456789ull, 1));
	finish(&idx, &t);
	assert_false(uffs_parent_ok(&idx, 92, find_link(&idx, 92, "q")));
	assert_string_equal(path_of(&t, 92, "q"), "$OrphanFiles/q");
	assert_string_equal(path_of(&t, 93, "r"), "$OrphanFiles/r");
	assert_string_equal(path_of(&t, 94, "s"), "$OrphanFiles/s");
	assert_string_equal(path_of(&t, 91, "plain"), "plain");
	done(&idx, &t);
}

/* A directory that is its own parent (only the root may be). */
static void test_self_parent_dir(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 104, 1, IN_USE, "z", REF(104, 1));
	add_file(&idx, 105, 1, IN_USE, "in_z", REF(104, 1));
	finish(&idx, &t);
	assert_string_equal(path_of(&t, 104, "z"), "$OrphanFiles/z");
	assert_string_equal(path_of(&t, 105, "in_z"), "$OrphanFiles/z/in_z");
	done(&idx, &t);
}

static unsigned count_substr(const char *s, const char *sub)
{
	unsigned n = 0;
	for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub))
		n++;
	return n;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Only directories cut out of a loop (or naming themselves) are damage worth
 * a warning; an orphan whose parent is simply gone is not. */
static void test_loop_tops(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 100, 1, IN_USE, "x", REF(101, 1));
	add_dir(&idx, 101, 1, IN_USE, "y", REF(100, 1));
	add_dir(&idx, 102, 1, IN_USE, "self", REF(102, 1));
	add_dir(&idx, 103, 1, IN_USE, "lost", REF(200, 1));
	add_dir(&idx, 104, 1, IN_USE, "fine", REF(ROOT, ROOT_SEQ));
	finish(&idx, &t);
	unsigned tops = 0;
	for (uint64_t r = 0; r < idx.n_records; r++)
		tops += uffs_tree_loop_top(&t, r);
	assert_int_equal(tops, 2);
	assert_true(uffs_tree_loop_top(&t, 100) || uffs_tree_loop_top(&t, 101));
	assert_true(uffs_tree_loop_top(&t, 102));
	assert_false(uffs_tree_loop_top(&t, 103));
	assert_false(uffs_tree_loop_top(&t, 104));
	assert_false(uffs_tree_loop_top(&t, ROOT));
	assert_false(uffs_tree_loop_top(&t, idx.n_records + 5));
	/* Listed right under $OrphanFiles: where the x-y loop was cut, self
	 * and lost. */
	assert_int_equal(t.n_orphan_tops, 3);
	unsigned orphan_tops = 0;
	for (uint64_t r = 0; r < idx.n_records; r++)
		orphan_tops += uffs_tree_orphan_top(&t, r);
	assert_int_equal(orphan_tops, 3);
	assert_true(uffs_tree_orphan_top(&t, 102));
	assert_true(uffs_tree_orphan_top(&t, 103));
	assert_false(uffs_tree_orphan_top(&t, 104));
	assert_false(uffs_tree_orphan_top(&t, idx.n_records + 5));
	done(&idx, &t);
}

static void test_cycle_of_two(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 100, 1, IN_USE, "x", REF(101, 1));
	add_dir(&idx, 101, 1, IN_USE, "y", REF(100, 1));
	add_file(&idx, 102, 1, IN_USE, "fx", REF(100, 1));
	add_file(&idx, 103, 1, IN_USE, "fy", REF(101, 1));
	/* Something rooted next to it stays rooted. */
	add_dir(&idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	add_file(&idx, 65, 1, IN_USE, "b", REF(64, 1));
	finish(&idx, &t);
	assert_int_equal(t.n_cycles, 1);
	assert_int_equal(t.n_orphan_tops, 1);

	const char *files[] = {"fx", "fy", "x", "y"};
	const uint64_t owners[] = {102, 103, 100, 101};
	for (int k = 0; k < 4; k++) {
		const char *p = path_of(&t, owners[k], files[k]);
		char suffix[8];
		snprintf(suffix, sizeof suffix, "/%s", files[k]);
		if (strncmp(p, "$OrphanFiles/", 13) != 0 ||
		    !ends_with(p, suffix))
			fail_msg("%s: path \"%s\"", files[k], p);
		/* The loop is cut once: each directory appears at most once. */
		assert_true(count_substr(p, "x/") <= 1);
		assert_true(count_substr(p, "y/") <= 1);
		assert_true(strlen(p) <= strlen("$OrphanFiles/x/y/fx"));
	}
	/* fx lives directly in x, so its parent component is x. */
	assert_true(ends_with(path_of(&t, 102, "fx"), "x/fx"));
	assert_true(ends_with(path_of(&t, 103, "fy"), "y/fy"));
	assert_string_equal(path_of(&t, 65, "b"), "a/b");
	done(&idx, &t);
}

/* Dirs d0..d{n-1}, d0 in the root and each d{i} in d{i-1}; file f in the
 * last, file g in the deepest directory still within the limit. */
static void deep_chain(bool descending)
{
	enum { N = 5000, FIRST = 16 };
	uint64_t n_records = FIRST + N + 2;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, n_records);
	add_root(&idx);
	for (unsigned i = 0; i < N; i++) {
		uint64_t frs = descending ? FIRST + N - 1 - i : FIRST + i;
		uint64_t parent = i == 0 ? REF(ROOT, ROOT_SEQ)
			      : descending ? REF(frs + 1, 1)
					   : REF(frs - 1, 1);
		char name[16];
		snprintf(name, sizeof name, "d%u", i);
		add_dir(&idx, frs, 1, IN_USE, name, parent);
	}
	uint64_t last = descending ? FIRST : FIRST + N - 1;
	/* d{UFFS_PATH_DEPTH_MAX - 1} is at depth UFFS_PATH_DEPTH_MAX. */
	unsigned lim = UFFS_PATH_DEPTH_MAX - 1;
	uint64_t at_limit = descending ? FIRST + N - 1 - lim : FIRST + lim;
	add_file(&idx, FIRST + N, 1, IN_USE, "f", REF(last, 1));
	add_file(&idx, FIRST + N + 1, 1, IN_USE, "g", REF(at_limit, 1));
	finish(&idx, &t);

	/* Expected: the part below the limit under $OrphanFiles. */
	size_t cap = (size_t)N * 8 + 64;
	char *want = malloc(cap);
	assert_non_null(want);
	size_t w = (size_t)snprintf(want, cap, "$OrphanFiles");
	for (unsigned i = UFFS_PATH_DEPTH_MAX; i < N; i++)
		w += (size_t)snprintf(want + w, cap - w, "/d%u", i);
	snprintf(want + w, cap - w, "/f");
	assert_string_equal(path_of(&t, FIRST + N, "f"), want);

	/* The chain within the limit stays rooted, complete. */
	w = 0;
	for (unsigned i = 0; i <= lim; i++)
		w += (size_t)snprintf(want + w, cap - w, "d%u/", i);
	snprintf(want + w, cap - w, "g");
	assert_string_equal(path_of(&t, FIRST + N + 1, "g"), want);
	free(want);
	assert_int_equal(t.n_cycles, 0);
	assert_int_equal(t.n_orphan_tops, 1);
	done(&idx, &t);
}

static void test_deep_chain_ascending(void **state)
{
	(void)state;
	deep_chain(false);
}

static void test_deep_chain_descending(void **state)
{
	(void)state;
	deep_chain(true);
}

/* path.h: a parent is valid when the reference's sequence matches; a
 * deleted directory's sequence was bumped when it was freed, so entries
 * written while it was in use carry its sequence - 1 (The Sleuth Kit's
 * rule). */
static void test_deleted(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	/* Directory deleted: in-use flag cleared, sequence bumped 7 -> 8. */
	add_dir(&idx, 110, 8, 0, "deldir", REF(ROOT, ROOT_SEQ));
	/* Deleted file whose entry was written while the dir had seq 7. */
	add_file(&idx, 111, 2, 0, "gone.txt", REF(110, 7));
	/* Two generations back: not this directory any more. */
	add_file(&idx, 112, 2, 0, "older.txt", REF(110, 6));
	/* The freed directory's current number: written by no live entry. */
	add_file(&idx, 113, 2, 0, "same.txt", REF(110, 8));
	/* A deleted directory inside the deleted one. */
	add_dir(&idx, 117, 3, 0, "deldir2", REF(110, 7));
	add_file(&idx, 118, 5, 0, "in2.txt", REF(117, 2));
	finish(&idx, &t);

	assert_string_equal(path_of(&t, 110, "deldir"), "deldir");
	uint32_t g = find_link(&idx, 111, "gone.txt");
	assert_true(uffs_parent_ok(&idx, 111, g));
	assert_string_equal(path(&t, g), "deldir/gone.txt");
	assert_false(uffs_parent_ok(&idx, 112, find_link(&idx, 112, "older.txt")));
	assert_string_equal(path_of(&t, 112, "older.txt"),
			    "$OrphanFiles/older.txt");
	assert_string_equal(path_of(&t, 113, "same.txt"),
			    "$OrphanFiles/same.txt");
	assert_string_equal(path_of(&t, 118, "in2.txt"),
			    "deldir/deldir2/in2.txt");
	done(&idx, &t);
}

/* A deleted directory with sequence 0 (never bumped past 0). */
static void test_deleted_dir_seq_zero(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 120, 0, 0, "z0", REF(ROOT, ROOT_SEQ));
	add_file(&idx, 121, 1, 0, "f", REF(120, 0));
	add_file(&idx, 122, 1, 0, "g", REF(120, 0xFFFF));
	finish(&idx, &t);
	assert_string_equal(path_of(&t, 121, "f"), "z0/f");
	assert_string_equal(path_of(&t, 122, "g"), "$OrphanFiles/g");
	done(&idx, &t);
}

/* An in-use file under a freed directory resolves under it when its parent
 * reference carries the directory's sequence number from before the free,
 * as The Sleuth Kit resolves it (docs/tsk-differences.md). */
static void test_in_use_file_under_deleted_dir(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 110, 8, 0, "deldir", REF(ROOT, ROOT_SEQ));
	add_file(&idx, 113, 1, IN_USE, "live.txt", REF(110, 7));
	add_file(&idx, 114, 1, IN_USE, "live8.txt", REF(110, 8));
	add_dir(&idx, 115, 1, IN_USE, "sub", REF(110, 7));
	add_file(&idx, 116, 1, IN_USE, "deep.txt", REF(115, 1));
	finish(&idx, &t);
	assert_string_equal(path_of(&t, 113, "live.txt"), "deldir/live.txt");
	assert_string_equal(path_of(&t, 116, "deep.txt"),
			    "deldir/sub/deep.txt");
	/* The freed directory's current number names no live generation. */
	assert_string_equal(path_of(&t, 114, "live8.txt"),
			    "$OrphanFiles/live8.txt");
	done(&idx, &t);
}

/* A live directory keeps the strict rule: seq - 1 is another generation. */
static void test_live_parent_needs_exact_seq(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	add_dir(&idx, 64, 8, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	add_file(&idx, 65, 2, 0, "old.txt", REF(64, 7));
	finish(&idx, &t);
	assert_string_equal(path_of(&t, 65, "old.txt"),
			    "$OrphanFiles/old.txt");
	done(&idx, &t);
}

/* Non-ASCII names reach the pool as UTF-8 and the path as such. */
static void test_utf8_names(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct uffs_tree t;
	init(&idx, N_RECORDS);
	add_root(&idx);
	rb_begin(64, 1, IN_USE | DIR);
	rb_name("caf_", NS_WIN32, REF(ROOT, ROOT_SEQ));
	rb.names[0][6] = 0xE9; /* U+00E9 */
	rb_add(&idx);
	add_file(&idx, 65, 1, IN_USE, "x", REF(64, 1));
	finish(&idx, &t);
	assert_string_equal(path(&t, find_link(&idx, 65, "x")),
			    "caf\xC3\xA9/x");
	done(&idx, &t);
}

/* ---- memory hooks and names-only indexes ------------------------------------ */

/* An allocator that counts what it holds and fails every allocation or
 * growth from call `fail_at` on (shrinking never fails: the contract). */
struct counting {
	int calls, fail_at;
	long live; /* allocations not yet released */
	size_t bytes;
};
/* ---- copying records into a new index (uffs index --update) ---------------- */

static void same_rows(const struct uffs_index *a, const struct uffs_index *b,
		      uint64_t r)
{
	assert_int_equal(a->link_first[r + 1] - a->link_first[r],
			 b->link_first[r + 1] - b->link_first[r]);
	for (uint32_t i = a->link_first[r], j = b->link_first[r];
	     i < a->link_first[r + 1]; i++, j++) {
		assert_int_equal(a->links.name_len[i], b->links.name_len[j]);
		assert_memory_equal(a->pool + a->links.name[i],
				    b->pool + b->links.name[j], a->links.name_len[i]);
		assert_int_equal(a->links.parent[i], b->links.parent[j]);
		assert_int_equal(a->links.ns[i], b->links.ns[j]);
		assert_int_equal(a->links.flags[i], b->links.flags[j]);
		assert_int_equal(a->links.attr_id[i], b->links.attr_id[j]);
		assert_int_equal(a->links.value_len[i], b->links.value_len[j]);
	}
	assert_int_equal(count_streams(a, r), count_streams(b, r));
	uint32_t j = uffs_index_streams_begin(b, r);
	UFFS_FOR_EACH_STREAM(a, r, i)
	{
		assert_int_equal(a->streams.name_len[i], b->streams.name_len[j]);
		assert_memory_equal(a->pool + a->streams.name[i],
				    b->pool + b->streams.name[j], a->streams.name_len[i]);
		assert_int_equal(a->streams.size[i], b->streams.size[j]);
		assert_int_equal(a->streams.flags[i], b->streams.flags[j]);
		j++;
	}
}

static void same_index(const struct uffs_index *a, const struct uffs_index *b)
{
	assert_int_equal(a->n_records, b->n_records);
	for (uint64_t r = 0; r < a->n_records; r++) {
		assert_int_equal(a->rflags[r], b->rflags[r]);
		assert_int_equal(a->seq[r], b->seq[r]);
		assert_int_equal(a->fattrs[r], b->fattrs[r]);
		assert_memory_equal(&a->times[4 * r], &b->times[4 * r], 32);
		assert_int_equal(a->data_size[r], b->data_size[r]);
		assert_int_equal(uffs_index_owner_id(a, r), uffs_index_owner_id(b, r));
		same_rows(a, b, r);
	}
}

/* Record 65: a DOS twin, a hard link, a named stream, an owner id. */
static void add_many_named(struct uffs_index *idx)
{
	rb_begin(65, 2, IN_USE);
	rb_name("LONGNA~1.TXT", NS_DOS, REF(64, 1));
	rb_name("long name.txt", NS_WIN32, REF(64, 1));
	rb_name("second link.txt", NS_BOTH, REF(ROOT, ROOT_SEQ));
	rb_stream(NULL, 5000, 0);
	rb_stream("ads", 12, 0);
	rb.v.owner_id = 7;
	rb_add(idx);
}

/* A varied volume: record 65 above, a deleted file, and a file with an
 * extension record. */
static void build_varied(struct uffs_index *idx, bool with_extension)
{
	init(idx, N_RECORDS);
	add_root(idx);
	add_dir(idx, 64, 1, IN_USE, "dir", REF(ROOT, ROOT_SEQ));
	add_many_named(idx);
	add_file(idx, 66, 4, 0, "gone.txt", REF(64, 1));
	add_file(idx, 70, 1, IN_USE, "after.txt", REF(ROOT, ROOT_SEQ));
	if (with_extension) {
		rb_begin(80, 3, IN_USE);
		rb.v.has_attr_list = true;
		rb_stream(NULL, 9000, 0);
		rb_add(idx);
		rb_begin(81, 1, IN_USE);
		rb.v.has_si = false;
		rb_base(REF(80, 3));
		rb_name("big.bin", NS_WIN32, REF(64, 1));
		rb_add(idx);
	}
}

/* How a base record with names in extension records tells how many: the
 * rows reserved for them are only a hint, which finish must get right
 * whatever it says. */
enum ext_hint {
	HINT_NONE,      /* link count = the names in the base: no room kept */
	HINT_EXACT,     /* link count = every name */
	HINT_OVER,      /* more than there are: rows left empty, dropped */
	HINT_UNDER,     /* fewer: the rest merged after the filled ones */
	HINT_GARBAGE,   /* 65535, as some volumes have */
	HINT_RESIDENT,  /* a resident attribute list naming the extensions */
};

/* An attribute list in the record: one entry per (type, record). */
static uint8_t al_value[8 * 32];

static void rb_attr_list(enum ext_hint hint, uint64_t frs, unsigned names_here,
			 const uint64_t *ext, unsigned n_ext)
{
	rb.v.has_attr_list = true;
	struct mft_attr *al = &rb.v.attr_list;
	memset(al, 0, sizeof *al);
	al->type = 0x20;
	al->nonresident = hint != HINT_RESIDENT;
	unsigned all = names_here + n_ext;
	switch (hint) {
	case HINT_NONE: rb.v.link_count = (uint16_t)names_here; break;
	case HINT_EXACT: rb.v.link_count = (uint16_t)all; break;
	case HINT_OVER: rb.v.link_count = (uint16_t)(all + 5); break;
	case HINT_UNDER: rb.v.link_count = (uint16_t)(all - 1); break;
	case HINT_GARBAGE: rb.v.link_count = 65535; break;
	case HINT_RESIDENT: rb.v.link_count = 0; break; /* the list is asked */
	}
	if (hint != HINT_RESIDENT)
		return;
	/* $STANDARD_INFORMATION and each name here in this record, then the
	 * names elsewhere: 32-byte entries (26 and padding). */
	memset(al_value, 0, sizeof al_value);
	unsigned k = 0;
	uint64_t at[8];
	at[k++] = frs;
	for (unsigned i = 0; i < names_here; i++)
		at[k++] = frs;
	for (unsigned i = 0; i < n_ext; i++)
		at[k++] = ext[i];
	for (unsigned i = 0; i < k; i++) {
		uint8_t *e = al_value + 32 * i;
		uint32_t type = i == 0 ? 0x10 : 0x30;
		memcpy(e, &type, 4);
		e[4] = 32;
		memcpy(e + 0x10, &at[i], 8);
	}
	al->value = al_value;
	al->value_len = 32 * k;
}

/* Extension record frs of base base_ref, holding one name. */
static void add_ext_name(struct uffs_index *idx, uint64_t frs,
			 uint64_t base_ref, const char *name, uint64_t parent_ref)
{
	rb_begin(frs, 1, IN_USE);
	rb.v.has_si = false;
	rb_base(base_ref);
	rb_name(name, NS_WIN32, parent_ref);
	rb_add(idx);
}

/* Base record frs (sequence seq) with its own names, whose attribute list
 * places n_ext more in the records ext[]. */
static void add_base_with_list(struct uffs_index *idx, enum ext_hint hint,
			       uint64_t frs, uint16_t seq,
			       const char *const *names, unsigned n_names,
			       const uint64_t *ext, unsigned n_ext)
{
	rb_begin(frs, seq, IN_USE);
	for (unsigned i = 0; i < n_names; i++)
		rb_name(names[i], NS_WIN32, REF(64 + i % 2, 1));
	rb_attr_list(hint, frs, n_names, ext, n_ext);
	rb_add(idx);
}

/* Files whose names are partly in extension records, with every kind of
 * hint, and one extension that is stale; added in FRS order. */
static void add_ext_volume(struct uffs_index *idx, enum ext_hint hint)
{
	add_root(idx);
	add_dir(idx, 64, 1, IN_USE, "a", REF(ROOT, ROOT_SEQ));
	add_dir(idx, 65, 1, IN_USE, "b", REF(ROOT, ROOT_SEQ));
	static const char *const one[] = {"one"}, *const x[] = {"x"},
				 *const p[] = {"p", "p2"};
	const uint64_t ext80[] = {81, 82, 120}, ext90[] = {91}, ext100[] = {101};
	add_base_with_list(idx, hint, 80, 3, one, 1, ext80, 3);
	add_ext_name(idx, 81, REF(80, 3), "two", REF(65, 1));
	rb_begin(82, 1, IN_USE);
	rb.v.has_si = false;
	rb_base(REF(80, 3));
	rb_name("three", NS_WIN32, REF(64, 1));
	rb_stream("ads", 40, 0);
	rb_add(idx);
	add_file(idx, 85, 1, IN_USE, "f85", REF(64, 1));
	/* 90's extension was written for an earlier file in its slot. */
	add_base_with_list(idx, hint, 90, 2, x, 1, ext90, 1);
	add_ext_name(idx, 91, REF(90, 1), "stale", REF(65, 1));
	add_base_with_list(idx, hint, 100, 1, p, 2, ext100, 1);
	add_ext_name(idx, 101, REF(100, 1), "q", REF(64, 1));
	add_file(idx, 110, 1, IN_USE, "f110", REF(65, 1));
	add_ext_name(idx, 120, REF(80, 3), "four", REF(65, 1));
	add_file(idx, 130, 1, IN_USE, "f130", REF(64, 1));
}

/* The same volume through two batches (records below 95, the rest), the
 * way the parse threads build an index. */
static void add_ext_volume_in_batches(struct uffs_index *idx,
				      enum ext_hint hint)
{
	struct uffs_index b;
	struct mft_error err = {0};
	const uint64_t cut[][2] = {{0, 95}, {95, N_RECORDS}};
	uffs_index_batch_init(&b, idx);
	for (unsigned c = 0; c < 2; c++) {
		uffs_index_batch_reset(&b, cut[c][0], cut[c][1] - cut[c][0]);
		rb_only.first = cut[c][0];
		rb_only.end = cut[c][1];
		add_ext_volume(&b, hint);
		assert_int_equal(uffs_index_append(idx, &b, &err), MFT_OK);
	}
	rb_only.first = 0;
	rb_only.end = UINT64_MAX;
	uffs_index_batch_free(&b);
}

static void build_ext(struct uffs_index *idx, enum ext_hint hint, bool batches)
{
	init(idx, N_RECORDS);
	if (batches)
		add_ext_volume_in_batches(idx, hint);
	else
		add_ext_volume(idx, hint);
}

static void test_reserved_side_links(void **state)
{
	(void)state;
	struct uffs_index want;
	struct mft_error err = {0};
	build_ext(&want, HINT_NONE, false);
	assert_int_equal(want.n_reserved, 0);
	assert_int_equal(uffs_index_finish(&want, &err), MFT_OK);
	/* What the merge gives: 80's own name, then its extensions' names
	 * in the order they came; 90 without the stale one. */
	static const char *const names80[] = {"one", "two", "three", "four"};
	assert_int_equal(count_links(&want, 80), 4);
	for (unsigned i = 0; i < 4; i++)
		assert_true(link_is(&want, want.link_first[80] + i, names80[i]));
	assert_int_equal(count_links(&want, 90), 1);
	assert_int_equal(count_links(&want, 100), 3);
	/* Rows kept before finish, for each hint, added one by one and in
	 * batches: for 80, 90 and 100. A garbage count asks 64 for each; the
	 * limit (256 / 16 + 64 in all, or the batch's records / 16 + 64)
	 * grants the first in all and the first of each batch. */
	static const uint32_t reserved[][2] = {
		[HINT_NONE] = {0, 0},     [HINT_EXACT] = {5, 5},
		[HINT_OVER] = {20, 20},   [HINT_UNDER] = {2, 2},
		[HINT_GARBAGE] = {64, 128}, [HINT_RESIDENT] = {5, 5},
	};
	for (int h = HINT_NONE; h <= HINT_RESIDENT; h++)
		for (int batches = 0; batches < 2; batches++) {
			struct uffs_index got;
			build_ext(&got, (enum ext_hint)h, batches);
			assert_int_equal(got.n_reserved, reserved[h][batches]);
			assert_int_equal(uffs_index_finish(&got, &err), MFT_OK);
			assert_int_equal(got.n_reserved, 0);
			same_index(&want, &got);
			assert_int_equal(got.links.n, want.links.n);
			assert_memory_equal(got.link_first, want.link_first,
					    (N_RECORDS + 1) * sizeof *got.link_first);
			for (uint32_t i = 0; i < got.links.n; i++)
				assert_false(got.links.flags[i] & UFFS_LINK_RESERVED);
			uffs_index_free(&got);
		}
	uffs_index_free(&want);
}

/* A lying count on every record cannot make the index grow past a share
 * of its records. */
static void test_reserved_side_links_bounded(void **state)
{
	(void)state;
	struct uffs_index idx;
	struct mft_error err = {0};
	init(&idx, N_RECORDS);
	add_root(&idx);
	for (uint64_t r = 16; r < N_RECORDS; r++) {
		rb_begin(r, 1, IN_USE);
		rb_name("f", NS_WIN32, REF(ROOT, ROOT_SEQ));
		rb.v.has_attr_list = true;
		rb.v.attr_list.nonresident = true;
		rb.v.link_count = 65535;
		rb_add(&idx);
	}
	assert_true(idx.n_reserved <= N_RECORDS / 16 + 64);
	assert_int_equal(uffs_index_finish(&idx, &err), MFT_OK);
	assert_int_equal(idx.links.n, 1 + N_RECORDS - 16);
	for (uint64_t r = 16; r < N_RECORDS; r++)
		assert_int_equal(count_links(&idx, r), 1);
	uffs_index_free(&idx);
}

static void test_copy_records_gives_the_same_index(void **state)
{
	(void)state;
	struct uffs_index a, b;
	struct mft_error err = {0};
	build_varied(&a, false);
	assert_int_equal(uffs_index_finish(&a, &err), MFT_OK);
	init(&b, N_RECORDS);
	for (uint64_t r = 0; r < N_RECORDS; r++)
		assert_int_equal(uffs_index_copy_record(&b, &a, r, &err), MFT_OK);
	assert_int_equal(uffs_index_finish(&b, &err), MFT_OK);
	same_index(&a, &b);
	/* The DOS twin is hidden again by finish, not copied hidden. */
	assert_true(hidden(&b, find_link(&b, 65, "LONGNA~1.TXT")));
	uffs_index_free(&a);
	uffs_index_free(&b);
}

/* Copied and re-added records interleave in record order, as an update
 * builds them: re-adding 65 and copying the rest equals the original. */
static void test_copy_mixed_with_parsed(void **state)
{
	(void)state;
	struct uffs_index a, b;
	struct mft_error err = {0};
	build_varied(&a, false);
	assert_int_equal(uffs_index_finish(&a, &err), MFT_OK);
	init(&b, N_RECORDS);
	for (uint64_t r = 0; r < 65; r++)
		assert_int_equal(uffs_index_copy_record(&b, &a, r, &err), MFT_OK);
	add_many_named(&b);
	for (uint64_t r = 66; r < N_RECORDS; r++)
		assert_int_equal(uffs_index_copy_record(&b, &a, r, &err), MFT_OK);
	assert_int_equal(uffs_index_finish(&b, &err), MFT_OK);
	same_index(&a, &b);
	uffs_index_free(&a);
	uffs_index_free(&b);
}

/* What a copy cannot carry is refused: records out of order, an extension
 * record (its rows live in its base), an unfinished source. */
static void test_copy_refuses(void **state)
{
	(void)state;
	struct uffs_index a, b;
	struct mft_error err = {0};
	build_varied(&a, true);
	assert_int_equal(uffs_index_finish(&a, &err), MFT_OK);
	init(&b, N_RECORDS);
	assert_int_equal(uffs_index_copy_record(&b, &a, 70, &err), MFT_OK);
	assert_int_equal(uffs_index_copy_record(&b, &a, 65, &err), MFT_E_USAGE);
	/* 81's slot is an extension, not a record of its own: nothing to
	 * copy; 80's rows came partly from it (the caller reads both). */
	assert_int_equal(uffs_index_copy_record(&b, &a, 81, &err), MFT_OK);
	assert_false(uffs_rec_is(&b, 81, UFFS_REC_PRESENT));
	assert_int_equal(uffs_index_copy_record(&b, &a, N_RECORDS, &err), MFT_E_USAGE);
	uffs_index_free(&b);
	struct uffs_index c;
	init(&c, N_RECORDS);
	rb_begin(90, 1, IN_USE);
	rb_add(&c); /* c is not finished */
	init(&b, N_RECORDS);
	assert_int_equal(uffs_index_copy_record(&b, &c, 90, &err), MFT_E_USAGE);
	uffs_index_free(&a);
	uffs_index_free(&b);
	uffs_index_free(&c);
}

static struct counting cnt;

static void *counting_resize(void *p, size_t old, size_t bytes)
{
	if (++cnt.calls >= cnt.fail_at && (!p || bytes > old))
		return NULL;
	void *q = p ? realloc(p, bytes) : calloc(1, bytes);
	if (q) {
		if (!p)
			cnt.live++;
		cnt.bytes = cnt.bytes - (p ? old : 0) + bytes;
	}
	return q;
}

static void counting_release(void *p, size_t bytes)
{
	if (!p)
		return;
	cnt.live--;
	cnt.bytes -= bytes;
	free(p);
}

static const struct mft_mem_ops counting_ops = {counting_resize,
						counting_release};

/* Builds a small tree through the hook: root, a directory, 300 files (the
 * link table grows past its first reservation) with a named stream each. */
static int build_through_hook(struct uffs_index *idx, bool names_only)
{
	struct mft_error err = {0};
	const struct uffs_index_opts opts = {.names_only = names_only,
					     .mem = &counting_ops};
	int rc = uffs_index_init_with(idx, 400, 1024, &opts, &err);
	if (rc)
		return rc;
	add_root(idx);
	add_dir(idx, 64, 1, IN_USE, "d", REF(ROOT, ROOT_SEQ));
	for (uint64_t f = 65; f < 365; f++) {
		char name[16];
		snprintf(name, sizeof name, "f%llu", (unsigned long long)f);
		rb_begin(f, 1, IN_USE);
		rb_name(name, NS_WIN32, REF(64, 1));
		rb_stream(NULL, f * 10, 0);
		rb_stream("s", 7, 0);
		if ((rc = uffs_index_add_record(idx, &rb.v, &err)))
			return rc;
	}
	return uffs_index_finish(idx, &err);
}

static void test_mem_hook_holds_and_releases(void **state)
{
	(void)state;
	struct uffs_index idx;
	cnt = (struct counting){.fail_at = 1 << 30};
	assert_int_equal(build_through_hook(&idx, false), MFT_OK);
	assert_true(cnt.live > 0);
	assert_int_equal(idx.data_size[100], 1000);
	assert_true(link_is(&idx, find_link(&idx, 100, "f100"), "f100"));
	uffs_index_free(&idx);
	assert_int_equal(cnt.live, 0);
	assert_int_equal(cnt.bytes, 0);
}

/* Every allocation failing in turn: a clean error, and nothing held. */
static void test_mem_hook_failures(void **state)
{
	(void)state;
	int failures = 0;
	for (int at = 1; at < 200; at++) {
		struct uffs_index idx;
		cnt = (struct counting){.fail_at = at};
		int rc = build_through_hook(&idx, false);
		if (rc == MFT_OK) {
			uffs_index_free(&idx);
			break;
		}
		failures++;
		assert_int_equal(rc, MFT_E_NOMEM);
		uffs_index_free(&idx);
		assert_int_equal(cnt.live, 0);
		assert_int_equal(cnt.bytes, 0);
	}
	assert_true(failures > 5);
}

/* A names-only index: paths, stream rows and data flags as the full one;
 * the attribute, time and size columns not kept, and less memory. */
static void test_names_only(void **state)
{
	(void)state;
	struct uffs_index full, lean;
	struct uffs_tree tf, tl;
	struct mft_error err = {0};
	cnt = (struct counting){.fail_at = 1 << 30};
	assert_int_equal(build_through_hook(&full, false), MFT_OK);
	size_t full_bytes = cnt.bytes;
	cnt = (struct counting){.fail_at = 1 << 30};
	assert_int_equal(build_through_hook(&lean, true), MFT_OK);
	assert_true(cnt.bytes < full_bytes);
	assert_null(lean.times);
	assert_null(lean.fattrs);
	assert_null(lean.data_size);
	assert_null(lean.data_alloc);
	assert_null(lean.data_id);
	assert_null(lean.links.attr_id);
	assert_null(lean.links.value_len);
	assert_non_null(full.links.attr_id);
	assert_non_null(full.links.value_len);
	assert_int_equal(uffs_tree_build(&tf, &full, &err), MFT_OK);
	assert_int_equal(uffs_tree_build(&tl, &lean, &err), MFT_OK);
	assert_int_equal(lean.links.n, full.links.n);
	assert_int_equal(lean.streams.n, full.streams.n);
	for (uint64_t r = 0; r < 400; r++) {
		assert_int_equal(lean.rflags[r], full.rflags[r]);
		assert_int_equal(lean.link_first[r], full.link_first[r]);
	}
	for (uint64_t r = 64; r < 365; r++) {
		UFFS_FOR_EACH_LINK(&full, r, i)
		{
			char a[256];
			snprintf(a, sizeof a, "%s", path(&tf, i));
			assert_string_equal(a, path(&tl, i));
		}
		assert_int_equal(uffs_index_streams_begin(&lean, r),
				 uffs_index_streams_begin(&full, r));
	}
	assert_string_equal(path_of(&tl, 200, "f200"), "d/f200");
	uffs_tree_free(&tf);
	uffs_tree_free(&tl);
	uffs_index_free(&full);
	uffs_index_free(&lean);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_path),
		cmocka_unit_test(test_path_cache_matches),
		cmocka_unit_test(test_path_buffer_capacity),
		cmocka_unit_test(test_hard_links),
		cmocka_unit_test(test_duplicate_link_hidden),
		cmocka_unit_test(test_dos_twin),
		cmocka_unit_test(test_dos_twin_in_last_records),
		cmocka_unit_test(test_dos_twin_of_directory),
		cmocka_unit_test(test_extension_merges),
		cmocka_unit_test(test_extension_stale_seq),
		cmocka_unit_test(test_extension_alloc_state_mismatch),
		cmocka_unit_test(test_extension_before_base),
		cmocka_unit_test(test_extension_bad_base),
		cmocka_unit_test(test_record_outside_index),
		cmocka_unit_test(test_stream_flags),
		cmocka_unit_test(test_parent_seq_mismatch),
		cmocka_unit_test(test_parent_not_directory),
		cmocka_unit_test(test_self_parent_dir),
		cmocka_unit_test(test_cycle_of_two),
		cmocka_unit_test(test_deep_chain_ascending),
		cmocka_unit_test(test_deep_chain_descending),
		cmocka_unit_test(test_loop_tops),
		cmocka_unit_test(test_deleted),
		cmocka_unit_test(test_deleted_dir_seq_zero),
		cmocka_unit_test(test_in_use_file_under_deleted_dir),
		cmocka_unit_test(test_live_parent_needs_exact_seq),
		cmocka_unit_test(test_utf8_names),
		cmocka_unit_test(test_copy_records_gives_the_same_index),
		cmocka_unit_test(test_reserved_side_links),
		cmocka_unit_test(test_reserved_side_links_bounded),
		cmocka_unit_test(test_copy_mixed_with_parsed),
		cmocka_unit_test(test_copy_refuses),
		cmocka_unit_test(test_mem_hook_holds_and_releases),
		cmocka_unit_test(test_mem_hook_failures),
		cmocka_unit_test(test_names_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
