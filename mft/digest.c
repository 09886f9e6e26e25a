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
	put(h, idx->owner_id[r], 4);
	put(h, idx->reparse_tag[r], 4);
	for (int t = 0; t < 4; t++)
		put(h, idx->times[4 * r + (uint64_t)t], 8);
	put(h, idx->link_first[r + 1] - idx->link_first[r], 4);
	UFFS_FOR_EACH_LINK(idx, r, k, i)
	{
		put(h, idx->l_parent[i], 8);
		put(h, idx->l_ns[i], 1);
		put(h, idx->l_flags[i], 1);
		put(h, idx->l_exp_seq[i], 2);
		put(h, idx->l_attr_id[i], 2);
		put(h, idx->l_value_len[i], 2);
		for (int t = 0; t < 4; t++)
			put(h, idx->l_times[4 * (uint64_t)i + (uint64_t)t], 8);
		put_bytes(h, idx->pool + idx->l_name[i], idx->l_name_len[i]);
	}
	put(h, idx->stream_first[r + 1] - idx->stream_first[r], 4);
	UFFS_FOR_EACH_STREAM(idx, r, k, i)
	{
		put(h, idx->s_kind[i], 1);
		put(h, idx->s_flags[i], 1);
		put(h, idx->s_attr_id[i], 2);
		put(h, idx->s_exp_seq[i], 2);
		put(h, idx->s_size[i], 8);
		put(h, idx->s_alloc[i], 8);
		put_bytes(h, idx->pool + idx->s_name[i], idx->s_name_len[i]);
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
	for (uint64_t r = 0; r < idx->n_records; r++)
		hash_record(&h, idx, r);
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
