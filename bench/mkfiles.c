/* mkfiles: populate a directory tree with many small files, fast.
 *
 * Used by bench/bench-list to fill a freshly mounted ntfs-3g volume.
 * Creating files one by one from a shell loop costs a fork+exec per
 * file; this does one open(O_CREAT)+close per file, from NPROC worker
 * processes so the single-threaded FUSE daemon always has a request
 * queued.
 *
 *   mkfiles ROOT NFILES NDIRS NPROC [SEED]
 *
 * Layout: NDIRS directories in two levels (ROOT/Top/Sub), file names of
 * 10-30 characters made of words, dates, numbers and extensions, about
 * one file in 400 with data (some resident, some non-resident).  The
 * output is deterministic for a given (NFILES, NDIRS, SEED).
 *
 * Build: cc -O2 -o mkfiles mkfiles.c
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const words[] = {
    "report", "invoice", "photo", "notes", "backup", "config", "readme",
    "setup", "data", "export", "scan", "draft", "budget", "meeting",
    "summary", "thumbnail", "cache", "module", "index", "style", "test",
    "main", "util", "record", "letter", "contract", "agenda", "minutes",
    "schedule", "holiday", "family", "project", "release", "build",
    "manual", "guide", "chapter", "slides", "presentation", "archive",
    "customer", "order", "payment", "receipt", "statement", "tax",
    "resume", "cover", "profile", "avatar", "banner", "logo", "icon",
    "sample", "template", "form", "survey", "results", "analysis",
    "Quarterly", "Annual", "Final", "Copy of", "New", "Old", "Scan",
};
static const char *const exts[] = {
    ".txt", ".docx", ".xlsx", ".pdf", ".jpg", ".png", ".gif", ".mp3",
    ".c", ".h", ".py", ".js", ".log", ".xml", ".json", ".dll", ".exe",
    ".ini", ".csv", ".zip", ".html", ".css", ".pptx", ".md", ".dat",
};
static const char *const camera[] = { "IMG_", "DSC", "DSCN", "P", "VID_" };
static const char *const topnames[] = {
    "Users", "Projects", "Documents", "Photos", "Music", "Archive",
    "Software", "Shared", "Backup", "Data", "Work", "Temp", "Library",
    "Source", "Media", "Clients", "Reports", "Downloads",
};
static const char *const subnames[] = {
    "alice", "bob", "2019", "2020", "2021", "2022", "2023", "src",
    "include", "assets", "old", "misc", "final", "drafts", "invoices",
    "travel", "team", "scans", "build", "docs", "tests", "vendor",
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t rng_state;
static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A name of 10..30 characters, unique in its directory thanks to seq. */
static void make_name(char *out, size_t cap, unsigned seq)
{
    char base[64];
    const char *ext = exts[rnd() % N(exts)];
    unsigned kind = (unsigned)(rnd() % 25); /* 1 in 25: non-ASCII */
    switch (kind ? kind % 5 + (kind % 5 >= 4) : 4) {
    case 0: /* IMG_20190312_142233.jpg */
        snprintf(base, sizeof base, "%s%04u%02u%02u_%06u",
                 camera[rnd() % N(camera)], 2005 + (unsigned)(rnd() % 19),
                 1 + (unsigned)(rnd() % 12), 1 + (unsigned)(rnd() % 28),
                 seq);
        ext = (rnd() & 1) ? ".jpg" : ".JPG";
        break;
    case 1: /* report_2019-03-12_0042 */
        snprintf(base, sizeof base, "%s_%04u-%02u-%02u_%04u",
                 words[rnd() % N(words)], 2005 + (unsigned)(rnd() % 19),
                 1 + (unsigned)(rnd() % 12), 1 + (unsigned)(rnd() % 28), seq);
        break;
    case 2: /* Final budget meeting 17 */
        snprintf(base, sizeof base, "%s %s %s %u", words[rnd() % N(words)],
                 words[rnd() % N(words)], words[rnd() % N(words)], seq);
        break;
    case 3: /* module-util.42 */
        snprintf(base, sizeof base, "%s-%s.%u", words[rnd() % N(words)],
                 words[rnd() % N(words)], seq);
        break;
    case 4: /* caf\u00e9 r\u00e9sum\u00e9 (a few non-ASCII names) */
        snprintf(base, sizeof base, "%s r\xc3\xa9sum\xc3\xa9 %u",
                 (rnd() & 1) ? "caf\xc3\xa9" : "na\xc3\xafve", seq);
        break;
    default: /* notes00042 */
        snprintf(base, sizeof base, "%s%05u", words[rnd() % N(words)], seq);
        break;
    }
    /* Cut to at most 30 - len(ext) bytes, keeping the unique seq at the
     * end (only the ASCII word triples are ever that long); pad to 10. */
    size_t el = strlen(ext), bl = strlen(base), max = 30 - el;
    if (bl > max) {
        char tail[16];
        snprintf(tail, sizeof tail, "%u", seq);
        size_t tl = strlen(tail);
        base[max - tl - 1] = ' ';
        memcpy(base + max - tl, tail, tl + 1);
    }
    snprintf(out, cap, "%s%s", base, ext);
    while (strlen(out) < 10)
        memmove(out + 1, out, strlen(out) + 1), out[0] = '0';
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: mkfiles ROOT NFILES NDIRS NPROC [SEED]\n");
        return 2;
    }
    const char *root = argv[1];
    unsigned long nfiles = strtoul(argv[2], NULL, 10);
    unsigned ndirs = (unsigned)strtoul(argv[3], NULL, 10);
    unsigned nproc = (unsigned)strtoul(argv[4], NULL, 10);
    uint64_t seed = argc > 5 ? strtoull(argv[5], NULL, 10) : 42;
    if (ndirs < 1) ndirs = 1;
    if (nproc < 1) nproc = 1;

    /* Directory paths: ndirs split into ~sqrt tops, each with subdirs;
     * the tops are counted among the ndirs. */
    unsigned ntop = 1;
    while ((ntop + 1) * (ntop + 1) <= ndirs) ntop++;
    char **dirs = calloc(ndirs, sizeof *dirs);
    double t0 = now();
    unsigned d = 0;
    for (unsigned t = 0; t < ntop && d < ndirs; t++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s %03u", root, topnames[t % N(topnames)], t);
        dirs[d++] = strdup(p);
        if (mkdir(p, 0755) && errno != EEXIST) { perror(p); return 1; }
    }
    for (unsigned i = 0; d < ndirs; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s_%u", dirs[i % ntop],
                 subnames[i % N(subnames)], i / ntop);
        dirs[d++] = strdup(p);
        if (mkdir(p, 0755) && errno != EEXIST) { perror(p); return 1; }
    }
    fprintf(stderr, "mkfiles: %u directories in %.1f s\n", ndirs, now() - t0);

    /* Files per directory: uneven (1/4 to 7/4 of the mean), summing to
     * nfiles exactly. */
    unsigned long *cnt = calloc(ndirs, sizeof *cnt);
    double *w = calloc(ndirs, sizeof *w), wsum = 0;
    rng_state = seed;
    for (unsigned i = 0; i < ndirs; i++)
        wsum += w[i] = 0.25 + (double)(rnd() % 1000) / 666.0;
    unsigned long given = 0;
    for (unsigned i = 0; i < ndirs; i++)
        given += cnt[i] = (unsigned long)((double)nfiles * w[i] / wsum);
    for (unsigned i = 0; given < nfiles; i = (i + 1) % ndirs)
        cnt[i]++, given++;

    double t1 = now();
    static char buf[65536];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)('a' + i % 26);
    for (unsigned wk = 0; wk < nproc; wk++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid > 0) continue;
        for (unsigned i = wk; i < ndirs; i += nproc) {
            rng_state = seed * 1000003u + i;
            for (unsigned long j = 0; j < cnt[i]; j++) {
                char name[64], p[4200];
                make_name(name, sizeof name, (unsigned)j);
                snprintf(p, sizeof p, "%s/%s", dirs[i], name);
                int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
                if (fd < 0 && errno == EEXIST) { /* rare name clash */
                    strcat(p, "~");
                    fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
                }
                if (fd < 0) { perror(p); _exit(1); }
                if (rnd() % 400 == 0) {
                    /* half small (resident), half up to 64 KiB */
                    size_t len = (rnd() & 1) ? 1 + rnd() % 600
                                             : 1 + rnd() % sizeof buf;
                    if (write(fd, buf, len) != (ssize_t)len) {
                        perror(p); _exit(1);
                    }
                }
                if (close(fd)) { perror(p); _exit(1); }
            }
        }
        _exit(0);
    }
    int fail = 0, st;
    while (wait(&st) > 0)
        if (!WIFEXITED(st) || WEXITSTATUS(st)) fail = 1;
    double dt = now() - t1;
    fprintf(stderr, "mkfiles: %lu files in %.1f s (%.0f files/s, %u workers)\n",
            nfiles, dt, (double)nfiles / dt, nproc);
    return fail;
}
