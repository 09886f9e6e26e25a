/* uffs du: directory tree sizes from the index, largest first. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/ntfs_format.h"
#include "../mft/usage.h"
#include "cli.h"
#include "out.h"

enum du_format { DU_TEXT, DU_CSV, DU_TSV, DU_JSONL };
enum du_sort { SORT_SIZE, SORT_ALLOCATED, SORT_FILES, SORT_DIRS, SORT_PATH };

#define PATH_CAP (256u * 1024)

struct du_row {
	uint32_t node;
	uint64_t key;     /* the sort column's value; 0 when sorting by path */
	size_t path;      /* offset into the paths buffer while collecting */
	const char *text; /* then the path itself */
};

struct du {
	enum du_format fmt;
	enum du_sort sort;
	unsigned depth;
	uint64_t top; /* 0: all */
	bool bytes;
	const char *want; /* the PATH argument, or NULL for the root */
	int status;
	/* filled per source */
	const struct uffs_loaded *l;
	struct uffs_usage u;
	struct uffs_path_cache cache;
	char root[24]; /* "/" or "C:\\", after "vssN:" with --vss all */
	char *scratch;
	char *paths;
	size_t paths_len, paths_cap;
	struct du_row *rows;
	size_t n_rows, rows_cap;
};

/* The path of a directory node below the root ("" for the root itself),
 * into du->scratch; its length, or SIZE_MAX when it has none. */
static size_t node_path(struct du *du, uint32_t node)
{
	const struct uffs_index *idx = &du->l->idx;
	if (node == MFT_FRS_ROOT) {
		du->scratch[0] = '\0';
		return 0;
	}
	if (node == du->u.n_nodes - 1) {
		strcpy(du->scratch, UFFS_ORPHAN_DIR);
		return sizeof UFFS_ORPHAN_DIR - 1;
	}
	uint32_t link;
	if (!uffs_index_primary_link(idx, node, &link))
		return SIZE_MAX;
	size_t n = uffs_link_path_cached(&du->l->tree, &du->cache, node, link,
					 du->scratch, PATH_CAP);
	return n ? n : SIZE_MAX;
}

static bool same_path(const char *a, size_t na, const char *b, size_t nb,
		      bool fold)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (fold) {
			x = (unsigned char)toupper(x);
			y = (unsigned char)toupper(y);
		}
		if (x != y)
			return false;
	}
	return true;
}

/* The node named by PATH: an exact match, else one that differs only in
 * ASCII case (NTFS names are case-insensitive). UFFS_USAGE_NO_NODE if
 * none. */
static uint32_t find_node(struct du *du, const char *want)
{
	char sep = du->cache.sep;
	/* Accept the root spelled any way: "", "/", "C:\". */
	size_t rl = strlen(du->root);
	if (!strncmp(want, du->root, rl))
		want += rl;
	while (*want == '/' || *want == sep)
		want++;
	size_t n = strlen(want);
	while (n && (want[n - 1] == '/' || want[n - 1] == sep))
		n--;
	if (n == 0)
		return MFT_FRS_ROOT;
	uint32_t folded = UFFS_USAGE_NO_NODE;
	for (uint64_t k = 0; k < du->u.n_order; k++) {
		uint32_t d = du->u.order[k];
		size_t len = node_path(du, d);
		if (len == SIZE_MAX)
			continue;
		if (same_path(du->scratch, len, want, n, false))
			return d;
		if (folded == UFFS_USAGE_NO_NODE &&
		    same_path(du->scratch, len, want, n, true))
			folded = d;
	}
	return folded;
}

static bool node_shown(const struct du *du, uint32_t d, uint32_t base)
{
	const struct uffs_usage *u = &du->u;
	if (d == base)
		return true;
	if (d == u->n_nodes - 1)
		return u->files[d] || u->dirs[d] || u->size[d];
	uint16_t f = du->l->idx.rflags[d];
	return (f & UFFS_REC_IN_USE) || u->files[d] || u->dirs[d];
}

