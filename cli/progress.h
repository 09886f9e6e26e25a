/* The progress line: on stderr, only when it is a terminal, only for scans
 * that take long enough to need one. */
#ifndef UFFS_CLI_PROGRESS_H
#define UFFS_CLI_PROGRESS_H

#include "cli.h"

struct cli_progress {
	struct cli_common *c;
	const char *source;
	double last_shown; /* scan seconds at the last redraw */
	bool enabled;
};

/* Sets p up for one source's scan: whether a line may be shown. */
void cli_progress_start(struct cli_progress *p, struct cli_common *c,
			const char *source);
/* The scan's progress (from its merging thread): redraws the line when it
 * is due. */
void cli_progress_update(struct cli_progress *p, const struct uffs_progress *u);
/* Erases the line if one is shown (after the scan, whatever its end). */
void cli_progress_end(struct cli_progress *p);

/* The text of a progress line, without the terminal controls (for tests). */
void cli_progress_format(const struct uffs_progress *p, const char *source,
			 char *buf, size_t cap);

/* Erases a shown progress line before other stderr output; caller holds
 * c->lock. */
void cli_progress_clear_locked(struct cli_common *c);

#endif
