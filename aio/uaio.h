/*
 * uaio: a thin, completion-based asynchronous read layer.
 *
 * Shaped like io_uring: the caller prepares reads (handle, buffer, length,
 * offset, user data), submits many at once, and reaps completions, each
 * carrying its user data and a byte count or a negative UAIO_E_* code.
 * Completion order is not defined. Backends live in backends/, one per file,
 * each behind one `const struct uaio_backend_ops`.
 *
 * Lifetime: a uaio_op is copied at submit; the caller owns the buffer until
 * the matching completion is reaped. uaio_ctx_destroy waits for reads still
 * in flight, so buffers may be freed after it returns.
 */
#ifndef UFFS_UAIO_H
#define UFFS_UAIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors: negative codes, one table for the enum, names and text. OS codes
 * are translated at the backend edge. */
#define UAIO_ERRORS(X)                                                        \
	X(IO, -1, "I/O error")                                                 \
	X(AGAIN, -2, "resource temporarily unavailable")                       \
	X(NOMEM, -3, "out of memory")                                          \
	X(INVAL, -4, "invalid argument")                                       \
	X(BUSY, -5, "too many reads in flight")                                \
	X(TIMEDOUT, -6, "timed out")                                           \
	X(UNAVAILABLE, -7, "backend unavailable")                              \
	X(BADF, -8, "bad file handle")                                         \
	X(FAULT, -9, "injected fault")                                         \
	X(CANCELED, -10, "canceled")

enum uaio_status {
	UAIO_OK = 0,
#define UAIO_ERR_ENUM(name, value, text) UAIO_E_##name = value,
	UAIO_ERRORS(UAIO_ERR_ENUM)
#undef UAIO_ERR_ENUM
};

const char *uaio_strerror(int code);
const char *uaio_errname(int code);
/* errno value -> UAIO_E_* (the backend edge). */
int uaio_from_errno(int err);

struct uaio_op {
	intptr_t handle; /* file descriptor or HANDLE */
	void *buf;
	size_t len;
	uint64_t offset;
	uint64_t user_data;
};

struct uaio_cqe {
	uint64_t user_data;
	int64_t res; /* bytes read (short at end of file), or UAIO_E_* */
};

struct uaio_ctx;

struct uaio_backend_ops {
	const char *name;
	/* 0 if usable here; else UAIO_E_UNAVAILABLE and a reason in why. */
	int (*probe)(char *why, size_t why_len);
	/* Sets up ctx->impl from ctx->cfg. */
	int (*init)(struct uaio_ctx *ctx);
	void (*destroy)(struct uaio_ctx *ctx);
	/* Accepts up to n ops; returns how many were accepted (>= 0) or an
	 * error. Never blocks on I/O. */
	int (*submit)(struct uaio_ctx *ctx, const struct uaio_op *ops,
		      unsigned n);
	/* Waits for at least `min` completions (or timeout_ms; < 0 forever),
	 * writes up to `max`; returns the count or an error. */
	int (*wait)(struct uaio_ctx *ctx, struct uaio_cqe *cqes, unsigned max,
		    unsigned min, int timeout_ms);
	/* Optional (NULL when unsupported): registers one memory region that
	 * later reads' buffers lie in, so the kernel can skip mapping it per
	 * read. Returns 0 or an error; failure is not fatal to the caller. */
	int (*register_buffers)(struct uaio_ctx *ctx, void *mem, size_t len);
};

/* A source the OS cannot read directly (a container such as an E01 set):
 * its reads go through this function, called on the backend's own
 * threads, and ops' handles are ignored. Only the backends that run reads
 * themselves take one (sync, threads, and fault around them); the others'
 * init answers UAIO_E_UNAVAILABLE. read returns bytes read (short only at
 * the end) or a UAIO_E_* code. */
struct uaio_reader {
	int64_t (*read)(void *ctx, void *buf, size_t len, uint64_t off);
	void *ctx;
};

struct uaio_config {
	unsigned depth;  /* reads in flight at most (queue size) */
	const struct uaio_reader *reader; /* NULL: the OS reads ops' handles */
	unsigned threads; /* for the threads backend; 0 = choose */
	/* For the fault backend: what it wraps and how it misbehaves. */
	const struct uaio_backend_ops *inner;
	uint64_t seed;
	unsigned fault_error_pct;  /* completions turned into UAIO_E_IO */
	unsigned fault_short_pct;  /* completions cut short */
	unsigned fault_delay_pct;  /* completions held back (reordered) */
	uint64_t fault_shrink_at;  /* nonzero: the source ends here, as if
				    * it shrank mid-scan (reads past it: 0) */
	unsigned fault_latency_us; /* each batch of completions arrives this
				    * much later: a slow device */
};

struct uaio_ctx {
	const struct uaio_backend_ops *ops;
	struct uaio_config cfg;
	unsigned inflight;
	void *impl;
	char why[160]; /* set by uaio_select: why faster backends were skipped */
	char detail[96]; /* set by init where it varies: what the backend runs on */
};

/* Backends compiled into this build, best first. */
extern const struct uaio_backend_ops uaio_backend_uring;
extern const struct uaio_backend_ops uaio_backend_threads;
extern const struct uaio_backend_ops uaio_backend_sync;
extern const struct uaio_backend_ops uaio_backend_fault;
extern const struct uaio_backend_ops uaio_backend_iocp;   /* Windows builds */
extern const struct uaio_backend_ops uaio_backend_ioring; /* Windows builds */

/* NULL-terminated list of the backends in this build, best first. */
const struct uaio_backend_ops *const *uaio_backends(void);
const struct uaio_backend_ops *uaio_backend_by_name(const char *name);

/* Creates a context on `ops`, or on the best available backend when ops is
 * NULL (ctx->why then says what was skipped and why). */
int uaio_ctx_create(struct uaio_ctx *ctx, const struct uaio_backend_ops *ops,
		    const struct uaio_config *cfg);
void uaio_ctx_destroy(struct uaio_ctx *ctx);

int uaio_submit(struct uaio_ctx *ctx, const struct uaio_op *ops, unsigned n);
int uaio_register_buffers(struct uaio_ctx *ctx, void *mem, size_t len);
int uaio_wait(struct uaio_ctx *ctx, struct uaio_cqe *cqes, unsigned max,
	      unsigned min, int timeout_ms);

/* A fixed pool of aligned buffers, allocated once. */
struct uaio_pool {
	uint8_t *raw; /* as allocated */
	uint8_t *mem; /* aligned */
	size_t buf_size;
	unsigned count;
	unsigned *free_list;
	unsigned n_free;
};

int uaio_pool_init(struct uaio_pool *p, unsigned count, size_t buf_size,
		   size_t align);
void uaio_pool_destroy(struct uaio_pool *p);
/* Returns a buffer index or -1 when all are in use. */
int uaio_pool_get(struct uaio_pool *p);
void uaio_pool_put(struct uaio_pool *p, unsigned i);
static inline uint8_t *uaio_pool_buf(const struct uaio_pool *p, unsigned i)
{
	return p->mem + (size_t)i * p->buf_size;
}

#endif
