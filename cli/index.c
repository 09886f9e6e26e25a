/* uffs index: saving an index to a file (loading one is cli/saved.c). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../scan/save.h"
#include "../source/map.h"
#include "cli.h"

/* ---- uffs index ------------------------------------------------------------- */

static const char index_help[] =
	"usage: uffs index [OPTIONS] SOURCE -o FILE\n"
	"Scan SOURCE (every record, deleted ones included) and save its index,\n"
	"with the volume facts, to FILE: a checksummed file that every command\n"
	"takes as a SOURCE, mapped in place without a scan. FILE is written\n"
	"under a temporary name and renamed, so it is never left half written.\n"
	"\n"
	"       uffs index [OPTIONS] --update FILE SOURCE [-o OUT]\n"
	"\n"
	"With --update, bring FILE (an index of SOURCE's volume) up to date\n"
	"from the volume's change journal ($Extend/$UsnJrnl): only the MFT\n"
	"records the journal names since the index was made (and the system\n"
	"records) are read again; the rest is copied. When the journal cannot\n"
	"say what changed (none when the index was made, recreated since, or\n"
	"trimmed past the index's position), SOURCE is scanned instead, and the\n"
	"message says why. The result is written to OUT, else over FILE.\n"
	"\n"
	"  -o, --output FILE    the index file to write (replaced if it exists)\n"
	"      --update FILE    update this index instead of making a new one\n"
	"      --offset BYTES   the NTFS volume starts at this byte offset\n"
	"                       (the -o of other commands)\n";

/* The common options' help, without its "-o, --offset" line: -o is the
 * output here. */
static void print_help(void)
{
	fputs(index_help, stdout);
	const char *common = CLI_COMMON_HELP;
	while (*common) {
		size_t n = strcspn(common, "\n") + 1;
		if (strncmp(common, "  -o, --offset", 14) != 0)
			fwrite(common, 1, n, stdout);
		common += n;
	}
}

static int save(const struct uffs_loaded *l, const struct cli_common *c,
		const char *out_path)
{
	char why[600];
	if (uffs_save_index(l, &l->idx, c->warnings, NULL, out_path, why,
			    sizeof why) == MFT_OK)
		return UFFS_EXIT_OK;
	fprintf(stderr, "uffs: %s\n", why);
	return UFFS_EXIT_ERROR;
}

struct update_teller {
	const char *source;
	struct cli_common *c;
};

static void tell_update_warning(void *ctx, const char *text)
{
	struct update_teller *t = ctx;
	t->c->warnings++;
	if (!t->c->quiet)
		fprintf(stderr, "uffs: warning: %s: %s\n", t->source, text);
}

/* uffs index --update: the engine's (scan/save.c), told the command's way. */
static int update(const char *idx_path, const char *src_path,
		  struct cli_common *c, const char *out_path)
{
	struct update_teller t = {src_path, c};
	const struct uffs_load_opts o = {
		.src = c->src,
		.scan = c->scan,
		.index = true,
		.upcase = c->want_upcase,
		.warning = tell_update_warning,
		.ctx = &t,
	};
	struct uffs_update_result res;
	char why[600];
	int rc = uffs_update_file(idx_path, src_path, out_path, &o, &res, why,
				  sizeof why);
	if (rc) {
		fprintf(stderr, "uffs: %s: %s\n", rc == MFT_E_USAGE ? idx_path : src_path,
			why);
		return rc == MFT_E_USAGE && !strstr(why, "another volume")
			       ? UFFS_EXIT_USAGE
			       : UFFS_EXIT_ERROR;
	}
	if (c->quiet)
		return c->warnings ? UFFS_EXIT_WARNINGS : UFFS_EXIT_OK;
	if (res.rescan_why[0])
		fprintf(stderr, "uffs: %s: rescanned: %s\n", idx_path,
			res.rescan_why);
	else
		fprintf(stderr,
			"uffs: %s: updated from the change journal: %" PRIu64
			" records since USN %" PRIu64 ", %" PRIu64
			" MFT records read again\n",
			idx_path, res.records, res.from_usn, res.reread);
	return c->warnings ? UFFS_EXIT_WARNINGS : UFFS_EXIT_OK;
}

enum { OPT_INDEX_OFFSET = 512, OPT_UPDATE };

int cmd_index(int argc, char **argv)
{
	/* "offset" comes before the common entries, so that getopt takes
	 * this one: -o is the output here. */
	static const struct option longopts[] = {
		{"output", required_argument, 0, 'O'},
		{"offset", required_argument, 0, OPT_INDEX_OFFSET},
		{"update", required_argument, 0, OPT_UPDATE},
		{"help", no_argument, 0, 'h'},
		CLI_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	struct cli_common common = CLI_COMMON_INIT;
	const char *out_path = NULL, *update_path = NULL;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "O:h" CLI_COMMON_SHORTOPTS,
				  longopts, NULL)) != -1) {
		if (opt == 'o' || opt == 'O') {
			out_path = optarg;
			continue;
		}
		if (opt == OPT_UPDATE) {
			update_path = optarg;
			continue;
		}
		if (opt == OPT_INDEX_OFFSET)
			opt = 'o';
		int rc = cli_common_option(&common, opt, optarg);
		if (rc < 0)
			return UFFS_EXIT_USAGE;
		if (rc > 0)
			continue;
		if (opt == 'h') {
			print_help();
			return UFFS_EXIT_OK;
		}
		fputs("try 'uffs index --help'\n", stderr);
		return UFFS_EXIT_USAGE;
	}
	if (update_path && !out_path)
		out_path = update_path;
	if (common.all || optind + 1 != argc || !out_path || !out_path[0]) {
		fputs("uffs index: one SOURCE and -o FILE needed (try 'uffs index --help')\n",
		      stderr);
		return UFFS_EXIT_USAGE;
	}
	const char *src_path = argv[optind];
	if (!uffs_outfile_replaceable(out_path)) {
		fprintf(stderr, "uffs: %s: not a regular file (the index is written under a temporary name, then renamed over it)\n",
			out_path);
		return UFFS_EXIT_USAGE;
	}
	if (uffs_same_file(src_path, out_path)) {
		fprintf(stderr, "uffs: %s: is the SOURCE itself; not writing over it\n",
			out_path);
		return UFFS_EXIT_USAGE;
	}
	/* Everything goes in: deleted records (list --deleted) and the
	 * $FILE_NAME times (the body file). */
	common.scan.skip_unused = false;
	common.scan.keep_fn_times = true;
	/* And the volume's $UpCase, so that search folds case as it would
	 * on the volume. */
	common.want_upcase = true;
	int rc;
	if (update_path) {
		rc = update(update_path, src_path, &common, out_path);
	} else {
		struct uffs_loaded l;
		rc = cli_load(&l, src_path, &common, true);
		if (rc)
			return rc;
		rc = save(&l, &common, out_path);
		cli_unload(&l);
	}
	if (rc == UFFS_EXIT_OK && common.warnings)
		rc = UFFS_EXIT_WARNINGS;
	return rc;
}
