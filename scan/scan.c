/* The scan engine. One coordinator thread plans, reads and dispatches;
 * parse workers turn chunks into batches; batches are merged strictly in
 * chunk order, so the index does not depend on timing. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../mft/ntfs_format.h"
#include "../source/proc.h"
#include "plan.h"
#include "scan.h"

#define CHUNK_SSD (512u << 10)
#define CHUNK_HDD (4u << 20)
/* An uncached $MFT read by pipelined-parallel: large in-order reads, which
 * the kernel's read-ahead runs ahead of (1 to 2 MiB measured 20% faster
 * cold than 512 KiB, and the same warm). */
#define CHUNK_UNCACHED (2u << 20)
#define DEPTH_AUTO_START 4u
#define DEPTH_AUTO_WINDOW 16u
#define WORKERS_MAX 64u
#define NO_SLOT UINT32_MAX

static const char *const mode_names[UFFS_MODE_COUNT] = {
	"auto", "streaming", "prefetch", "pipelined", "pipelined-parallel",
	"parallel", "async",
};

const char *uffs_mode_name(enum uffs_mode m)
{
	return m < UFFS_MODE_COUNT ? mode_names[m] : "?";
}

int uffs_mode_parse(const char *s)
{
	if (strcmp(s, "iocp-parallel") == 0)
		return UFFS_MODE_ASYNC;
	for (int m = 0; m < UFFS_MODE_COUNT; m++)
		if (strcmp(s, mode_names[m]) == 0)
			return m;
	return -1;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread: parse time per core, not counting time
 * the thread waited for a core. */
static double thread_cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The stats' clocks: a clock read per chunk is a system call on VMs whose
 * clock source the vDSO cannot read, so they are read only when asked. */
static double stats_now(const struct uffs_scan_opts *o)
{
	return o->timings || o->verbose ? now_seconds() : 0;
}

static double stats_cpu_now(const struct uffs_scan_opts *o)
{
	return o->timings || o->verbose ? thread_cpu_seconds() : 0;
}

static void explain(struct uffs_scan_stats *st, const char *text)
{
	size_t used = strlen(st->why);
	snprintf(st->why + used, sizeof st->why - used, "%s%s",
		 used ? "; " : "", text);
}

/* ---- one record ---------------------------------------------------------- */

/* Damage worth a warning: a record the volume says is in use, or any record
 * that once held a file when there is no bitmap to ask. Empty and
 * never-used slots are normal and stay silent. */
static bool worth_warning(const struct uffs_volume *v, uint64_t frs, int rc)
{
	if (rc == MFT_E_EMPTY)
		return false;
	if (v->bitmap)
		return uffs_volume_record_in_bitmap(v, frs);
	return rc != MFT_E_BAD_MAGIC;
}

int uffs_scan_record(const struct uffs_volume *v, struct uffs_index *idx,
		     uint8_t *rec, uint64_t frs, struct mft_record_view *view,
		     const struct uffs_warn_sink *warn, struct mft_error *err)
{
	struct mft_error rec_err;
	int rc = mft_record_parse(rec, v->record_size, frs, view, &rec_err);
	if (rc == MFT_OK) {
		if (view->partial && worth_warning(v, frs, MFT_E_CORRUPT))
			uffs_warn(warn, &view->damage);
		/* The merger drops such a record's names and streams (they
		 * would belong to no file): say so rather than lose them
		 * silently. */
		if (view->base_ref && MFT_REF_FRS(view->base_ref) == frs &&
		    worth_warning(v, frs, MFT_E_CORRUPT)) {
			mft_fail(&rec_err, MFT_E_CORRUPT, frs, MFT_REC_BASE_REF,
				 "extension record names itself as its own base: "
				 "its attributes are ignored");
			uffs_warn(warn, &rec_err);
		}
		if (view->baad && worth_warning(v, frs, MFT_E_BAAD)) {
			mft_fail(&rec_err, MFT_E_BAAD, frs, 0,
				 "record marked BAAD by chkdsk but intact: listed");
			uffs_warn(warn, &rec_err);
		}
		return uffs_index_add_record(idx, view, err);
	}
	if (rc != MFT_E_EMPTY && rc != MFT_E_BAD_MAGIC)
		uffs_index_mark_damaged(idx, frs);
	if (worth_warning(v, frs, rc))
		uffs_warn(warn, &rec_err);
	return MFT_OK;
}

/* ---- engine state -------------------------------------------------------- */

enum slot_state { SLOT_FREE, SLOT_READING, SLOT_PARSING, SLOT_PARSED };

/* Warnings of one chunk, kept until its batch is merged so they come out in
 * record order whatever thread found them. */
struct warn_list {
	struct mft_error *e;
	size_t n, cap;
};

struct slot {
	uint8_t *buf;
	uint32_t chunk;
	uint32_t pending; /* pieces still being read */
	enum slot_state state;
	struct uffs_index batch;
	bool in_place; /* parsed straight into the index, not the batch */
	struct warn_list warnings;
	uint32_t *piece_done; /* bytes read so far, per piece */
	double read_start;    /* when its reads were submitted */
};

struct engine {
	const struct uffs_volume *v;
	struct uffs_index *idx;
	struct uffs_plan plan;
	const struct uffs_scan_opts *o;
	struct uffs_scan_stats *st;
	const struct uffs_warn_sink *warn;

	unsigned n_slots;
	struct slot *slots;
	uint8_t *mem; /* chunk buffers, or the whole $MFT in parallel mode */
	uint32_t *chunk_slot;

	pthread_mutex_t lock;
	pthread_cond_t job_cv;
	pthread_cond_t free_cv;
	uint32_t *jobs;
	unsigned job_head, job_count;
	bool stop;
	unsigned n_workers;
	pthread_t tid[WORKERS_MAX];
	unsigned free_slots;
	uint64_t next_merge;
	bool merging; /* a thread is in merge_ready_locked */
	uint64_t next_chunk; /* pipelined-parallel: the next chunk to read */
	const struct uaio_backend_ops *reading_backend;
	int error;
	struct mft_error err;
	double parse_s, merge_s;
	double t_start;
	uint64_t records_merged;
};

static void fail_locked(struct engine *e, const struct mft_error *err)
{
	if (!e->error) {
		e->error = err->code ? err->code : MFT_E_IO;
		e->err = *err;
	}
}

static void fail(struct engine *e, const struct mft_error *err)
{
	pthread_mutex_lock(&e->lock);
	fail_locked(e, err);
	pthread_cond_broadcast(&e->free_cv);
	pthread_mutex_unlock(&e->lock);
}

static void collect_warning(void *ctx, const struct mft_error *err)
{
	struct warn_list *w = ctx;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		struct mft_error *n = realloc(w->e, cap * sizeof *n);
		if (!n)
			return; /* a warning lost beats a crash */
		w->e = n;
		w->cap = cap;
	}
	w->e[w->n++] = *err;
}

