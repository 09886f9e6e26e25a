/* iocp: overlapped ReadFile on handles bound to an I/O completion port,
 * completions reaped in batches with GetQueuedCompletionStatusEx. Each read
 * in flight owns one request slot whose OVERLAPPED leads back to it. Reads
 * that fail at once (end of file, a bad handle) complete through a local
 * queue, so the caller sees one completion per read either way. */
#include <windows.h>

#include <stddef.h>
#include <stdlib.h>

#include "../aio/uaio.h"
#include "pread.h"

#define BOUND_MAX 8

struct request {
	OVERLAPPED ov; /* first: the OVERLAPPED pointer is the request */
	uint64_t user_data;
	bool busy;
};

struct iocp_impl {
	HANDLE port;
	struct request *req;
	unsigned n_req;
	struct uaio_cqe *early; /* completions known at submit */
	unsigned n_early;
	HANDLE bound[BOUND_MAX];
	unsigned n_bound;
	OVERLAPPED_ENTRY *entries;
};

static int iocp_probe(char *why, size_t why_len)
{
	(void)why;
	(void)why_len;
	return UAIO_OK;
}

static int iocp_init(struct uaio_ctx *ctx)
{
	if (ctx->cfg.reader)
		return UAIO_E_UNAVAILABLE; /* the kernel reads file handles only */
	struct iocp_impl *c = calloc(1, sizeof *c);
	if (!c)
		return UAIO_E_NOMEM;
	c->n_req = ctx->cfg.depth;
	c->req = calloc(c->n_req, sizeof *c->req);
	c->early = calloc(c->n_req, sizeof *c->early);
	c->entries = calloc(c->n_req, sizeof *c->entries);
	c->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
	if (!c->req || !c->early || !c->entries || !c->port) {
		if (c->port)
			CloseHandle(c->port);
		free(c->req);
		free(c->early);
		free(c->entries);
		free(c);
		return UAIO_E_NOMEM;
	}
	ctx->impl = c;
	return UAIO_OK;
}

/* Binds a handle to the port once; a handle that cannot be bound (not
 * opened for overlapped I/O) is read with the portable pread instead. */
static bool bind_handle(struct iocp_impl *c, HANDLE h)
{
	for (unsigned i = 0; i < c->n_bound; i++)
		if (c->bound[i] == h)
			return true;
	if (c->n_bound == BOUND_MAX ||
	    CreateIoCompletionPort(h, c->port, 0, 0) != c->port)
		return false;
	c->bound[c->n_bound++] = h;
	return true;
}

static struct request *free_request(struct iocp_impl *c)
{
	for (unsigned i = 0; i < c->n_req; i++)
		if (!c->req[i].busy)
			return &c->req[i];
	return NULL;
}

static int iocp_submit(struct uaio_ctx *ctx, const struct uaio_op *ops,
		       unsigned n)
{
	struct iocp_impl *c = ctx->impl;
	unsigned i;
	for (i = 0; i < n; i++) {
		const struct uaio_op *op = &ops[i];
		HANDLE h = (HANDLE)op->handle;
		if (!bind_handle(c, h)) {
			c->early[c->n_early++] =
				(struct uaio_cqe){op->user_data, uaio_pread(op)};
			continue;
		}
		struct request *r = free_request(c);
		if (!r)
			break;
		ZeroMemory(&r->ov, sizeof r->ov);
		r->ov.Offset = (DWORD)op->offset;
		r->ov.OffsetHigh = (DWORD)(op->offset >> 32);
		r->user_data = op->user_data;
		r->busy = true;
		if (!ReadFile(h, op->buf, (DWORD)op->len, NULL, &r->ov)) {
			DWORD err = GetLastError();
			if (err != ERROR_IO_PENDING) {
				/* Failed at once: no packet will come. */
				r->busy = false;
				c->early[c->n_early++] = (struct uaio_cqe){
					op->user_data,
					err == ERROR_HANDLE_EOF ? 0
								: uaio_from_win32(err)};
			}
		}
	}
	return (int)i;
}

static unsigned take_early(struct iocp_impl *c, struct uaio_cqe *out,
			   unsigned max)
{
	unsigned n = 0;
	while (n < max && c->n_early)
		out[n++] = c->early[--c->n_early];
	return n;
}

static int iocp_wait(struct uaio_ctx *ctx, struct uaio_cqe *cqes,
		     unsigned max, unsigned min, int timeout_ms)
{
	struct iocp_impl *c = ctx->impl;
	unsigned n = take_early(c, cqes, max);
	while (n < max) {
		ULONG got = 0;
		DWORD wait = n >= min ? 0
				      : (timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
		ULONG room = max - n < c->n_req ? max - n : c->n_req;
		if (!GetQueuedCompletionStatusEx(c->port, c->entries, room, &got,
						 wait, FALSE))
			break; /* timed out, or nothing ready */
		for (ULONG i = 0; i < got; i++) {
			struct request *r = (struct request *)c->entries[i].lpOverlapped;
			NTSTATUS st = (NTSTATUS)r->ov.Internal;
			int64_t res = c->entries[i].dwNumberOfBytesTransferred;
			if (st == (NTSTATUS)0xC0000011L) /* STATUS_END_OF_FILE */
				res = 0;
			else if (st < 0)
				res = UAIO_E_IO;
			cqes[n++] = (struct uaio_cqe){r->user_data, res};
			r->busy = false;
		}
		if (n >= min)
			break;
	}
	return (int)n;
}

static void iocp_destroy(struct uaio_ctx *ctx)
{
	struct iocp_impl *c = ctx->impl;
	/* Reads still in flight write into the caller's buffers: cancel them
	 * and wait for their packets before the caller may free those. */
	for (unsigned i = 0; i < c->n_bound; i++)
		CancelIoEx(c->bound[i], NULL);
	unsigned left = 0;
	for (unsigned i = 0; i < c->n_req; i++)
		left += c->req[i].busy;
	while (left) {
		ULONG got = 0;
		if (!GetQueuedCompletionStatusEx(c->port, c->entries, c->n_req,
						 &got, 5000, FALSE))
			break;
		left = got > left ? 0 : left - (unsigned)got;
	}
	CloseHandle(c->port);
	free(c->req);
	free(c->early);
	free(c->entries);
	free(c);
}

const struct uaio_backend_ops uaio_backend_iocp = {
	.name = "iocp",
	.probe = iocp_probe,
	.init = iocp_init,
	.destroy = iocp_destroy,
	.submit = iocp_submit,
	.wait = iocp_wait,
};
