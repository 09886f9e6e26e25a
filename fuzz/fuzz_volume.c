/* libFuzzer: a whole source through the full pipeline: detection, the
 * boot sector or captured $MFT, the extent map and bitmap, the scan (the
 * first byte picks the mode and thread count), the merger, path resolution
 * of every name, disk usage totals, and the digest. The input becomes an
 * in-memory file (memfd) opened like any source. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../mft/digest.h"
#include "../mft/path.h"
#include "../mft/usage.h"
#include "../scan/scan.h"
#include "../scan/volume.h"
#include "../source/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(void *ctx, const struct mft_error *e)
{
	(void)ctx;
	(void)e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t pick = data[0];
	data++;
	size--;
	int fd = memfd_create("uffs-fuzz", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct uffs_source_opts so = UFFS_SOURCE_OPTS_DEFAULT;
	struct uffs_source src;
	struct uffs_volume vol;
	struct uffs_warn_sink warn = {ignore, NULL};
	struct mft_error err;
	if (uffs_source_open(&src, path, &so, &err) == MFT_OK) {
		if (uffs_volume_open(&vol, &src, &warn, &err) == MFT_OK) {
			struct uffs_scan_opts o = {0};
			o.mode = (enum uffs_mode)(pick % UFFS_MODE_COUNT);
			o.threads = 1 + (pick >> 3) % 2;
			o.chunk_bytes = 4096;
			o.skip_unused = pick & 0x80;
			o.keep_fn_times = pick & 0x40;
			struct uffs_index idx;
			struct uffs_scan_stats st;
			if (uffs_scan(&vol, &o, &idx, &st, &warn, &err) == MFT_OK) {
				struct uffs_tree t;
				if (uffs_tree_build(&t, &idx, &err) == MFT_OK) {
					static char buf[1 << 17];
					for (uint64_t r = 0; r < idx.n_records; r++)
						UFFS_FOR_EACH_LINK(&idx, r, i)
						uffs_link_path(&t, r, i, '/', buf, sizeof buf);
					struct uffs_usage u;
					if (uffs_usage_build(&u, &t, &err) == MFT_OK)
						uffs_usage_free(&u);
					uffs_tree_free(&t);
				}
				uffs_index_digest(&idx);
				uffs_index_free(&idx);
			}
			uffs_volume_close(&vol);
		}
		uffs_source_close(&src);
	}
	close(fd);
	return 0;
}