static uint64_t sort_key(const struct du *du, uint32_t d)
{
	switch (du->sort) {
	case SORT_ALLOCATED:
		return du->u.alloc[d];
	case SORT_FILES:
		return du->u.files[d];
	case SORT_DIRS:
		return du->u.dirs[d];
	case SORT_PATH:
		return 0;
	default:
		return du->u.size[d];
	}
}

static bool add_row(struct du *du, uint32_t node, size_t len)
{
	if (du->n_rows == du->rows_cap) {
		size_t cap = du->rows_cap ? du->rows_cap * 2 : 256;
		struct du_row *r = realloc(du->rows, cap * sizeof *r);
		if (!r)
			return false;
		du->rows = r;
		du->rows_cap = cap;
	}
	if (du->paths_len + len + 1 > du->paths_cap) {
		size_t cap = du->paths_cap ? du->paths_cap : 1u << 16;
		while (cap < du->paths_len + len + 1)
			cap *= 2;
		char *p = realloc(du->paths, cap);
		if (!p)
			return false;
		du->paths = p;
		du->paths_cap = cap;
	}
	memcpy(du->paths + du->paths_len, du->scratch, len + 1);
	du->rows[du->n_rows++] = (struct du_row){node, sort_key(du, node),
						 du->paths_len, NULL};
	du->paths_len += len + 1;
	return true;
}

/* Rows for the directories below base down to du->depth levels. */
static bool collect(struct du *du, uint32_t base)
{
	const struct uffs_usage *u = &du->u;
	uint8_t *under = calloc((size_t)u->n_nodes, 1);
	if (!under)
		return false;
	under[base] = 1;
	bool ok = true;
	/* Parents come first in the order, so "under" flows down. */
	for (uint64_t k = 0; k < u->n_order && ok; k++) {
		uint32_t d = u->order[k];
		if (d != base && u->up[d] != d && under[u->up[d]])
			under[d] = 1;
		if (!under[d] || u->level[d] - u->level[base] > (int)du->depth ||
		    !node_shown(du, d, base))
			continue;
		size_t len = node_path(du, d);
		if (len != SIZE_MAX)
			ok = add_row(du, d, len);
	}
	free(under);
	return ok;
}

/* Largest first, then by path. */
static int compare_rows(const void *pa, const void *pb)
{
	const struct du_row *a = pa, *b = pb;
	if (a->key != b->key)
		return a->key < b->key ? 1 : -1;
	int c = strcmp(a->text, b->text);
	return c ? c : (a->node > b->node) - (a->node < b->node);
}

static void put_size_column(struct du *du, struct out *o, uint64_t v)
{
	char buf[32];
	if (du->bytes)
		snprintf(buf, sizeof buf, "%" PRIu64, v);
	else
		format_size_human(v, buf, sizeof buf);
	for (size_t n = strlen(buf); n < 11; n++)
		out_char(o, ' ');
	out_str(o, buf);
}

static void put_count_column(struct out *o, uint64_t v, size_t width)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%" PRIu64, v);
	for (size_t n = strlen(buf); n < width; n++)
		out_char(o, ' ');
	out_str(o, buf);
}

static void put_path(struct du *du, struct out *o, const struct du_row *r,
		     enum out_escape esc)
{
	out_str(o, du->root);
	out_name(o, r->text, strlen(r->text), esc);
}

static void emit_text(struct du *du, struct out *o, const struct du_row *r)
{
	const struct uffs_usage *u = &du->u;
	put_size_column(du, o, u->size[r->node]);
	out_char(o, ' ');
	put_size_column(du, o, u->alloc[r->node]);
	out_char(o, ' ');
	put_count_column(o, u->files[r->node], 10);
	out_char(o, ' ');
	put_count_column(o, u->dirs[r->node], 8);
	out_str(o, "  ");
	put_path(du, o, r, ESC_DISPLAY);
	out_char(o, '\n');
}

