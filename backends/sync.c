/* sync: one read at a time, in submission order, performed inside wait.
 * Deterministic: the reference every other backend is compared with. */
#include <stdlib.h>

#include "../aio/uaio.h"
#include "pread.h"

struct sync_impl {
	struct uaio_op *q;
	unsigned head, count, cap;
};

static int sync_probe(char *why, size_t why_len)
{
	(void)why;
	(void)why_len;
	return UAIO_OK;
}

static int sync_init(struct uaio_ctx *ctx)
{
	struct sync_impl *s = calloc(1, sizeof *s);
	if (!s)
		return UAIO_E_NOMEM;
	s->cap = ctx->cfg.depth;
	s->q = calloc(s->cap, sizeof *s->q);
	if (!s->q) {
		free(s);
		return UAIO_E_NOMEM;
	}
	ctx->impl = s;
	return UAIO_OK;
}

static void sync_destroy(struct uaio_ctx *ctx)
{
	struct sync_impl *s = ctx->impl;
	free(s->q);
	free(s);
}

static int sync_submit(struct uaio_ctx *ctx, const struct uaio_op *ops,
		       unsigned n)
{
	struct sync_impl *s = ctx->impl;
	unsigned i;
	for (i = 0; i < n && s->count < s->cap; i++)
		s->q[(s->head + s->count++) % s->cap] = ops[i];
	return (int)i;
}

static int sync_wait(struct uaio_ctx *ctx, struct uaio_cqe *cqes, unsigned max,
		     unsigned min, int timeout_ms)
{
	struct sync_impl *s = ctx->impl;
	(void)min;
	(void)timeout_ms;
	unsigned n = 0;
	/* One read per completion asked for, at least one. */
	while (n < max && s->count) {
		const struct uaio_op *op = &s->q[s->head];
		cqes[n].user_data = op->user_data;
		cqes[n].res = uaio_read_op(&ctx->cfg, op);
		s->head = (s->head + 1) % s->cap;
		s->count--;
		n++;
		if (n >= min && n >= 1)
			break;
	}
	return (int)n;
}

const struct uaio_backend_ops uaio_backend_sync = {
	.name = "sync",
	.probe = sync_probe,
	.init = sync_init,
	.destroy = sync_destroy,
	.submit = sync_submit,
	.wait = sync_wait,
};
