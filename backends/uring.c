/* uring: io_uring through liburing. Reads go straight to the kernel's
 * submission ring; completions are reaped in batches. When the caller
 * registers its buffer pool, reads into it use the fixed-buffer opcode; the
 * first file read is registered too (a fixed file saves the kernel a file
 * table lookup per read), others are read by descriptor. */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "../aio/uaio.h"

struct uring_impl {
	struct io_uring ring;
	uint8_t *fixed; /* registered region, or NULL */
	size_t fixed_len;
	intptr_t fixed_fd; /* the registered file (index 0), or -1 */
	bool fd_tried;
};

static int uring_probe(char *why, size_t why_len)
{
	struct io_uring ring;
	int rc = io_uring_queue_init(2, &ring, 0);
	if (rc < 0) {
		const char *hint = rc == -EPERM
					   ? " (kernel.io_uring_disabled or a seccomp filter)"
				   : rc == -ENOSYS ? " (kernel without io_uring)"
						   : "";
		snprintf(why, why_len, "io_uring_queue_init: %s%s",
			 strerror(-rc), hint);
		return UAIO_E_UNAVAILABLE;
	}
	io_uring_queue_exit(&ring);
	return UAIO_OK;
}

static int uring_init(struct uaio_ctx *ctx)
{
	if (ctx->cfg.reader)
		return UAIO_E_UNAVAILABLE; /* the kernel reads file handles only */
	struct uring_impl *u = calloc(1, sizeof *u);
	if (!u)
		return UAIO_E_NOMEM;
	int rc = io_uring_queue_init(ctx->cfg.depth, &u->ring, 0);
	if (rc < 0) {
		free(u);
		return uaio_from_errno(-rc);
	}
	u->fixed_fd = -1;
	ctx->impl = u;
	return UAIO_OK;
}

static int reap(struct uring_impl *u, struct uaio_cqe *cqes, unsigned max)
{
	struct io_uring_cqe *batch[64];
	unsigned want = max < 64 ? max : 64;
	unsigned got = io_uring_peek_batch_cqe(&u->ring, batch, want);
	for (unsigned i = 0; i < got; i++) {
		cqes[i].user_data = io_uring_cqe_get_data64(batch[i]);
		int res = batch[i]->res;
		cqes[i].res = res >= 0 ? res : uaio_from_errno(-res);
	}
	io_uring_cq_advance(&u->ring, got);
	return (int)got;
}

static void uring_destroy(struct uaio_ctx *ctx)
{
	struct uring_impl *u = ctx->impl;
	/* Reads still in flight write into the caller's buffers: wait for
	 * them before the caller may free those. */
	unsigned left = ctx->inflight;
	struct uaio_cqe sink[64];
	while (left) {
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe(&u->ring, &cqe) < 0)
			break;
		int n = reap(u, sink, left < 64 ? left : 64);
		left -= (unsigned)n;
	}
	if (u->fixed)
		io_uring_unregister_buffers(&u->ring);
	if (u->fixed_fd >= 0)
		io_uring_unregister_files(&u->ring);
	io_uring_queue_exit(&u->ring);
	free(u);
}

static int uring_submit(struct uaio_ctx *ctx, const struct uaio_op *ops,
			unsigned n)
{
	struct uring_impl *u = ctx->impl;
	unsigned i;
	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
		if (!sqe)
			break;
		const struct uaio_op *op = &ops[i];
		uint8_t *b = op->buf;
		if (!u->fd_tried) {
			int fd = (int)op->handle;
			u->fd_tried = true;
			if (io_uring_register_files(&u->ring, &fd, 1) == 0)
				u->fixed_fd = op->handle;
		}
		if (u->fixed && b >= u->fixed &&
		    op->len <= u->fixed_len - (size_t)(b - u->fixed))
			io_uring_prep_read_fixed(sqe, (int)op->handle, b,
						 (unsigned)op->len, op->offset, 0);
		else
			io_uring_prep_read(sqe, (int)op->handle, b,
					   (unsigned)op->len, op->offset);
		if (op->handle == u->fixed_fd) {
			sqe->fd = 0; /* index in the registered table */
			sqe->flags |= IOSQE_FIXED_FILE;
		}
		io_uring_sqe_set_data64(sqe, op->user_data);
	}
	if (i == 0)
		return 0;
	int rc = io_uring_submit(&u->ring);
	if (rc < 0)
		return uaio_from_errno(-rc);
	return (int)i;
}

static int uring_wait(struct uaio_ctx *ctx, struct uaio_cqe *cqes,
		      unsigned max, unsigned min, int timeout_ms)
{
	struct uring_impl *u = ctx->impl;
	unsigned n = (unsigned)reap(u, cqes, max);
	while (n < min) {
		struct io_uring_cqe *cqe;
		int rc;
		if (timeout_ms < 0) {
			rc = io_uring_wait_cqe(&u->ring, &cqe);
		} else {
			struct __kernel_timespec ts = {
				.tv_sec = timeout_ms / 1000,
				.tv_nsec = (long long)(timeout_ms % 1000) * 1000000LL};
			rc = io_uring_wait_cqe_timeout(&u->ring, &cqe, &ts);
		}
		if (rc == -ETIME || rc == -EINTR)
			break;
		if (rc < 0)
			return n ? (int)n : uaio_from_errno(-rc);
		n += (unsigned)reap(u, cqes + n, max - n);
	}
	return (int)n;
}

static int uring_register_buffers(struct uaio_ctx *ctx, void *mem, size_t len)
{
	struct uring_impl *u = ctx->impl;
	struct iovec iov = {mem, len};
	int rc = io_uring_register_buffers(&u->ring, &iov, 1);
	if (rc < 0)
		return uaio_from_errno(-rc);
	u->fixed = mem;
	u->fixed_len = len;
	return UAIO_OK;
}

const struct uaio_backend_ops uaio_backend_uring = {
	.name = "uring",
	.probe = uring_probe,
	.init = uring_init,
	.destroy = uring_destroy,
	.submit = uring_submit,
	.wait = uring_wait,
	.register_buffers = uring_register_buffers,
};
