#include "mft.h"

const char *mft_strerror(int code)
{
	switch (code) {
	case MFT_OK:
		return "success";
#define MFT_ERR_CASE(name, value, text)                                        \
	case MFT_E_##name:                                                     \
		return text;
		MFT_ERRORS(MFT_ERR_CASE)
#undef MFT_ERR_CASE
	}
	return "unknown error";
}

int mft_fail(struct mft_error *err, int code, uint64_t frs, uint64_t offset,
	     const char *what)
{
	if (err) {
		err->code = code;
		err->frs = frs;
		err->offset = offset;
		err->what = what;
		err->detail[0] = '\0';
	}
	return code;
}
