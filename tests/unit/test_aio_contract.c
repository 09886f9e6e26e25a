/* The backend contract: every uaio backend in the build passes the same
 * tests. Unavailable backends are reported as skipped, not passed. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../aio/uaio.h"
#include "../../source/file.h"

#define FILE_SIZE (1u << 20)
#define BLOCK 4096u

struct fixture {
	const struct uaio_backend_ops *ops; /* NULL: the best available */
	const char *fallback_from;          /* backend expected to be skipped */
	const char *runs_on;                /* expected in the context's detail */
	struct uaio_config cfg;
	char path[512];
	struct uffs_file file;
	intptr_t fd; /* the file's handle, as the backends take it */
};

/* Buffers aligned for direct I/O without platform calls. */
static void *alloc_aligned(size_t size, void **raw)
{
	*raw = malloc(size + BLOCK);
	if (!*raw)
		return NULL;
	uintptr_t p = (uintptr_t)*raw;
	return (void *)(p + (BLOCK - p % BLOCK) % BLOCK);
}

/* The byte at offset i of the test file. */
static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 2654435761u >> 13);
}

/* The test file goes where the platform keeps temporary files, and is
 * opened through the project's own read-only file layer, so each backend
 * gets the handle kind it reads on this platform. */
static int make_file(struct fixture *f)
{
	static unsigned serial;
	const char *dir = getenv("TMPDIR");
	if (!dir)
		dir = getenv("TEMP");
	if (!dir)
		dir = ".";
	snprintf(f->path, sizeof f->path, "%s/uaio-contract-%u-%u.bin", dir,
		 (unsigned)((uintptr_t)f % 100000u), serial++);
	FILE *out = fopen(f->path, "wb");
	if (!out)
		return -1;
	uint8_t *buf = malloc(FILE_SIZE);
	for (uint64_t i = 0; i < FILE_SIZE; i++)
		buf[i] = pattern(i);
	size_t w = fwrite(buf, 1, FILE_SIZE, out);
	free(buf);
	if (fclose(out) != 0 || w != FILE_SIZE)
		return -1;
	int os_error;
	const char *what;
	if (uffs_file_open(f->path, &f->file, &os_error, &what) != 0)
		return -1;
	f->fd = f->file.handle;
	return 0;
}

static int setup(void **state, const struct uaio_backend_ops *ops,
		 struct uaio_config cfg)
{
	struct fixture *f = calloc(1, sizeof *f);
	f->ops = ops;
	f->cfg = cfg;
	if (make_file(f))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	uffs_file_close(&f->file);
	remove(f->path);
	free(f);
	return 0;
}

static void create(struct fixture *f, struct uaio_ctx *ctx, unsigned depth)
{
	struct uaio_config cfg = f->cfg;
	cfg.depth = depth;
	int rc = uaio_ctx_create(ctx, f->ops, &cfg);
	if (rc == UAIO_E_UNAVAILABLE)
		skip();
	assert_int_equal(rc, UAIO_OK);
	/* A backend unavailable here: the best one is chosen instead, and
	 * the context says why the first choice was skipped. */
	if (f->fallback_from)
		assert_non_null(strstr(ctx->why, f->fallback_from));
	if (f->runs_on) {
		assert_string_equal(ctx->ops->name, f->ops->name);
		assert_non_null(strstr(ctx->detail, f->runs_on));
	}
}

static void check_block(const uint8_t *buf, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != pattern(off + i))
			fail_msg("byte %zu of read at %llu differs", i,
				 (unsigned long long)off);
}

/* Reaps everything in flight; returns the completions in *out. */
static unsigned reap_all(struct uaio_ctx *ctx, struct uaio_cqe *out,
			 unsigned max)
{
	unsigned n = 0;
	while (ctx->inflight) {
		int rc = uaio_wait(ctx, out + n, max - n, 1, 5000);
		assert_true(rc > 0);
		n += (unsigned)rc;
	}
	return n;
}

