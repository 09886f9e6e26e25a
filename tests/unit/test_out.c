/* Output escaping (cli/out.c): hostile names cannot forge lines or fields,
 * and every lossless format decodes back to the exact name bytes (WTF-8,
 * lone surrogates included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../cli/out.h"

static const char *const names[] = {
	"plain.txt",
	"new\nline",
	"tab\there",
	"carriage\rreturn",
	"comma,and\"quote\"",
	"back\\slash\\u0041",
	"ctl\x01\x1f\x7f",
	"lone \xed\xa0\x80 high",
	"lone \xed\xbf\xbf low",
	"emoji \xf0\x9f\x98\x80 caf\xc3\xa9",
	"",
};

static size_t render(const char *name, enum out_escape esc, char *buf,
		     size_t cap)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	struct out o;
	assert_int_equal(out_init(&o, f), 0);
	out_name(&o, name, strlen(name), esc);
	assert_int_equal(out_finish(&o), 0);
	rewind(f);
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

/* Both size styles for people, at unit edges and at the top of the range
 * (the expected texts are worked out by hand: v / 1024^unit, one decimal,
 * rounded to nearest). */
static void test_sizes_for_people(void **state)
{
	(void)state;
	static const struct {
		uint64_t v;
		const char *du, *table;
	} cases[] = {
		{0, "0 B", "0"},
		{1023, "1023 B", "1023"},
		{1024, "1.0 KiB", "1.0K"},
		{1536, "1.5 KiB", "1.5K"},
		{10188, "9.9 KiB", "9.9K"},
		{10189, "10.0 KiB", "10K"},
		{136192, "133.0 KiB", "133K"},
		{1048575, "1024.0 KiB", "1024K"},
		{1048576, "1.0 MiB", "1.0M"},
		{1181116006ull, "1.1 GiB", "1.1G"},
		{(uint64_t)1 << 63, "8.0 EiB", "8.0E"},
		{UINT64_MAX, "16.0 EiB", "16E"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char buf[64];
		format_size_human(cases[i].v, buf, sizeof buf);
		assert_string_equal(buf, cases[i].du);
		FILE *f = tmpfile();
		assert_non_null(f);
		struct out o;
		assert_int_equal(out_init(&o, f), 0);
		out_size_human(&o, cases[i].v);
		assert_int_equal(out_finish(&o), 0);
		rewind(f);
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		buf[n] = '\0';
		fclose(f);
		assert_string_equal(buf, cases[i].table);
	}
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* \uXXXX as WTF-8 (the escapes only ever carry one unit). */
static size_t put_unit(char *out, unsigned u)
{
	if (u < 0x80) {
		out[0] = (char)u;
		return 1;
	}
	if (u < 0x800) {
		out[0] = (char)(0xC0 | u >> 6);
		out[1] = (char)(0x80 | (u & 0x3F));
		return 2;
	}
	out[0] = (char)(0xE0 | u >> 12);
	out[1] = (char)(0x80 | ((u >> 6) & 0x3F));
	out[2] = (char)(0x80 | (u & 0x3F));
	return 3;
}

/* Decodes JSON string escapes, TSV escapes or CSV doubling. */
static size_t decode(const char *in, enum out_escape esc, char *out)
{
	size_t n = 0;
	for (size_t i = 0; in[i]; i++) {
		char c = in[i];
		if (esc == ESC_CSV && (c == '"' || c == '\\') && in[i + 1] == c) {
			out[n++] = c;
			i++;
		} else if (c == '\\' && in[i + 1] == 'u') {
			n += put_unit(out + n, hex4(in + i + 2));
			i += 5;
		} else if (c == '\\' && esc != ESC_CSV) {
			char e = in[++i];
			out[n++] = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
		} else {
			out[n++] = c;
		}
	}
	out[n] = '\0';
	return n;
}

static void check_lossless(enum out_escape esc, const char *forbidden)
{
	for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
		char enc[512], dec[512];
		render(names[k], esc, enc, sizeof enc);
		for (const char *f = forbidden; *f; f++)
			if (strchr(enc, *f))
				fail_msg("name %zu: raw 0x%02x in \"%s\"", k,
					 (unsigned char)*f, enc);
		decode(enc, esc, dec);
		assert_string_equal(dec, names[k]);
	}
}

static void test_jsonl_round_trip(void **state)
{
	(void)state;
	check_lossless(ESC_JSON, "\n\r\t\x01\x1f\x7f");
}

static void test_tsv_round_trip(void **state)
{
	(void)state;
	check_lossless(ESC_TSV, "\n\r\t");
}

static void test_csv_round_trip(void **state)
{
	(void)state;
	/* CSV quotes the field: newlines may stay inside it (RFC 4180). */
	check_lossless(ESC_CSV, "");
}

/* Text and body file are for reading: no control character and no lone
 * surrogate byte reaches the output, so no line can be forged. */
static void test_display_cannot_forge_lines(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
		char enc[512];
		size_t n = render(names[k], ESC_DISPLAY, enc, sizeof enc);
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)enc[i];
			assert_true(c >= 0x20 && c != 0x7f);
			assert_false(c == 0xED && i + 1 < n &&
				     (unsigned char)enc[i + 1] >= 0xA0);
		}
	}
}

/* The fast paths check names in blocks of 32 and 8 bytes: a special byte
 * at any position of a long name, in any style, is still escaped, and the
 * encoding still decodes to the name. */
