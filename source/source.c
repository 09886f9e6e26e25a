/* Source detection: a container (read through it from then on), raw NTFS
 * volume, MBR/GPT disk image, captured $MFT; then a shadow-copy store of
 * the volume if one was asked for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/bytes.h"
#include "../mft/ntfs_format.h"
#include "source.h"
#include "vss.h"

#define PROBE_LEN 4096u
#define MBR_TABLE 0x1BE
#define MBR_ENTRY_LEN 16
#define MBR_TYPE_EXTENDED_CHS 0x05
#define MBR_TYPE_EXTENDED_LBA 0x0F
#define MBR_TYPE_GPT_PROTECTIVE 0xEE
#define EBR_CHAIN_MAX 128
#define GPT_ENTRIES_MAX 1024u
#define PARTITIONS_MAX 256

struct partition {
	uint64_t offset;
	uint64_t size;
	int number;
	bool ntfs;
};

struct partition_table {
	struct partition part[PARTITIONS_MAX];
	int count;
	const char *scheme;
};

const struct uaio_reader *uffs_source_reader(const struct uffs_source *src)
{
	return src->disk->aio_reader(src);
}

int uffs_source_read(const struct uffs_source *src, void *buf, size_t len,
		     uint64_t off, struct mft_error *err)
{
	if (off > src->size || len > src->size - off)
		return mft_fail(err, MFT_E_TRUNCATED, MFT_NO_FRS, off,
				"read past the end of the source (truncated image?)");
	return src->disk->read(src, buf, len, src->base + off, err);
}

static int read_raw(const struct uffs_source *src, void *buf, size_t len,
		    uint64_t off, struct mft_error *err)
{
	struct uffs_source whole = *src;
	whole.base = 0;
	whole.size = src->file.size;
	return uffs_source_read(&whole, buf, len, off, err);
}

static bool probe_ntfs_at(const struct uffs_source *src, uint64_t off)
{
	uint8_t sector[512];
	struct mft_error ignored;
	if (read_raw(src, sector, sizeof sector, off, &ignored))
		return false;
	return mft_boot_looks_ntfs(sector, sizeof sector);
}

static void add_partition(const struct uffs_source *src,
			  struct partition_table *t, uint64_t off,
			  uint64_t size, int number)
{
	if (t->count >= PARTITIONS_MAX || size == 0 ||
	    off >= src->file.size)
		return;
	struct partition *p = &t->part[t->count++];
	p->offset = off;
	p->size = size;
	if (size > src->file.size - off)
		p->size = src->file.size - off;
	p->number = number;
	p->ntfs = probe_ntfs_at(src, off);
}

/* Logical partitions: a chain of extended boot records, each holding one
 * partition (relative to itself) and a link (relative to the extended
 * partition's start). Bounded against loops. */
static void read_ebr_chain(const struct uffs_source *src,
			   struct partition_table *t, uint64_t ext_start)
{
	uint64_t ebr = ext_start;
	int number = 5;
	for (int i = 0; i < EBR_CHAIN_MAX; i++) {
		uint8_t s[512];
		struct mft_error ignored;
		if (read_raw(src, s, sizeof s, ebr, &ignored) ||
		    le16(s + 510) != 0xAA55)
			return;
		const uint8_t *e0 = s + MBR_TABLE;
		const uint8_t *e1 = e0 + MBR_ENTRY_LEN;
		if (e0[4] != 0)
			add_partition(src, t, ebr + (uint64_t)le32(e0 + 8) * 512,
				      (uint64_t)le32(e0 + 12) * 512, number++);
		if (e1[4] == 0 || le32(e1 + 8) == 0)
			return;
		ebr = ext_start + (uint64_t)le32(e1 + 8) * 512;
	}
}

static bool read_mbr(const struct uffs_source *src, const uint8_t *s,
		     struct partition_table *t)
{
	if (le16(s + 510) != 0xAA55)
		return false;
	bool any = false;
	for (int i = 0; i < 4; i++) {
		const uint8_t *e = s + MBR_TABLE + i * MBR_ENTRY_LEN;
		uint8_t type = e[4];
		if (e[0] != 0 && e[0] != 0x80)
			return false; /* not a partition table */
		if (type == 0)
			continue;
		any = true;
		uint64_t start = (uint64_t)le32(e + 8) * 512;
		uint64_t size = (uint64_t)le32(e + 12) * 512;
		if (type == MBR_TYPE_EXTENDED_CHS || type == MBR_TYPE_EXTENDED_LBA)
			read_ebr_chain(src, t, start);
		else if (type != MBR_TYPE_GPT_PROTECTIVE)
			add_partition(src, t, start, size, i + 1);
	}
	t->scheme = "MBR";
	return any;
}

