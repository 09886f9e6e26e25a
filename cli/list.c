/* uffs list: one row per (link, stream), in record order. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/ntfs_format.h"
#include "../source/proc.h"
#include "rows.h"

static void emit_each(void *ctx, const struct uffs_row *rw)
{
	rows_emit(ctx, rw);
}

struct list_ctx {
	struct rows rows;
	bool deleted;
	unsigned threads;
};

static void list_records(struct rows *p, uint64_t first, uint64_t end,
			 void *ctx)
{
	const struct list_ctx *lc = ctx;
	const struct uffs_index *idx = &p->l->idx;
	for (uint64_t r = first; r < end; r++) {
		uint16_t f = idx->rflags[r];
		if (!(f & UFFS_REC_PRESENT) || r == MFT_FRS_ROOT)
			continue;
		if (!(f & UFFS_REC_IN_USE) && !lc->deleted)
			continue;
		/* A deleted record with attributes but no name is still a
		 * file that was: listed as /$OrphanFiles/OrphanFile-N. */
		if (!(f & UFFS_REC_IN_USE) && (f & UFFS_REC_USED) &&
		    !uffs_row_has_visible_link(idx, r)) {
			struct uffs_row rw = {r, 0, UFFS_STREAM_NONE, UFFS_ROW_UNNAMED, false};
			uffs_row_for_streams(idx, &rw, UFFS_ROWS_EVERY_STREAM, emit_each, p);
			continue;
		}
		/* Most files have no stream rows: one row a name, written
		 * without going through every stream. */
		bool sole_row = !(f & UFFS_REC_STREAMS);
		UFFS_FOR_EACH_LINK(idx, r, i)
		{
			if (idx->links.flags[i] & UFFS_LINK_HIDDEN ||
			    !rows_link_path(p, r, i))
				continue;
			if (sole_row) {
				rows_emit_sole_row(p, r, i);
				continue;
			}
			struct uffs_row rw = {r, i, UFFS_STREAM_NONE, UFFS_ROW_NAME, true};
			uffs_row_for_streams(idx, &rw, UFFS_ROWS_EVERY_STREAM, emit_each, p);
		}
	}
}

static void list_source(const struct uffs_loaded *l, int nth, void *ctx)
{
	struct list_ctx *lc = ctx;
	(void)nth;
	rows_begin_source(&lc->rows, l);
	struct uffs_row orphans = {l->idx.n_records, 0, UFFS_STREAM_NONE, UFFS_ROW_ORPHAN_DIR,
			      false};
	rows_emit(&lc->rows, &orphans);
	/* Formatting is most of a listing's time once the scan is done. */
	rows_parallel(&lc->rows, l->idx.n_records, lc->threads, list_records,
		      lc);
}

static const char list_help[] =
	"usage: uffs list [OPTIONS] SOURCE...\n"
	"\n"
	"Print every file and directory of each SOURCE: one full path per line,\n"
	"one line per hard link, named streams as path:stream. Files whose parent\n"
	"directory is gone are listed under /$OrphanFiles.\n"
	"\n"
	"  -f, --format FMT     text (default), csv, tsv, jsonl, or bodyfile\n"
	"                       (The Sleuth Kit / mactime body file, as fls -m /)\n"
	"  -c, --columns LIST   columns for csv, tsv and jsonl, comma-separated\n"
	"                       (in text: a table, sizes as 1.5K, 20M, 3.1G):\n"
	ROWS_COLUMNS_HELP
	"                       (default " ROWS_DEFAULT_COLUMNS ")\n"
	"  -d, --deleted        also list deleted records whose names survive\n"
	CLI_COMMON_HELP
	"\n"
	"Times are UTC, ISO-8601 with 100 ns precision (csv, tsv, jsonl).\n";

int cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, 0, 'f'},
		{"columns", required_argument, 0, 'c'},
		{"deleted", no_argument, 0, 'd'},
		{"help", no_argument, 0, 'h'},
		CLI_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	struct cli_common common = CLI_COMMON_INIT;
	struct list_ctx lc = {.rows.fmt = FMT_TEXT};
	const char *columns = NULL;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:c:dh" CLI_COMMON_SHORTOPTS,
				  longopts, NULL)) != -1) {
		int rc = cli_common_option(&common, opt, optarg);
		if (rc < 0)
			return UFFS_EXIT_USAGE;
		if (rc > 0)
			continue;
		switch (opt) {
		case 'f':
			if (rows_parse_format(&lc.rows, optarg))
				return UFFS_EXIT_USAGE;
			break;
		case 'c':
			columns = optarg;
			break;
		case 'd':
			lc.deleted = true;
			break;
		case 'h':
			fputs(list_help, stdout);
			return UFFS_EXIT_OK;
		default:
			fputs("try 'uffs list --help'\n", stderr);
			return UFFS_EXIT_USAGE;
		}
	}
	if (optind >= argc && !common.all) {
		fputs("uffs list: no SOURCE given (try 'uffs list --help')\n", stderr);
		return UFFS_EXIT_USAGE;
	}
	/* Text is paths only, unless columns are asked for. */
	lc.rows.text_columns = columns && lc.rows.fmt == FMT_TEXT;
	if (rows_parse_columns(&lc.rows, columns	    ? columns
					 : common.vss_all ? ROWS_DEFAULT_COLUMNS_STORES
							  : ROWS_DEFAULT_COLUMNS))
		return UFFS_EXIT_USAGE;
	/* Without --deleted, records the volume marks unused are not needed:
	 * long runs of them are not read at all. Only the body file shows
	 * the $FILE_NAME times. */
	common.scan.skip_unused = !lc.deleted;
	common.scan.keep_fn_times = lc.rows.fmt == FMT_BODYFILE;
	/* Paths alone need no times, attributes or sizes: not keeping them
	 * saves a third of the index's memory, and its first touches. */
	common.scan.names_only = lc.rows.fmt == FMT_TEXT && !columns;
	lc.threads = common.scan.threads ? common.scan.threads
					 : uffs_cpu_count();
	if (rows_init(&lc.rows)) {
		fputs("uffs: out of memory\n", stderr);
		return UFFS_EXIT_ERROR;
	}
	rows_header(&lc.rows);
	int status = cli_for_each_source(argv + optind, argc - optind, &common,
					 true, list_source, &lc);
	if (rows_finish(&lc.rows)) {
		perror("uffs: writing output");
		status = UFFS_EXIT_ERROR;
	}
	return status;
}
