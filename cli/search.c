/* uffs search PATTERN SOURCE...: the rows of uffs list whose name (or
 * path) matches, filtered, then sorted, limited or counted. The search
 * itself is mft/query.c, the same as the library's; this file turns
 * options into a query and its rows into output. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../mft/query.h"
#include "filter.h"
#include "rows.h"

struct searcher {
	struct uffs_query_opts q; /* sep and syntax set per source */
	bool count;
	bool sort;
	enum column sort_col;
	struct rows rows;
	int n_sources;
	bool failed; /* a source's pattern or memory failed: exit 1 */
	bool verbose;
};

/* The query's sort key for a column (the store column is one value per
 * source: record order stands). */
static enum uffs_query_key sort_key(enum column c)
{
	static const enum uffs_query_key key[COL_COUNT] = {
		[COL_PATH] = UFFS_KEY_PATH,
		[COL_NAME] = UFFS_KEY_NAME,
		[COL_STREAM] = UFFS_KEY_STREAM,
		[COL_FRS] = UFFS_KEY_FRS,
		[COL_SEQUENCE] = UFFS_KEY_SEQUENCE,
		[COL_PARENT] = UFFS_KEY_PARENT,
		[COL_TYPE] = UFFS_KEY_TYPE,
		[COL_DELETED] = UFFS_KEY_DELETED,
		[COL_SIZE] = UFFS_KEY_SIZE,
		[COL_ALLOCATED] = UFFS_KEY_ALLOCATED,
		[COL_CREATED] = UFFS_KEY_CREATED,
		[COL_MODIFIED] = UFFS_KEY_MODIFIED,
		[COL_MFT_CHANGED] = UFFS_KEY_MFT_CHANGED,
		[COL_ACCESSED] = UFFS_KEY_ACCESSED,
		[COL_ATTRIBUTES] = UFFS_KEY_ATTRIBUTES,
		[COL_LINKS] = UFFS_KEY_LINKS,
		[COL_STREAMS] = UFFS_KEY_STREAMS,
		[COL_REPARSE] = UFFS_KEY_REPARSE,
		[COL_STORE] = UFFS_KEY_NONE,
	};
	return key[c];
}

