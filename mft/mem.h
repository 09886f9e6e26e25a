/*
 * Memory for the index's large columns, supplied by the caller.
 *
 * The parser stays free of platform code: whoever builds an index may hand
 * it an allocator that grows columns in place and backs them with huge
 * pages (scan/ does, through source/proc.h), or nothing, and the index uses
 * calloc/realloc/free. Tests use the hook to inject allocation failures.
 */
#ifndef MFT_MEM_H
#define MFT_MEM_H

#include <stddef.h>

struct mft_mem_ops {
	/* Like realloc(p, new_bytes), told the old size too. From p == NULL
	 * the memory is zeroed; bytes added by growing are not. NULL on
	 * failure, p untouched. Shrinking must not fail: a table whose
	 * growth failed half-way shrinks its grown columns back. */
	void *(*resize)(void *p, size_t old_bytes, size_t new_bytes);
	/* Gives back what resize returned, with its size. */
	void (*release)(void *p, size_t bytes);
};

#endif