static void test_many_in_flight(void **state)
{
	struct fixture *f = *state;
	struct uaio_ctx ctx;
	enum { DEPTH = 32 };
	create(f, &ctx, DEPTH);
	void *bufs_raw;
	uint8_t *bufs = alloc_aligned(DEPTH * BLOCK, &bufs_raw);
	struct uaio_op ops[DEPTH];
	for (unsigned i = 0; i < DEPTH; i++) {
		/* Scattered offsets, so backends have no reason to finish
		 * in order. */
		uint64_t off = (uint64_t)((i * 37) % (FILE_SIZE / BLOCK)) * BLOCK;
		ops[i] = (struct uaio_op){f->fd, bufs + i * BLOCK, BLOCK, off,
					  1000 + i};
	}
	unsigned sent = 0;
	while (sent < DEPTH) {
		int rc = uaio_submit(&ctx, ops + sent, DEPTH - sent);
		assert_true(rc > 0);
		sent += (unsigned)rc;
	}
	assert_int_equal(ctx.inflight, DEPTH);
	struct uaio_cqe cqes[DEPTH];
	unsigned n = reap_all(&ctx, cqes, DEPTH);
	assert_int_equal(n, DEPTH);
	bool seen[DEPTH] = {0};
	for (unsigned i = 0; i < n; i++) {
		unsigned k = (unsigned)(cqes[i].user_data - 1000);
		assert_true(k < DEPTH);
		assert_false(seen[k]);
		seen[k] = true;
		assert_int_equal(cqes[i].res, BLOCK);
		check_block(ops[k].buf, ops[k].offset, BLOCK);
	}
	uaio_ctx_destroy(&ctx);
	free(bufs_raw);
}

static void test_depth_bounds_submit(void **state)
{
	struct fixture *f = *state;
	struct uaio_ctx ctx;
	create(f, &ctx, 4);
	void *bufs_raw;
	uint8_t *bufs = alloc_aligned(8 * BLOCK, &bufs_raw);
	struct uaio_op ops[8];
	for (unsigned i = 0; i < 8; i++)
		ops[i] = (struct uaio_op){f->fd, bufs + i * BLOCK, BLOCK,
					  (uint64_t)i * BLOCK, i};
	int rc = uaio_submit(&ctx, ops, 8);
	assert_int_equal(rc, 4);
	assert_int_equal(uaio_submit(&ctx, ops + 4, 4), UAIO_E_BUSY);
	struct uaio_cqe cqes[8];
	assert_int_equal(reap_all(&ctx, cqes, 8), 4);
	assert_int_equal(uaio_submit(&ctx, ops + 4, 4), 4);
	assert_int_equal(reap_all(&ctx, cqes, 8), 4);
	uaio_ctx_destroy(&ctx);
	free(bufs_raw);
}

static void test_short_read_and_eof(void **state)
{
	struct fixture *f = *state;
	struct uaio_ctx ctx;
	create(f, &ctx, 4);
	void *bufs_raw;
	uint8_t *bufs = alloc_aligned(2 * BLOCK, &bufs_raw);
	struct uaio_op ops[2] = {
		{f->fd, bufs, BLOCK, FILE_SIZE - 100, 1},   /* crosses EOF */
		{f->fd, bufs + BLOCK, BLOCK, FILE_SIZE, 2}, /* at EOF */
	};
	assert_int_equal(uaio_submit(&ctx, ops, 2), 2);
	struct uaio_cqe cqes[2];
	assert_int_equal(reap_all(&ctx, cqes, 2), 2);
	for (int i = 0; i < 2; i++) {
		if (cqes[i].user_data == 1) {
			assert_int_equal(cqes[i].res, 100);
			check_block(bufs, FILE_SIZE - 100, 100);
		} else {
			assert_int_equal(cqes[i].user_data, 2);
			assert_int_equal(cqes[i].res, 0);
		}
	}
	uaio_ctx_destroy(&ctx);
	free(bufs_raw);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	struct uaio_ctx ctx;
	create(f, &ctx, 4);
	void *buf_raw;
	uint8_t *buf = alloc_aligned(BLOCK, &buf_raw);
	/* A handle that was valid and is closed now. */
	struct uffs_file gone;
	int os_error;
	const char *what;
	assert_int_equal(uffs_file_open(f->path, &gone, &os_error, &what), 0);
	intptr_t closed = gone.handle;
	uffs_file_close(&gone);
	struct uaio_op ops[2] = {
		{closed, buf, BLOCK, 0, 7},
		{closed, buf, BLOCK, BLOCK, 8},
	};
	assert_int_equal(uaio_submit(&ctx, ops, 2), 2);
	struct uaio_cqe cqes[2];
	assert_int_equal(reap_all(&ctx, cqes, 2), 2);
	for (int i = 0; i < 2; i++) {
		assert_true(cqes[i].user_data == 7 || cqes[i].user_data == 8);
		assert_int_equal(cqes[i].res, UAIO_E_BADF);
	}
	uaio_ctx_destroy(&ctx);
	free(buf_raw);
}

