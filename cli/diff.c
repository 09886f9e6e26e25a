/* uffs diff: what changed between two states of a volume (two shadow-copy
 * stores, a store and the volume, or any two sources), path by path. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/ntfs_format.h"
#include "rows.h"

/* One listed path of one state. */
struct entry {
	size_t path; /* offset into the side's text, then a pointer */
	const char *text;
	uint64_t size;
	uint64_t modified; /* FILETIME */
	bool dir;
};

struct side {
	struct entry *e;
	size_t n, cap;
	char *text;
	size_t len, text_cap;
	bool failed;
};

static bool grow(void **p, size_t *cap, size_t need, size_t unit)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap : 1024;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * unit);
	if (!q)
		return false;
	*p = q;
	*cap = c;
	return true;
}

static void add(struct side *s, const char *a, size_t alen, const char *b,
		size_t blen, const struct entry *facts)
{
	size_t need = s->len + alen + (blen ? 1 + blen : 0) + 1;
	if (!grow((void **)&s->text, &s->text_cap, need, 1) ||
	    !grow((void **)&s->e, &s->cap, s->n + 1, sizeof *s->e)) {
		s->failed = true;
		return;
	}
	struct entry *e = &s->e[s->n++];
	*e = *facts;
	e->path = s->len;
	memcpy(s->text + s->len, a, alen);
	s->len += alen;
	if (blen) {
		s->text[s->len++] = ':';
		memcpy(s->text + s->len, b, blen);
		s->len += blen;
	}
	s->text[s->len++] = '\0';
}

struct collect {
	struct rows *p;
	struct side *side;
};

static void add_row(void *ctx, const struct uffs_row *rw)
{
	struct collect *c = ctx;
	const struct uffs_index *idx = &c->p->l->idx;
	struct entry facts = {0};
	uint64_t alloc;
	uffs_row_sizes(idx, rw, &facts.size, &alloc);
	facts.modified = idx->times ? idx->times[4 * rw->frs + 1] : 0;
	facts.dir = (idx->rflags[rw->frs] & UFFS_REC_DIR) &&
		    !uffs_row_has_stream_suffix(idx, rw->stream);
	size_t len;
	const char *path = rows_path_text(c->p, &len);
	if (uffs_row_has_stream_suffix(idx, rw->stream))
		add(c->side, path, len,
		    idx->pool + idx->streams.name[rw->stream],
		    idx->streams.name_len[rw->stream], &facts);
	else
		add(c->side, path, len, NULL, 0, &facts);
}

/* Every name in use, and its named data streams, as uffs list shows
 * them (without /$OrphanFiles itself). */
static void collect(const struct uffs_loaded *l, struct side *s)
{
	struct rows p = {.l = l, .path_frs = UINT64_MAX,
			 .plain_dir_frs = UINT64_MAX};
	p.path = malloc(ROWS_PATH_CAP);
	if (!p.path || uffs_path_cache_init(&p.cache, '/')) {
		free(p.path);
		s->failed = true;
		return;
	}
	struct collect c = {&p, s};
	const struct uffs_index *idx = &l->idx;
	for (uint64_t r = 0; r < idx->n_records && !s->failed; r++) {
		uint16_t f = idx->rflags[r];
		if (!(f & UFFS_REC_PRESENT) || !(f & UFFS_REC_IN_USE) ||
		    r == MFT_FRS_ROOT)
			continue;
		UFFS_FOR_EACH_LINK(idx, r, i)
		{
			if (idx->links.flags[i] & UFFS_LINK_HIDDEN ||
			    !rows_link_path(&p, r, i))
				continue;
			struct uffs_row rw = {r, i, UFFS_STREAM_NONE, UFFS_ROW_NAME, true};
			uffs_row_for_streams(idx, &rw, UFFS_ROWS_MAIN_NAMED, add_row, &c);
		}
	}
	free(p.path);
	uffs_path_cache_free(&p.cache);
	for (size_t i = 0; i < s->n; i++)
		s->e[i].text = s->text + s->e[i].path;
}

static int by_path(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return strcmp(x->text, y->text);
}

enum change { ADDED, REMOVED, RESIZED, MODIFIED };

static const char *const change_names[] = {"added", "removed", "resized",
					   "modified"};
static const char change_marks[] = {'+', '-', '~', 'M'};

struct report {
	struct out o;
	enum rows_format fmt;
	bool count_only;
	size_t counts[4];
};

static void put_time(struct out *o, uint64_t ft)
{
	out_filetime_iso(o, ft);
}

