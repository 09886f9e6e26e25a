/*
 * On-disk NTFS structures as uffs reads them: byte offsets, sizes, meanings.
 *
 * Everything is little-endian. We never cast buffers to packed structs: every
 * field is read through the bounds-checked helpers in bytes.h at the offsets
 * below. Sources: the libfsntfs "NTFS" format document (Metz), Carrier, "File
 * System Forensic Analysis" ch. 11-13, Microsoft's [MS-FSCC] and the ntfs-3g
 * layout.h comments; every rule was checked against real volumes (see
 * docs/ntfs.md).
 */
#ifndef UFFS_NTFS_FORMAT_H
#define UFFS_NTFS_FORMAT_H

/* ---- Boot sector (first sector of the volume) ----------------------------
 *  off size  field
 *  0x03  8   OEM id "NTFS    "
 *  0x0B  2   bytes per sector (512..4096, power of two)
 *  0x0D  1   sectors per cluster; > 0x80 means 2^(256-n) sectors
 *  0x28  8   total sectors of the volume
 *  0x30  8   $MFT first cluster (LCN)
 *  0x38  8   $MFTMirr first cluster (LCN)
 *  0x40  1   clusters per MFT record, signed: < 0 means 2^-n bytes
 *  0x44  1   clusters per index record, same encoding
 *  0x48  8   volume serial number
 *  0x1FE 2   0xAA55
 */
#define NTFS_BOOT_OEM 0x03
#define NTFS_BOOT_BYTES_PER_SECTOR 0x0B
#define NTFS_BOOT_SECTORS_PER_CLUSTER 0x0D
#define NTFS_BOOT_TOTAL_SECTORS 0x28
#define NTFS_BOOT_MFT_LCN 0x30
#define NTFS_BOOT_MFTMIRR_LCN 0x38
#define NTFS_BOOT_CLUSTERS_PER_RECORD 0x40
#define NTFS_BOOT_CLUSTERS_PER_INDEX 0x44
#define NTFS_BOOT_SERIAL 0x48
#define NTFS_BOOT_SIGNATURE 0x1FE

/* ---- MFT record header ("FILE") -------------------------------------------
 *  0x00  4   magic "FILE" ("BAAD" after chkdsk found it torn)
 *  0x04  2   update sequence array offset
 *  0x06  2   update sequence array count, in 16-bit words, incl. the USN itself
 *  0x08  8   $LogFile sequence number
 *  0x10  2   sequence number (bumped when the record is freed)
 *  0x12  2   hard link count (counts DOS twins; may be garbage)
 *  0x14  2   offset of the first attribute
 *  0x16  2   flags: 0x01 in use, 0x02 directory, 0x04 $Extend, 0x08 view index
 *  0x18  4   bytes in use
 *  0x1C  4   bytes allocated (= record size)
 *  0x20  8   base record reference (0 for a base record)
 *  0x28  2   next attribute id
 *  0x2C  4   this record's number (NTFS 3.1+ only, when usa offset >= 0x30)
 *  Rule checked before use: usa_off + 2*usa_count <= first attribute offset is
 *  not required by Windows, but usa must lie inside the first stride and the
 *  first attribute must lie after the header and inside bytes in use.
 */
#define MFT_REC_MAGIC 0x00
#define MFT_REC_USA_OFS 0x04
#define MFT_REC_USA_COUNT 0x06
#define MFT_REC_SEQ 0x10
#define MFT_REC_LINKS 0x12
#define MFT_REC_ATTR_OFS 0x14
#define MFT_REC_FLAGS 0x16
#define MFT_REC_BYTES_USED 0x18
#define MFT_REC_BYTES_ALLOC 0x1C
#define MFT_REC_BASE_REF 0x20
#define MFT_REC_HEADER_MIN 0x2A /* through "next attribute id" */

#define MFT_REC_FLAG_IN_USE 0x0001
#define MFT_REC_FLAG_DIRECTORY 0x0002

/* The fixup stride is 512 bytes whatever the sector size. */
#define MFT_FIXUP_STRIDE 512

/* ---- Attribute record header (common part) --------------------------------
 *  0x00  4   type (0xFFFFFFFF ends the list)
 *  0x04  4   record length (>= 0x18; the next attribute starts here)
 *  0x08  1   non-resident flag
 *  0x09  1   name length in UTF-16 units
 *  0x0A  2   name offset
 *  0x0C  2   flags: 0x0001 compressed (mask 0x00FF), 0x4000 encrypted,
 *            0x8000 sparse
 *  0x0E  2   attribute id (unique within one record only)
 * Resident:
 *  0x10  4   value length
 *  0x14  2   value offset
 * Non-resident:
 *  0x10  8   first VCN of this piece
 *  0x18  8   last VCN of this piece
 *  0x20  2   runlist (mapping pairs) offset
 *  0x22  1   compression unit (log2 clusters)
 *  0x28  8   allocated size   } valid in the piece with first VCN 0 only
 *  0x30  8   data size        }
 *  0x38  8   initialized size }
 *  0x40  8   total allocated (compressed/sparse only, header is 0x48 bytes)
 */
