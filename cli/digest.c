/* uffs digest: the canonical hash of each source's index. */
#include <getopt.h>
#include <stdio.h>

#include "../mft/digest.h"
#include "cli.h"

static const char digest_help[] =
	"usage: uffs digest [OPTIONS] SOURCE...\n"
	"\n"
	"Print a canonical XXH3-128 hash of each SOURCE's whole index (every\n"
	"record, name, stream, size and time), then the source name. Every scan\n"
	"mode, backend, thread count and depth gives the same digest: it is how\n"
	"the tests prove they build the same index. Every record is read.\n"
	"\n" CLI_COMMON_HELP;

static void digest_source(const struct uffs_loaded *l, int nth, void *ctx)
{
	(void)nth;
	(void)ctx;
	char hex[33], tag[16];
	uffs_digest_hex(uffs_index_digest(&l->idx), hex);
	cli_store_tag(l, tag, sizeof tag); /* --vss all: which state */
	printf("%s  %s%s\n", hex, tag, l->src.path);
}

int cmd_digest(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, 0, 'h'},
		CLI_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	struct cli_common common = CLI_COMMON_INIT;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h" CLI_COMMON_SHORTOPTS, longopts,
				  NULL)) != -1) {
		int rc = cli_common_option(&common, opt, optarg);
		if (rc < 0)
			return UFFS_EXIT_USAGE;
		if (rc > 0)
			continue;
		if (opt == 'h') {
			fputs(digest_help, stdout);
			return UFFS_EXIT_OK;
		}
		fputs("try 'uffs digest --help'\n", stderr);
		return UFFS_EXIT_USAGE;
	}
	if (optind >= argc && !common.all) {
		fputs("uffs digest: no SOURCE given (try 'uffs digest --help')\n",
		      stderr);
		return UFFS_EXIT_USAGE;
	}
	return cli_for_each_source(argv + optind, argc - optind, &common, true,
				   digest_source, NULL);
}