static void emit_delimited(struct du *du, struct out *o,
			   const struct du_row *r, char sep, unsigned rel)
{
	const struct uffs_usage *u = &du->u;
	if (sep == ',') {
		out_char(o, '"');
		put_path(du, o, r, ESC_CSV);
		out_char(o, '"');
	} else {
		put_path(du, o, r, ESC_TSV);
	}
	const uint64_t v[4] = {u->size[r->node], u->alloc[r->node],
			       u->files[r->node], u->dirs[r->node]};
	for (int i = 0; i < 4; i++) {
		out_char(o, sep);
		out_u64(o, v[i]);
	}
	out_char(o, sep);
	out_u64(o, rel);
	out_char(o, '\n');
}

static void emit_jsonl(struct du *du, struct out *o, const struct du_row *r,
		       unsigned rel)
{
	const struct uffs_usage *u = &du->u;
	out_str(o, "{\"path\":\"");
	put_path(du, o, r, ESC_JSON);
	out_str(o, "\",\"size\":");
	out_u64(o, u->size[r->node]);
	out_str(o, ",\"allocated\":");
	out_u64(o, u->alloc[r->node]);
	out_str(o, ",\"files\":");
	out_u64(o, u->files[r->node]);
	out_str(o, ",\"dirs\":");
	out_u64(o, u->dirs[r->node]);
	out_str(o, ",\"depth\":");
	out_u64(o, rel);
	out_str(o, "}\n");
}

static void emit_rows(struct du *du, struct out *o, unsigned base_level)
{
	uint64_t n = du->n_rows;
	if (du->top && du->top < n)
		n = du->top;
	for (uint64_t i = 0; i < n; i++) {
		const struct du_row *r = &du->rows[i];
		unsigned rel = du->u.level[r->node] - base_level;
		switch (du->fmt) {
		case DU_TEXT:
			emit_text(du, o, r);
			break;
		case DU_CSV:
			emit_delimited(du, o, r, ',', rel);
			break;
		case DU_TSV:
			emit_delimited(du, o, r, '\t', rel);
			break;
		case DU_JSONL:
			emit_jsonl(du, o, r, rel);
			break;
		}
	}
}

static void emit_header(const struct du *du, struct out *o)
{
	if (du->fmt == DU_TEXT)
		out_str(o, "       size   allocated      files     dirs  path\n");
	else if (du->fmt == DU_CSV)
		out_str(o, "path,size,allocated,files,dirs,depth\n");
	else if (du->fmt == DU_TSV)
		out_str(o, "path\tsize\tallocated\tfiles\tdirs\tdepth\n");
}

static void du_source(const struct uffs_loaded *l, int nth, void *ctx)
{
	struct du *du = ctx;
	struct mft_error err = {0};
	(void)nth;
	du->l = l;
	du->n_rows = du->paths_len = 0;
	const char *drive = l->src.file.volume_prefix;
	char tag[16];
	cli_store_tag(l, tag, sizeof tag); /* --vss all: whose tree this is */
	du->cache.sep = cli_path_separator(l);
	snprintf(du->root, sizeof du->root, "%s%s%c", tag, drive, du->cache.sep);
	uffs_path_cache_reset(&du->cache);
	if (uffs_usage_build(&du->u, &l->tree, &err)) {
		cli_error(l->src.path, &err, NULL);
		du->status = UFFS_EXIT_ERROR;
		return;
	}
	uint32_t base = du->want ? find_node(du, du->want) : MFT_FRS_ROOT;
	if (base == UFFS_USAGE_NO_NODE || base >= du->u.n_nodes ||
	    du->u.up[base] == UFFS_USAGE_NO_NODE) {
		fprintf(stderr, "uffs du: %s: no directory '%s'\n", l->src.path,
			du->want ? du->want : "/");
		du->status = UFFS_EXIT_ERROR;
	} else if (!collect(du, base)) {
		fputs("uffs: out of memory\n", stderr);
		du->status = UFFS_EXIT_ERROR;
	} else {
		for (size_t i = 0; i < du->n_rows; i++)
			du->rows[i].text = du->paths + du->rows[i].path;
		qsort(du->rows, du->n_rows, sizeof *du->rows, compare_rows);
		struct out o;
		if (out_init(&o, stdout)) {
			fputs("uffs: out of memory\n", stderr);
			du->status = UFFS_EXIT_ERROR;
		} else {
			emit_header(du, &o);
			emit_rows(du, &o, du->u.level[base]);
			if (out_finish(&o)) {
				perror("uffs: writing output");
				du->status = UFFS_EXIT_ERROR;
			}
		}
	}
	uffs_usage_free(&du->u);
}

