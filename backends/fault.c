/* fault: wraps another backend and, from a seed, turns completions into
 * errors, cuts them short, or holds them back so they arrive out of order.
 * With the sync backend inside, a seed always gives the same run. */
#include <stdlib.h>
#include <time.h>

#include "../aio/uaio.h"

struct pending {
	uint64_t user_data;
	uint64_t offset;
	bool used;
};

struct fault_impl {
	struct uaio_ctx inner;
	uint64_t state;
	struct uaio_cqe *held;
	unsigned n_held;
	struct pending *pending; /* the offset of each read in flight */
	unsigned n_pending;
};

/* Where the read a completion answers started (for fault_shrink_at). */
static uint64_t take_offset(struct fault_impl *f, uint64_t user_data)
{
	for (unsigned i = 0; i < f->n_pending; i++)
		if (f->pending[i].used && f->pending[i].user_data == user_data) {
			f->pending[i].used = false;
			return f->pending[i].offset;
		}
	return 0;
}

static int fault_probe(char *why, size_t why_len)
{
	(void)why;
	(void)why_len;
	return UAIO_OK;
}

/* splitmix64: small, seedable, good enough to pick faults. */
static uint64_t next_random(struct fault_impl *f)
{
	uint64_t z = (f->state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static bool chance(struct fault_impl *f, unsigned pct)
{
	return pct && next_random(f) % 100 < pct;
}

static int fault_init(struct uaio_ctx *ctx)
{
	struct fault_impl *f = calloc(1, sizeof *f);
	if (!f)
		return UAIO_E_NOMEM;
	f->held = calloc(ctx->cfg.depth, sizeof *f->held);
	f->pending = calloc(ctx->cfg.depth, sizeof *f->pending);
	f->n_pending = ctx->cfg.depth;
	if (!f->held || !f->pending) {
		free(f->held);
		free(f->pending);
		free(f);
		return UAIO_E_NOMEM;
	}
	struct uaio_config inner_cfg = ctx->cfg;
	inner_cfg.inner = NULL;
	const struct uaio_backend_ops *inner =
		ctx->cfg.inner ? ctx->cfg.inner : &uaio_backend_sync;
	int rc = uaio_ctx_create(&f->inner, inner, &inner_cfg);
	if (rc) {
		free(f->held);
		free(f->pending);
		free(f);
		return rc;
	}
	f->state = ctx->cfg.seed;
	ctx->impl = f;
	return UAIO_OK;
}

static void fault_destroy(struct uaio_ctx *ctx)
{
	struct fault_impl *f = ctx->impl;
	uaio_ctx_destroy(&f->inner);
	free(f->held);
	free(f->pending);
	free(f);
}

static int fault_submit(struct uaio_ctx *ctx, const struct uaio_op *ops,
			unsigned n)
{
	struct fault_impl *f = ctx->impl;
	int rc = uaio_submit(&f->inner, ops, n);
	for (int i = 0; i < rc; i++)
		for (unsigned k = 0; k < f->n_pending; k++)
			if (!f->pending[k].used) {
				f->pending[k] = (struct pending){ops[i].user_data,
								 ops[i].offset, true};
				break;
			}
	return rc;
}

/* A short read keeps at least one byte: zero would mean end of file. */
static void mangle(struct uaio_ctx *ctx, struct fault_impl *f,
		   struct uaio_cqe *c)
{
	uint64_t off = take_offset(f, c->user_data);
	if (c->res <= 0)
		return;
	uint64_t shrink = ctx->cfg.fault_shrink_at;
	if (shrink) {
		if (off >= shrink) {
			c->res = 0; /* the source ends before this read */
			return;
		}
		if (off + (uint64_t)c->res > shrink)
			c->res = (int64_t)(shrink - off);
	}
	if (chance(f, ctx->cfg.fault_error_pct))
		c->res = UAIO_E_IO;
	else if (c->res > 1 && chance(f, ctx->cfg.fault_short_pct))
		c->res = 1 + (int64_t)(next_random(f) % (uint64_t)(c->res - 1));
}

/* A slow device: completions come late, but in the order the inner
 * backend gives them. */
static void add_latency(unsigned us)
{
	if (!us)
		return;
	struct timespec ts = {us / 1000000u, (long)(us % 1000000u) * 1000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static int fault_wait(struct uaio_ctx *ctx, struct uaio_cqe *cqes,
		      unsigned max, unsigned min, int timeout_ms)
{
	struct fault_impl *f = ctx->impl;
	unsigned n = 0;
	for (;;) {
		/* Release held completions now and then, all of them when
		 * nothing else can come. */
		bool drain = f->inner.inflight == 0;
		for (unsigned i = 0; i < f->n_held && n < max;) {
			if (drain || chance(f, 50)) {
				cqes[n++] = f->held[i];
				f->held[i] = f->held[--f->n_held];
			} else {
				i++;
			}
		}
		if (n >= min && (n > 0 || min == 0))
			return (int)n;
		if (f->inner.inflight == 0 && f->n_held == 0)
			return (int)n;
		if (f->inner.inflight == 0)
			continue;
		struct uaio_cqe got[64];
		unsigned room = max - n < 64 ? max - n : 64;
		int rc = uaio_wait(&f->inner, got, room, 1, timeout_ms);
		if (rc < 0)
			return n ? (int)n : rc;
		if (rc == 0)
			return (int)n; /* timed out */
		add_latency(ctx->cfg.fault_latency_us);
		for (int i = 0; i < rc; i++) {
			mangle(ctx, f, &got[i]);
			if (f->inner.inflight > 0 &&
			    chance(f, ctx->cfg.fault_delay_pct))
				f->held[f->n_held++] = got[i];
			else
				cqes[n++] = got[i];
		}
	}
}

const struct uaio_backend_ops uaio_backend_fault = {
	.name = "fault",
	.probe = fault_probe,
	.init = fault_init,
	.destroy = fault_destroy,
	.submit = fault_submit,
	.wait = fault_wait,
};
