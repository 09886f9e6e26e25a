/* The backends of a Windows build, best first. */
#include "../aio/uaio.h"

const struct uaio_backend_ops *const *uaio_backends(void)
{
	static const struct uaio_backend_ops *const list[] = {
		&uaio_backend_ioring, &uaio_backend_iocp, &uaio_backend_threads,
		&uaio_backend_sync,
		&uaio_backend_fault, NULL,
	};
	return list;
}