static void test_buffer_reuse(void **state)
{
	struct fixture *f = *state;
	struct uaio_ctx ctx;
	struct uaio_pool pool;
	create(f, &ctx, 8);
	assert_int_equal(uaio_pool_init(&pool, 8, BLOCK, BLOCK), UAIO_OK);
	assert_true(((uintptr_t)pool.mem % BLOCK) == 0);
	uaio_register_buffers(&ctx, pool.mem, 8 * (size_t)BLOCK);
	uint64_t next = 0, done = 0, total = FILE_SIZE / BLOCK;
	uint64_t owner[8];
	while (done < total) {
		int b;
		while (next < total && (b = uaio_pool_get(&pool)) >= 0) {
			struct uaio_op op = {f->fd, uaio_pool_buf(&pool, (unsigned)b),
					     BLOCK, next * BLOCK, (uint64_t)b};
			owner[b] = next;
			assert_int_equal(uaio_submit(&ctx, &op, 1), 1);
			next++;
		}
		struct uaio_cqe cqes[8];
		int n = uaio_wait(&ctx, cqes, 8, 1, 5000);
		assert_true(n > 0);
		for (int i = 0; i < n; i++) {
			unsigned b2 = (unsigned)cqes[i].user_data;
			assert_int_equal(cqes[i].res, BLOCK);
			check_block(uaio_pool_buf(&pool, b2), owner[b2] * BLOCK,
				    BLOCK);
			uaio_pool_put(&pool, b2);
			done++;
		}
	}
	assert_int_equal(pool.n_free, 8);
	uaio_ctx_destroy(&ctx);
	uaio_pool_destroy(&pool);
}

static void test_wait_with_nothing_in_flight(void **state)
{
	struct fixture *f = *state;
	struct uaio_ctx ctx;
	create(f, &ctx, 4);
	struct uaio_cqe c;
	assert_int_equal(uaio_wait(&ctx, &c, 1, 1, 100), 0);
	uaio_ctx_destroy(&ctx);
}

/* Destroying a context with reads in flight must wait for them: the
 * buffers are freed right after (ASan would catch a late write). */
static void test_teardown_in_flight(void **state)
{
	struct fixture *f = *state;
	for (int round = 0; round < 20; round++) {
		struct uaio_ctx ctx;
		create(f, &ctx, 16);
		void *bufs_raw;
		uint8_t *bufs = alloc_aligned(16 * BLOCK, &bufs_raw);
		struct uaio_op ops[16];
		for (unsigned i = 0; i < 16; i++)
			ops[i] = (struct uaio_op){f->fd, bufs + i * BLOCK, BLOCK,
						  (uint64_t)i * BLOCK, i};
		assert_int_equal(uaio_submit(&ctx, ops, 16), 16);
		uaio_ctx_destroy(&ctx);
		free(bufs_raw);
	}
}

static const struct CMUnitTest contract[] = {
	cmocka_unit_test(test_many_in_flight),
	cmocka_unit_test(test_depth_bounds_submit),
	cmocka_unit_test(test_short_read_and_eof),
	cmocka_unit_test(test_errors),
	cmocka_unit_test(test_buffer_reuse),
	cmocka_unit_test(test_wait_with_nothing_in_flight),
	cmocka_unit_test(test_teardown_in_flight),
};

