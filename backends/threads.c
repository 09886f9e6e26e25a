/* threads: a pool of threads doing positioned reads. Portable, always
 * correct; completions arrive in whatever order the reads finish. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "../aio/uaio.h"
#include "pread.h"

#define THREADS_MAX 64

struct threads_impl {
	pthread_mutex_t lock;
	pthread_cond_t work;  /* submission queue not empty, or stopping */
	pthread_cond_t done;  /* completion queue not empty */
	struct uaio_op *sq;
	unsigned sq_head, sq_count;
	struct uaio_cqe *cq;
	unsigned cq_head, cq_count;
	unsigned cap;
	bool stopping;
	unsigned n_threads;
	pthread_t tid[THREADS_MAX];
	struct uaio_config cfg;
};

static int threads_probe(char *why, size_t why_len)
{
	(void)why;
	(void)why_len;
	return UAIO_OK;
}

static void *worker(void *arg)
{
	struct threads_impl *t = arg;
	pthread_mutex_lock(&t->lock);
	for (;;) {
		while (!t->sq_count && !t->stopping)
			pthread_cond_wait(&t->work, &t->lock);
		if (!t->sq_count)
			break; /* stopping and drained */
		struct uaio_op op = t->sq[t->sq_head];
		t->sq_head = (t->sq_head + 1) % t->cap;
		t->sq_count--;
		pthread_mutex_unlock(&t->lock);
		struct uaio_cqe c = {op.user_data, uaio_read_op(&t->cfg, &op)};
		pthread_mutex_lock(&t->lock);
		t->cq[(t->cq_head + t->cq_count++) % t->cap] = c;
		pthread_cond_broadcast(&t->done);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static unsigned choose_threads(const struct uaio_ctx *ctx)
{
	unsigned n = ctx->cfg.threads;
	if (n == 0) {
		n = uaio_cpu_count();
		if (n > ctx->cfg.depth)
			n = ctx->cfg.depth;
	}
	if (n > THREADS_MAX)
		n = THREADS_MAX;
	return n ? n : 1;
}

static void threads_destroy(struct uaio_ctx *ctx)
{
	struct threads_impl *t = ctx->impl;
	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	pthread_cond_broadcast(&t->work);
	pthread_mutex_unlock(&t->lock);
	/* Workers finish the reads already queued before they exit, so no
	 * buffer is touched after this returns. */
	for (unsigned i = 0; i < t->n_threads; i++)
		pthread_join(t->tid[i], NULL);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->work);
	pthread_cond_destroy(&t->done);
	free(t->sq);
	free(t->cq);
	free(t);
}

static int threads_init(struct uaio_ctx *ctx)
{
	struct threads_impl *t = calloc(1, sizeof *t);
	if (!t)
		return UAIO_E_NOMEM;
	t->cap = ctx->cfg.depth;
	t->cfg = ctx->cfg;
	t->sq = calloc(t->cap, sizeof *t->sq);
	t->cq = calloc(t->cap, sizeof *t->cq);
	if (!t->sq || !t->cq) {
		free(t->sq);
		free(t->cq);
		free(t);
		return UAIO_E_NOMEM;
	}
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->work, NULL);
	pthread_cond_init(&t->done, NULL);
	ctx->impl = t;
	unsigned want = choose_threads(ctx);
	for (unsigned i = 0; i < want; i++) {
		if (pthread_create(&t->tid[i], NULL, worker, t) != 0)
			break;
		t->n_threads++;
	}
	if (t->n_threads == 0) {
		threads_destroy(ctx);
		ctx->impl = NULL;
		return UAIO_E_AGAIN;
	}
	return UAIO_OK;
}

static int threads_submit(struct uaio_ctx *ctx, const struct uaio_op *ops,
			  unsigned n)
{
	struct threads_impl *t = ctx->impl;
	unsigned i;
	pthread_mutex_lock(&t->lock);
	/* Room is bounded by depth in uaio_submit: sq plus cq never exceed it. */
	for (i = 0; i < n && t->sq_count < t->cap; i++)
		t->sq[(t->sq_head + t->sq_count++) % t->cap] = ops[i];
	pthread_cond_broadcast(&t->work);
	pthread_mutex_unlock(&t->lock);
	return (int)i;
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int threads_wait(struct uaio_ctx *ctx, struct uaio_cqe *cqes,
			unsigned max, unsigned min, int timeout_ms)
{
	struct threads_impl *t = ctx->impl;
	struct timespec deadline;
	if (timeout_ms >= 0)
		deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&t->lock);
	while (t->cq_count < min) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&t->done, &t->lock);
		} else if (pthread_cond_timedwait(&t->done, &t->lock,
						  &deadline) == ETIMEDOUT) {
			break;
		}
	}
	unsigned n = 0;
	while (n < max && t->cq_count) {
		cqes[n++] = t->cq[t->cq_head];
		t->cq_head = (t->cq_head + 1) % t->cap;
		t->cq_count--;
	}
	pthread_mutex_unlock(&t->lock);
	return (int)n;
}

const struct uaio_backend_ops uaio_backend_threads = {
	.name = "threads",
	.probe = threads_probe,
	.init = threads_init,
	.destroy = threads_destroy,
	.submit = threads_submit,
	.wait = threads_wait,
};