static bool read_gpt_at(const struct uffs_source *src, uint32_t lba_size,
			struct partition_table *t)
{
	uint8_t h[512];
	struct mft_error ignored;
	if (read_raw(src, h, sizeof h, lba_size, &ignored) ||
	    memcmp(h, "EFI PART", 8) != 0)
		return false;
	uint64_t entries_lba = le64(h + 0x48);
	uint32_t n = le32(h + 0x50);
	uint32_t esize = le32(h + 0x54);
	if (esize < 128 || esize > 4096 || n > GPT_ENTRIES_MAX)
		return false;
	uint8_t *buf = malloc((size_t)esize);
	if (!buf)
		return false;
	t->count = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (read_raw(src, buf, esize,
			     entries_lba * lba_size + (uint64_t)i * esize,
			     &ignored))
			break;
		static const uint8_t zero[16];
		if (memcmp(buf, zero, 16) == 0)
			continue;
		uint64_t first = le64(buf + 0x20), last = le64(buf + 0x28);
		if (last < first)
			continue;
		add_partition(src, t, first * lba_size,
			      (last - first + 1) * lba_size, (int)i + 1);
	}
	free(buf);
	t->scheme = "GPT";
	return true;
}

static int choose_partition(struct uffs_source *src,
			    const struct partition_table *t,
			    const struct uffs_source_opts *opts,
			    struct mft_error *err)
{
	const struct partition *chosen = NULL;
	int ntfs_count = 0;
	for (int i = 0; i < t->count; i++) {
		const struct partition *p = &t->part[i];
		if (opts->partition && p->number == opts->partition) {
			if (!p->ntfs)
				return mft_fail(err, MFT_E_NOT_NTFS, MFT_NO_FRS,
						p->offset,
						"the chosen partition is not NTFS");
			chosen = p;
		}
		if (p->ntfs && !opts->partition) {
			ntfs_count++;
			if (!chosen)
				chosen = p;
		}
	}
	if (opts->partition && !chosen)
		return mft_fail(err, MFT_E_USAGE, MFT_NO_FRS, 0,
				"no partition with that number");
	if (!chosen)
		return mft_fail(err, MFT_E_NOT_NTFS, MFT_NO_FRS, 0,
				"disk image has no NTFS partition");
	if (ntfs_count > 1)
		return mft_fail(err, MFT_E_USAGE, MFT_NO_FRS, 0,
				"disk image has several NTFS partitions: choose one with --partition N (see 'uffs info')");
	src->base = chosen->offset;
	src->size = chosen->size;
	src->partition = chosen->number;
	src->container = t->scheme;
	src->kind = UFFS_SOURCE_VOLUME;
	return MFT_OK;
}

static bool valid_record_size(uint32_t size)
{
	return size >= MFT_RECORD_SIZE_MIN && size <= MFT_RECORD_SIZE_MAX &&
	       !(size & (size - 1));
}

/* A captured $MFT: record 0's header says how large records are (bytes
 * allocated at 0x1C); confirm with the magic of record 1. */
static int open_mft_file(struct uffs_source *src, const uint8_t *probe,
			 size_t probe_len, const struct uffs_source_opts *opts,
			 struct mft_error *err)
{
	uint32_t size = opts->record_size;
	if (!size) {
		size = le32(probe + MFT_REC_BYTES_ALLOC);
		if (!valid_record_size(size))
			size = probe_len > 1024 &&
					       mft_record_has_magic(probe + 1024, 4)
				       ? 1024
				       : 4096;
	}
	if (!valid_record_size(size))
		return mft_fail(err, MFT_E_USAGE, MFT_NO_FRS, 0,
				"record size must be a power of two in 512..4096");
	src->kind = UFFS_SOURCE_MFT_FILE;
	src->record_size = size;
	src->container = "captured $MFT";
	src->size = src->file.size;
	return MFT_OK;
}

static int classify(struct uffs_source *src, const uint8_t *probe,
		    size_t probe_len, const struct uffs_source_opts *opts,
		    struct mft_error *err)
{
	if (opts->offset >= 0) {
		src->base = (uint64_t)opts->offset;
		if (src->base >= src->file.size)
			return mft_fail(err, MFT_E_USAGE, MFT_NO_FRS, src->base,
					"--offset is past the end of the source");
		src->size = src->file.size - src->base;
		src->container = "volume at offset";
		if (!probe_ntfs_at(src, src->base))
			return mft_fail(err, MFT_E_NOT_NTFS, MFT_NO_FRS,
					src->base,
					"no NTFS boot sector at --offset");
		return MFT_OK;
	}
	if (mft_boot_looks_ntfs(probe, probe_len) && !opts->partition) {
		src->container = "raw volume";
		return MFT_OK;
	}
	if (mft_record_has_magic(probe, probe_len) && !opts->partition)
		return open_mft_file(src, probe, probe_len, opts, err);
	struct partition_table *t = calloc(1, sizeof *t);
	if (!t)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	int rc = MFT_E_NOT_NTFS;
	if (read_gpt_at(src, 512, t) || read_gpt_at(src, 4096, t) ||
	    read_mbr(src, probe, t))
		rc = choose_partition(src, t, opts, err);
	else
		mft_fail(err, MFT_E_NOT_NTFS, MFT_NO_FRS, 0,
			 "neither an NTFS volume, a disk image with an NTFS partition, nor a captured $MFT");
	free(t);
	return rc;
}