static double clock_seconds(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_count(struct searcher *s, const struct uffs_loaded *l,
			uint64_t n)
{
	struct out *o = &s->rows.o;
	if (s->n_sources != 1) {
		out_str(o, l->src.path);
		out_char(o, ':');
	}
	out_u64(o, n);
	out_char(o, '\n');
}

/* CPU time of this thread as well as wall time: on a busy machine the
 * first is the matcher's speed. */
static void print_stats(const struct searcher *s, const struct uffs_loaded *l,
			const struct uffs_query *q, double wall, double cpu)
{
	const char *folding = s->q.exact_case ? "exact case"
			      : s->q.syntax == UFFS_QUERY_REGEX ? "PCRE2 caseless"
			      : l->upcase ? "the source's $UpCase"
					  : "the built-in $UpCase";
	uint64_t tested = uffs_query_names_tested(q);
	fprintf(stderr,
		"uffs: %s: %" PRIu64 " names tested in %.3f ms (%.3f ms CPU: %.1f M names/s per core), %" PRIu64 " matches; case: %s\n",
		l->src.path, tested, wall * 1e3, cpu * 1e3,
		cpu > 0 ? (double)tested / cpu / 1e6 : 0.0,
		uffs_query_matches(q), folding);
}

static void search_source(const struct uffs_loaded *l, int nth, void *ctx)
{
	struct searcher *s = ctx;
	char msg[256];
	bool bad;
	(void)nth;
	rows_begin_source(&s->rows, l);
	struct uffs_query_opts qo = s->q;
	qo.sep = s->rows.cache.sep;
	struct uffs_query *q = uffs_query_new(&qo, &l->idx, &l->tree, l->upcase,
					      &bad, msg, sizeof msg);
	if (!q) {
		fprintf(stderr, "uffs search: %s: %s\n", s->q.pattern, msg);
		s->failed = true;
		return;
	}
	double t0 = clock_seconds(CLOCK_MONOTONIC);
	double c0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
	struct uffs_row rw;
	while (uffs_query_next(q, &rw))
		if (!s->count)
			rows_emit(&s->rows, &rw);
	double cpu = clock_seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
	double wall = clock_seconds(CLOCK_MONOTONIC) - t0;
	if (s->count)
		print_count(s, l, uffs_query_matches(q));
	if (uffs_query_failed(q)) {
		fputs("uffs search: out of memory\n", stderr);
		s->failed = true;
	}
	if (s->verbose) {
		out_flush(&s->rows.o);
		fflush(stdout);
		print_stats(s, l, q, wall, cpu);
	}
	uffs_query_free(q);
}

/* ---- the command line ---- */

static const char search_help[] =
	"usage: uffs search [OPTIONS] PATTERN SOURCE...\n"
	"\n"
	"Print the files of each SOURCE whose name matches PATTERN: the rows of\n"
	"uffs list, one per hard link. Case is ignored as NTFS ignores it, through\n"
	"the volume's own $UpCase table (a built-in one for a captured $MFT).\n"
	"\n"
	"PATTERN is a glob: * any characters but '/', ** any characters, ? one\n"
	"character, [a-z] [!a-z] one of a set, \\ quotes the next character.\n"
	"It matches the whole name, or with --path (or when it holds a '/') the\n"
	"whole path; a path pattern not starting with '/' matches at any depth.\n"
	"\n"
	"  -E, --regex          PATTERN is a regular expression (PCRE2), found\n"
	"                       anywhere in the name or path\n"
	"  -F, --contains       PATTERN is a plain substring\n"
	"  -C, --case           exact case\n"
	"  -P, --path           match the whole path, not the name\n"
	"      --type f|d       files or directories only\n"
	"  -e, --ext LIST       names ending in .EXT, one of a comma list\n"
	"      --size RANGE     size in bytes: 100, 10M..1G, >1G, <4K, 1M..\n"
	"                       (K M G T binary)\n"
	"      --modified RANGE\n"
	"      --created RANGE\n"
	"      --accessed RANGE $STANDARD_INFORMATION times, UTC: 2024-05-01,\n"
	"                       2024-05-01T12:00:00, today, yesterday, 7d, 24h,\n"
	"                       30m, 2w (that long ago until now); ranges A..B,\n"
	"                       >A (after), <A (before)\n"
	"  -a, --attr LIST      attributes all set (hidden, system, readonly,\n"
	"                       archive, sparse, compressed, encrypted, reparse,\n"
	"                       temporary, offline); !NAME: clear\n"
	"  -s, --streams        also named streams (path:stream): those of a\n"
	"                       matching file, and those whose name:stream matches\n"
	"  -d, --deleted        also deleted records whose names survive\n"
	"      --sort COL[:desc] sort each source's results by a column (stable);\n"
	"                       -COL sorts descending\n"
	"  -n, --limit N        at most N results per source\n"
	"      --count          print the number of matches of each source\n"
	"  -0, --null           end each text row with NUL (for xargs -0)\n"
	"  -f, --format FMT     text (default), csv, tsv, jsonl, or bodyfile\n"
	"  -c, --columns LIST   columns (text: a table, sizes as 1.5K, 20M):\n"
	ROWS_COLUMNS_HELP
	"                       (default " ROWS_DEFAULT_COLUMNS ")\n"
	CLI_COMMON_HELP
	"\n"
	"Several sources are read at once; results come in argument order.\n";

enum search_option {
	OPT_S_TYPE = 512,
	OPT_S_SIZE,
	OPT_S_MODIFIED,
	OPT_S_CREATED,
	OPT_S_ACCESSED,
	OPT_S_SORT,
	OPT_S_COUNT,
};

static int parse_sort(struct searcher *o, const char *arg)
{
	const char *name = arg;
	size_t n = strlen(arg);
	o->q.sort_desc = false;
	if (name[0] == '-') {
		o->q.sort_desc = true;
		name++;
		n--;
	}
	const char *colon = strchr(name, ':');
	if (colon) {
		if (!strcmp(colon, ":desc"))
			o->q.sort_desc = true;
		else if (strcmp(colon, ":asc"))
			return -1;
		n = (size_t)(colon - name);
	}
	for (int c = 0; c < COL_COUNT; c++)
		if (strlen(rows_column_names[c]) == n &&
		    !strncmp(rows_column_names[c], name, n)) {
			o->sort_col = (enum column)c;
			o->sort = true;
			return 0;
		}
	return -1;
}

static int bad_value(const char *opt, const char *arg)
{
	fprintf(stderr, "uffs search: invalid value '%s' for %s (see uffs search --help)\n",
		arg, opt);
	return -1;
}

static int search_option(struct searcher *s, struct rows *rows, int opt,
			 const char *arg, const char **columns)
{
	struct uffs_query_opts *o = &s->q;
	int64_t now = (int64_t)time(NULL);
	char *end;
	switch (opt) {
	case 'E':
		o->syntax = UFFS_QUERY_REGEX;
		return 0;
	case 'F':
		o->syntax = UFFS_QUERY_CONTAINS;
		return 0;
	case 'C':
		o->exact_case = true;
		return 0;
	case 'P':
		o->path = true;
		return 0;
	case OPT_S_TYPE:
		if (strcmp(arg, "f") && strcmp(arg, "d"))
			return bad_value("--type", arg);
		o->type = arg[0];
		return 0;
	case 'e':
		o->ext = arg;
		return 0;
	case OPT_S_SIZE:
		return filter_parse_size(arg, &o->size) ? bad_value("--size", arg) : 0;
	case OPT_S_MODIFIED:
		return filter_parse_time(arg, now, &o->modified)
			       ? bad_value("--modified", arg) : 0;
	case OPT_S_CREATED:
		return filter_parse_time(arg, now, &o->created)
			       ? bad_value("--created", arg) : 0;
	case OPT_S_ACCESSED:
		return filter_parse_time(arg, now, &o->accessed)
			       ? bad_value("--accessed", arg) : 0;
	case 'a':
		return filter_parse_attrs(arg, &o->attr_set, &o->attr_clear)
			       ? bad_value("--attr", arg) : 0;
	case 's':
		o->streams = true;
		return 0;
	case 'd':
		o->deleted = true;
		return 0;
	case OPT_S_SORT:
		return parse_sort(s, arg) ? bad_value("--sort", arg) : 0;
	case 'n':
		o->limit = strtoull(arg, &end, 10);
		return *end || !*arg || arg[0] == '-' ? bad_value("--limit", arg) : 0;
	case OPT_S_COUNT:
		s->count = true;
		return 0;
	case '0':
		rows->end = '\0';
		return 0;
	case 'f':
		return rows_parse_format(rows, arg);
	case 'c':
		*columns = arg;
		return 0;
	default:
		fputs("try 'uffs search --help'\n", stderr);
		return -1;
	}
}

static int search_run(struct searcher *s, char **sources, int n,
		      struct cli_common *common)
{
	char msg[256];
	/* A bad pattern is a usage error, found before any source is read
	 * (the query proper is made per source, folding through its
	 * $UpCase). */
	if (uffs_query_check(&s->q, msg, sizeof msg)) {
		if (s->q.syntax == UFFS_QUERY_REGEX)
			fprintf(stderr, "uffs search: %s: %s\n", s->q.pattern, msg);
		else
			fprintf(stderr, "uffs search: %s\n", msg);
		return UFFS_EXIT_USAGE;
	}
	s->n_sources = n;
	s->verbose = common->verbose;
	s->q.sort = s->sort ? sort_key(s->sort_col) : UFFS_KEY_NONE;
	/* --count counts every match, whatever the limit. */
	s->q.count_only = s->count;
	if (s->count) {
		s->q.limit = UINT64_MAX;
		s->q.sort = UFFS_KEY_NONE;
	}
	rows_header(&s->rows);
	int status = cli_for_each_source(sources, n, common, true,
					 search_source, s);
	if (s->failed && status != UFFS_EXIT_USAGE)
		status = UFFS_EXIT_ERROR;
	return status;
}

int cmd_search(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"regex", no_argument, 0, 'E'},
		{"contains", no_argument, 0, 'F'},
		{"case", no_argument, 0, 'C'},
		{"path", no_argument, 0, 'P'},
		{"type", required_argument, 0, OPT_S_TYPE},
		{"ext", required_argument, 0, 'e'},
		{"size", required_argument, 0, OPT_S_SIZE},
		{"modified", required_argument, 0, OPT_S_MODIFIED},
		{"created", required_argument, 0, OPT_S_CREATED},
		{"accessed", required_argument, 0, OPT_S_ACCESSED},
		{"attr", required_argument, 0, 'a'},
		{"streams", no_argument, 0, 's'},
		{"deleted", no_argument, 0, 'd'},
		{"sort", required_argument, 0, OPT_S_SORT},
		{"limit", required_argument, 0, 'n'},
		{"count", no_argument, 0, OPT_S_COUNT},
		{"null", no_argument, 0, '0'},
		{"format", required_argument, 0, 'f'},
		{"columns", required_argument, 0, 'c'},
		{"help", no_argument, 0, 'h'},
		CLI_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	struct cli_common common = CLI_COMMON_INIT;
	struct searcher s = {.rows.fmt = FMT_TEXT,
			     .q = {.syntax = UFFS_QUERY_GLOB, .limit = UINT64_MAX}};
	const char *columns = NULL;
	int opt;
	optind = 1;
	if (rows_init(&s.rows)) {
		fputs("uffs: out of memory\n", stderr);
		return UFFS_EXIT_ERROR;
	}
	int status = UFFS_EXIT_USAGE;
	while ((opt = getopt_long(argc, argv,
				  "EFCPe:a:sdn:0f:c:h" CLI_COMMON_SHORTOPTS,
				  longopts, NULL)) != -1) {
		int rc = cli_common_option(&common, opt, optarg);
		if (rc < 0)
			goto done;
		if (rc > 0)
			continue;
		if (opt == 'h') {
			fputs(search_help, stdout);
			status = UFFS_EXIT_OK;
			goto done;
		}
		if (search_option(&s, &s.rows, opt, optarg, &columns))
			goto done;
	}
	if (optind >= argc) {
		fputs("uffs search: no PATTERN given (try 'uffs search --help')\n", stderr);
		goto done;
	}
	s.q.pattern = argv[optind++];
	if (optind >= argc && !common.all) {
		fputs("uffs search: no SOURCE given (try 'uffs search --help')\n", stderr);
		goto done;
	}
	/* A '/' in a glob means a path. */
	if (s.q.syntax == UFFS_QUERY_GLOB && strchr(s.q.pattern, '/'))
		s.q.path = true;
	s.rows.text_columns = columns && s.rows.fmt == FMT_TEXT;
	if (rows_parse_columns(&s.rows, columns	    ? columns
					: common.vss_all ? ROWS_DEFAULT_COLUMNS_STORES
							 : ROWS_DEFAULT_COLUMNS))
		goto done;
	common.scan.skip_unused = !s.q.deleted;
	common.scan.keep_fn_times = s.rows.fmt == FMT_BODYFILE;
	common.want_upcase = !s.q.exact_case && s.q.syntax != UFFS_QUERY_REGEX;
	status = search_run(&s, argv + optind, argc - optind, &common);
done:
	if (rows_finish(&s.rows)) {
		perror("uffs: writing output");
		status = UFFS_EXIT_ERROR;
	}
	return status;
}
