/* The command's messages about a source, shared by every module that opens
 * one (cli/load.c, cli/saved.c), so that neither needs the other. */
#include <stdio.h>

#include "cli.h"

void cli_error(const char *source, const struct mft_error *e,
	       const struct uffs_volume *vol)
{
	char text[512];
	uffs_error_text(e, vol, true, text, sizeof text);
	fprintf(stderr, "uffs: %s: %s\n", source, text);
}
