/* Change journal records (USN_RECORD_V2/V3/V4). */
#include <string.h>

#include "bytes.h"
#include "usn.h"

static int bad(struct mft_error *err, uint64_t off, const char *what)
{
	return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS, off, what);
}

static int parse_v2(const uint8_t *p, struct usn_record *r,
		    struct mft_error *err)
{
	if (r->length < USN_V2_MIN)
		return bad(err, 0, "a version 2 record shorter than its header");
	r->file_ref = le64(p + 8);
	r->parent_ref = le64(p + 16);
	r->usn = (int64_t)le64(p + 24);
	r->time = le64(p + 32);
	r->reason = le32(p + 40);
	r->source_info = le32(p + 44);
	r->security_id = le32(p + 48);
	r->attributes = le32(p + 52);
	r->name_len = le16(p + 56);
	uint16_t name_off = le16(p + 58);
	if (name_off < USN_V2_MIN || name_off > r->length ||
	    r->name_len > r->length - name_off || (r->name_len & 1))
		return bad(err, 56, "the file name lies outside the record");
	r->name = p + name_off;
	return MFT_OK;
}

static int parse_v3(const uint8_t *p, struct usn_record *r,
		    struct mft_error *err)
{
	if (r->length < USN_V3_MIN)
		return bad(err, 0, "a version 3 record shorter than its header");
	r->file_ref = le64(p + 8);
	r->file_ref_high = le64(p + 16);
	r->parent_ref = le64(p + 24);
	r->parent_ref_high = le64(p + 32);
	r->usn = (int64_t)le64(p + 40);
	r->time = le64(p + 48);
	r->reason = le32(p + 56);
	r->source_info = le32(p + 60);
	r->security_id = le32(p + 64);
	r->attributes = le32(p + 68);
	r->name_len = le16(p + 72);
	uint16_t name_off = le16(p + 74);
	if (name_off < USN_V3_MIN || name_off > r->length ||
	    r->name_len > r->length - name_off || (r->name_len & 1))
		return bad(err, 72, "the file name lies outside the record");
	r->name = p + name_off;
	return MFT_OK;
}

static int parse_v4(const uint8_t *p, struct usn_record *r,
		    struct mft_error *err)
{
	if (r->length < USN_V4_MIN)
		return bad(err, 0, "a version 4 record shorter than its header");
	r->file_ref = le64(p + 8);
	r->file_ref_high = le64(p + 16);
	r->parent_ref = le64(p + 24);
	r->parent_ref_high = le64(p + 32);
	r->usn = (int64_t)le64(p + 40);
	r->reason = le32(p + 48);
	r->source_info = le32(p + 52);
	r->remaining_extents = le32(p + 56);
	r->n_extents = le16(p + 60);
	uint16_t extent_size = le16(p + 62);
	if (r->n_extents && extent_size != USN_EXTENT_SIZE)
		return bad(err, 62, "an extent size other than 16");
	if ((size_t)r->n_extents * USN_EXTENT_SIZE > r->length - USN_V4_MIN)
		return bad(err, 60, "more extents than the record holds");
	r->extents = p + USN_V4_MIN;
	return MFT_OK;
}

int usn_record_parse(const uint8_t *p, size_t avail, struct usn_record *r,
		     struct mft_error *err)
{
	*r = (struct usn_record){0};
	if (avail < 8)
		return bad(err, 0, "a record cut off by the end of its page");
	r->length = le32(p);
	r->major = le16(p + 4);
	r->minor = le16(p + 6);
	if (r->length < 8 || (r->length & 7))
		return bad(err, 0, "a record length that is not a multiple of 8");
	if (r->length > avail)
		return bad(err, 0, "a record that runs past its page");
	switch (r->major) {
	case 2:
		return parse_v2(p, r, err);
	case 3:
		return parse_v3(p, r, err);
	case 4:
		return parse_v4(p, r, err);
	default:
		return bad(err, 4, "an unknown record version");
	}
}

/* USN_REASON_* from Microsoft's winioctl.h documentation, by bit. */
static const char *const reason_names[32] = {
	"DATA_OVERWRITE", "DATA_EXTEND", "DATA_TRUNCATION", NULL,
	"NAMED_DATA_OVERWRITE", "NAMED_DATA_EXTEND", "NAMED_DATA_TRUNCATION",
	NULL, "FILE_CREATE", "FILE_DELETE", "EA_CHANGE", "SECURITY_CHANGE",
	"RENAME_OLD_NAME", "RENAME_NEW_NAME", "INDEXABLE_CHANGE",
	"BASIC_INFO_CHANGE", "HARD_LINK_CHANGE", "COMPRESSION_CHANGE",
	"ENCRYPTION_CHANGE", "OBJECT_ID_CHANGE", "REPARSE_POINT_CHANGE",
	"STREAM_CHANGE", "TRANSACTED_CHANGE", "INTEGRITY_CHANGE",
	"DESIRED_STORAGE_CLASS_CHANGE", NULL, NULL, NULL, NULL, NULL, NULL,
	"CLOSE",
};

const char *usn_reason_name(unsigned bit)
{
	return bit < 32 ? reason_names[bit] : NULL;
}

static bool same_name(const char *a, size_t n, const char *b)
{
	if (strlen(b) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = a[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c == '-')
			c = '_';
		if (c != b[i])
			return false;
	}
	return true;
}

int usn_reason_bit(const char *name, size_t len)
{
	static const char prefix[] = "USN_REASON_";
	if (len > sizeof prefix - 1 && same_name(name, sizeof prefix - 1, "USN_REASON_"))
		name += sizeof prefix - 1, len -= sizeof prefix - 1;
	for (unsigned b = 0; b < 32; b++)
		if (reason_names[b] && same_name(name, len, reason_names[b]))
			return (int)b;
	return -1;
}

bool usn_all_zero(const uint8_t *p, size_t len)
{
	size_t i = 0;
	for (; i + 8 <= len; i += 8)
		if (le64(p + i))
			return false;
	for (; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* A record worth resuming at: it parses, and its USN is its own offset. */
static bool plausible(const uint8_t *p, size_t avail, uint64_t stream_off)
{
	struct usn_record r;
	struct mft_error ignored;
	return usn_record_parse(p, avail, &r, &ignored) == MFT_OK &&
	       r.usn >= 0 && (uint64_t)r.usn == stream_off;
}

size_t usn_page_walk(const uint8_t *page, size_t len, uint64_t page_off,
		     usn_each_fn *each, usn_bad_fn *bad_fn, void *ctx)
{
	size_t n = 0, at = 0;
	while (at + 8 <= len) {
		if (le32(page + at) == 0 && usn_all_zero(page + at, len - at))
			break; /* the page's padding */
		struct usn_record r;
		struct mft_error err;
		int rc = usn_record_parse(page + at, len - at, &r, &err);
		if (rc == MFT_OK && (r.usn < 0 || (uint64_t)r.usn != page_off + at))
			rc = bad(&err, 24, "a record whose USN is not its offset (torn or stale)");
		if (rc == MFT_OK) {
			each(ctx, &r);
			n++;
			at += r.length;
			continue;
		}
		err.offset = page_off + at + (err.offset == MFT_NO_OFFSET ? 0 : err.offset);
		bad_fn(ctx, &err);
		/* resume at the next record that is plainly one */
		do
			at += 8;
		while (at + 8 <= len && !plausible(page + at, len - at, page_off + at));
	}
	return n;
}