static void report_text(struct report *r, enum change k, const struct entry *a,
			const struct entry *b)
{
	const struct entry *e = b ? b : a;
	out_char(&r->o, change_marks[k]);
	out_str(&r->o, " /");
	out_name(&r->o, e->text, strlen(e->text), ESC_DISPLAY);
	if (k == RESIZED) {
		out_str(&r->o, "  (");
		out_u64(&r->o, a->size);
		out_str(&r->o, " -> ");
		out_u64(&r->o, b->size);
		out_char(&r->o, ')');
	} else if (k == MODIFIED) {
		out_str(&r->o, "  (modified ");
		put_time(&r->o, a->modified);
		out_str(&r->o, " -> ");
		put_time(&r->o, b->modified);
		out_char(&r->o, ')');
	}
	out_char(&r->o, '\n');
}

static void report_jsonl(struct report *r, enum change k,
			 const struct entry *a, const struct entry *b)
{
	const struct entry *e = b ? b : a;
	out_str(&r->o, "{\"change\":\"");
	out_str(&r->o, change_names[k]);
	out_str(&r->o, "\",\"path\":\"/");
	out_name(&r->o, e->text, strlen(e->text), ESC_JSON);
	out_str(&r->o, "\",\"type\":\"");
	out_str(&r->o, e->dir ? "dir" : "file");
	out_char(&r->o, '"');
	if (a) {
		out_str(&r->o, ",\"size_before\":");
		out_u64(&r->o, a->size);
		out_str(&r->o, ",\"modified_before\":\"");
		put_time(&r->o, a->modified);
		out_char(&r->o, '"');
	}
	if (b) {
		out_str(&r->o, ",\"size_after\":");
		out_u64(&r->o, b->size);
		out_str(&r->o, ",\"modified_after\":\"");
		put_time(&r->o, b->modified);
		out_char(&r->o, '"');
	}
	out_str(&r->o, "}\n");
}

static void report_tsv(struct report *r, enum change k, const struct entry *a,
		       const struct entry *b)
{
	const struct entry *e = b ? b : a;
	out_str(&r->o, change_names[k]);
	out_str(&r->o, "\t/");
	out_name(&r->o, e->text, strlen(e->text), ESC_TSV);
	out_char(&r->o, '\t');
	out_str(&r->o, e->dir ? "dir" : "file");
	const struct entry *both[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		out_char(&r->o, '\t');
		if (both[i])
			out_u64(&r->o, both[i]->size);
		out_char(&r->o, '\t');
		if (both[i])
			put_time(&r->o, both[i]->modified);
	}
	out_char(&r->o, '\n');
}

static void report(struct report *r, enum change k, const struct entry *a,
		   const struct entry *b)
{
	r->counts[k]++;
	if (r->count_only)
		return;
	if (r->fmt == FMT_JSONL)
		report_jsonl(r, k, a, b);
	else if (r->fmt == FMT_TSV)
		report_tsv(r, k, a, b);
	else
		report_text(r, k, a, b);
}

/* Both sides sorted by path: one merge. A directory's size and time
 * change with its contents, so directories are only added or removed. */
static void compare(struct report *r, const struct side *a,
		    const struct side *b)
{
	size_t i = 0, j = 0;
	while (i < a->n || j < b->n) {
		int c = i == a->n   ? 1
			: j == b->n ? -1
				    : strcmp(a->e[i].text, b->e[j].text);
		if (c < 0) {
			report(r, REMOVED, &a->e[i++], NULL);
		} else if (c > 0) {
			report(r, ADDED, NULL, &b->e[j++]);
		} else {
			const struct entry *x = &a->e[i++], *y = &b->e[j++];
			if (x->dir || y->dir)
				continue;
			if (x->size != y->size)
				report(r, RESIZED, x, y);
			else if (x->modified != y->modified)
				report(r, MODIFIED, x, y);
		}
	}
}

static const char diff_help[] =
	"usage: uffs diff [OPTIONS] SOURCE [NEW-SOURCE]\n"
	"\n"
	"What changed between two states of a volume, path by path: files and\n"
	"directories added (+) or removed (-), files resized (~, old -> new size)\n"
	"or modified (M, the same size but a new modified time); named streams\n"
	"as path:stream. With one SOURCE, the states are two of its shadow-copy\n"
	"stores, or a store and the volume itself (see uffs info); with two,\n"
	"SOURCE is the old state and NEW-SOURCE the new one (images, devices,\n"
	"saved indexes).\n"
	"\n"
	"      --from N|current the old state: store N, or the volume itself\n"
	"                       (default: store 1, the oldest, with one SOURCE;\n"
	"                       SOURCE itself with two)\n"
	"      --to N|current   the new state (default: the volume itself)\n"
	"  -f, --format FMT     text (default), tsv, or jsonl\n"
	"      --summary        only the counts of each kind of change\n"
	CLI_COMMON_HELP
	"\n"
	"Exit status: 0, or 1 when a source cannot be read (3 after warnings).\n";

