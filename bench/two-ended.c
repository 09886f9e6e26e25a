/* Would the idle disk help a warm scan? Two threads read a byte range of a
 * file front to back through the page cache, in chunks, as the scan's
 * workers do, and stand in for the parse with a fixed spin per chunk;
 * with DIRECT set, a third thread reads chunks from the back with O_DIRECT
 * (the device, no copy out of the cache) until the two ends meet. It prints
 * the wall time, each thread's CPU time and chunks, and the CPU a chunk
 * cost each side beyond the spin. docs/benchmarks.md ("A third fresh
 * image") has what it measured. Linux only; not installed.
 *
 * usage: uffs-bench-two-ended FILE OFFSET LENGTH CHUNK DIRECT SPIN_US
 *        (OFFSET and CHUNK 4096-aligned; DIRECT 0 or 1; a tail shorter
 *        than CHUNK is not read) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ALIGN 4096u
#define LINE 64u
#define RECORD 1024u
#define LINES_A_RECORD 9u /* the bytes a parse touches: about 570 a record */

/* Where the bytes read end up, so that the reads are not optimised out. */
static volatile uint64_t sink;

struct shared {
	int fd, direct_fd;
	uint64_t offset, chunk;
	double spin;
	pthread_mutex_t lock;
	int64_t front, back; /* next chunk from each end */
};

struct side {
	struct shared *s;
	bool from_back;
	long chunks;
	double cpu;
	uint64_t sum;
};

static double seconds(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t take(struct shared *s, bool from_back)
{
	int64_t c = -1;
	pthread_mutex_lock(&s->lock);
	if (s->front <= s->back)
		c = from_back ? s->back-- : s->front++;
	pthread_mutex_unlock(&s->lock);
	return c;
}

/* The parse's share of a chunk: its records' first lines, then a spin. */
static uint64_t stand_in_parse(const uint8_t *buf, uint64_t len, double spin)
{
	uint64_t sum = 0;
	for (uint64_t r = 0; r + RECORD <= len; r += RECORD)
		for (unsigned k = 0; k < LINES_A_RECORD; k++)
			sum += buf[r + k * LINE];
	double until = seconds(CLOCK_THREAD_CPUTIME_ID) + spin;
	while (seconds(CLOCK_THREAD_CPUTIME_ID) < until)
		sum++;
	return sum;
}

static void *run(void *arg)
{
	struct side *d = arg;
	struct shared *s = d->s;
	uint8_t *buf = aligned_alloc(ALIGN, s->chunk);
	if (!buf) {
		perror("aligned_alloc");
		exit(1);
	}
	memset(buf, 0, s->chunk);
	double t0 = seconds(CLOCK_THREAD_CPUTIME_ID);
	int fd = d->from_back ? s->direct_fd : s->fd;
	for (int64_t c; (c = take(s, d->from_back)) >= 0; d->chunks++) {
		off_t at = (off_t)(s->offset + (uint64_t)c * s->chunk);
		if (pread(fd, buf, s->chunk, at) != (ssize_t)s->chunk) {
			perror("pread");
			exit(1);
		}
		d->sum += stand_in_parse(buf, s->chunk, s->spin);
	}
	d->cpu = seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: %s FILE OFFSET LENGTH CHUNK DIRECT SPIN_US\n",
			argv[0]);
		return 2;
	}
	bool direct = atoi(argv[5]) != 0;
	struct shared s = {
		.fd = open(argv[1], O_RDONLY),
		.direct_fd = direct ? open(argv[1], O_RDONLY | O_DIRECT) : -1,
		.offset = strtoull(argv[2], NULL, 0),
		.chunk = strtoull(argv[4], NULL, 0),
		.spin = atof(argv[6]) / 1e6,
		.lock = PTHREAD_MUTEX_INITIALIZER,
	};
	uint64_t len = strtoull(argv[3], NULL, 0);
	if (s.fd < 0 || (direct && s.direct_fd < 0) || !s.chunk || s.chunk % ALIGN ||
	    s.offset % ALIGN || len < s.chunk) {
		fprintf(stderr, "%s: cannot open %s, or a bad offset, length or chunk\n",
			argv[0], argv[1]);
		return 2;
	}
	s.back = (int64_t)(len / s.chunk) - 1;
	struct side sides[3] = {{&s, false, 0, 0, 0}, {&s, false, 0, 0, 0},
				{&s, true, 0, 0, 0}};
	unsigned n = direct ? 3 : 2;
	pthread_t tid[3];
	double t0 = seconds(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&tid[i], NULL, run, &sides[i]) != 0)
			return 1;
	for (unsigned i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	double wall = seconds(CLOCK_MONOTONIC) - t0;
	printf("%s: wall %.4f s\n", direct ? "cache + O_DIRECT" : "cache only",
	       wall);
	for (unsigned i = 0; i < n; i++) {
		const struct side *d = &sides[i];
		sink += d->sum;
		double each = d->chunks ? d->cpu / (double)d->chunks - s.spin : 0;
		printf("  %s: %ld chunks, CPU %.4f s, %.1f us a chunk beyond the spin\n",
		       d->from_back ? "O_DIRECT from the back" : "cache from the front",
		       d->chunks, d->cpu, each * 1e6);
	}
	return 0;
}