#define BACKEND_SETUP(id, ops_ptr, ...)                                         \
	static int setup_##id(void **state)                                    \
	{                                                                      \
		struct uaio_config cfg = {__VA_ARGS__};                        \
		return setup(state, ops_ptr, cfg);                              \
	}

BACKEND_SETUP(sync, &uaio_backend_sync, .depth = 8)
BACKEND_SETUP(threads, &uaio_backend_threads, .depth = 8, .threads = 4)
/* The fault backend reorders completions but injects no errors here, so it
 * must pass the same contract; its own tests follow. */
BACKEND_SETUP(fault, &uaio_backend_fault, .depth = 8,
	      .inner = &uaio_backend_threads, .seed = 42, .fault_delay_pct = 50)

/* A platform backend by name. One that this machine cannot run is not
 * skipped silently: the group runs on the backend chosen in its place, and
 * every test checks that the choice says why the named one was passed
 * over ("unavailable, falling back"). */
static int setup_by_name(void **state, const char *name)
{
	const struct uaio_backend_ops *ops = uaio_backend_by_name(name);
	if (!ops)
		return -1;
	struct uaio_config cfg = {.depth = 8};
	char why[160] = "";
	bool available = ops->probe(why, sizeof why) == UAIO_OK;
	/* A test run that points ioring at its user-mode double (scripts/test
	 * under Wine, in a build made with -Dioring_double=true) means the
	 * double to run: no fallback then. */
	const char *double_dll = getenv("UFFS_IORING_DOUBLE_DLL");
	bool on_double = strcmp(name, "ioring") == 0 && double_dll && *double_dll;
	if (on_double && !available) {
		printf("# ioring: the test double did not run: %s\n", why);
		return -1;
	}
	if (setup(state, available ? ops : NULL, cfg))
		return -1;
	if (on_double) {
		struct fixture *f = *state;
		f->runs_on = "IoRing from the test double";
		printf("# ioring runs on the test double %s\n", double_dll);
	}
	if (!available) {
		struct fixture *f = *state;
		f->fallback_from = name;
		printf("# %s unavailable, falling back: %s\n", name, why);
	}
	return 0;
}

static int setup_uring(void **state)
{
	return setup_by_name(state, "uring");
}

static int setup_iocp(void **state)
{
	return setup_by_name(state, "iocp");
}

static int setup_ioring(void **state)
{
	return setup_by_name(state, "ioring");
}

/* Fault-specific: every completion becomes an error; or short but never
 * empty. */
