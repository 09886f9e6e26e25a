/* Buffered output and the value formatters shared by every format. */
#ifndef UFFS_OUT_H
#define UFFS_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Writes to a stream through a buffer, or (f NULL) collects everything
 * in memory, for formatting rows on several threads. */
struct out {
	FILE *f;
	char *buf;
	size_t len, cap;
	bool failed;
};

int out_init(struct out *o, FILE *f);
/* An empty in-memory out; out_reset empties it and keeps its buffer. */
void out_init_memory(struct out *o);
static inline void out_reset(struct out *o)
{
	o->len = 0;
}
/* Flushes; returns 0, or -1 if any write failed. */
int out_finish(struct out *o);
void out_flush(struct out *o);
/* The slow path of out_bytes: the buffer is full. */
void out_spill(struct out *o, const char *s, size_t n);

static inline void out_bytes(struct out *o, const char *s, size_t n)
{
	if (o->len + n > o->cap) {
		out_spill(o, s, n);
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static inline void out_char(struct out *o, char c)
{
	if (o->len == o->cap) {
		out_spill(o, &c, 1);
		return;
	}
	o->buf[o->len++] = c;
}

/* Like out_bytes, but a large block is written straight from s (after
 * what the buffer holds) instead of being copied into the buffer first. */
void out_pass(struct out *o, const char *s, size_t n);

void out_str(struct out *o, const char *s);
void out_u64(struct out *o, uint64_t v);
void out_i64(struct out *o, int64_t v);
void out_hex32(struct out *o, uint32_t v);

/* FILETIME (100 ns since 1601) as ISO-8601 UTC with 7 fractional digits. */
void out_filetime_iso(struct out *o, uint64_t ft);
/* FILETIME as whole Unix seconds, 0 before 1970 (The Sleuth Kit's rule). */
int64_t filetime_to_unix(uint64_t ft);

/* Civil date (year, month 1-12, day 1-31) from days since 1970-01-01,
 * proleptic Gregorian. */
void out_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Sizes for people, in binary units. format_size_human: "512 B",
 * "1.5 KiB", "133.0 KiB" (uffs du). out_size_human: "512", "1.5K", "133K"
 * (text tables of list and search: a decimal only below 10). */
void format_size_human(uint64_t v, char *buf, size_t cap);
void out_size_human(struct out *o, uint64_t v);

/* Name text in WTF-8, escaped for one output style. */
enum out_escape {
	ESC_DISPLAY, /* control chars and lone surrogates -> '^' (as fls) */
	ESC_JSON,    /* JSON string body, lossless (\uXXXX) */
	ESC_CSV,     /* caller quotes; '"' and '\\' doubled, lone surrogates
		      * \uXXXX: reversible */
	ESC_TSV,     /* tab, newline, backslash, lone surrogates escaped */
};
void out_name(struct out *o, const char *s, size_t n, enum out_escape esc);
/* Whether out_name would write s as it is in style esc. Every style but
 * the display one escapes the same bytes, so "plain in JSON" is "plain in
 * every style". */
bool out_is_plain_in(const char *s, size_t n, enum out_escape esc);

#endif