static bool parse_count(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return false;
	*v = x;
	return true;
}

static int parse_choice(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static const char du_help[] =
	"usage: uffs du [OPTIONS] SOURCE [PATH]\n"
	"\n"
	"Directory tree sizes from the index, largest first: for PATH (default\n"
	"the root) and the directories below it, the logical size and the\n"
	"allocated size of everything inside, the files and the directories.\n"
	"A file with several hard links counts once, under its first name;\n"
	"named streams count with their file; records not in use do not count.\n"
	"\n"
	"  -d, --depth N        directories down to N levels below PATH (default 1)\n"
	"  -n, --top N          only the N first rows\n"
	"  -s, --sort COLUMN    size (default), allocated, files, dirs or path\n"
	"  -b, --bytes          exact byte counts in text output\n"
	"  -f, --format FMT     text (default, human-readable sizes), csv, tsv or\n"
	"                       jsonl (exact bytes; columns path, size, allocated,\n"
	"                       files, dirs, depth)\n"
	CLI_COMMON_HELP;

enum { OPT_DU_BYTES = 1000 };

int cmd_du(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"depth", required_argument, 0, 'd'},
		{"top", required_argument, 0, 'n'},
		{"sort", required_argument, 0, 's'},
		{"bytes", no_argument, 0, OPT_DU_BYTES},
		{"format", required_argument, 0, 'f'},
		{"help", no_argument, 0, 'h'},
		CLI_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	static const char *const sorts[] = {"size", "allocated", "files",
					    "dirs", "path"};
	static const char *const formats[] = {"text", "csv", "tsv", "jsonl"};
	struct cli_common common = CLI_COMMON_INIT;
	struct du du = {.depth = 1};
	uint64_t v;
	int opt, k;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "d:n:s:f:h" CLI_COMMON_SHORTOPTS,
				  longopts, NULL)) != -1) {
		int rc = cli_common_option(&common, opt, optarg);
		if (rc < 0)
			return UFFS_EXIT_USAGE;
		if (rc > 0)
			continue;
		switch (opt) {
		case 'd':
			if (!parse_count(optarg, &v) || v > UFFS_PATH_DEPTH_MAX + 2)
				goto bad;
			du.depth = (unsigned)v;
			break;
		case 'n':
			if (!parse_count(optarg, &du.top) || du.top == 0)
				goto bad;
			break;
		case 's':
			if ((k = parse_choice(optarg, sorts, 5)) < 0)
				goto bad;
			du.sort = (enum du_sort)k;
			break;
		case 'f':
			if ((k = parse_choice(optarg, formats, 4)) < 0)
				goto bad;
			du.fmt = (enum du_format)k;
			break;
		case OPT_DU_BYTES:
			du.bytes = true;
			break;
		case 'h':
			fputs(du_help, stdout);
			return UFFS_EXIT_OK;
		default:
			fputs("try 'uffs du --help'\n", stderr);
			return UFFS_EXIT_USAGE;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		fputs("uffs du: give one SOURCE and at most one PATH (try 'uffs du --help')\n",
		      stderr);
		return UFFS_EXIT_USAGE;
	}
	if (argc - optind == 2)
		du.want = argv[optind + 1];
	common.scan.skip_unused = true;
	du.scratch = malloc(PATH_CAP);
	if (!du.scratch || uffs_path_cache_init(&du.cache, '/')) {
		fputs("uffs: out of memory\n", stderr);
		free(du.scratch);
		return UFFS_EXIT_ERROR;
	}
	int status = cli_for_each_source(argv + optind, 1, &common, true,
					 du_source, &du);
	free(du.scratch);
	free(du.paths);
	free(du.rows);
	uffs_path_cache_free(&du.cache);
	return du.status ? du.status : status;
bad:
	fprintf(stderr, "uffs du: invalid value '%s' for -%c\n", optarg, opt);
	return UFFS_EXIT_USAGE;
}
