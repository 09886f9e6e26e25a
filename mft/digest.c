/* The index digest. Fields go through a small buffer in little-endian
 * order, record by record, then links and streams in owner order. */
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "digest.h"

struct hasher {
	XXH3_state_t *st;
	uint8_t buf[4096];
	size_t n;
};

static void flush(struct hasher *h)
{
	XXH3_128bits_update(h->st, h->buf, h->n);
	h->n = 0;
}

static void put(struct hasher *h, uint64_t v, unsigned bytes)
{
	if (h->n + bytes > sizeof h->buf)
		flush(h);
	for (unsigned i = 0; i < bytes; i++)
		h->buf[h->n++] = (uint8_t)(v >> (8 * i));
}

static void put_bytes(struct hasher *h, const char *p, size_t n)
{
	put(h, n, 4);
	flush(h);
	XXH3_128bits_update(h->st, p, n);
}

static void hash_record(struct hasher *h, const struct uffs_index *idx,
			uint64_t r)
{
	put(h, idx->rflags[r], 2);
	put(h, idx->seq[r], 2);
	put(h, idx->fattrs[r], 4);
	for (int t = 0; t < 4; t++)
		put(h, idx->times[4 * r + (uint64_t)t], 8);
	put(h, idx->data_size[r], 8);
	put(h, idx->data_alloc[r], 8);
	put(h, idx->data_id[r], 2);
	put(h, idx->link_first[r + 1] - idx->link_first[r], 4);
	UFFS_FOR_EACH_LINK(idx, r, i)
	{
		put(h, idx->links.parent[i], 8);
		put(h, idx->links.ns[i], 1);
		put(h, idx->links.flags[i] & (uint8_t)~UFFS_LINK_PLAIN, 1);
		put(h, idx->links.attr_id[i], 2);
		put(h, idx->links.value_len[i], 2);
		for (int t = 0; idx->links.times && t < 4; t++)
			put(h, idx->links.times[4 * (uint64_t)i + (uint64_t)t], 8);
		put_bytes(h, idx->pool + idx->links.name[i], idx->links.name_len[i]);
	}
	uint32_t n_streams = 0;
	UFFS_FOR_EACH_STREAM(idx, r, i)
	n_streams++;
	put(h, n_streams, 4);
	UFFS_FOR_EACH_STREAM(idx, r, i)
	{
		put(h, idx->streams.kind[i], 1);
		put(h, idx->streams.flags[i], 1);
		put(h, idx->streams.attr_id[i], 2);
		put(h, idx->streams.size[i], 8);
		put(h, idx->streams.alloc[i], 8);
		put_bytes(h, idx->pool + idx->streams.name[i], idx->streams.name_len[i]);
	}
}

struct uffs_digest uffs_index_digest(const struct uffs_index *idx)
{
	struct uffs_digest d = {0, 0};
	struct hasher h = {.st = XXH3_createState()};
	if (!h.st)
		return d;
	XXH3_128bits_reset(h.st);
	put(&h, idx->n_records, 8);
	put(&h, idx->record_size, 4);
	put(&h, idx->n_damaged, 8);
	put(&h, idx->links.times != NULL, 1);
	for (uint64_t r = 0; r < idx->n_records; r++)
		hash_record(&h, idx, r);
	for (uint32_t i = 0; i < idx->extras.n; i++) {
		put(&h, idx->extras.frs[i], 4);
		put(&h, idx->extras.owner_id[i], 4);
		put(&h, idx->extras.reparse_tag[i], 4);
	}
	flush(&h);
	XXH128_hash_t x = XXH3_128bits_digest(h.st);
	XXH3_freeState(h.st);
	d.hi = x.high64;
	d.lo = x.low64;
	return d;
}

void uffs_digest_hex(struct uffs_digest d, char out[33])
{
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)d.hi,
		 (unsigned long long)d.lo);
}
