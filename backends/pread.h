/* One positioned read for the portable backends: bytes read, short at end
 * of file, or a UAIO_E_* code. Implemented per platform (pread_posix.c). */
#ifndef UFFS_BACKENDS_PREAD_H
#define UFFS_BACKENDS_PREAD_H

#include <stdint.h>

#include "../aio/uaio.h"

int64_t uaio_pread(const struct uaio_op *op);

/* One op, through the configured reader if there is one. */
static inline int64_t uaio_read_op(const struct uaio_config *cfg,
				   const struct uaio_op *op)
{
	if (cfg->reader)
		return cfg->reader->read(cfg->reader->ctx, op->buf, op->len,
					 op->offset);
	return uaio_pread(op);
}

/* Processors online (at least 1), for sizing thread pools. */
unsigned uaio_cpu_count(void);

/* A Windows error code as a UAIO_E_* code (Windows builds only). */
int uaio_from_win32(unsigned long err);

#endif
