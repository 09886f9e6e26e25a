/* What `uffs info` says of a saved index (loaded as any source is, by
 * scan/load.c through scan/saved.c). The `index` command that writes one
 * is cli/index.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../scan/saved.h"
#include "cli.h"
#include "out.h"

/* ---- info ------------------------------------------------------------------- */

void cli_saved_info(const struct uffs_loaded *l)
{
	const struct uffs_saved *s = l->saved;
	uint64_t t = s->facts.indexed_at;
	int64_t y;
	unsigned mo, d;
	out_civil_from_days((int64_t)(t / 86400 % 1000000000), &y, &mo, &d);
	unsigned sec = (unsigned)(t % 86400);
	printf("saved index of:     %s\n", s->source_path);
	printf("indexed at:         %04" PRId64 "-%02u-%02uT%02u:%02u:%02uZ\n", y,
	       mo, d, sec / 3600, sec / 60 % 60, sec % 60);
	printf("scan warnings:      %" PRIu64 "\n", s->facts.warnings);
	printf("upcase table:       %s\n", s->facts.upcase ? "saved" : "none");
	if (s->facts.has_journal)
		printf("change journal:     ID 0x%016" PRIx64 ", next USN %" PRIu64 "\n",
		       s->facts.journal_id, s->facts.journal_next_usn);
	else
		printf("change journal:     none recorded (uffs index --update rescans)\n");
	if (l->src.file.volume_prefix[0])
		printf("paths as:           %s\\\n", l->src.file.volume_prefix);
}
