/* Positioned reads on POSIX: retried on EINTR, one call per request (a
 * short count at end of file is returned as is). */
#include <errno.h>
#include <unistd.h>

#include "pread.h"

unsigned uaio_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

int64_t uaio_pread(const struct uaio_op *op)
{
	for (;;) {
		ssize_t n = pread((int)op->handle, op->buf, op->len,
				  (off_t)op->offset);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return uaio_from_errno(errno);
	}
}
