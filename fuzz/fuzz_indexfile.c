/* libFuzzer: a saved index file through the loader and validator, then
 * everything a command does with a loaded index: the path of every name
 * (plain and cached), every stream and extra, the digest. The first byte
 * picks the options: bit 0 skips the checksum, so that mutated bodies reach
 * the structural checks instead of stopping at the checksum; bit 1 drops
 * the $FILE_NAME times as commands other than the body file listing do. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/digest.h"
#include "../mft/idxfile.h"
#include "../mft/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct uffs_index *idx, const struct uffs_tree *t,
		 struct uffs_path_cache *cache)
{
	static char buf[1 << 17];
	uint64_t sum = 0;
	for (uint64_t r = 0; r < idx->n_records; r++) {
		uint32_t link;
		if (uffs_index_primary_link(idx, r, &link))
			sum += link;
		UFFS_FOR_EACH_LINK(idx, r, i)
		{
			sum += uffs_link_path(t, r, i, '/', buf, sizeof buf);
			if (cache)
				sum += uffs_link_path_cached(t, cache, r, i, buf,
							     sizeof buf);
			sum += uffs_parent_ok(idx, r, i);
		}
		UFFS_FOR_EACH_STREAM(idx, r, i)
		sum += idx->streams.size[i] + (uint8_t)idx->pool[idx->streams.name[i]];
		sum += uffs_index_owner_id(idx, r) + uffs_index_reparse_tag(idx, r);
	}
	/* Keeps the loop from being optimised away. */
	if (sum == 42)
		buf[0] = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t pick = data[0];
	data++;
	size--;
	/* The loader wants the alignment of a mapping; an exact-size block
	 * lets AddressSanitizer see any read past the end. */
	void *copy = NULL;
	if (posix_memalign(&copy, 64, size ? size : 1))
		return 0;
	memcpy(copy, data, size);
	struct uffs_index idx;
	struct uffs_idxfile_facts facts;
	struct mft_error err;
	if (uffs_idxfile_load(copy, size, !(pick & 1), &idx, &facts, &err) ==
	    MFT_OK) {
		if (pick & 2)
			idx.links.times = NULL;
		struct uffs_tree t;
		if (uffs_tree_build(&t, &idx, &err) == MFT_OK) {
			struct uffs_path_cache cache;
			bool cached = uffs_path_cache_init(&cache, '/') == 0;
			walk(&idx, &t, cached ? &cache : NULL);
			if (cached)
				uffs_path_cache_free(&cache);
			uffs_tree_free(&t);
		}
		uffs_index_digest(&idx);
		for (uint64_t i = 0; facts.bitmap && i < facts.bitmap_len; i++)
			(void)facts.bitmap[i];
	}
	free(copy);
	return 0;
}
