/* What the library's files share; not exported (lib/uffs.map). */
#ifndef UFFS_LIB_INTERNAL_H
#define UFFS_LIB_INTERNAL_H

#include "../include/uffs.h"
#include "../scan/load.h"

/* The options' warning callback, with the options as ctx. */
void uffs_lib_on_warning(void *ctx, const char *text);
/* "source: text" into err; returns status. */
int uffs_lib_fail(char *err, size_t cap, int status, const char *source,
		  const char *text);
/* The engine's and the source layer's options from the library's; -1 for
 * an unknown mode or backend or a value out of range. */
int uffs_lib_options(const struct uffs_db_options *o, struct uffs_scan_opts *s,
		     struct uffs_source_opts *so);

#endif