/* ---- parsing and the ordered merge --------------------------------------- */

/* Parses a slot's chunk into `into`: the index itself when the chunk is
 * next in merge order (see parse_and_merge), else the slot's batch. */
static int parse_chunk(struct engine *e, struct slot *s, struct uffs_index *into,
		       struct mft_record_view *view, struct mft_error *err)
{
	const struct uffs_chunk *c = &e->plan.chunks[s->chunk];
	const struct uffs_volume *v = e->v;
	struct uffs_warn_sink sink = {collect_warning, &s->warnings};
	/* Record 0 was unusable and the volume was opened through its
	 * $MFTMirr copy: index that copy. */
	if (c->first == 0 && v->mirror_rec0)
		memcpy(s->buf, v->mirror_rec0, v->record_size);
	if (into == &s->batch)
		uffs_index_batch_reset(&s->batch, c->first, c->count);
	for (uint32_t i = 0; i < c->count; i++) {
		int rc = uffs_scan_record(v, into,
					  s->buf + (size_t)i * v->record_size,
					  c->first + i, view, &sink, err);
		if (rc)
			return rc;
	}
	return MFT_OK;
}

static void report_progress(struct engine *e, bool finished)
{
	if (!e->o->progress)
		return;
	uint64_t rs = e->v->record_size;
	struct uffs_progress p = {
		.records_done = e->records_merged,
		.records_total = e->plan.records_planned,
		.bytes_done = e->records_merged * rs,
		.bytes_total = e->plan.records_planned * rs,
		.seconds = now_seconds() - e->t_start,
		.finished = finished,
	};
	e->o->progress(e->o->progress_ctx, &p);
}

/* Appends every parsed batch that is next in chunk order. Caller holds the
 * lock; it is let go while a batch is copied, so that the other workers
 * can take their next chunks meanwhile (a merge under the lock held them
 * all up). One thread merges at a time: the others leave what they parsed
 * to it. Nobody parses into the index while a batch is appended, since
 * that needs the chunk next in order, which the merger holds parsed. */
static void merge_ready_locked(struct engine *e)
{
	if (e->merging)
		return;
	e->merging = true;
	while (e->next_merge < e->plan.n_chunks) {
		uint32_t si = e->chunk_slot[e->next_merge];
		if (si == NO_SLOT || e->slots[si].state != SLOT_PARSED)
			break;
		struct slot *s = &e->slots[si];
		bool copy = !e->error && !s->in_place;
		pthread_mutex_unlock(&e->lock);
		double t0 = stats_now(e->o);
		struct mft_error err;
		int rc = copy ? uffs_index_append(e->idx, &s->batch, &err) : 0;
		for (size_t i = 0; i < s->warnings.n; i++)
			uffs_warn(e->warn, &s->warnings.e[i]);
		double dt = stats_now(e->o) - t0;
		pthread_mutex_lock(&e->lock);
		if (rc)
			fail_locked(e, &err);
		e->merge_s += dt;
		s->warnings.n = 0;
		s->state = SLOT_FREE;
		e->chunk_slot[e->next_merge] = NO_SLOT;
		e->records_merged += e->plan.chunks[e->next_merge].count;
		e->next_merge++;
		e->free_slots++;
		report_progress(e, false);
		pthread_cond_broadcast(&e->free_cv);
	}
	e->merging = false;
}

static void parse_and_merge(struct engine *e, unsigned si,
			    struct mft_record_view *view)
{
	struct mft_error err;
	struct slot *s = &e->slots[si];
	/* The chunk next in order goes straight into the index, with no
	 * batch to copy: nothing merges before it is done, so no other thread
	 * touches the index's tables meanwhile (other workers fill their own
	 * batches and the per-record slots of their own records). */
	pthread_mutex_lock(&e->lock);
	s->in_place = s->chunk == e->next_merge && !e->error;
	pthread_mutex_unlock(&e->lock);
	double t0 = stats_cpu_now(e->o);
	int rc = parse_chunk(e, s, s->in_place ? e->idx : &s->batch, view, &err);
	double dt = stats_cpu_now(e->o) - t0;
	pthread_mutex_lock(&e->lock);
	e->parse_s += dt;
	if (rc)
		fail_locked(e, &err);
	e->slots[si].state = SLOT_PARSED;
	merge_ready_locked(e);
	pthread_mutex_unlock(&e->lock);
}

