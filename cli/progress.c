/* The progress line. Scans shorter than SHOW_AFTER never flash one; longer
 * ones redraw it at most every REDRAW seconds, from the merging thread. */
#include <inttypes.h>
#include <stdio.h>

#include "../source/proc.h"
#include "progress.h"

#define SHOW_AFTER 0.5
#define REDRAW 0.1
#define ERASE_LINE "\r\033[K"

static void human_duration(double s, char *buf, size_t cap)
{
	if (s < 60)
		snprintf(buf, cap, "%.1f s", s);
	else if (s < 3600)
		snprintf(buf, cap, "%um%02us", (unsigned)(s / 60),
			 (unsigned)s % 60);
	else
		snprintf(buf, cap, "%uh%02um", (unsigned)(s / 3600),
			 (unsigned)(s / 60) % 60);
}

void cli_progress_format(const struct uffs_progress *p, const char *source,
			 char *buf, size_t cap)
{
	double secs = p->seconds > 1e-9 ? p->seconds : 1e-9;
	double rate = (double)p->records_done / secs;
	double mbs = (double)p->bytes_done / secs / 1e6;
	unsigned pct = p->records_total
			       ? (unsigned)(p->records_done * 100 / p->records_total)
			       : 100;
	char eta[32] = "?";
	if (p->records_done && p->records_total >= p->records_done)
		human_duration((double)(p->records_total - p->records_done) / rate,
			       eta, sizeof eta);
	snprintf(buf, cap,
		 "%s: %" PRIu64 "/%" PRIu64 " records (%u%%), %.0f records/s, %.1f MB/s, ETA %s",
		 source, p->records_done, p->records_total, pct, rate, mbs, eta);
}

void cli_progress_clear_locked(struct cli_common *c)
{
	if (c->progress_shown) {
		fputs(ERASE_LINE, stderr);
		c->progress_shown = false;
	}
}

void cli_progress_update(struct cli_progress *pr, const struct uffs_progress *p)
{
	if (!pr->enabled || p->finished || p->seconds < SHOW_AFTER ||
	    p->seconds - pr->last_shown < REDRAW)
		return;
	pr->last_shown = p->seconds;
	char line[512];
	cli_progress_format(p, pr->source, line, sizeof line);
	pthread_mutex_lock(&pr->c->lock);
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	pr->c->progress_shown = true;
	pthread_mutex_unlock(&pr->c->lock);
}

void cli_progress_start(struct cli_progress *p, struct cli_common *c,
			const char *source)
{
	*p = (struct cli_progress){c, source, 0, false};
	p->enabled = !c->quiet && uffs_stderr_is_terminal();
}

void cli_progress_end(struct cli_progress *p)
{
	if (!p->enabled)
		return;
	pthread_mutex_lock(&p->c->lock);
	cli_progress_clear_locked(p->c);
	pthread_mutex_unlock(&p->c->lock);
}
