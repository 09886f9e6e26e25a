/* The backend-independent part of uaio: errors, selection, accounting and
 * the buffer pool. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "uaio.h"

const char *uaio_strerror(int code)
{
	switch (code) {
	case UAIO_OK:
		return "success";
#define UAIO_ERR_TEXT(name, value, text)                                       \
	case UAIO_E_##name:                                                    \
		return text;
		UAIO_ERRORS(UAIO_ERR_TEXT)
#undef UAIO_ERR_TEXT
	}
	return "unknown error";
}

const char *uaio_errname(int code)
{
	switch (code) {
	case UAIO_OK:
		return "OK";
#define UAIO_ERR_NAME(name, value, text)                                       \
	case UAIO_E_##name:                                                    \
		return "E" #name;
		UAIO_ERRORS(UAIO_ERR_NAME)
#undef UAIO_ERR_NAME
	}
	return "E?";
}

int uaio_from_errno(int err)
{
	switch (err) {
	case 0:
		return UAIO_OK;
	case EAGAIN:
		return UAIO_E_AGAIN;
	case ENOMEM:
		return UAIO_E_NOMEM;
	case EINVAL:
		return UAIO_E_INVAL;
	case EBUSY:
		return UAIO_E_BUSY;
	case ETIMEDOUT:
		return UAIO_E_TIMEDOUT;
	case EBADF:
		return UAIO_E_BADF;
	case ECANCELED:
		return UAIO_E_CANCELED;
	case ENOSYS:
	case EPERM:
	case EOPNOTSUPP:
		return UAIO_E_UNAVAILABLE;
	default:
		return UAIO_E_IO;
	}
}

const struct uaio_backend_ops *uaio_backend_by_name(const char *name)
{
	for (const struct uaio_backend_ops *const *b = uaio_backends(); *b; b++)
		if (strcmp((*b)->name, name) == 0)
			return *b;
	return NULL;
}

static void note_skip(struct uaio_ctx *ctx, const char *name, const char *why)
{
	size_t used = strlen(ctx->why);
	size_t left = sizeof ctx->why - used;
	if (left > 1)
		snprintf(ctx->why + used, left, "%s%s: %s", used ? "; " : "", name,
			 why);
}

int uaio_ctx_create(struct uaio_ctx *ctx, const struct uaio_backend_ops *ops,
		    const struct uaio_config *cfg)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->cfg = *cfg;
	if (ctx->cfg.depth == 0)
		ctx->cfg.depth = 8;
	if (ops) {
		char why[120] = "";
		if (ops->probe(why, sizeof why) != UAIO_OK) {
			note_skip(ctx, ops->name, why);
			return UAIO_E_UNAVAILABLE;
		}
		ctx->ops = ops;
		return ops->init(ctx);
	}
	for (const struct uaio_backend_ops *const *b = uaio_backends(); *b; b++) {
		char why[120] = "";
		if (*b == &uaio_backend_fault)
			continue; /* only on request */
		if ((*b)->probe(why, sizeof why) != UAIO_OK) {
			note_skip(ctx, (*b)->name, why);
			continue;
		}
		ctx->ops = *b;
		int rc = (*b)->init(ctx);
		if (rc == UAIO_OK)
			return UAIO_OK;
		note_skip(ctx, (*b)->name, uaio_strerror(rc));
	}
	return UAIO_E_UNAVAILABLE;
}

void uaio_ctx_destroy(struct uaio_ctx *ctx)
{
	if (ctx->ops && ctx->impl)
		ctx->ops->destroy(ctx);
	ctx->impl = NULL;
	ctx->inflight = 0;
}

int uaio_submit(struct uaio_ctx *ctx, const struct uaio_op *ops, unsigned n)
{
	unsigned room = ctx->cfg.depth - ctx->inflight;
	if (n > room)
		n = room;
	if (n == 0)
		return ctx->inflight ? UAIO_E_BUSY : 0;
	int rc = ctx->ops->submit(ctx, ops, n);
	if (rc > 0)
		ctx->inflight += (unsigned)rc;
	return rc;
}

int uaio_wait(struct uaio_ctx *ctx, struct uaio_cqe *cqes, unsigned max,
	      unsigned min, int timeout_ms)
{
	if (min > ctx->inflight)
		min = ctx->inflight;
	if (max == 0 || ctx->inflight == 0)
		return 0;
	int rc = ctx->ops->wait(ctx, cqes, max, min, timeout_ms);
	if (rc > 0)
		ctx->inflight -= (unsigned)rc;
	return rc;
}

int uaio_register_buffers(struct uaio_ctx *ctx, void *mem, size_t len)
{
	if (!ctx->ops->register_buffers)
		return UAIO_E_UNAVAILABLE;
	return ctx->ops->register_buffers(ctx, mem, len);
}

int uaio_pool_init(struct uaio_pool *p, unsigned count, size_t buf_size,
		   size_t align)
{
	memset(p, 0, sizeof *p);
	if (count == 0 || buf_size == 0 || buf_size % align)
		return UAIO_E_INVAL;
	/* Over-allocate and align by hand: portable C, no platform call. */
	uint8_t *raw = malloc((size_t)count * buf_size + align);
	if (!raw)
		return UAIO_E_NOMEM;
	p->free_list = malloc(count * sizeof *p->free_list);
	if (!p->free_list) {
		free(raw);
		return UAIO_E_NOMEM;
	}
	p->raw = raw;
	p->mem = raw + (align - (uintptr_t)raw % align) % align;
	p->buf_size = buf_size;
	p->count = count;
	for (unsigned i = 0; i < count; i++)
		p->free_list[i] = count - 1 - i;
	p->n_free = count;
	return UAIO_OK;
}

void uaio_pool_destroy(struct uaio_pool *p)
{
	free(p->raw);
	free(p->free_list);
	memset(p, 0, sizeof *p);
}

int uaio_pool_get(struct uaio_pool *p)
{
	return p->n_free ? (int)p->free_list[--p->n_free] : -1;
}

void uaio_pool_put(struct uaio_pool *p, unsigned i)
{
	p->free_list[p->n_free++] = i;
}