static void test_special_byte_at_every_position(void **state)
{
	(void)state;
	static const char specials[] = "\n\t\r\x01\x1f\x7f\"\\";
	for (const char *sp = specials; *sp; sp++)
		for (size_t pos = 0; pos < 100; pos++) {
			char name[101], enc[512], dec[512];
			memset(name, 'a', 100);
			name[100] = '\0';
			name[pos] = *sp;
			enum out_escape styles[] = {ESC_JSON, ESC_TSV, ESC_CSV};
			for (size_t k = 0; k < 3; k++) {
				render(name, styles[k], enc, sizeof enc);
				decode(enc, styles[k], dec);
				assert_string_equal(dec, name);
			}
			render(name, ESC_JSON, enc, sizeof enc);
			if (strlen(enc) == 100)
				fail_msg("0x%02x at %zu left unescaped in JSON",
					 (unsigned char)*sp, pos);
			size_t n = render(name, ESC_DISPLAY, enc, sizeof enc);
			assert_int_equal(n, 100);
			if ((unsigned char)*sp < 0x20 || *sp == 0x7f)
				assert_int_equal(enc[pos], '^');
			else
				assert_int_equal(enc[pos], *sp);
		}
	/* A lone surrogate (three bytes) at every position. */
	for (size_t pos = 0; pos + 3 <= 100; pos++) {
		char name[101], enc[512];
		memset(name, 'a', 100);
		name[100] = '\0';
		memcpy(name + pos, "\xed\xa0\x80", 3);
		size_t n = render(name, ESC_DISPLAY, enc, sizeof enc);
		assert_int_equal(n, 98);
		assert_int_equal(enc[pos], '^');
	}
}

/* out_is_plain_in, JSON (the strictest style, so plain in every style):
 * false for a string with a byte any style escapes, at any position and
 * whatever the length (blocks, words and bytes); true for one with none,
 * and then every style writes it as it is. */
static void test_is_plain(void **state)
{
	(void)state;
	static const char specials[] = "\n\t\r\x01\x1f\x7f\"\\\xed";
	char s[80], enc[512];
	for (size_t len = 0; len < sizeof s; len++) {
		memset(s, 'x', len);
		s[len] = '\0';
		assert_true(out_is_plain_in(s, len, ESC_JSON));
		enum out_escape styles[] = {ESC_DISPLAY, ESC_JSON, ESC_TSV, ESC_CSV};
		for (size_t k = 0; k < 4; k++) {
			assert_int_equal(render(s, styles[k], enc, sizeof enc), len);
			assert_memory_equal(enc, s, len);
		}
		for (const char *sp = specials; *sp; sp++)
			for (size_t pos = 0; pos < len; pos++) {
				s[pos] = *sp;
				if (out_is_plain_in(s, len, ESC_JSON))
					fail_msg("0x%02x at %zu of %zu called plain",
						 (unsigned char)*sp, pos, len);
				s[pos] = 'x';
			}
	}
	assert_true(out_is_plain_in("C:/Users/Public/caf\xc3\xa9 \xe6\x97\xa5.txt", 25,
				    ESC_JSON));
}

/* out_is_plain_in: the display style writes quote and backslash as they
 * are (a Windows path stays plain there), the others escape them; a
 * control byte, DEL or a surrogate's lead byte is escaped by every style,
 * at any length. */
static void test_is_plain_in_style(void **state)
{
	(void)state;
	char s[40];
	for (size_t len = 1; len < sizeof s; len++)
		for (size_t pos = 0; pos < len; pos++) {
			memset(s, 'x', len);
			s[pos] = '\\';
			assert_true(out_is_plain_in(s, len, ESC_DISPLAY));
			assert_false(out_is_plain_in(s, len, ESC_CSV));
			s[pos] = '"';
			assert_true(out_is_plain_in(s, len, ESC_DISPLAY));
			assert_false(out_is_plain_in(s, len, ESC_JSON));
			s[pos] = '\x01';
			assert_false(out_is_plain_in(s, len, ESC_DISPLAY));
			s[pos] = '\x7f';
			assert_false(out_is_plain_in(s, len, ESC_DISPLAY));
			s[pos] = '\xed';
			assert_false(out_is_plain_in(s, len, ESC_DISPLAY));
		}
	assert_true(out_is_plain_in("C:\\Users\\Public", 15, ESC_DISPLAY));
	assert_false(out_is_plain_in("C:\\Users\\Public", 15, ESC_TSV));
}

/* The display style (text, body file) shows a control byte as '^' at any
 * position and whatever the length: the blocks of 16, their overlapping
 * tail, words and bytes all find it; quote and backslash stay as they are. */
static void test_display_every_length(void **state)
{
	(void)state;
	static const char specials[] = "\n\x01\x1f\x7f\"\\";
	char s[80], enc[512];
	for (size_t len = 1; len < sizeof s; len++)
		for (const char *sp = specials; *sp; sp++)
			for (size_t pos = 0; pos < len; pos++) {
				memset(s, 'x', len);
				s[len] = '\0';
				s[pos] = *sp;
				assert_int_equal(render(s, ESC_DISPLAY, enc, sizeof enc), len);
				bool control = (unsigned char)*sp < 0x20 || *sp == 0x7f;
				if (enc[pos] != (control ? '^' : *sp))
					fail_msg("0x%02x at %zu of %zu shown as 0x%02x",
						 (unsigned char)*sp, pos, len,
						 (unsigned char)enc[pos]);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonl_round_trip),
		cmocka_unit_test(test_tsv_round_trip),
		cmocka_unit_test(test_csv_round_trip),
		cmocka_unit_test(test_display_cannot_forge_lines),
		cmocka_unit_test(test_sizes_for_people),
		cmocka_unit_test(test_special_byte_at_every_position),
		cmocka_unit_test(test_is_plain),
		cmocka_unit_test(test_display_every_length),
		cmocka_unit_test(test_is_plain_in_style),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