#define ATTR_TYPE 0x00
#define ATTR_LENGTH 0x04
#define ATTR_NONRESIDENT 0x08
#define ATTR_NAME_LEN 0x09
#define ATTR_NAME_OFS 0x0A
#define ATTR_FLAGS 0x0C
#define ATTR_ID 0x0E
#define ATTR_RES_VALUE_LEN 0x10
#define ATTR_RES_VALUE_OFS 0x14
#define ATTR_RES_HEADER_LEN 0x18
#define ATTR_NR_START_VCN 0x10
#define ATTR_NR_LAST_VCN 0x18
#define ATTR_NR_RUNLIST_OFS 0x20
#define ATTR_NR_COMP_UNIT 0x22
#define ATTR_NR_ALLOC_SIZE 0x28
#define ATTR_NR_DATA_SIZE 0x30
#define ATTR_NR_INIT_SIZE 0x38
#define ATTR_NR_TOTAL_ALLOC 0x40
#define ATTR_NR_HEADER_LEN 0x40
#define ATTR_NR_HEADER_LEN_COMPRESSED 0x48

#define ATTR_FLAG_COMPRESSED_MASK 0x00FF
#define ATTR_FLAG_ENCRYPTED 0x4000
#define ATTR_FLAG_SPARSE 0x8000

#define ATTR_END 0xFFFFFFFFu
#define AT_STANDARD_INFORMATION 0x10
#define AT_ATTRIBUTE_LIST 0x20
#define AT_FILE_NAME 0x30
#define AT_OBJECT_ID 0x40
#define AT_SECURITY_DESCRIPTOR 0x50
#define AT_VOLUME_NAME 0x60
#define AT_VOLUME_INFORMATION 0x70
#define AT_DATA 0x80
#define AT_INDEX_ROOT 0x90
#define AT_INDEX_ALLOCATION 0xA0
#define AT_BITMAP 0xB0
#define AT_REPARSE_POINT 0xC0
#define AT_EA_INFORMATION 0xD0
#define AT_EA 0xE0
#define AT_LOGGED_UTILITY_STREAM 0x100

/* ---- $STANDARD_INFORMATION value ------------------------------------------
 *  0x00 8 created, 0x08 8 modified, 0x10 8 MFT changed, 0x18 8 accessed
 *  (FILETIME: 100 ns since 1601-01-01 UTC)
 *  0x20 4 file attribute flags (FILE_ATTRIBUTE_*)
 *  0x30 4 owner id, 0x34 4 security id (NTFS 3.0+, value >= 0x48 bytes)
 */
#define SI_CREATED 0x00
#define SI_MODIFIED 0x08
#define SI_MFT_CHANGED 0x10
#define SI_ACCESSED 0x18
#define SI_FILE_ATTRS 0x20
#define SI_OWNER_ID 0x30
#define SI_MIN_LEN 0x30

/* ---- $FILE_NAME value -------------------------------------------------------
 *  0x00 8 parent reference (48-bit record number | 16-bit sequence << 48)
 *  0x08 8 created, 0x10 modified, 0x18 MFT changed, 0x20 accessed
 *  0x28 8 allocated size, 0x30 8 data size (often stale)
 *  0x38 4 flags (FILE_ATTRIBUTE_*; 0x10000000 = directory)
 *  0x3C 4 reparse tag / EA size
 *  0x40 1 name length in UTF-16 units
 *  0x41 1 namespace: 0 POSIX, 1 Win32, 2 DOS, 3 Win32&DOS
 *  0x42   name (UTF-16LE, not NUL-terminated)
 */
#define FN_PARENT_REF 0x00
#define FN_CREATED 0x08
#define FN_MODIFIED 0x10
#define FN_MFT_CHANGED 0x18
#define FN_ACCESSED 0x20
#define FN_ALLOC_SIZE 0x28
#define FN_DATA_SIZE 0x30
#define FN_FLAGS 0x38
#define FN_NAME_LEN 0x40
#define FN_NAMESPACE 0x41
#define FN_NAME 0x42

#define FN_NS_POSIX 0
#define FN_NS_WIN32 1
#define FN_NS_DOS 2
#define FN_NS_WIN32_AND_DOS 3

/* ---- $ATTRIBUTE_LIST entry --------------------------------------------------
 *  0x00 4 type, 0x04 2 entry length, 0x06 1 name length, 0x07 1 name offset
 *  0x08 8 first VCN, 0x10 8 record reference holding the attribute,
 *  0x18 2 attribute id, 0x1A name
 */
#define AL_TYPE 0x00
#define AL_LENGTH 0x04
#define AL_NAME_LEN 0x06
#define AL_NAME_OFS 0x07
#define AL_START_VCN 0x08
#define AL_RECORD_REF 0x10
#define AL_ATTR_ID 0x18
#define AL_ENTRY_MIN 0x1A

/* ---- $REPARSE_POINT value: 0x00 4 reparse tag --------------------------- */
#define RP_TAG 0x00

/* A file reference: 48-bit record number, 16-bit sequence number. */
#define MFT_REF_FRS(ref) ((ref) & 0x0000FFFFFFFFFFFFull)
#define MFT_REF_SEQ(ref) ((uint16_t)((ref) >> 48))

/* Well-known record numbers. */
#define MFT_FRS_MFT 0
#define MFT_FRS_ROOT 5
#define MFT_FRS_EXTEND 11 /* $Extend: $UsnJrnl, $ObjId, $Quota, $Reparse */
#define MFT_FRS_UPCASE 10

/* FILE_ATTRIBUTE_* bits we interpret. */
#define FILE_ATTR_READONLY 0x0001
#define FILE_ATTR_HIDDEN 0x0002
#define FILE_ATTR_SYSTEM 0x0004
#define FILE_ATTR_DIRECTORY 0x0010
#define FILE_ATTR_ARCHIVE 0x0020
#define FILE_ATTR_SPARSE 0x0200
#define FILE_ATTR_REPARSE 0x0400
#define FILE_ATTR_COMPRESSED 0x0800
#define FILE_ATTR_DUP_DIRECTORY 0x10000000

#endif
