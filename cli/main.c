/* uffs: index NTFS volumes, images and captured $MFT files. */
#include <stdio.h>
#include <string.h>

#include "../source/container.h"
#include "../source/proc.h"
#include "cli.h"

#ifndef UFFS_VERSION
#define UFFS_VERSION "unknown"
#endif

static const char usage[] =
	"usage: uffs COMMAND [OPTIONS] SOURCE...\n"
	"\n"
	"Index the Master File Table of NTFS volumes, disk images and captured\n"
	"$MFT files, read-only.\n"
	"\n"
	"commands:\n"
	"  list   print every file, directory, hard link and named stream\n"
	"  search print the files whose name or path matches a pattern\n"
	"  info   print the volume facts (geometry, $MFT extents, record counts)\n"
	"  digest print a canonical hash of each source's index\n"
	"  du     directory tree sizes, largest first\n"
	"  bench  time every scan mode on a source\n"
	"  index  save a source's index to a file, itself a SOURCE for the rest\n"
	"  diff   what changed between two shadow copies, or two sources\n"
	"  usn    the records of a change journal (a volume's, or a captured $J)\n"
	"  watch  follow a live Windows volume's change journal as it is written\n"
	"\n"
	"  uffs COMMAND --help   options of one command\n"
	"  uffs --version        version\n"
	"\n"
	"A SOURCE is an NTFS volume image or block device, a disk image with an\n"
	"MBR or GPT partition table, either of them in an E01, VHD, VHDX, VMDK\n"
	"or qcow2 container, a captured $MFT file, or an index file saved by\n"
	"uffs index. --vss N reads a Volume Shadow Copy of the volume instead.\n"
	"Exit status: 0 ok, 1 error, 2 usage, 3 done with warnings (damaged\n"
	"records skipped). See uffs(1).\n";

int main(int argc, char **argv)
{
	uffs_console_init();
	uffs_utf8_args(&argc, &argv);
	if (argc < 2) {
		fputs(usage, stderr);
		return UFFS_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		char formats[128];
		uffs_container_formats(formats, sizeof formats);
		printf("uffs %s\ncontainers: %s\n", UFFS_VERSION,
		       formats[0] ? formats : "none");
		return UFFS_EXIT_OK;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return UFFS_EXIT_OK;
	}
	if (!strcmp(cmd, "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(cmd, "search"))
		return cmd_search(argc - 1, argv + 1);
	if (!strcmp(cmd, "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(cmd, "usn"))
		return cmd_usn(argc - 1, argv + 1);
	if (!strcmp(cmd, "watch"))
		return cmd_watch(argc - 1, argv + 1);
	if (!strcmp(cmd, "diff"))
		return cmd_diff(argc - 1, argv + 1);
	if (!strcmp(cmd, "digest"))
		return cmd_digest(argc - 1, argv + 1);
	if (!strcmp(cmd, "du"))
		return cmd_du(argc - 1, argv + 1);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(argc - 1, argv + 1);
	if (!strcmp(cmd, "index"))
		return cmd_index(argc - 1, argv + 1);
	fprintf(stderr, "uffs: unknown command '%s' (try 'uffs --help')\n", cmd);
	return UFFS_EXIT_USAGE;
}