static void *parse_worker(void *arg)
{
	struct engine *e = arg;
	struct mft_record_view *view = malloc(sizeof *view);
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (!e->job_count && !e->stop)
			pthread_cond_wait(&e->job_cv, &e->lock);
		if (!e->job_count)
			break;
		unsigned si = e->jobs[e->job_head];
		e->job_head = (e->job_head + 1) % e->n_slots;
		e->job_count--;
		pthread_mutex_unlock(&e->lock);
		if (view) {
			parse_and_merge(e, si, view);
		} else {
			struct mft_error err;
			mft_fail(&err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
			fail(e, &err);
		}
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	free(view);
	return NULL;
}

/* A chunk's bytes are all in: parse it here (no parse workers, or a
 * worker that reads its own chunks) or queue it for the parse workers. */
static void chunk_ready(struct engine *e, unsigned si,
			struct mft_record_view *inline_view)
{
	pthread_mutex_lock(&e->lock);
	e->slots[si].state = SLOT_PARSING;
	if (!e->n_workers || inline_view) {
		pthread_mutex_unlock(&e->lock);
		parse_and_merge(e, si, inline_view);
		return;
	}
	e->jobs[(e->job_head + e->job_count++) % e->n_slots] = si;
	pthread_cond_signal(&e->job_cv);
	pthread_mutex_unlock(&e->lock);
}

/* Waits until a slot is free (or an error); returns its index or NO_SLOT. */
static uint32_t take_slot(struct engine *e, bool wait)
{
	pthread_mutex_lock(&e->lock);
	while (wait && !e->free_slots && !e->error)
		pthread_cond_wait(&e->free_cv, &e->lock);
	uint32_t found = NO_SLOT;
	if (e->free_slots && !e->error) {
		for (unsigned i = 0; i < e->n_slots; i++)
			if (e->slots[i].state == SLOT_FREE) {
				found = i;
				e->slots[i].state = SLOT_READING;
				e->free_slots--;
				break;
			}
	}
	pthread_mutex_unlock(&e->lock);
	return found;
}

static void wait_all_merged(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	while (e->next_merge < e->plan.n_chunks && !e->error)
		pthread_cond_wait(&e->free_cv, &e->lock);
	pthread_mutex_unlock(&e->lock);
}

/* ---- reading through uaio ------------------------------------------------ */

static uint64_t user_data(unsigned slot, uint32_t piece)
{
	return (uint64_t)slot << 32 | piece;
}

static int read_error(struct engine *e, unsigned si, uint32_t piece,
		      uint32_t done, int64_t res)
{
	const struct uffs_chunk *c = &e->plan.chunks[e->slots[si].chunk];
	const struct uffs_piece *p = &e->plan.pieces[c->first_piece + piece];
	uint64_t rs = e->v->record_size;
	struct mft_error err;
	uint64_t frs = c->first + (p->buf_off + done) / rs;
	struct uffs_container *fmt = e->v->src->format;
	const char *what = res < 0 ? uaio_strerror((int)res)
				   : "short read (truncated image?)";
	/* What the container's library said, copied: the container may be
	 * closed before the error is shown. */
	char reason[UFFS_CONTAINER_WHY + 2] = "";
	char why[UFFS_CONTAINER_WHY] = "";
	if (res < 0 && fmt)
		uffs_container_last_error(fmt, why);
	if (why[0]) {
		what = "reading the container failed";
		snprintf(reason, sizeof reason, "%s; ", why);
	}
	mft_fail(&err, res < 0 ? MFT_E_IO : MFT_E_TRUNCATED, frs,
		 (p->buf_off + done) % rs, what);
	snprintf(err.detail, sizeof err.detail,
		 "%srecords %llu..%llu, source bytes %llu..%llu, %u of %u bytes read",
		 reason, (unsigned long long)c->first,
		 (unsigned long long)(c->first + c->count - 1),
		 (unsigned long long)p->src_off,
		 (unsigned long long)(p->src_off + p->len), done, p->len);
	fail(e, &err);
	return err.code;
}

static int submit_piece(struct engine *e, struct uaio_ctx *ctx, unsigned si,
			uint32_t piece)
{
	struct slot *s = &e->slots[si];
	const struct uffs_chunk *c = &e->plan.chunks[s->chunk];
	const struct uffs_piece *p = &e->plan.pieces[c->first_piece + piece];
	uint32_t done = s->piece_done[piece];
	const struct uffs_file *f = &e->v->src->file;
	struct uaio_op op = {f->handle, s->buf + p->buf_off + done,
			     p->len - done, p->src_off + done,
			     user_data(si, piece)};
	/* Around the page cache when asked and everything is aligned; a
	 * short read's remainder may not be, and goes through the cache. */
	uint32_t a = f->direct_align;
	if (f->direct_handle >= 0 && a && op.offset % a == 0 && op.len % a == 0 &&
	    (uintptr_t)op.buf % a == 0)
		op.handle = f->direct_handle;
	/* A full queue (or a transient refusal) leaves the piece to the
	 * backlog, retried after the next completions. */
	return uaio_submit(ctx, &op, 1) == 1 ? 0 : UAIO_E_BUSY;
}

struct reader {
	struct uaio_ctx ctx;
	struct uaio_cqe *cqes;
	unsigned cqe_cap;
	/* pieces waiting for room in the submission queue */
	uint64_t *backlog;
	unsigned n_backlog, cap_backlog;
	unsigned depth_now;
	unsigned slots_reading;
	/* --depth auto */
	double window_start;
	uint64_t window_bytes;
	unsigned window_chunks;
	double window_latency; /* summed chunk read latency */
	double best_rate;
	double best_latency;   /* mean chunk latency in the best window */
	/* summed into the scan's figures when the reader closes */
	uint64_t bytes_read, short_reads;
	double io_wait;
};

static void backlog_push(struct reader *r, uint64_t ud)
{
	r->backlog[r->n_backlog++] = ud;
}

static void flush_backlog(struct engine *e, struct reader *r)
{
	unsigned kept = 0;
	for (unsigned i = 0; i < r->n_backlog; i++) {
		uint64_t ud = r->backlog[i];
		if (submit_piece(e, &r->ctx, (unsigned)(ud >> 32), (uint32_t)ud))
			r->backlog[kept++] = ud;
	}
	r->n_backlog = kept;
}

static void start_chunk(struct engine *e, struct reader *r, unsigned si,
			uint32_t chunk, struct mft_record_view *inline_view)
{
	struct slot *s = &e->slots[si];
	const struct uffs_chunk *c = &e->plan.chunks[chunk];
	s->chunk = chunk;
	s->read_start = e->o->depth_auto ? now_seconds() : 0;
	pthread_mutex_lock(&e->lock);
	e->chunk_slot[chunk] = si;
	pthread_mutex_unlock(&e->lock);
	s->pending = 0;
	for (uint32_t k = 0; k < c->n_pieces; k++) {
		const struct uffs_piece *p = &e->plan.pieces[c->first_piece + k];
		s->piece_done[k] = 0;
		if (p->src_off == UFFS_SPARSE_OFFSET) {
			memset(s->buf + p->buf_off, 0, p->len);
			continue;
		}
		s->pending++;
		if (r->n_backlog || submit_piece(e, &r->ctx, si, k))
			backlog_push(r, user_data(si, k));
	}
	if (s->pending == 0)
		chunk_ready(e, si, inline_view);
	else
		r->slots_reading++;
}

/* --depth auto: every few chunks, compare throughput and read latency with
 * the best window seen. Deepen while throughput grows; back off when it
 * falls, or when latency climbs (reads queue up in the device) without
 * throughput to show for it. */
static void adapt_depth(struct engine *e, struct reader *r, uint64_t bytes,
			double latency)
{
	if (!e->o->depth_auto)
		return;
	r->window_bytes += bytes;
	r->window_latency += latency;
	if (++r->window_chunks < DEPTH_AUTO_WINDOW)
		return;
	double t = now_seconds();
	double rate = (double)r->window_bytes / (t - r->window_start + 1e-9);
	double lat = r->window_latency / r->window_chunks;
	unsigned before = r->depth_now;
	if (rate > r->best_rate * 1.05) {
		r->best_rate = rate;
		r->best_latency = lat;
		if (r->depth_now * 2 <= e->n_slots)
			r->depth_now *= 2;
	} else if (r->depth_now > 2 &&
		   (rate < r->best_rate * 0.8 ||
		    (lat > r->best_latency * 1.5 && rate < r->best_rate * 1.05))) {
		r->depth_now /= 2;
		r->best_rate = rate;
		r->best_latency = lat;
	}
	if (e->o->verbose && before != r->depth_now)
		fprintf(stderr,
			"uffs: depth auto: %.0f MB/s, %.2f ms per read at depth %u -> depth %u\n",
			rate / 1e6, lat * 1e3, before, r->depth_now);
	r->window_start = t;
	r->window_bytes = 0;
	r->window_chunks = 0;
	r->window_latency = 0;
}

static void handle_completion(struct engine *e, struct reader *r,
			      const struct uaio_cqe *c,
			      struct mft_record_view *inline_view)
{
	unsigned si = (unsigned)(c->user_data >> 32);
	uint32_t k = (uint32_t)c->user_data;
	struct slot *s = &e->slots[si];
	const struct uffs_chunk *ch = &e->plan.chunks[s->chunk];
	const struct uffs_piece *p = &e->plan.pieces[ch->first_piece + k];
	if (c->res <= 0) {
		read_error(e, si, k, s->piece_done[k], c->res);
		return;
	}
	s->piece_done[k] += (uint32_t)c->res;
	r->bytes_read += (uint64_t)c->res;
	if (s->piece_done[k] < p->len) {
		r->short_reads++;
		backlog_push(r, c->user_data);
		return;
	}
	if (--s->pending == 0) {
		r->slots_reading--;
		adapt_depth(e, r, (uint64_t)ch->count * e->v->record_size,
			    now_seconds() - s->read_start);
		chunk_ready(e, si, inline_view);
	}
}

static bool has_error(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	bool err = e->error != 0;
	pthread_mutex_unlock(&e->lock);
	return err;
}

/* Opens a reader with room for `depth` reads in flight. */
static int reader_open(struct engine *e, struct reader *r,
		       const struct uaio_backend_ops *backend,
		       const struct uaio_config *cfg, unsigned depth)
{
	*r = (struct reader){0};
	struct uaio_config c = *cfg;
	c.depth = depth > 4096 ? 4096 : depth < 2 ? 2 : depth;
	c.reader = uffs_source_reader(e->v->src);
	int rc = uaio_ctx_create(&r->ctx, backend, &c);
	if (rc) {
		struct mft_error err;
		mft_fail(&err, MFT_E_UNSUPPORTED, MFT_NO_FRS, MFT_NO_OFFSET,
			 backend ? "the chosen I/O backend is unavailable here"
				 : "no I/O backend available");
		if (backend && c.reader) {
			err.what = "this I/O backend reads OS files only, not a container";
			snprintf(err.detail, sizeof err.detail,
				 "read a %s container with --backend threads or sync",
				 e->v->src->format->format);
		}
		/* why the backend was passed over goes into the error, not to
		 * stderr: the engine runs inside the library too */
		if (!err.detail[0] && r->ctx.why[0])
			snprintf(err.detail, sizeof err.detail, "%s", r->ctx.why);
		fail(e, &err);
		return err.code;
	}
	pthread_mutex_lock(&e->lock);
	bool first = !e->st->backend;
	e->st->backend = r->ctx.ops->name;
	if (first && r->ctx.why[0]) {
		char text[200];
		snprintf(text, sizeof text, "skipped %s", r->ctx.why);
		explain(e->st, text);
		if (e->o->verbose)
			fprintf(stderr, "uffs: I/O backend %s (%s)\n",
				r->ctx.ops->name, text);
	}
	/* What the backend runs on, where that can differ (IoRing from
	 * KernelBase or from the test double). */
	if (first && r->ctx.detail[0]) {
		char text[140];
		snprintf(text, sizeof text, "%s: %s", r->ctx.ops->name,
			 r->ctx.detail);
		explain(e->st, text);
		if (e->o->verbose)
			fprintf(stderr, "uffs: I/O backend %s\n", text);
	}
	pthread_mutex_unlock(&e->lock);
	uaio_register_buffers(&r->ctx, e->mem,
			      (size_t)e->n_slots * e->plan.chunk_records *
				      e->v->record_size);
	unsigned pieces = e->plan.max_pieces ? e->plan.max_pieces : 1;
	r->cqe_cap = c.depth;
	r->cqes = malloc(r->cqe_cap * sizeof *r->cqes);
	r->cap_backlog = e->n_slots * pieces;
	r->backlog = malloc((r->cap_backlog + 1) * sizeof *r->backlog);
	r->depth_now = e->o->depth_auto ? DEPTH_AUTO_START : e->n_slots;
	if (r->depth_now > e->n_slots)
		r->depth_now = e->n_slots;
	r->window_start = now_seconds();
	if (!r->cqes || !r->backlog) {
		struct mft_error err;
		mft_fail(&err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
		fail(e, &err);
		return err.code;
	}
	return MFT_OK;
}

static void reader_close(struct engine *e, struct reader *r)
{
	uaio_ctx_destroy(&r->ctx); /* waits for reads still in flight */
	free(r->cqes);
	free(r->backlog);
	pthread_mutex_lock(&e->lock);
	e->st->bytes_read += r->bytes_read;
	e->st->short_reads += r->short_reads;
	e->st->io_wait_seconds += r->io_wait;
	if (r->depth_now > e->st->depth_final)
		e->st->depth_final = r->depth_now;
	pthread_mutex_unlock(&e->lock);
}

/* Waits for completions and handles them; false on a failed wait. */
static bool reader_reap(struct engine *e, struct reader *r,
			struct mft_record_view *inline_view)
{
	double t0 = stats_now(e->o);
	int n = uaio_wait(&r->ctx, r->cqes, r->cqe_cap, 1, -1);
	r->io_wait += stats_now(e->o) - t0;
	if (n < 0) {
		struct mft_error err;
		mft_fail(&err, MFT_E_IO, MFT_NO_FRS, MFT_NO_OFFSET, uaio_strerror(n));
		fail(e, &err);
		return false;
	}
	for (int i = 0; i < n; i++)
		handle_completion(e, r, &r->cqes[i], inline_view);
	return true;
}

/* The coordinator's loop: one reader keeps up to depth chunks in flight;
 * parse workers (or this thread, with none) parse them. */
static int run_reader(struct engine *e, const struct uaio_backend_ops *backend,
		      const struct uaio_config *cfg,
		      struct mft_record_view *inline_view)
{
	struct reader r;
	unsigned pieces = e->plan.max_pieces ? e->plan.max_pieces : 1;
	int rc = reader_open(e, &r, backend, cfg, e->n_slots * pieces);
	if (rc) {
		reader_close(e, &r);
		return rc;
	}
	/* With parse workers, chunks go to them: this thread only reads. */
	struct mft_record_view *view = e->n_workers ? NULL : inline_view;
	uint32_t next = 0;
	while (!has_error(e)) {
		while (next < e->plan.n_chunks && r.slots_reading < r.depth_now) {
			uint32_t si = take_slot(e, false);
			if (si == NO_SLOT)
				break;
			start_chunk(e, &r, si, next++, view);
		}
		flush_backlog(e, &r);
		if (r.ctx.inflight) {
			if (!reader_reap(e, &r, view))
				break;
		} else if (next < e->plan.n_chunks) {
			uint32_t si = take_slot(e, true);
			if (si == NO_SLOT)
				break;
			start_chunk(e, &r, si, next++, view);
		} else {
			break;
		}
	}
	reader_close(e, &r);
	return 0;
}

/* ---- pipelined-parallel: every worker reads its own chunks --------------- */

/* Takes a free slot and the next chunk to read into it, waiting for a slot;
 * false when every chunk is taken or the scan failed. */
static bool take_chunk(struct engine *e, uint32_t *slot, uint32_t *chunk)
{
	uint32_t si = take_slot(e, true);
	if (si == NO_SLOT)
		return false;
	pthread_mutex_lock(&e->lock);
	bool got = e->next_chunk < e->plan.n_chunks && !e->error;
	if (got) {
		*chunk = (uint32_t)e->next_chunk++;
	} else {
		e->slots[si].state = SLOT_FREE;
		e->free_slots++;
		pthread_cond_broadcast(&e->free_cv);
	}
	pthread_mutex_unlock(&e->lock);
	*slot = si;
	return got;
}

struct reading_worker_arg {
	struct engine *e;
	unsigned nth;
};

/* One worker: read a chunk, parse it on this core while its bytes are
 * still in this core's cache, merge what is next in order, repeat. The
 * other workers' reads overlap this one's parsing. Each worker reads
 * every chunk into the same buffer (its own part of the slots' memory,
 * whatever slot holds the chunk's batch): the buffer stays in this core's
 * cache, so the kernel's copy into it and the parse out of it do not go
 * to memory. */
static void *reading_worker(void *arg)
{
	const struct reading_worker_arg *a = arg;
	struct engine *e = a->e;
	uint8_t *own_buf = e->mem + (size_t)a->nth * e->plan.chunk_records *
					    e->v->record_size;
	struct mft_record_view *view = malloc(sizeof *view);
	struct reader r;
	unsigned pieces = e->plan.max_pieces ? e->plan.max_pieces : 1;
	struct uaio_config cfg = e->o->fault;
	if (!view) {
		struct mft_error err;
		mft_fail(&err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
		fail(e, &err);
		return NULL;
	}
	if (reader_open(e, &r, e->reading_backend, &cfg, pieces) == MFT_OK) {
		uint32_t si, chunk;
		while (!has_error(e) && take_chunk(e, &si, &chunk)) {
			e->slots[si].buf = own_buf;
			start_chunk(e, &r, si, chunk, view);
			while (r.slots_reading && !has_error(e)) {
				flush_backlog(e, &r);
				if (r.ctx.inflight && !reader_reap(e, &r, view))
					break;
			}
		}
	}
	reader_close(e, &r);
	free(view);
	return NULL;
}

static void run_reading_workers(struct engine *e, unsigned n)
{
	pthread_t tid[WORKERS_MAX];
	struct reading_worker_arg arg[WORKERS_MAX];
	unsigned started = 0;
	if (n > e->n_slots)
		n = e->n_slots; /* a buffer each */
	for (unsigned i = 1; i < n; i++) {
		arg[started] = (struct reading_worker_arg){e, started + 1};
		if (pthread_create(&tid[started], NULL, reading_worker,
				   &arg[started]) == 0)
			started++;
	}
	struct reading_worker_arg self = {e, 0};
	reading_worker(&self); /* the calling thread is one of them */
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
}

/* ---- parallel: the whole $MFT first --------------------------------------- */

static void read_everything(struct engine *e, const uint64_t *chunk_off)
{
	double t0 = now_seconds();
	const struct uffs_source *src = e->v->src;
	for (size_t c = 0; c < e->plan.n_chunks && !has_error(e); c++) {
		const struct uffs_chunk *ch = &e->plan.chunks[c];
		for (uint32_t k = 0; k < ch->n_pieces; k++) {
			const struct uffs_piece *p =
				&e->plan.pieces[ch->first_piece + k];
			uint8_t *dst = e->mem + chunk_off[c] + p->buf_off;
			if (p->src_off == UFFS_SPARSE_OFFSET) {
				memset(dst, 0, p->len);
				continue;
			}
			struct mft_error err;
			if (uffs_source_read(src, dst, p->len,
					     p->src_off - src->base, &err)) {
				err.frs = ch->first + p->buf_off / e->v->record_size;
				fail(e, &err);
				break;
			}
			e->st->bytes_read += p->len;
		}
	}
	e->st->io_wait_seconds += now_seconds() - t0;
}

static void run_parallel(struct engine *e, const uint64_t *chunk_off)
{
	read_everything(e, chunk_off);
	for (uint32_t c = 0; c < e->plan.n_chunks && !has_error(e); c++) {
		uint32_t si = take_slot(e, true);
		if (si == NO_SLOT)
			break;
		e->slots[si].buf = e->mem + chunk_off[c];
		e->slots[si].chunk = c;
		pthread_mutex_lock(&e->lock);
		e->chunk_slot[c] = si;
		pthread_mutex_unlock(&e->lock);
		chunk_ready(e, si, NULL);
	}
}

/* ---- setup ------------------------------------------------------------------ */

static unsigned online_cpus(void)
{
	return uffs_cpu_count();
}

#define CACHE_PROBES 16u
#define CACHE_PROBE_SEARCH 4096u

#define CACHE_PROBE_STEP (16u << 10)

/* One probe: a no-wait read of one record. Linux also refuses one that
 * lands on a page marked for read-ahead, cached or not (the read may not
 * start I/O), so a refusal is tried again a few pages further on. */
static int probe_cached(const struct uffs_volume *v, uint8_t *buf, uint64_t off)
{
	int c = 0;
	for (unsigned k = 0; k < 3 && c == 0; k++) {
		uint64_t at = off + (uint64_t)k * CACHE_PROBE_STEP;
		if (at + v->record_size > v->src->file.size)
			break;
		c = uffs_file_cached(&v->src->file, buf, v->record_size, at);
	}
	return c;
}

/* Whether the $MFT is in the OS's cache: reads of a few in-use records
 * spread over it (the ones a scan reads), each allowed no wait for the
 * device. A no-wait read can also be refused for passing reasons (a page
 * locked for a moment, a read-ahead mark), so three quarters of the probes
 * must say yes. 1 yes, 0 no, -1 cannot tell. */
static int mft_cached(const struct uffs_volume *v)
{
	uint8_t *buf = malloc(v->record_size);
	if (!buf)
		return -1;
	unsigned asked = 0, yes = 0;
	uint64_t n = v->n_records;
	for (unsigned k = 0; k < CACHE_PROBES; k++) {
		uint64_t r = n / CACHE_PROBES * k, stop = r + CACHE_PROBE_SEARCH;
		while (r < n && r < stop && !uffs_volume_record_in_bitmap(v, r))
			r++;
		if (r >= n || r >= stop)
			continue;
		uint64_t off = uffs_volume_record_offset(v, r);
		if (off == UINT64_MAX)
			continue;
		int c = probe_cached(v, buf, off);
		if (c < 0) {
			free(buf);
			return -1;
		}
		asked++;
		yes += (unsigned)c;
	}
	free(buf);
	if (!asked)
		return -1;
	return 4 * yes >= 3 * asked ? 1 : 0;
}

/* Auto's choice, from what the device and the cache say:
 * - a spinning disk: the work is reading, so keep many reads in flight
 *   (async) and parse as they land;
 * - a $MFT that is not in memory, read through the page cache: every
 *   worker reads 2 MiB in order and parses it (pipelined-parallel); the
 *   kernel sees sequential reads and reads ahead of them, which kept the
 *   device busier than our own queue of reads did (0.33 s against 0.42 s
 *   for async on the thread pool, cold, on the realistic image);
 * - the same with --direct (no read-ahead around the cache): async on the
 *   thread pool, which keeps reads queued;
 * - a $MFT in memory: the work is copying and parsing, so every worker
 *   reads a chunk and parses it on the core that copied it
 *   (pipelined-parallel), with no hand-over between cores;
 * - nothing to tell (Windows): async on the best backend;
 * - a container (E01, VHD, ...): its library reads one request at a time,
 *   so each worker reads a chunk through it and parses that chunk while
 *   the other reads (pipelined-parallel). */
static enum uffs_mode auto_mode(const struct uffs_volume *v,
				const struct uaio_backend_ops **backend,
				uint32_t *chunk_hint, char *why, size_t why_len)
{
	*backend = NULL;
	*chunk_hint = 0;
	if (v->src->format) {
		snprintf(why, why_len, "auto: pipelined-parallel (%s container)",
			 v->src->format->format);
		return UFFS_MODE_PIPELINED_PARALLEL;
	}
	if (v->src->file.rotational) {
		snprintf(why, why_len, "auto: async (rotational disk)");
		return UFFS_MODE_ASYNC;
	}
	int cached = mft_cached(v);
	bool direct = v->src->file.direct_handle >= 0;
	enum uffs_mode m = cached == 1 || (cached == 0 && !direct)
				   ? UFFS_MODE_PIPELINED_PARALLEL
				   : UFFS_MODE_ASYNC;
	if (cached == 0 && direct)
		*backend = &uaio_backend_threads;
	if (cached == 0 && !direct)
		*chunk_hint = CHUNK_UNCACHED;
	snprintf(why, why_len, "auto: %s%s ($MFT %s)", uffs_mode_name(m),
		 *backend ? " on threads" : "",
		 cached == 1   ? "in the page cache"
		 : cached == 0 ? "not in the page cache"
			       : "cache state unknown");
	return m;
}

/* Fills in mode, threads, depth and chunk size from the options and the
 * device, saying why in st->why. */
static void decide(const struct uffs_volume *v, const struct uffs_scan_opts *o,
		   struct uffs_scan_stats *st, unsigned *workers,
		   unsigned *slots, const struct uaio_backend_ops **auto_backend)
{
	*auto_backend = NULL;
	uint32_t chunk_hint = 0;
	st->mode = o->mode;
	if (st->mode == UFFS_MODE_AUTO) {
		char text[112];
		st->mode = auto_mode(v, auto_backend, &chunk_hint, text,
				     sizeof text);
		explain(st, text);
	}
	st->threads = o->threads ? o->threads : online_cpus();
	if (st->threads > WORKERS_MAX)
		st->threads = WORKERS_MAX;
	st->chunk_bytes = o->chunk_bytes;
	if (!st->chunk_bytes && chunk_hint) {
		st->chunk_bytes = chunk_hint;
		explain(st, "2 MiB chunks, read in order, for the device's read-ahead");
	}
	if (!st->chunk_bytes) {
		bool rotational = v->src->file.rotational;
		st->chunk_bytes = rotational ? CHUNK_HDD : CHUNK_SSD;
		explain(st, rotational ? "4 MiB chunks for a rotational disk"
				       : "512 KiB chunks for an SSD or image file");
	}
	if (st->chunk_bytes < v->record_size)
		st->chunk_bytes = v->record_size;
	st->depth = o->depth ? o->depth : UFFS_DEPTH_DEFAULT;
	if (o->depth_auto)
		st->depth = UFFS_DEPTH_MAX / 2;
	if (st->depth > UFFS_DEPTH_MAX)
		st->depth = UFFS_DEPTH_MAX;
	switch (st->mode) {
	case UFFS_MODE_STREAMING:
		*workers = 0;
		st->depth = 1;
		break;
	case UFFS_MODE_PREFETCH:
		*workers = 0;
		st->depth = 2;
		break;
	case UFFS_MODE_PIPELINED:
		*workers = 1;
		break;
	case UFFS_MODE_PIPELINED_PARALLEL:
		*workers = st->threads;
		/* Each worker holds the chunk it reads and parses; twice as
		 * many slots let finished chunks wait for a slow one to be
		 * merged without idling the others. */
		if (!o->depth && !o->depth_auto && st->depth < 2 * st->threads)
			st->depth = 2 * st->threads;
		break;
	case UFFS_MODE_PARALLEL:
		*workers = st->threads;
		st->depth = 2 * st->threads;
		break;
	default:
		*workers = st->threads;
		break;
	}
	if (*workers == 0)
		st->threads = 1;
	else if (st->mode == UFFS_MODE_PIPELINED)
		st->threads = 1;
	*slots = st->depth < 1 ? 1 : st->depth;
}

/* The backend a mode reads with, unless --backend (or auto) says
 * otherwise. */
static const struct uaio_backend_ops *
mode_backend(enum uffs_mode m, const struct uffs_scan_opts *o,
	     const struct uaio_backend_ops *auto_backend)
{
	if (o->backend)
		return o->backend;
	if (auto_backend)
		return auto_backend;
	switch (m) {
	case UFFS_MODE_STREAMING:
	case UFFS_MODE_PIPELINED:
	case UFFS_MODE_PIPELINED_PARALLEL:
		return &uaio_backend_sync; /* the reading threads read themselves */
	default:
		return NULL; /* best available */
	}
}

static int engine_init(struct engine *e, unsigned slots, bool whole_mft,
		       uint64_t **chunk_off, struct mft_error *err)
{
	e->n_slots = slots;
	e->free_slots = slots;
	e->slots = calloc(slots, sizeof *e->slots);
	e->jobs = calloc(slots, sizeof *e->jobs);
	e->chunk_slot = malloc((e->plan.n_chunks + 1) * sizeof *e->chunk_slot);
	if (!e->slots || !e->jobs || !e->chunk_slot)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	for (size_t c = 0; c < e->plan.n_chunks; c++)
		e->chunk_slot[c] = NO_SLOT;
	size_t chunk = (size_t)e->plan.chunk_records * e->v->record_size;
	size_t total = whole_mft ? (size_t)e->plan.records_planned * e->v->record_size
				 : slots * chunk;
	e->mem = uffs_alloc_large(total ? total : 4096);
	if (!e->mem)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
				"out of memory for read buffers");
	if (whole_mft) {
		*chunk_off = malloc((e->plan.n_chunks + 1) * sizeof **chunk_off);
		if (!*chunk_off)
			return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
					"out of memory");
		uint64_t off = 0;
		for (size_t c = 0; c < e->plan.n_chunks; c++) {
			(*chunk_off)[c] = off;
			off += (uint64_t)e->plan.chunks[c].count * e->v->record_size;
		}
	}
	for (unsigned i = 0; i < slots; i++) {
		struct slot *s = &e->slots[i];
		s->buf = e->mem + (whole_mft ? 0 : i * chunk);
		uffs_index_batch_init(&s->batch, e->idx);
		s->piece_done = calloc(e->plan.max_pieces + 1, sizeof *s->piece_done);
		if (!s->piece_done)
			return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
					"out of memory");
	}
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->job_cv, NULL);
	pthread_cond_init(&e->free_cv, NULL);
	return MFT_OK;
}

