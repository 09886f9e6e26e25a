/* Shadow copies in a build without libvshadow: every request says so. */
#include "source.h"
#include "vss.h"

bool uffs_vss_available(void)
{
	return false;
}

int uffs_vss_stores(const struct uffs_source *src, struct uffs_vss_store *out,
		    int cap, int *n, struct mft_error *err)
{
	(void)src, (void)out, (void)cap;
	*n = 0;
	return mft_fail(err, MFT_E_UNSUPPORTED, MFT_NO_FRS, MFT_NO_OFFSET,
			"this build of uffs reads no shadow copies (made without libvshadow)");
}

int uffs_source_use_store(struct uffs_source *src, int number,
			  struct mft_error *err)
{
	(void)src, (void)number;
	return mft_fail(err, MFT_E_UNSUPPORTED, MFT_NO_FRS, MFT_NO_OFFSET,
			"this build of uffs reads no shadow copies (made without libvshadow)");
}