static void test_fault_errors(void **state)
{
	struct fixture *f = *state;
	struct uaio_config cfg = {.depth = 8, .seed = 7, .fault_error_pct = 100};
	struct uaio_ctx ctx;
	assert_int_equal(uaio_ctx_create(&ctx, &uaio_backend_fault, &cfg), 0);
	void *buf_raw;
	uint8_t *buf = alloc_aligned(8 * BLOCK, &buf_raw);
	struct uaio_op ops[8];
	for (unsigned i = 0; i < 8; i++)
		ops[i] = (struct uaio_op){f->fd, buf + i * BLOCK, BLOCK,
					  (uint64_t)i * BLOCK, i};
	assert_int_equal(uaio_submit(&ctx, ops, 8), 8);
	struct uaio_cqe cqes[8];
	assert_int_equal(reap_all(&ctx, cqes, 8), 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(cqes[i].res, UAIO_E_IO);
	uaio_ctx_destroy(&ctx);
	cfg = (struct uaio_config){.depth = 8, .seed = 7, .fault_short_pct = 100};
	assert_int_equal(uaio_ctx_create(&ctx, &uaio_backend_fault, &cfg), 0);
	assert_int_equal(uaio_submit(&ctx, ops, 8), 8);
	assert_int_equal(reap_all(&ctx, cqes, 8), 8);
	for (int i = 0; i < 8; i++) {
		assert_true(cqes[i].res > 0 && cqes[i].res < BLOCK);
		check_block(ops[cqes[i].user_data].buf,
			    ops[cqes[i].user_data].offset, (size_t)cqes[i].res);
	}
	uaio_ctx_destroy(&ctx);
	free(buf_raw);
}

/* Same seed over sync: the same completion order, twice; a reordering seed
 * does change the order. */
static void test_fault_deterministic(void **state)
{
	struct fixture *f = *state;
	uint64_t order[2][16];
	for (int run = 0; run < 2; run++) {
		struct uaio_config cfg = {.depth = 16, .seed = 99,
					  .fault_delay_pct = 60};
		struct uaio_ctx ctx;
		assert_int_equal(uaio_ctx_create(&ctx, &uaio_backend_fault, &cfg), 0);
		void *buf_raw;
		uint8_t *buf = alloc_aligned(16 * BLOCK, &buf_raw);
		struct uaio_op ops[16];
		for (unsigned i = 0; i < 16; i++)
			ops[i] = (struct uaio_op){f->fd, buf + i * BLOCK, BLOCK,
						  (uint64_t)i * BLOCK, i};
		assert_int_equal(uaio_submit(&ctx, ops, 16), 16);
		struct uaio_cqe cqes[16];
		assert_int_equal(reap_all(&ctx, cqes, 16), 16);
		for (int i = 0; i < 16; i++)
			order[run][i] = cqes[i].user_data;
		uaio_ctx_destroy(&ctx);
		free(buf_raw);
	}
	assert_memory_equal(order[0], order[1], sizeof order[0]);
	bool in_order = true;
	for (int i = 0; i < 16; i++)
		in_order &= order[0][i] == (uint64_t)i;
	assert_false(in_order);
}

/* Reads through a function (a container's reader): the file's pattern from
 * memory, counting calls; one offset fails on purpose. */
#define READER_BAD_OFFSET (7u * BLOCK)

struct mem_reader {
	unsigned calls;
};

static int64_t read_pattern(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct mem_reader *m = ctx;
	__atomic_add_fetch(&m->calls, 1, __ATOMIC_RELAXED);
	if (off == READER_BAD_OFFSET)
		return UAIO_E_IO;
	if (off >= FILE_SIZE)
		return 0;
	if (len > FILE_SIZE - off)
		len = (size_t)(FILE_SIZE - off);
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = pattern(off + i);
	return (int64_t)len;
}

static void read_through(const struct uaio_backend_ops *ops,
			 const struct uaio_backend_ops *inner)
{
	struct mem_reader m = {0};
	struct uaio_reader reader = {read_pattern, &m};
	struct uaio_config cfg = {.depth = 8, .threads = 3, .reader = &reader,
				  .inner = inner, .seed = 9,
				  .fault_delay_pct = 50};
	struct uaio_ctx ctx;
	assert_int_equal(uaio_ctx_create(&ctx, ops, &cfg), UAIO_OK);
	uint8_t *buf = malloc(16 * BLOCK);
	struct uaio_cqe cqes[16];
	unsigned done = 0, n = 0;
	for (unsigned i = 0; i < 16; i++) {
		/* handles are ignored: the reader is the source */
		struct uaio_op op = {-1, buf + i * BLOCK, BLOCK,
				     (uint64_t)i * BLOCK, i};
		while (uaio_submit(&ctx, &op, 1) != 1) {
			int rc = uaio_wait(&ctx, cqes + n, 16 - n, 1, 5000);
			assert_true(rc > 0);
			n += (unsigned)rc;
		}
	}
	while (ctx.inflight) {
		int rc = uaio_wait(&ctx, cqes + n, 16 - n, 1, 5000);
		assert_true(rc > 0);
		n += (unsigned)rc;
	}
	assert_int_equal(n, 16);
	for (unsigned i = 0; i < n; i++) {
		uint64_t k = cqes[i].user_data;
		if (k * BLOCK == READER_BAD_OFFSET) {
			assert_int_equal(cqes[i].res, UAIO_E_IO);
			continue;
		}
		assert_int_equal(cqes[i].res, BLOCK);
		check_block(buf + k * BLOCK, k * BLOCK, BLOCK);
		done++;
	}
	assert_int_equal(done, 15);
	assert_true(m.calls >= 16);
	uaio_ctx_destroy(&ctx);
	free(buf);
}

static void test_reader_sync(void **state)
{
	(void)state;
	read_through(&uaio_backend_sync, NULL);
}

static void test_reader_threads(void **state)
{
	(void)state;
	read_through(&uaio_backend_threads, NULL);
}

static void test_reader_fault(void **state)
{
	(void)state;
	read_through(&uaio_backend_fault, &uaio_backend_threads);
}

/* Backends whose kernel reads handles refuse a reader; choosing the best
 * backend with one lands on one that takes it. */
static void test_reader_refused_by_kernel_backends(void **state)
{
	(void)state;
	struct mem_reader m = {0};
	struct uaio_reader reader = {read_pattern, &m};
	struct uaio_config cfg = {.depth = 8, .reader = &reader};
	static const char *const kernel[] = {"uring", "iocp", "ioring"};
	for (size_t i = 0; i < 3; i++) {
		const struct uaio_backend_ops *ops = uaio_backend_by_name(kernel[i]);
		struct uaio_ctx ctx;
		char why[160] = "";
		if (!ops || ops->probe(why, sizeof why) != UAIO_OK)
			continue;
		assert_int_equal(uaio_ctx_create(&ctx, ops, &cfg),
				 UAIO_E_UNAVAILABLE);
	}
	struct uaio_ctx ctx;
	assert_int_equal(uaio_ctx_create(&ctx, NULL, &cfg), UAIO_OK);
	assert_true(ctx.ops == &uaio_backend_threads ||
		    ctx.ops == &uaio_backend_sync);
	uaio_ctx_destroy(&ctx);
}

static const struct CMUnitTest reader_tests[] = {
	cmocka_unit_test(test_reader_sync),
	cmocka_unit_test(test_reader_threads),
	cmocka_unit_test(test_reader_fault),
	cmocka_unit_test(test_reader_refused_by_kernel_backends),
};

static const struct CMUnitTest fault_only[] = {
	cmocka_unit_test(test_fault_errors),
	cmocka_unit_test(test_fault_deterministic),
};

/* One group per backend. With a group name as its argument the program runs
 * that group alone (meson registers one test per group, since cmocka starts
 * TAP numbering anew in each); without one it runs every group it can. A
 * backend this build or machine lacks is a TAP skip, not a pass. */
struct contract_group {
	const char *name, *backend;
	const struct CMUnitTest *tests;
	size_t count;
	CMFixtureFunction setup;
};

static int run_group(const struct contract_group *g)
{
	return _cmocka_run_group_tests(g->name, g->tests, g->count, g->setup,
				       teardown);
}

int main(int argc, char **argv)
{
	const size_t n = sizeof contract / sizeof *contract;
	const struct contract_group groups[] = {
		{ "sync", "sync", contract, n, setup_sync },
		{ "threads", "threads", contract, n, setup_threads },
		{ "fault", "fault", contract, n, setup_fault },
		{ "fault-only", "sync", fault_only,
		  sizeof fault_only / sizeof *fault_only, setup_sync },
		{ "reader", "sync", reader_tests,
		  sizeof reader_tests / sizeof *reader_tests, setup_sync },
		{ "uring", "uring", contract, n, setup_uring },
		{ "iocp", "iocp", contract, n, setup_iocp },
		{ "ioring", "ioring", contract, n, setup_ioring },
	};
	const size_t ngroups = sizeof groups / sizeof *groups;
	int failed = 0;
	for (size_t i = 0; i < ngroups; i++) {
		const struct contract_group *g = &groups[i];
		if (argc > 1 && strcmp(argv[1], g->name) != 0)
			continue;
		if (uaio_backend_by_name(g->backend))
			failed += run_group(g);
		else if (argc > 1)
			printf("1..0 # SKIP the %s backend is not in this build\n",
			       g->backend);
		if (argc > 1)
			return failed;
	}
	if (argc > 1) {
		fprintf(stderr, "test_aio_contract: no group named %s\n", argv[1]);
		return 2;
	}
	return failed;
}
