/* Parsing the range and attribute filters of uffs search. */
#include "filter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FT_PER_SEC 10000000ull
#define FT_UNIX_EPOCH 116444736000000000ull
#define SECS_PER_DAY 86400

/* The two ends a single value stands for: a size is a point, a date a
 * whole day. */
struct span {
	uint64_t first, last;
};

typedef int (*value_parser)(const char *s, size_t n, int64_t now,
			    struct span *out);

static int parse_size_value(const char *s, size_t n, int64_t now,
			    struct span *out)
{
	(void)now;
	char buf[64];
	if (n == 0 || n >= sizeof buf || s[0] == '-' || s[0] == '+')
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	errno = 0;
	double v = strtod(buf, &end);
	if (errno || end == buf || v < 0)
		return -1;
	static const char units[] = "KMGTP";
	/* Only a letter may be a unit (strchr also finds the NUL). */
	char unit = (char)(*end & ~0x20);
	const char *u = unit >= 'A' && unit <= 'Z' ? strchr(units, unit) : NULL;
	if (u) {
		for (const char *k = units; k <= u; k++)
			v *= 1024;
		end++;
		if (!strcmp(end, "iB"))
			end += 2;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v >= 18446744073709551615.0)
		return -1;
	out->first = out->last = (uint64_t)(v + 0.5);
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static uint64_t unix_to_ft(int64_t t)
{
	int64_t min = -(int64_t)(FT_UNIX_EPOCH / FT_PER_SEC);
	if (t < min)
		return 0;
	return (uint64_t)(t - min) * FT_PER_SEC;
}

static bool digits(const char *s, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return n > 0;
}

static int parse_date(const char *s, size_t n, struct span *out)
{
	unsigned y, mo, d, h = 0, mi = 0, se = 0;
	if (n < 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) ||
	    !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) || mo < 1 ||
	    mo > 12 || d < 1 || d > 31 || y < 1601)
		return -1;
	int64_t day = days_from_civil(y, mo, d);
	int64_t t = day * SECS_PER_DAY;
	int64_t len = SECS_PER_DAY;
	if (n > 10) {
		if ((s[10] != 'T' && s[10] != ' ') || n < 16 || s[13] != ':' ||
		    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
		    h > 23 || mi > 59)
			return -1;
		len = 60;
		if (n > 16) {
			size_t tail = n - (n > 19 && s[n - 1] == 'Z');
			if (tail != 19 || s[16] != ':' ||
			    !digits(s + 17, 2, &se) || se > 60)
				return -1;
			len = 1;
		} else if (n == 17 && s[16] != 'Z') {
			return -1;
		}
		t += h * 3600 + mi * 60 + se;
	}
	out->first = unix_to_ft(t);
	out->last = unix_to_ft(t + len) - 1;
	return 0;
}

static int parse_time_value(const char *s, size_t n, int64_t now,
			    struct span *out)
{
	int64_t today = now - ((now % SECS_PER_DAY) + SECS_PER_DAY) % SECS_PER_DAY;
	if (n == 5 && !memcmp(s, "today", 5)) {
		out->first = unix_to_ft(today);
		out->last = unix_to_ft(today + SECS_PER_DAY) - 1;
		return 0;
	}
	if (n == 9 && !memcmp(s, "yesterday", 9)) {
		out->first = unix_to_ft(today - SECS_PER_DAY);
		out->last = unix_to_ft(today) - 1;
		return 0;
	}
	unsigned v;
	static const struct {
		char unit;
		int64_t secs;
	} rel[] = {{'w', 7 * SECS_PER_DAY}, {'d', SECS_PER_DAY}, {'h', 3600},
		   {'m', 60}, {'s', 1}};
	if (n >= 2 && n < 9 && digits(s, n - 1, &v))
		for (size_t i = 0; i < sizeof rel / sizeof *rel; i++)
			if (s[n - 1] == rel[i].unit) {
				/* A moment: "7d" alone reaches from then to
				 * now (and later). */
				out->first = unix_to_ft(now - (int64_t)v * rel[i].secs);
				out->last = UINT64_MAX;
				return 0;
			}
	return parse_date(s, n, out);
}

static int parse_range(const char *s, int64_t now, value_parser parse,
		       struct uffs_range *r)
{
	struct span a, b;
	const char *dots = strstr(s, "..");
	size_t n = strlen(s);
	r->on = true;
	r->lo = 0;
	r->hi = UINT64_MAX;
	if (s[0] == '>' || s[0] == '<') {
		bool eq = s[1] == '=';
		if (parse(s + 1 + eq, n - 1 - eq, now, &a))
			return -1;
		/* A relative moment ("7d"): newer or older than it. */
		bool moment = a.last == UINT64_MAX;
		if (s[0] == '>') {
			r->lo = eq || moment ? a.first : a.last + 1;
		} else {
			if (a.first == 0 && !(eq && !moment))
				return -1;
			r->hi = eq && !moment ? a.last : a.first - 1;
		}
		return 0;
	}
	if (!dots) {
		if (parse(s, n, now, &a))
			return -1;
		r->lo = a.first;
		r->hi = a.last;
		return 0;
	}
	size_t left = (size_t)(dots - s), right = n - left - 2;
	if (!left && !right)
		return -1;
	if (left && parse(s, left, now, &a))
		return -1;
	if (right && parse(dots + 2, right, now, &b))
		return -1;
	if (left)
		r->lo = a.first;
	/* A relative moment ends where it starts. */
	if (right)
		r->hi = b.last == UINT64_MAX ? b.first : b.last;
	return r->lo <= r->hi ? 0 : -1;
}

int filter_parse_size(const char *s, struct uffs_range *r)
{
	return parse_range(s, 0, parse_size_value, r);
}

int filter_parse_time(const char *s, int64_t now_unix, struct uffs_range *r)
{
	return parse_range(s, now_unix, parse_time_value, r);
}

int filter_parse_attrs(const char *s, uint32_t *set, uint32_t *clear)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} attrs[] = {{"readonly", 0x1},    {"hidden", 0x2},
		     {"system", 0x4},      {"archive", 0x20},
		     {"temporary", 0x100}, {"sparse", 0x200},
		     {"reparse", 0x400},   {"compressed", 0x800},
		     {"offline", 0x1000},  {"encrypted", 0x4000}};
	*set = *clear = 0;
	while (*s) {
		bool neg = *s == '!' || *s == '-';
		s += neg;
		size_t n = strcspn(s, ",");
		size_t i = 0;
		for (; i < sizeof attrs / sizeof *attrs; i++)
			if (strlen(attrs[i].name) == n &&
			    !memcmp(s, attrs[i].name, n))
				break;
		if (i == sizeof attrs / sizeof *attrs)
			return -1;
		*(neg ? clear : set) |= attrs[i].bit;
		s += n;
		s += *s == ',';
	}
	return 0;
}
