/* Formatting rows on several threads: consecutive blocks of items, each
 * formatted into its own memory buffer by whichever thread is free, written
 * out strictly in block order by whichever thread finds the next one ready
 * (the caller is one of the threads). Buffers are a small ring that is
 * reused, so memory stays a few blocks' worth however long the listing. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "rows.h"

/* Blocks small enough that a few of them stay in the cache and even a
 * small volume is spread over every thread, large enough that handing
 * them out costs nothing measurable. */
#define BLOCK_ITEMS_MIN 64u
#define BLOCK_ITEMS_MAX 8192u
#define BLOCKS_PER_THREAD 64u

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_READY };

struct slot {
	struct out o;
	uint64_t block;
	enum slot_state state;
};

struct par {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct slot *slots;
	unsigned n_slots;
	uint64_t next_block, next_write, n_blocks, n_items, block_items;
	bool writing; /* a thread is writing block next_write */
	struct out *dest;
	rows_fill_fn *fill;
	void *ctx;
};

/* Each worker on cache lines of its own: a worker writes its rows' output
 * position and path state for every row, and sharing a line with the next
 * worker's made both threads wait on it (found when a few bytes added to
 * struct rows slowed a listing by a fifth: 0.147 s to 0.179 s). */
#define WORKER_ALIGN 128u

struct worker {
	_Alignas(WORKER_ALIGN) struct par *par;
	struct rows rows;
	pthread_t thread;
	bool started;
};

static void fill_block(struct worker *w, struct slot *s, uint64_t b)
{
	struct par *par = w->par;
	uint64_t first = b * par->block_items;
	uint64_t end = par->n_items - first > par->block_items
			       ? first + par->block_items
			       : par->n_items;
	w->rows.o = s->o;
	out_reset(&w->rows.o);
	par->fill(&w->rows, first, end, par->ctx);
	s->o = w->rows.o;
}

/* Writes the block next in order if it is ready and no other thread is
 * writing. Called, and returns, with the lock held. */
static bool write_next(struct par *par)
{
	if (par->writing || par->next_write >= par->n_blocks)
		return false;
	struct slot *s = &par->slots[par->next_write % par->n_slots];
	if (s->state != SLOT_READY || s->block != par->next_write)
		return false;
	par->writing = true;
	pthread_mutex_unlock(&par->lock);
	if (s->o.len) /* an empty block may have no buffer yet */
		out_pass(par->dest, s->o.buf, s->o.len);
	if (s->o.failed)
		par->dest->failed = true;
	pthread_mutex_lock(&par->lock);
	s->state = SLOT_FREE;
	par->next_write++;
	par->writing = false;
	pthread_cond_broadcast(&par->changed); /* a slot to fill, or the end */
	return true;
}

/* Formats the next block if its slot is free. Called, and returns, with
 * the lock held. No wake-up after: this thread goes on to write the block
 * itself when it is next, or the thread writing now does. */
static bool fill_next(struct worker *w, struct par *par)
{
	if (par->next_block >= par->n_blocks)
		return false;
	uint64_t b = par->next_block;
	struct slot *s = &par->slots[b % par->n_slots];
	if (s->state != SLOT_FREE)
		return false;
	par->next_block++;
	s->state = SLOT_FILLING;
	pthread_mutex_unlock(&par->lock);
	fill_block(w, s, b);
	pthread_mutex_lock(&par->lock);
	s->block = b;
	s->state = SLOT_READY;
	return true;
}

/* Every thread, the caller's too, formats blocks and writes whichever is
 * next in order: no thread only waits to write, so on two cores no
 * writer wakes up between the two that format. */
static void *work(void *arg)
{
	struct worker *w = arg;
	struct par *par = w->par;
	pthread_mutex_lock(&par->lock);
	while (par->next_write < par->n_blocks)
		if (!write_next(par) && !fill_next(w, par))
			pthread_cond_wait(&par->changed, &par->lock);
	pthread_mutex_unlock(&par->lock);
	return NULL;
}

