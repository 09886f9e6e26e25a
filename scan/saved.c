/* Opening a saved index file as a source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../source/file.h"
#include "plan.h"
#include "saved.h"

#define CHUNK_DEFAULT (512u << 10) /* the scan's chunk on an SSD or image */

bool uffs_saved_is(const char *path)
{
	struct uffs_file f;
	int os_error;
	const char *what;
	if (uffs_file_open(path, &f, &os_error, &what))
		return false;
	uint8_t head[UFFS_IDXFILE_MAGIC_LEN];
	int64_t n = f.is_device ? -1 : uffs_file_pread(&f, head, sizeof head, 0,
							 &os_error);
	uffs_file_close(&f);
	return n > 0 && memcmp(head, UFFS_IDXFILE_MAGIC, (size_t)n) == 0;
}

/* The saved strings are printed as they are (info, --verbose): control
 * characters from a hostile file become '?'. */
static char *copy_string(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		s[i] = c < 0x20 || c == 0x7F ? '?' : (char)c;
	}
	s[n] = '\0';
	return s;
}

/* A saved index holds no volume bytes: its source reads nothing (nothing
 * asks, since the index is already built; this says so if anything did). */
static int saved_read(const struct uffs_source *src, void *buf, size_t len,
		      uint64_t off, struct mft_error *err)
{
	(void)src, (void)buf, (void)len;
	return mft_fail(err, MFT_E_USAGE, MFT_NO_FRS, off,
			"a saved index holds no volume bytes");
}

static const struct uaio_reader *saved_aio_reader(const struct uffs_source *src)
{
	(void)src;
	return NULL;
}

static void saved_close(struct uffs_source *src)
{
	(void)src; /* the mapping is uffs_saved_close's */
}

static const struct uffs_disk_ops saved_disk = {
	.kind = "saved index",
	.read = saved_read,
	.aio_reader = saved_aio_reader,
	.close = saved_close,
};

static int fill_volume(struct uffs_saved *s, const char *path,
		       struct uffs_source *src, struct uffs_volume *v,
		       const struct uffs_index *idx)
{
	const struct uffs_idxfile_facts *f = &s->facts;
	s->source_path = copy_string(f->source_path, f->source_path_len);
	s->container = copy_string(f->container, f->container_len);
	s->ext = calloc(f->n_extents + 1, sizeof *s->ext);
	if (!s->source_path || !s->container || !s->ext)
		return -1;
	for (uint64_t i = 0; i < f->n_extents; i++)
		s->ext[i] = (struct uffs_extent){f->extents[3 * i],
						 f->extents[3 * i + 1],
						 f->extents[3 * i + 2]};
	src->path = path;
	src->disk = &saved_disk;
	src->file.handle = -1;
	src->file.direct_handle = -1;
	memcpy(src->file.volume_prefix, f->volume_prefix, 4);
	src->base = f->base;
	src->partition = f->partition;
	src->container = s->container;
	v->src = src;
	v->has_boot = f->has_boot;
	v->boot.bytes_per_sector = f->bytes_per_sector;
	v->boot.cluster_size = f->cluster_size;
	v->boot.volume_size = f->volume_size;
	v->boot.mft_lcn = f->mft_lcn;
	v->boot.mftmirr_lcn = f->mftmirr_lcn;
	v->boot.serial = f->serial;
	v->record_size = idx->record_size;
	v->mft_size = f->mft_size;
	v->n_records = f->vol_records;
	v->ext = s->ext;
	v->n_ext = (size_t)f->n_extents;
	/* Read only, like the rest of the mapping. */
	v->bitmap = (uint8_t *)(uintptr_t)f->bitmap;
	v->bitmap_len = f->bitmap_len;
	v->from_mirror = f->from_mirror;
	return 0;
}

static uint64_t unused_run(const struct uffs_volume *v, uint64_t r,
			   uint64_t limit)
{
	uint64_t n = 0;
	while (r + n < limit && !uffs_volume_record_in_bitmap(v, r + n))
		n++;
	return n;
}

static int hide_records(struct uffs_saved *s, struct uffs_index *idx,
			uint64_t first, uint64_t n)
{
	for (uint64_t r = first; r < first + n; r++) {
		if (!idx->rflags[r])
			continue;
		if (!s->rflags) {
			size_t bytes = ((size_t)idx->n_records + 1) * sizeof *s->rflags;
			s->rflags = malloc(bytes);
			if (!s->rflags)
				return -1;
			memcpy(s->rflags, idx->rflags, bytes);
			idx->rflags = s->rflags;
		}
		idx->rflags[r] = 0;
	}
	return 0;
}

/* The index a scan skipping unused records (list without --deleted) would
 * have built leaves out the long runs $MFT:$BITMAP marks unused, even a
 * record in them whose header says otherwise: the same runs are hidden
 * here, as the scan planner chooses them. */
static int hide_skipped(struct uffs_saved *s, const struct uffs_volume *v,
			struct uffs_index *idx, uint32_t chunk_bytes)
{
	if (!v->bitmap)
		return 0;
	uint64_t n = idx->n_records;
	uint32_t chunk = chunk_bytes ? chunk_bytes : CHUNK_DEFAULT;
	uint64_t per = chunk / idx->record_size;
	if (!per)
		per = 1;
	uint64_t r = 0;
	while (r < n) {
		uint64_t run = unused_run(v, r, n);
		if (run >= UFFS_PLAN_SKIP_MIN_RECORDS || r + run == n) {
			if (hide_records(s, idx, r, run))
				return -1;
			r += run;
			continue;
		}
		uint64_t count = n - r < per ? n - r : per;
		for (uint64_t k = 1; k < count; k++)
			if (!uffs_volume_record_in_bitmap(v, r + k) &&
			    unused_run(v, r + k, r + count) >=
				    UFFS_PLAN_SKIP_MIN_RECORDS) {
				count = k;
				break;
			}
		r += count;
	}
	return 0;
}

int uffs_saved_open(struct uffs_saved *s, const char *path, bool skip_unused,
		    uint32_t chunk_bytes, bool keep_fn_times,
		    struct uffs_source *src, struct uffs_volume *vol,
		    struct uffs_index *idx, const uint16_t **upcase,
		    struct mft_error *err)
{
	memset(s, 0, sizeof *s);
	int os_error = 0;
	const char *what = NULL;
	if (uffs_map_open(path, &s->map, &os_error, &what)) {
		mft_fail(err, MFT_E_IO, MFT_NO_FRS, MFT_NO_OFFSET, what);
		snprintf(err->detail, sizeof err->detail, "%s",
			 uffs_file_strerror(os_error));
		return MFT_E_IO;
	}
	int rc = uffs_idxfile_load(s->map.data, s->map.len, true, idx,
				   &s->facts, err);
	if (rc)
		goto fail;
	if (fill_volume(s, path, src, vol, idx) ||
	    (skip_unused && hide_skipped(s, vol, idx, chunk_bytes))) {
		rc = mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, MFT_NO_OFFSET,
			      "out of memory");
		goto fail;
	}
	/* A scan keeps $FILE_NAME times only when asked to (they count in
	 * the digest): a loaded index shows them on the same terms. */
	if (!keep_fn_times)
		idx->links.times = NULL;
	*upcase = s->facts.upcase;
	return MFT_OK;
fail:
	uffs_saved_close(s);
	return rc;
}

void uffs_saved_close(struct uffs_saved *s)
{
	uffs_map_close(&s->map);
	free(s->source_path);
	free(s->container);
	free(s->rflags);
	free(s->ext);
	memset(s, 0, sizeof *s);
}