enum { OPT_FROM = 1000, OPT_TO, OPT_SUMMARY };

static bool parse_state(const char *s, int *store)
{
	if (!strcmp(s, "current")) {
		*store = 0;
		return true;
	}
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end || v < 1 || v > 4096)
		return false;
	*store = (int)v;
	return true;
}

static int load_side(const char *path, int store, struct cli_common *c,
		     struct side *s)
{
	struct uffs_loaded *l = calloc(1, sizeof *l);
	if (!l) {
		fputs("uffs: out of memory\n", stderr);
		return UFFS_EXIT_ERROR;
	}
	c->src.vss_store = store;
	int rc = cli_load(l, path, c, true);
	if (rc == 0) {
		collect(l, s);
		cli_unload(l);
		if (s->failed) {
			fputs("uffs: out of memory\n", stderr);
			rc = UFFS_EXIT_ERROR;
		}
		qsort(s->e, s->n, sizeof *s->e, by_path);
	}
	free(l);
	return rc;
}

static void free_side(struct side *s)
{
	free(s->e);
	free(s->text);
}

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"from", required_argument, 0, OPT_FROM},
		{"to", required_argument, 0, OPT_TO},
		{"format", required_argument, 0, 'f'},
		{"summary", no_argument, 0, OPT_SUMMARY},
		{"help", no_argument, 0, 'h'},
		CLI_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	struct cli_common common = CLI_COMMON_INIT;
	int from = -1, to = 0;
	bool summary = false;
	struct rows fmt = {.fmt = FMT_TEXT};
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:h" CLI_COMMON_SHORTOPTS,
				  longopts, NULL)) != -1) {
		int rc = cli_common_option(&common, opt, optarg);
		if (rc < 0)
			return UFFS_EXIT_USAGE;
		if (rc > 0)
			continue;
		switch (opt) {
		case OPT_FROM:
		case OPT_TO:
			if (!parse_state(optarg, opt == OPT_FROM ? &from : &to)) {
				fprintf(stderr, "uffs: invalid value '%s' for --%s (a store number from 1, or current)\n",
					optarg, opt == OPT_FROM ? "from" : "to");
				return UFFS_EXIT_USAGE;
			}
			break;
		case 'f':
			if (rows_parse_format(&fmt, optarg) ||
			    (fmt.fmt != FMT_TEXT && fmt.fmt != FMT_TSV &&
			     fmt.fmt != FMT_JSONL)) {
				fputs("uffs diff: formats are text, tsv and jsonl\n",
				      stderr);
				return UFFS_EXIT_USAGE;
			}
			break;
		case OPT_SUMMARY:
			summary = true;
			break;
		case 'h':
			fputs(diff_help, stdout);
			return UFFS_EXIT_OK;
		default:
			fputs("try 'uffs diff --help'\n", stderr);
			return UFFS_EXIT_USAGE;
		}
	}
	int n = argc - optind;
	if (n < 1 || n > 2 || common.all || common.vss_all || common.src.vss_store) {
		fputs("uffs diff: give SOURCE (and NEW-SOURCE); states with --from and --to (try 'uffs diff --help')\n",
		      stderr);
		return UFFS_EXIT_USAGE;
	}
	if (from < 0)
		from = n == 1 ? 1 : 0;
	const char *old_path = argv[optind];
	const char *new_path = argv[optind + n - 1];
	struct side a = {0}, b = {0};
	int rc = load_side(old_path, from, &common, &a);
	if (rc == 0)
		rc = load_side(new_path, to, &common, &b);
	struct report r = {.fmt = fmt.fmt, .count_only = summary};
	if (rc == 0 && out_init(&r.o, stdout) == 0) {
		compare(&r, &a, &b);
		if (summary) {
			out_finish(&r.o);
			printf("added %zu, removed %zu, resized %zu, modified %zu\n",
			       r.counts[ADDED], r.counts[REMOVED],
			       r.counts[RESIZED], r.counts[MODIFIED]);
		} else if (out_finish(&r.o)) {
			perror("uffs: writing output");
			rc = UFFS_EXIT_ERROR;
		}
	}
	free_side(&a);
	free_side(&b);
	if (rc == 0 && common.warnings)
		rc = UFFS_EXIT_WARNINGS;
	return rc;
}