/* A container's signature at the start of the file, or (a fixed VHD) in
 * its last 512 bytes: the format's name, or NULL. */
static const char *detect_container(const struct uffs_source *src)
{
	uint8_t head[64] = {0}, tail[512] = {0};
	struct mft_error ignored;
	uint64_t size = src->file.size;
	size_t head_len = size < sizeof head ? (size_t)size : sizeof head;
	if (head_len && read_raw(src, head, head_len, 0, &ignored))
		return NULL;
	size_t tail_len = size >= sizeof tail ? sizeof tail : 0;
	if (tail_len && read_raw(src, tail, tail_len, size - tail_len, &ignored))
		tail_len = 0;
	return uffs_container_detect(head, head_len, tail_len ? tail : NULL,
				     tail_len);
}

/* Reopens the source through its container: from here on the "file" is
 * the disk the container holds. */
static int open_container(struct uffs_source *src, const char *format,
			  struct mft_error *err)
{
	char why[UFFS_CONTAINER_WHY];
	struct uffs_container *c = calloc(1, sizeof *c);
	if (!c)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, MFT_NO_OFFSET,
				"out of memory");
	if (uffs_container_open(c, format, src->path, why)) {
		free(c);
		mft_fail(err, MFT_E_IO, MFT_NO_FRS, MFT_NO_OFFSET,
			 uffs_container_failure(format));
		snprintf(err->detail, sizeof err->detail, "%s", why);
		return MFT_E_IO;
	}
	uffs_file_close(&src->file);
	uffs_source_read_through(src, c);
	return MFT_OK;
}

static void describe(struct uffs_source *src)
{
	if (!src->format || !src->container)
		return;
	snprintf(src->described, sizeof src->described, "%s in %s container",
		 src->container, src->format->format);
	src->container = src->described;
}

static void close_source(struct uffs_source *src)
{
	src->disk->close(src);
}

int uffs_source_open(struct uffs_source *src, const char *path,
		     const struct uffs_source_opts *opts,
		     struct mft_error *err)
{
	int os_error = 0;
	const char *what = NULL;
	*src = (struct uffs_source){.path = path, .kind = UFFS_SOURCE_VOLUME,
				    .disk = &uffs_disk_file};
	if (uffs_file_open(path, &src->file, &os_error, &what) != 0) {
		mft_fail(err, MFT_E_IO, MFT_NO_FRS, MFT_NO_OFFSET,
			 uffs_file_strerror(os_error));
		return MFT_E_IO;
	}
	const char *format = src->file.is_device ? NULL : detect_container(src);
	if (format && open_container(src, format, err)) {
		uffs_file_close(&src->file);
		return err->code;
	}
	src->size = src->file.size;
	uint8_t probe[PROBE_LEN] = {0};
	size_t probe_len = src->file.size < PROBE_LEN ? (size_t)src->file.size
						       : PROBE_LEN;
	int rc;
	if (probe_len < 512)
		rc = mft_fail(err, MFT_E_TRUNCATED, MFT_NO_FRS, probe_len,
			      src->file.size ? "source too small to hold NTFS"
					     : "source is empty");
	else
		rc = read_raw(src, probe, probe_len, 0, err);
	if (rc == MFT_OK)
		rc = classify(src, probe, probe_len, opts, err);
	if (rc == MFT_OK && opts->direct && src->disk->open_direct)
		src->disk->open_direct(src);
	if (rc == MFT_OK)
		describe(src);
	if (rc == MFT_OK && opts->vss_store > 0) {
		if (src->kind != UFFS_SOURCE_VOLUME)
			rc = mft_fail(err, MFT_E_USAGE, MFT_NO_FRS, MFT_NO_OFFSET,
				      "a captured $MFT has no shadow copies");
		else
			rc = uffs_source_use_store(src, opts->vss_store, err);
	}
	if (rc != MFT_OK)
		close_source(src);
	return rc;
}

void uffs_source_close(struct uffs_source *src)
{
	close_source(src);
}