static void start_workers(struct engine *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&e->tid[e->n_workers], NULL, parse_worker, e) == 0)
			e->n_workers++;
}

static void stop_workers(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	e->stop = true;
	pthread_cond_broadcast(&e->job_cv);
	pthread_mutex_unlock(&e->lock);
	for (unsigned i = 0; i < e->n_workers; i++)
		pthread_join(e->tid[i], NULL);
}

static void engine_free(struct engine *e)
{
	for (unsigned i = 0; e->slots && i < e->n_slots; i++) {
		uffs_index_batch_free(&e->slots[i].batch);
		free(e->slots[i].warnings.e);
		free(e->slots[i].piece_done);
	}
	free(e->slots);
	free(e->jobs);
	free(e->chunk_slot);
	uffs_free_large(e->mem);
	uffs_plan_free(&e->plan);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->job_cv);
	pthread_cond_destroy(&e->free_cv);
}

int uffs_scan(const struct uffs_volume *v, const struct uffs_scan_opts *opts,
	      struct uffs_index *idx, struct uffs_scan_stats *stats,
	      const struct uffs_warn_sink *warn, struct mft_error *err)
{
	static const struct uffs_scan_opts defaults = {0};
	const struct uffs_scan_opts *o = opts ? opts : &defaults;
	double t0 = now_seconds();
	*stats = (struct uffs_scan_stats){0};
	unsigned workers = 0, slots = 1;
	const struct uaio_backend_ops *auto_backend;
	decide(v, o, stats, &workers, &slots, &auto_backend);
	const struct uffs_index_opts iopts = {
		.keep_fn_times = o->keep_fn_times,
		.names_only = o->names_only,
		.mem = &uffs_mem_large,
	};
	int rc = uffs_index_init_with(idx, v->n_records, v->record_size,
				      &iopts, err);
	if (rc)
		return rc;
	struct engine *e = calloc(1, sizeof *e);
	struct mft_record_view *view = malloc(sizeof *view);
	uint64_t *chunk_off = NULL;
	if (!e || !view) {
		free(e);
		free(view);
		uffs_index_free(idx);
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	}
	*e = (struct engine){.v = v, .idx = idx, .o = o, .st = stats, .warn = warn,
			     .t_start = t0};
	bool whole = stats->mode == UFFS_MODE_PARALLEL;
	rc = uffs_plan_build(&e->plan, v, stats->chunk_bytes, o->skip_unused, err);
	if (rc == MFT_OK)
		rc = engine_init(e, slots, whole, &chunk_off, err);
	if (rc == MFT_OK) {
		if (o->verbose)
			fprintf(stderr,
				"uffs: scan: mode %s, %u parse thread%s, depth %u, chunk %u KiB, %zu chunks%s%s%s\n",
				uffs_mode_name(stats->mode), workers ? workers : 1,
				workers == 1 || !workers ? "" : "s", stats->depth,
				stats->chunk_bytes / 1024, e->plan.n_chunks,
				stats->why[0] ? " (" : "", stats->why,
				stats->why[0] ? ")" : "");
		bool self_reading = stats->mode == UFFS_MODE_PIPELINED_PARALLEL;
		start_workers(e, self_reading ? 0 : workers);
		if (whole) {
			stats->backend = "direct";
			run_parallel(e, chunk_off);
		} else if (self_reading) {
			e->reading_backend = mode_backend(stats->mode, o, auto_backend);
			run_reading_workers(e, workers);
		} else {
			struct uaio_config cfg = o->fault;
			run_reader(e, mode_backend(stats->mode, o, auto_backend), &cfg,
				   view);
		}
		wait_all_merged(e);
		stop_workers(e);
		report_progress(e, true);
		if (e->error) {
			*err = e->err;
			rc = e->error;
		}
	}
	stats->chunks = e->plan.n_chunks;
	stats->records_read = e->plan.records_planned;
	stats->records_skipped = e->plan.records_skipped;
	stats->parse_seconds = e->parse_s;
	stats->merge_seconds = e->merge_s;
	engine_free(e);
	free(e);
	free(view);
	free(chunk_off);
	if (rc == MFT_OK)
		rc = uffs_index_finish(idx, err);
	if (rc)
		uffs_index_free(idx);
	stats->records_damaged = rc ? 0 : idx->n_damaged;
	stats->seconds = now_seconds() - t0;
	if (o->verbose && rc == MFT_OK)
		fprintf(stderr,
			"uffs: scan: %s backend, %llu records in %.3f s (I/O wait %.3f s, parse %.3f s, merge %.3f s), %llu short reads\n",
			stats->backend ? stats->backend : "-",
			(unsigned long long)stats->records_read, stats->seconds,
			stats->io_wait_seconds, stats->parse_seconds,
			stats->merge_seconds,
			(unsigned long long)stats->short_reads);
	return rc;
}