static int worker_init(struct worker *w, struct par *par, const struct rows *p)
{
	w->par = par;
	w->rows = *p;
	w->rows.path_frs = UINT64_MAX;
	w->rows.plain_dir_frs = UINT64_MAX;
	w->rows.path = malloc(ROWS_PATH_CAP);
	if (!w->rows.path)
		return -1;
	if (uffs_path_cache_init(&w->rows.cache, p->cache.sep)) {
		free(w->rows.path);
		w->rows.path = NULL;
		return -1;
	}
	return 0;
}

static void worker_free(struct worker *w)
{
	if (!w->rows.path)
		return;
	free(w->rows.path);
	uffs_path_cache_free(&w->rows.cache);
}

/* Runs the workers, the caller as the first of them, until every block
 * is written; false, with nothing done, when the caller's could not be
 * set up. Each takes its copy of p before any starts: the one writing
 * out changes p's output. */
static bool run_workers(struct worker *w, unsigned n, struct par *par,
			const struct rows *p)
{
	unsigned ready = 0;
	while (ready < n && !worker_init(&w[ready], par, p))
		ready++;
	if (!ready)
		return false;
	for (unsigned i = 1; i < ready; i++)
		w[i].started = !pthread_create(&w[i].thread, NULL, work, &w[i]);
	work(&w[0]);
	for (unsigned i = 1; i < ready; i++)
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
	for (unsigned i = 0; i < ready; i++)
		worker_free(&w[i]);
	return true;
}

/* Workers on a boundary of WORKER_ALIGN (sizeof is a multiple of it, so
 * each element starts a line); *raw is what to free. Not aligned_alloc:
 * the Windows C runtime has none. */
static struct worker *new_workers(unsigned n, void **raw)
{
	*raw = calloc(1, n * sizeof(struct worker) + WORKER_ALIGN);
	if (!*raw)
		return NULL;
	uintptr_t at = ((uintptr_t)*raw + WORKER_ALIGN - 1) &
		       ~(uintptr_t)(WORKER_ALIGN - 1);
	return (struct worker *)at;
}

void rows_parallel(struct rows *p, uint64_t n_items, unsigned threads,
		   rows_fill_fn *fill, void *ctx)
{
	uint64_t block = threads ? n_items / threads / BLOCKS_PER_THREAD : 0;
	if (block < BLOCK_ITEMS_MIN)
		block = BLOCK_ITEMS_MIN;
	if (block > BLOCK_ITEMS_MAX)
		block = BLOCK_ITEMS_MAX;
	uint64_t n_blocks = (n_items + block - 1) / block;
	if (threads > n_blocks)
		threads = (unsigned)n_blocks;
	struct par par = {.n_slots = 2 * threads, .n_blocks = n_blocks,
			  .n_items = n_items, .block_items = block,
			  .dest = &p->o, .fill = fill, .ctx = ctx};
	void *w_raw = NULL;
	struct worker *w = threads > 1 ? new_workers(threads, &w_raw) : NULL;
	par.slots = w ? calloc(par.n_slots, sizeof *par.slots) : NULL;
	if (!par.slots || pthread_mutex_init(&par.lock, NULL)) {
		free(par.slots);
		free(w_raw);
		fill(p, 0, n_items, ctx);
		return;
	}
	pthread_cond_init(&par.changed, NULL);
	for (unsigned i = 0; i < par.n_slots; i++)
		out_init_memory(&par.slots[i].o);
	if (!run_workers(w, threads, &par, p))
		fill(p, 0, n_items, ctx);
	for (unsigned i = 0; i < par.n_slots; i++)
		free(par.slots[i].o.buf);
	pthread_cond_destroy(&par.changed);
	pthread_mutex_destroy(&par.lock);
	free(par.slots);
	free(w_raw);
}
