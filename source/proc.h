/* Process-level helpers for measurements, one implementation per platform. */
#ifndef UFFS_PROC_H
#define UFFS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../mft/mem.h"
#include "file.h"

/* Peak resident memory of this process so far, in bytes (0 if unknown). */
uint64_t uffs_peak_rss_bytes(void);

/* Runs fn in a child process (so its peak memory is its own) and collects
 * what it writes to `out` into buf (NUL-terminated). Returns fn's status, or
 * -1 if the child could not be run or died. */
int uffs_run_isolated(int (*fn)(void *arg, FILE *out), void *arg, char *buf,
		      size_t cap);

/* A large buffer, aligned for direct I/O (4096 bytes or more; 2 MiB from
 * 4 MiB up). Release with uffs_free_large. */
void *uffs_alloc_large(size_t size);
void uffs_free_large(void *p);

/* Memory for an index's large columns: mapped from the OS, 2 MiB aligned,
 * in the OS's default pages (proc_posix.c says why no huge-page hint), and
 * grown in place (mremap) rather than copied. Where the OS cannot map,
 * plain malloc. */
extern const struct mft_mem_ops uffs_mem_large;

/* Prepares standard output: UTF-8 on a Windows console, and no newline
 * translation, so every platform writes the same bytes. */
void uffs_console_init(void);

/* The command line as UTF-8 (Windows passes main() the ANSI code page's
 * version); elsewhere argv as it is. */
void uffs_utf8_args(int *argc, char ***argv);

/* NTFS volumes this machine has mounted, as drive names ("C:"), for
 * `--all`. Returns how many were written (at most max), or -1 where the
 * platform has no such thing. */
int uffs_ntfs_volumes(char (*out)[4], int max);

/* Whether standard error is a terminal (where a progress line belongs). */
bool uffs_stderr_is_terminal(void);

/* Processors online (at least 1). */
unsigned uffs_cpu_count(void);

/* Asks the OS to drop the file's cached pages, so the next read comes from
 * the device. 0 or an OS error code. */
int uffs_file_drop_cache(const struct uffs_file *f);

#endif
