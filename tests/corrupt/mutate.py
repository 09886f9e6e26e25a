#!/usr/bin/env python3
"""Corrupted-image generator: one named, targeted mutation of a sample image.

    mutate.py --list                   the cases, one per line
    mutate.py --markdown               the case table (docs/robustness.md)
    mutate.py CASE IMAGE OUT           IMAGE (.img or .img.xz) mutated into OUT

Each case parses the NTFS structures itself (tests/corrupt/ntfs.py: boot
sector -> $MFT extents -> record N -> attribute walk), damages one field and,
where the record must stay otherwise valid, writes the update sequence back.
It returns the outcome uffs must produce (tests/e2e/test_corrupt.py asserts
it): an error line naming a record or byte offset (exit 1), warnings naming
the damaged records with the rest of the listing intact (exit 3), or a
listing that is unchanged or changed in a stated way (exit 0).

The record numbers are those of images/README.md; the byte offsets are
computed here from the image, independently of uffs.
"""
import lzma
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ntfs  # noqa: E402
from ntfs import put, u16, u32, u64  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EXIT_OK, EXIT_ERROR, EXIT_WARNINGS = 0, 1, 3


class Outcome:
    """What uffs must do with the mutated image.

    kind: "error" (exit 1, one line), "warn" (exit 3) or "ok" (exit 0).
    frs/offset: the record and offset the message must name (for "error"
    without frs, offset is a byte offset in the source); at: the record's
    byte offset in the image, when the message must give it.
    damaged: records whose rows may differ from the unmutated listing.
    check: name of a listing check in test_corrupt.py (default: every row
    of an undamaged record is unchanged, and nothing new appears).
    """

    def __init__(self, kind, text, frs=None, offset=None, at=None, msg=None,
                 damaged=(), check=None, arg=None):
        self.kind, self.text, self.frs, self.offset = kind, text, frs, offset
        self.at, self.msg, self.damaged = at, msg, set(damaged)
        self.check, self.arg = check, arg

    @property
    def exit(self):
        return {"error": EXIT_ERROR, "warn": EXIT_WARNINGS, "ok": EXIT_OK,
                "random": "0 or 3"}[self.kind]


def error(text, **kw):
    return Outcome("error", text, **kw)


def warn(text, frs, **kw):
    kw.setdefault("damaged", {frs})
    return Outcome("warn", text, frs=frs, **kw)


def ok(text, **kw):
    return Outcome("ok", text, **kw)


CASES = {}


def case(name, image, what):
    def deco(fn):
        CASES[name] = (image, what, fn)
        return fn
    return deco


H, S4, FR, C512 = "hardcases", "sector4k", "fragmented-mft", "cluster512"

# Records of images/README.md.
SMALL, BIG, DEEP, LEVEL40, NAMES, EMOJI = 64, 66, 67, 107, 109, 119
RES_AL, RES_AL_EXT, MANYLINKS = 151, 152, 153
DOCS, NOTES, README = 65, 66, 64        # sector4k
ROOT = 5


def rec_at(v, frs):
    return v.record_offset(frs)


# ---- boot sector -------------------------------------------------------------

@case("boot-bps-zero", S4, "bytes per sector (boot +0x0B) = 0")
def _(v):
    put(v.b, ntfs.BOOT_BPS, "H", 0)
    return error("the boot sector field", offset=ntfs.BOOT_BPS, msg="bytes per sector")


@case("boot-bps-odd", S4, "bytes per sector = 1000 (not a power of two)")
def _(v):
    put(v.b, ntfs.BOOT_BPS, "H", 1000)
    return error("the boot sector field", offset=ntfs.BOOT_BPS, msg="bytes per sector")


@case("boot-cluster-zero", S4, "sectors per cluster (+0x0D) = 0")
def _(v):
    v.b[ntfs.BOOT_SPC] = 0
    return error("the boot sector field", offset=ntfs.BOOT_SPC, msg="cluster size")


@case("boot-cluster-huge", S4, "sectors per cluster = 0xE0 (2^32 sectors)")
def _(v):
    v.b[ntfs.BOOT_SPC] = 0xE0
    return error("the boot sector field", offset=ntfs.BOOT_SPC, msg="cluster size")


@case("boot-cluster-4m", H, "sectors per cluster = 0xF3 (8192 x 512 = 4 MiB, past the 2 MiB limit)")
def _(v):
    v.b[ntfs.BOOT_SPC] = 0xF3
    return error("the boot sector field", offset=ntfs.BOOT_SPC, msg="cluster size")


@case("boot-cluster-odd", H, "sectors per cluster = 3")
def _(v):
    v.b[ntfs.BOOT_SPC] = 3
    return error("the boot sector field", offset=ntfs.BOOT_SPC, msg="cluster size")


@case("boot-record-size-zero", H, "clusters per MFT record (+0x40) = 0")
def _(v):
    v.b[ntfs.BOOT_CLUSTERS_PER_RECORD] = 0
    return error("the boot sector field", offset=ntfs.BOOT_CLUSTERS_PER_RECORD,
                 msg="record size")


@case("boot-record-size-huge", H, "clusters per MFT record = 0x7F (508 KiB records)")
def _(v):
    v.b[ntfs.BOOT_CLUSTERS_PER_RECORD] = 0x7F
    return error("the boot sector field", offset=ntfs.BOOT_CLUSTERS_PER_RECORD,
                 msg="record size")


@case("boot-record-size-negative", H, "clusters per MFT record = 0xC0 (2^64 bytes)")
def _(v):
    v.b[ntfs.BOOT_CLUSTERS_PER_RECORD] = 0xC0
    return error("the boot sector field", offset=ntfs.BOOT_CLUSTERS_PER_RECORD,
                 msg="record size")


@case("boot-total-sectors-zero", H, "total sectors (+0x28) = 0")
def _(v):
    put(v.b, ntfs.BOOT_TOTAL_SECTORS, "Q", 0)
    return error("the boot sector field", offset=ntfs.BOOT_TOTAL_SECTORS, msg="total sector")


@case("boot-total-sectors-huge", H, "total sectors = 2^63 (overflows bytes)")
def _(v):
    put(v.b, ntfs.BOOT_TOTAL_SECTORS, "Q", 1 << 63)
    return error("the boot sector field", offset=ntfs.BOOT_TOTAL_SECTORS, msg="total sector")


@case("boot-volume-larger", H, "total sectors x 1000: the image is shorter than its volume")
def _(v):
    put(v.b, ntfs.BOOT_TOTAL_SECTORS, "Q", u64(v.b, ntfs.BOOT_TOTAL_SECTORS) * 1000)
    return Outcome("warn", "warning at the image's end (byte offset = image size); "
                   "listing whole", offset=len(v.b), msg="shorter than the volume")


@case("boot-mft-lcn-beyond", H, "$MFT cluster (+0x30) past the volume")
def _(v):
    put(v.b, ntfs.BOOT_MFT_LCN, "Q", v.clusters + 5)
    return error("the boot sector field", offset=ntfs.BOOT_MFT_LCN, msg=r"\$MFT cluster")


@case("boot-mft-lcn-zero", H, "$MFT cluster = 0 (the boot sector itself)")
def _(v):
    put(v.b, ntfs.BOOT_MFT_LCN, "Q", 0)
    return error("the boot sector field", offset=ntfs.BOOT_MFT_LCN, msg=r"\$MFT cluster")


@case("boot-mft-lcn-wrong", H, "$MFT cluster points at a data cluster; $MFTMIrr intact")
def _(v):
    put(v.b, ntfs.BOOT_MFT_LCN, "Q", v.clusters // 3)
    return warn("record 0 unreadable there: warning, then $MFTMirr; listing whole",
                frs=0, damaged=(), msg="FILE signature|empty record")


# ---- truncated images ----------------------------------------------------------

def truncate(v, n):
    del v.b[n:]


@case("truncate-boot", H, "image cut to 100 bytes")
def _(v):
    truncate(v, 100)
    return error("exit 1: neither a volume nor an $MFT", msg="too small")


@case("truncate-before-mft", H, "image cut just before $MFT record 0 (the mirror is gone too)")
def _(v):
    truncate(v, v.rec0_off)
    return error("exit 1 naming record 0", frs=0, msg="truncated|short|past the end")


@case("truncate-in-record", H, "image cut 512 bytes into record 200")
def _(v):
    truncate(v, rec_at(v, 200) + 512)
    return error("exit 1 naming the first record not read", frs=None,
                 msg=r"record \d+ .*(truncated|short read|bytes read)")


@case("truncate-after-mft", H, "image cut right after the $MFT (the data area is gone)")
def _(v):
    mo, vo, n = v.extents[-1]
    truncate(v, vo + n)
    return Outcome("warn", "warning at the image's end; the $MFT and its bitmap are whole: "
                   "listing whole", offset=len(v.b), msg="shorter than the volume")


@case("truncate-in-attrlist", FR, "fragmented $MFT: image cut 100 bytes into record 0's (non-resident) $ATTRIBUTE_LIST")
def _(v):
    r = v.record(0)
    a = r.find(ntfs.AT_AL)
    (_, n, lcn), = a.runs(r)
    truncate(v, lcn * v.cluster + 100)
    return error("exit 1 naming record 0, its $ATTRIBUTE_LIST and the source byte", frs=0,
                 offset=a.off, msg=r"past the end.*ATTRIBUTE_LIST")


# ---- $MFT record 0 -------------------------------------------------------------

def mft_data(v):
    r = v.record(0)
    return r, r.find(ntfs.AT_DATA)


@case("mft-runlist-beyond-volume", H, "$MFT:$DATA first run moved past the volume's last cluster")
def _(v):
    r, a = mft_data(v)
    runs = [(n, lcn) for _, n, lcn in a.runs(r)]
    runs[0] = (runs[0][0], v.clusters + 100)
    r.set_runlist(a, runs)
    v.write_record(0, r)
    return error("exit 1 naming record 0 and its $DATA attribute", frs=0, offset=a.off,
                 msg="beyond the volume")


@case("mft-runlist-absurd-length", H, "$MFT:$DATA first run 2^62 clusters long")
def _(v):
    r, a = mft_data(v)
    runs = [(n, lcn) for _, n, lcn in a.runs(r)]
    runs[0] = (1 << 62, runs[0][1])
    r.set_runlist(a, runs)
    v.write_record(0, r)
    return error("exit 1 naming record 0", frs=0, offset=a.off, msg="beyond the volume")


@case("mft-runlist-max-length", H, "$MFT:$DATA run length 2^64-1 (8-byte length field)")
def _(v):
    r, a = mft_data(v)
    runs = [(n, lcn) for _, n, lcn in a.runs(r)]
    r.set_runlist(a, [((1 << 64) - 1, runs[0][1])])
    v.write_record(0, r)
    return error("exit 1 naming record 0 and the run", frs=0, offset=a.runlist_off,
                 msg="invalid length")


@case("mft-runlist-loop", H, "$MFT:$DATA split in two runs, the second mapping the first's clusters again")
def _(v):
    r, a = mft_data(v)
    (_, n, lcn), = a.runs(r)
    half = n // 2
    r.set_runlist(a, [(half, lcn), (n - half, lcn)])
    v.write_record(0, r)
    return error("exit 1 naming record 0 ($MFT maps clusters twice)", frs=0, offset=a.off,
                 msg="twice")


@case("mft-runlist-overlap", H, "$MFT:$DATA second run starting inside the first")
def _(v):
    r, a = mft_data(v)
    (_, n, lcn), = a.runs(r)
    half = n // 2
    r.set_runlist(a, [(half, lcn), (n - half, lcn + half - 3)])
    v.write_record(0, r)
    return error("exit 1 naming record 0 ($MFT maps clusters twice)", frs=0, offset=a.off,
                 msg="twice")


@case("mft-runlist-before-volume", H, "$MFT:$DATA second run with a negative delta below cluster 0")
def _(v):
    r, a = mft_data(v)
    (_, n, lcn), = a.runs(r)
    # encode_runlist takes absolute LCNs; -lcn - 10 gives a delta below 0.
    r.set_runlist(a, [(n // 2, lcn), (n - n // 2, -10)])
    v.write_record(0, r)
    return error("exit 1 naming record 0", frs=0, msg="before the volume")


@case("mft-runlist-bad-header", H, "$MFT:$DATA runlist header byte 0x09 (9-byte length)")
def _(v):
    r, a = mft_data(v)
    r.b[a.runlist_off] = 0x09
    v.write_record(0, r)
    return error("exit 1 naming record 0 and the run's byte", frs=0, offset=a.runlist_off,
                 msg="invalid field sizes")


@case("mft-runlist-no-terminator", H, "$MFT:$DATA runlist filling its attribute without a 0 byte")
def _(v):
    r, a = mft_data(v)
    end = a.off + a.length
    for o in range(a.runlist_off, end):
        r.b[o] = 0x11 if (o - a.runlist_off) % 3 == 0 else 0x01
    v.write_record(0, r)
    return error("exit 1 naming record 0", frs=0, msg="runlist|beyond the volume")


@case("mft-runlist-short", H, "$MFT:$DATA runlist maps 16 records, data size unchanged")
def _(v):
    r, a = mft_data(v)
    (_, n, lcn), = a.runs(r)
    r.set_runlist(a, [(16 * v.rec_size // v.cluster, lcn)])
    v.write_record(0, r)
    return Outcome("warn", "warning naming record 0; only the mapped records are listed",
                   frs=0, offset=a.off, msg="covers less", check="only_below", arg=16)


@case("mft-data-size-huge", H, "$MFT:$DATA data size 2^63")
def _(v):
    r, a = mft_data(v)
    put(r.b, a.off + ntfs.A_DATA_SIZE, "Q", 1 << 63)
    v.write_record(0, r)
    return warn("the runs cover less than that: warning naming record 0, the mapped "
                "records listed (all of them)", 0, offset=a.off, msg="covers less")


@case("mft-data-size-max", H, "$MFT:$DATA data size 2^64-1")
def _(v):
    r, a = mft_data(v)
    put(r.b, a.off + ntfs.A_DATA_SIZE, "Q", (1 << 64) - 1)
    v.write_record(0, r)
    return warn("as mft-data-size-huge", 0, offset=a.off, msg="covers less")


@case("mft-no-data", H, "record 0's $DATA turned into an unknown attribute type; $MFTMirr intact")
def _(v):
    r, a = mft_data(v)
    put(r.b, a.off, "I", 0x1000)
    v.write_record(0, r)
    return warn("warning naming record 0, then $MFTMirr's copy: listing whole", frs=0,
                damaged=(), msg="no non-resident")


@case("mft-rec0-zeroed", H, "record 0 all zeros; $MFTMirr intact")
def _(v):
    v.write_raw(0, bytes(v.rec_size))
    return warn("warning naming record 0, then $MFTMirr's copy: listing whole", frs=0,
                damaged=(), msg="empty record")


@case("mft-rec0-and-mirror", H, "record 0 and its $MFTMirr copy both torn")
def _(v):
    for off in (v.rec0_off, v.mirr_lcn * v.cluster):
        v.b[off + 510:off + 512] = b"\xAB\xCD"
    return error("exit 1 naming record 0 and the torn stride", frs=0, offset=510,
                 msg="update sequence")


@case("mft-bitmap-short", H, "$MFT:$BITMAP data size 1 byte (covers 8 of 3367 records)")
def _(v):
    r = v.record(0)
    a = r.find(ntfs.AT_BITMAP)
    put(r.b, a.off + ntfs.A_DATA_SIZE, "Q", 1)
    put(r.b, a.off + ntfs.A_INIT_SIZE, "Q", 1)
    v.write_record(0, r)
    return Outcome("warn", "warning naming record 0's $BITMAP; records past it are read "
                   "as if in use: listing whole", frs=0, offset=a.off, msg=r"\$BITMAP")


@case("mft-bitmap-zero", H, "$MFT:$BITMAP data size 0")
def _(v):
    r = v.record(0)
    a = r.find(ntfs.AT_BITMAP)
    for f in (ntfs.A_DATA_SIZE, ntfs.A_INIT_SIZE):
        put(r.b, a.off + f, "Q", 0)
    v.write_record(0, r)
    return Outcome("warn", "warning naming record 0's $BITMAP; listing whole", frs=0,
                   offset=a.off, msg=r"\$BITMAP")


@case("mft-bitmap-beyond-volume", H, "$MFT:$BITMAP run past the volume")
def _(v):
    r = v.record(0)
    a = r.find(ntfs.AT_BITMAP)
    runs = [(n, lcn) for _, n, lcn in a.runs(r)]
    r.set_runlist(a, [(runs[0][0], v.clusters + 7)])
    v.write_record(0, r)
    return error("exit 1 naming record 0's $BITMAP", frs=0, offset=a.off, msg="beyond the volume")


# ---- $MFT attribute list (fragmented-mft: record 0 -> extension record 15) -----

def mft_attr_list(v):
    r = v.record(0)
    a = r.find(ntfs.AT_AL)
    (_, n, lcn), = a.runs(r)
    return lcn * v.cluster, v.al_entries(v.attr_list)


def al_ref_patch(v, pick, frs):
    base, entries = mft_attr_list(v)
    e = next(e for e in entries if pick(e))
    put(v.b, base + e["off"] + ntfs.AL_REF, "Q", ntfs.ref(frs, 1))


RECORDS_IN_REC0_RUNS = 2428  # images/README.md: from FRS 2428 on, only record 15 maps them


@case("mft-attrlist-self", FR, "record 0's $ATTRIBUTE_LIST: the $DATA piece from VCN 607 said to be in record 0 itself")
def _(v):
    al_ref_patch(v, lambda e: e["type"] == ntfs.AT_DATA and e["vcn"], 0)
    return Outcome("warn", "warning naming record 0: the runlist covers less than the data "
                   "size; the records it maps are listed", frs=0, msg="covers less",
                   check="only_below", arg=RECORDS_IN_REC0_RUNS)


@case("mft-attrlist-no-piece", FR, "record 0's $ATTRIBUTE_LIST: the $DATA piece said to be in record 16 (which has none)")
def _(v):
    al_ref_patch(v, lambda e: e["type"] == ntfs.AT_DATA and e["vcn"], 16)
    return Outcome("warn", "as mft-attrlist-self", frs=0, msg="covers less",
                   check="only_below", arg=RECORDS_IN_REC0_RUNS)


@case("mft-attrlist-outside", FR, "record 0's $ATTRIBUTE_LIST: the $DATA piece said to be in record 2500, which only that piece could map")
def _(v):
    al_ref_patch(v, lambda e: e["type"] == ntfs.AT_DATA and e["vcn"], 2500)
    return error("exit 1 naming record 2500", frs=2500, msg="outside the runs")


@case("mft-attrlist-entry-len-zero", FR, "record 0's $ATTRIBUTE_LIST: second entry's length 0")
def _(v):
    base, entries = mft_attr_list(v)
    put(v.b, base + entries[1]["off"] + ntfs.AL_LEN, "H", 0)
    return error("exit 1 naming record 0 and the entry's offset in the list", frs=0,
                 offset=entries[1]["off"] + ntfs.AL_LEN, msg="entry length")


@case("mft-attrlist-entry-len-huge", FR, "record 0's $ATTRIBUTE_LIST: first entry's length 0xFFF0")
def _(v):
    base, entries = mft_attr_list(v)
    put(v.b, base + ntfs.AL_LEN, "H", 0xFFF0)
    return error("exit 1 naming record 0", frs=0, offset=ntfs.AL_LEN, msg="entry length")


@case("mft-ext-piece-gone", FR, "extension record 15 (the rest of $MFT:$DATA) torn")
def _(v):
    o = v.record_offset(15)
    v.b[o + 1022:o + 1024] = b"\x12\x34"
    return error("exit 1 naming record 15 and the torn stride", frs=15, offset=1022,
                 msg="update sequence")


# ---- record header -------------------------------------------------------------

def header_case(name, what, field, fmt, value, msg, offset=None):
    @case(name, H, what)
    def _(v):
        r = v.record(BIG)
        put(r.b, field, fmt, value(r) if callable(value) else value)
        v.write_record(BIG, r)
        return warn("record skipped with a warning naming it; listing otherwise whole", BIG,
                    offset=field if offset is None else offset, at=rec_at(v, BIG), msg=msg)


header_case("rec-used-zero", "big.txt (66): bytes in use (+0x18) = 0", ntfs.REC_USED, "I", 0,
            "first attribute offset", offset=ntfs.REC_ATTR_OFS)
header_case("rec-used-past", "big.txt: bytes in use = record size + 8", ntfs.REC_USED, "I",
            1032, "bytes in use")
header_case("rec-used-max", "big.txt: bytes in use = 2^32-1", ntfs.REC_USED, "I", 0xFFFFFFFF,
            "bytes in use")
header_case("rec-attr-offset-past", "big.txt: first attribute offset (+0x14) = 0xFFFF",
            ntfs.REC_ATTR_OFS, "H", 0xFFFF, "first attribute offset")
header_case("rec-attr-offset-small", "big.txt: first attribute offset = 0x10 (inside the header)",
            ntfs.REC_ATTR_OFS, "H", 0x10, "first attribute offset")
header_case("rec-attr-offset-at-used", "big.txt: first attribute offset = bytes in use",
            ntfs.REC_ATTR_OFS, "H", lambda r: u32(r.b, ntfs.REC_USED), "first attribute offset")


@case("rec-alloc-wrong", H, "big.txt: allocated size (+0x1C) = 512 instead of 1024")
def _(v):
    r = v.record(BIG)
    put(r.b, ntfs.REC_ALLOC, "I", 512)
    v.write_record(BIG, r)
    return ok("listing unchanged: on a volume the record size comes from the boot sector "
              "(+0x40); the field is only read for a captured $MFT")


def usa_case(name, what, field, fmt, value, msg):
    @case(name, H, what)
    def _(v):
        raw = bytearray(v.raw(BIG))
        put(raw, field, fmt, value)
        v.write_raw(BIG, raw)
        return warn("record skipped with a warning naming it and the field", BIG, offset=field,
                    at=rec_at(v, BIG), msg=msg)


usa_case("rec-usa-offset-zero", "big.txt: update sequence offset (+0x04) = 0",
         ntfs.REC_USA_OFS, "H", 0, "update sequence array offset")
usa_case("rec-usa-offset-odd", "big.txt: update sequence offset = 0x31",
         ntfs.REC_USA_OFS, "H", 0x31, "update sequence array offset")
usa_case("rec-usa-offset-past", "big.txt: update sequence offset = 0x1FE (array crosses the first stride)",
         ntfs.REC_USA_OFS, "H", 0x1FE, "update sequence array offset")
usa_case("rec-usa-offset-max", "big.txt: update sequence offset = 0xFFFF",
         ntfs.REC_USA_OFS, "H", 0xFFFF, "update sequence array offset")
usa_case("rec-usa-count-zero", "big.txt: update sequence count (+0x06) = 0",
         ntfs.REC_USA_COUNT, "H", 0, "update sequence count")
usa_case("rec-usa-count-huge", "big.txt: update sequence count = 0xFFFF",
         ntfs.REC_USA_COUNT, "H", 0xFFFF, "update sequence count")
usa_case("rec-usa-count-one", "big.txt: update sequence count = 1 (no stride checked)",
         ntfs.REC_USA_COUNT, "H", 1, "update sequence count")


@case("rec-torn", H, "big.txt: last two bytes of the second stride differ from the update sequence number")
def _(v):
    v.patch_raw(BIG, 1022, b"\x12\x34")
    return warn("record skipped, warning at offset 1022", BIG, offset=1022, at=rec_at(v, BIG),
                msg="update sequence mismatch")


@case("rec-bad-magic", H, "big.txt: signature FILE -> XXXX (the bitmap says in use)")
def _(v):
    v.patch_raw(BIG, 0, b"XXXX")
    return warn("record skipped, warning", BIG, offset=0, at=rec_at(v, BIG), msg="signature")


@case("rec-baad", H, "big.txt: signature BAAD, record otherwise intact")
def _(v):
    v.patch_raw(BIG, 0, b"BAAD")
    return warn("listed (as fls does), with a warning", BIG, offset=0, at=rec_at(v, BIG),
                damaged=(), msg="BAAD")


@case("rec-random-in-use", H, "big.txt: the whole record random bytes")
def _(v):
    import random
    rnd = random.Random(6)
    v.write_raw(BIG, bytes(rnd.randrange(256) for _ in range(v.rec_size)))
    return warn("record skipped, warning", BIG, at=rec_at(v, BIG), msg="signature")


# ---- attributes ----------------------------------------------------------------

def attr_case(name, what, frs, pick, field, fmt, value, msg, kind="warn", at_field=None,
              check=None):
    @case(name, H, what)
    def _(v):
        r = v.record(frs)
        a = pick(r)
        put(r.b, a.off + field, fmt, value(a) if callable(value) else value)
        v.write_record(frs, r)
        off = a.off + (field if at_field is None else at_field)
        return warn("walk stops there; what came before is kept; warning naming the record "
                    "and the attribute's offset", frs, offset=off, at=rec_at(v, frs), msg=msg,
                    check=check)


def first_attr(r):
    return next(r.attrs())


def data_attr(r):
    return r.find(ntfs.AT_DATA)


def fn_attr(r):
    return r.find(ntfs.AT_FN)


attr_case("attr-len-zero", "small.txt (64): first attribute's length = 0", SMALL, first_attr,
          ntfs.A_LEN, "I", 0, "attribute length")
attr_case("attr-len-past", "small.txt: $DATA length past the record", SMALL, data_attr,
          ntfs.A_LEN, "I", 0xFFFF0, "attribute length")
attr_case("attr-len-max", "small.txt: $FILE_NAME length 2^32-1", SMALL, fn_attr,
          ntfs.A_LEN, "I", 0xFFFFFFFF, "attribute length")
attr_case("attr-len-small", "small.txt: $FILE_NAME length 8 (shorter than a header)", SMALL,
          fn_attr, ntfs.A_LEN, "I", 8, "attribute length")
attr_case("attr-name-past", "big.txt: $DATA attribute name length 200 (past the attribute)",
          BIG, data_attr, ntfs.A_NAME_LEN, "B", 200, "name runs past", at_field=ntfs.A_NAME_OFS)
attr_case("attr-value-past", "small.txt: resident $DATA value length 2^32-1", SMALL, data_attr,
          ntfs.A_VALUE_LEN, "I", 0xFFFFFFFF, "resident value")
attr_case("attr-value-offset-past", "small.txt: resident $DATA value offset 0xFFFF", SMALL,
          data_attr, ntfs.A_VALUE_OFS, "H", 0xFFFF, "resident value", at_field=ntfs.A_VALUE_LEN)
attr_case("attr-runlist-offset-past", "big.txt: non-resident $DATA runlist offset 0xFFFF", BIG,
          data_attr, ntfs.A_RUNLIST_OFS, "H", 0xFFFF, "runlist offset")
attr_case("attr-nonres-short", "big.txt: non-resident $DATA length 0x30 (shorter than its header)",
          BIG, data_attr, ntfs.A_LEN, "I", 0x30, "shorter than its header", at_field=ntfs.A_LEN)


@case("attr-no-end", H, "small.txt: end marker overwritten, bytes in use ends right after it")
def _(v):
    r = v.record(SMALL)
    end = r.end_marker()
    put(r.b, end, "I", 0x12345678)
    put(r.b, ntfs.REC_USED, "I", end + 4)
    v.write_record(SMALL, r)
    return warn("warning naming the record; the attributes before are kept", SMALL,
                offset=end, at=rec_at(v, SMALL), msg="without an end marker|header runs past",
                damaged=())


# ---- $FILE_NAME ----------------------------------------------------------------

@case("name-len-past", H, "small.txt: $FILE_NAME name length 255 (past its value)")
def _(v):
    r = v.record(SMALL)
    a = r.find(ntfs.AT_FN)
    r.b[a.value_off + ntfs.FN_NAME_LEN] = 255
    v.write_record(SMALL, r)
    return warn("the name is dropped with a warning naming the record", SMALL,
                offset=a.off + ntfs.A_VALUE_LEN, at=rec_at(v, SMALL), msg="name runs past")


@case("name-value-short", H, "small.txt: $FILE_NAME value length 16 (shorter than its header)")
def _(v):
    r = v.record(SMALL)
    a = r.find(ntfs.AT_FN)
    put(r.b, a.off + ntfs.A_VALUE_LEN, "I", 16)
    v.write_record(SMALL, r)
    return warn("the name is dropped with a warning", SMALL, offset=a.off, at=rec_at(v, SMALL),
                msg="shorter than its header")


@case("name-len-zero", H, "small.txt: $FILE_NAME name length 0")
def _(v):
    r = v.record(SMALL)
    a = r.find(ntfs.AT_FN)
    r.b[a.value_off + ntfs.FN_NAME_LEN] = 0
    v.write_record(SMALL, r)
    return warn("names are 1 to 255 units: the record is damaged there, warning; the "
                "file has no name left to list", SMALL, offset=a.off + ntfs.A_VALUE_LEN,
                at=rec_at(v, SMALL), msg="empty name", check="gone", arg=SMALL)


def surrogate_case(name, what, unit):
    @case(name, H, what)
    def _(v):
        r = v.record(SMALL)
        a = r.find(ntfs.AT_FN)
        put(r.b, a.value_off + ntfs.FN_NAME, "H", unit)   # first unit of "small.txt"
        v.write_record(SMALL, r)
        return ok("unpaired surrogates are legal in NTFS names (ntfs-notes 7): listed, "
                  "escaped losslessly", check="renamed", arg=(SMALL, "/" + chr(unit) + "mall.txt"))


surrogate_case("name-lone-high-surrogate", "small.txt: first name unit 0xD800", 0xD800)
surrogate_case("name-lone-low-surrogate", "small.txt: first name unit 0xDC00", 0xDC00)


@case("name-surrogate-at-end", H, "😀.txt (119): the pair's low half replaced by '.' (high surrogate then '.')")
def _(v):
    r = v.record(EMOJI)
    a = r.find(ntfs.AT_FN)
    put(r.b, a.value_off + ntfs.FN_NAME + 2, "H", ord("."))
    v.write_record(EMOJI, r)
    return ok("listed with the lone high surrogate escaped", check="renamed",
              arg=(EMOJI, "/names/\ud83d..txt"))


# ---- sizes ---------------------------------------------------------------------

def size_case(name, what, value, field=ntfs.A_DATA_SIZE):
    @case(name, H, what)
    def _(v):
        r = v.record(BIG)
        a = r.find(ntfs.AT_DATA)
        put(r.b, a.off + field, "Q", value)
        v.write_record(BIG, r)
        if field != ntfs.A_DATA_SIZE:
            return ok("listing unchanged: only the data size is listed")
        return ok("listed with the stored size: uffs reads no file content, so a size is "
                  "only printed (fls prints it too)", check="size", arg=(BIG, value))


size_case("size-2^63", "big.txt: $DATA data size 2^63", 1 << 63)
size_case("size-2^64-1", "big.txt: $DATA data size 2^64-1", (1 << 64) - 1)
size_case("size-alloc-2^64-1", "big.txt: $DATA allocated size 2^64-1", (1 << 64) - 1,
          ntfs.A_ALLOC_SIZE)


# ---- runlists of ordinary files ------------------------------------------------

@case("file-runlist-beyond-volume", H, "big.txt: $DATA runlist past the volume")
def _(v):
    r = v.record(BIG)
    a = r.find(ntfs.AT_DATA)
    r.set_runlist(a, [(n, v.clusters * 4) for _, n, _ in a.runs(r)][:1])
    v.write_record(BIG, r)
    return ok("listing unchanged: listing a file reads only its record, never its runs")


@case("file-runlist-absurd", H, "big.txt: $DATA run 2^62 clusters")
def _(v):
    r = v.record(BIG)
    a = r.find(ntfs.AT_DATA)
    r.set_runlist(a, [(1 << 62, 100)])
    v.write_record(BIG, r)
    return ok("listing unchanged: file runs are not decoded")


# ---- parent chains -------------------------------------------------------------

def set_parent(v, frs, parent, seq=None):
    r = v.record(frs)
    if seq is None:
        seq = u16(v.record(parent).b, ntfs.REC_SEQ) if parent < 1 << 32 else 0
    for a in r.attrs():
        if a.type == ntfs.AT_FN:
            put(r.b, a.value_off + ntfs.FN_PARENT, "Q", ntfs.ref(parent, seq))
    v.write_record(frs, r)


@case("parent-self", S4, "docs/ (65) its own parent")
def _(v):
    set_parent(v, DOCS, DOCS)
    return warn("warning naming the directory; it and its subtree under /$OrphanFiles",
                DOCS, msg="own ancestor|loops", check="orphaned", arg="/docs")


@case("parent-pair", S4, "docs/ (65) and docs/notes/ (66) each other's parent")
def _(v):
    set_parent(v, DOCS, NOTES)
    return warn("warning naming one directory of the loop; the loop under /$OrphanFiles",
                DOCS, msg="loops", check="orphaned", arg="/docs")


@case("parent-long-cycle", H, "deep/ (67) made a child of deep/level01/.../level40/ (107): a 41-directory loop")
def _(v):
    set_parent(v, DEEP, LEVEL40)
    return warn("warning naming a directory of the loop; the loop under /$OrphanFiles",
                DEEP, msg="loops", check="orphaned", arg="/deep")


@case("parent-beyond-mft", S4, "docs/ parent reference = record 2^48-1")
def _(v):
    set_parent(v, DOCS, (1 << 48) - 1, seq=1)
    return ok("a missing parent makes an orphan, as fls lists it: /$OrphanFiles/docs/...",
              check="orphaned", arg="/docs")


@case("parent-is-file", S4, "docs/ parent reference = readme.txt (64), a file")
def _(v):
    set_parent(v, DOCS, README)
    return ok("a parent that is not a directory makes an orphan (fls: /$OrphanFiles)",
              check="orphaned", arg="/docs")


@case("parent-seq-mismatch", S4, "docs/ parent reference with the root's sequence number + 1")
def _(v):
    set_parent(v, DOCS, ROOT, seq=u16(v.record(ROOT).b, ntfs.REC_SEQ) + 1)
    return ok("the root was 'reused': docs/ is an orphan (ntfs-notes 9, as fls)",
              check="orphaned", arg="/docs")


@case("root-parent-other", S4, "root (5) parent reference = docs/ (65)")
def _(v):
    set_parent(v, ROOT, DOCS)
    return ok("the root is the root whatever its parent reference says: listing unchanged")


@case("root-torn", S4, "root directory (5) torn")
def _(v):
    v.patch_raw(ROOT, v.rec_size - 2, b"\x12\x34")
    return warn("warning naming record 5; its children are orphans", ROOT,
                offset=v.rec_size - 2, at=rec_at(v, ROOT), msg="update sequence",
                check="all_orphaned")


@case("root-not-dir", S4, "root (5): directory flag cleared in its header")
def _(v):
    r = v.record(ROOT)
    put(r.b, ntfs.REC_FLAGS, "H", u16(r.b, ntfs.REC_FLAGS) & ~ntfs.FLAG_DIR)
    v.write_record(ROOT, r)
    return ok("children of a root that is not a directory are orphans (as any parent that "
              "is not a directory)", check="all_orphaned")


# ---- attribute lists and extension records of ordinary files ---------------------

def res_al(v):
    r = v.record(RES_AL)
    a = r.find(ntfs.AT_AL)
    return r, a, v.al_entries(v.attr_value(r, a))


@case("file-attrlist-self", H, "attrlist/resident-al.txt (151): every $ATTRIBUTE_LIST entry points at 151 itself")
def _(v):
    r, a, entries = res_al(v)
    for e in entries:
        put(r.b, a.value_off + e["off"] + ntfs.AL_REF, "Q", ntfs.ref(RES_AL, 1))
    v.write_record(RES_AL, r)
    return ok("listing unchanged: extension records are joined by their base reference "
              "(docs/architecture.md 7), the list is not followed")


@case("file-attrlist-other", H, "resident-al.txt: entries point at manylinks.txt (153), whose own list does not point back")
def _(v):
    r, a, entries = res_al(v)
    for e in entries:
        put(r.b, a.value_off + e["off"] + ntfs.AL_REF, "Q", ntfs.ref(MANYLINKS, 1))
    v.write_record(RES_AL, r)
    return ok("listing unchanged (as file-attrlist-self)")


@case("file-attrlist-entry-len-zero", H, "resident-al.txt: first $ATTRIBUTE_LIST entry length 0")
def _(v):
    r, a, entries = res_al(v)
    put(r.b, a.value_off + ntfs.AL_LEN, "H", 0)
    v.write_record(RES_AL, r)
    return ok("listing unchanged (as file-attrlist-self)")


@case("ext-base-self", H, "extension record 152 names itself as its base")
def _(v):
    r = v.record(RES_AL_EXT)
    put(r.b, ntfs.REC_BASE, "Q", ntfs.ref(RES_AL_EXT, u16(r.b, ntfs.REC_SEQ)))
    v.write_record(RES_AL_EXT, r)
    return warn("warning naming record 152; resident-al.txt loses the names 152 held",
                RES_AL_EXT, offset=ntfs.REC_BASE, at=rec_at(v, RES_AL_EXT), msg="its own base",
                damaged={RES_AL, RES_AL_EXT})


@case("ext-base-mutual", H, "extension records 155 and 156 (of manylinks.txt) name each other as base")
def _(v):
    for a, b in ((155, 156), (156, 155)):
        r = v.record(a)
        put(r.b, ntfs.REC_BASE, "Q", ntfs.ref(b, u16(v.record(b).b, ntfs.REC_SEQ)))
        v.write_record(a, r)
    return ok("names kept only under a base record in use with the sequence number the "
              "reference names; an extension record is none: manylinks.txt loses those links",
              check="lost_links", arg=MANYLINKS)


@case("ext-base-beyond", H, "extension record 152's base reference = record 2^48-1")
def _(v):
    r = v.record(RES_AL_EXT)
    put(r.b, ntfs.REC_BASE, "Q", ntfs.ref((1 << 48) - 1, 1))
    v.write_record(RES_AL_EXT, r)
    return ok("an extension of a record outside the $MFT contributes nothing (stale "
              "extension records are normal): resident-al.txt loses those links",
              check="lost_links", arg=RES_AL)


# ---- seeded random damage on top of the named cases ----------------------------

def random_case(seed):
    @case(f"random-{seed}", H, f"seed {seed}: 1-6 random bytes in the attributes of each of "
          "3 random in-use file records, update sequence rewritten")
    def _(v):
        import random
        rnd = random.Random(seed)
        hit = set()
        while len(hit) < 3:
            frs = rnd.randrange(64, 3359)
            r = v.record(frs)
            flags = u16(r.b, ntfs.REC_FLAGS)
            if (flags & ntfs.FLAG_DIR or not flags & ntfs.FLAG_IN_USE or
                    u64(r.b, ntfs.REC_BASE) or frs in hit):
                continue
            first, used = u16(r.b, ntfs.REC_ATTR_OFS), u32(r.b, ntfs.REC_USED)
            for _ in range(rnd.randrange(1, 7)):
                r.b[rnd.randrange(first, used)] = rnd.randrange(256)
            v.write_record(frs, r)
            hit.add(frs)
        return Outcome("random", "exit 0 or 3; warnings name only the damaged records; "
                       "every row of every other record unchanged", damaged=hit)


for _seed in range(1, 31):
    random_case(_seed)


# ---- driver --------------------------------------------------------------------

def load(image):
    if image.endswith(".xz"):
        with lzma.open(image) as f:
            return f.read()
    with open(image, "rb") as f:
        return f.read()


def image_path(short):
    return os.path.join(TOP, "images", short + ".img.xz")


def apply(name, data):
    """Returns (mutated bytes, Outcome)."""
    _, _, fn = CASES[name]
    v = ntfs.Volume(data)
    outcome = fn(v)
    return bytes(v.b), outcome


def describe(o):
    """One table cell: exit status, the message's location and text, why."""
    if o.frs is not None:
        loc = f"record {o.frs}"
        loc += f" (at byte {o.at})" if o.at is not None else ""
        loc += f", offset {o.offset}" if o.offset is not None else ""
    elif o.offset is not None:
        loc = f"byte offset {o.offset}"
    else:
        loc = ""
    text = re.sub(r"^exit \d+:?\s*", "", o.text)
    if o.kind == "ok":
        return f"**exit 0**, no message: {text}"
    if o.kind == "random":
        return f"**{text}** (damaged: {', '.join(map(str, sorted(o.damaged)))})"
    what = "one error line" if o.kind == "error" else "warning"
    msg = f" ~ `{o.msg}`" if o.msg else ""
    return f"**exit {o.exit}**, {what}: {loc}{msg}; {text}".replace(": ;", ";")


def markdown(outcomes):
    lines = ["| case | what is mutated | expected outcome | reproduce |",
             "|---|---|---|---|"]
    for name, (image, what, _) in CASES.items():
        cmd = (f"`tests/corrupt/mutate.py {name} images/{image}.img.xz /tmp/x.img"
               " && build/uffs list /tmp/x.img`")
        cell = describe(outcomes[name]).replace("|", "\\|")
        lines.append(f"| `{name}` | {image}: {what.replace('|', '/')} | {cell} | {cmd} |")
    return "\n".join(lines)


def main(argv):
    if argv[1:] == ["--list"]:
        for name, (image, what, _) in CASES.items():
            print(f"{name}\t{image}\t{what}")
        return 0
    if argv[1:] == ["--markdown"]:
        outcomes = {}
        cache = {}
        for name, (image, _, _) in CASES.items():
            if image not in cache:
                cache[image] = load(image_path(image))
            outcomes[name] = apply(name, cache[image])[1]
        print(markdown(outcomes))
        return 0
    if len(argv) != 4 or argv[1] not in CASES:
        sys.stderr.write(__doc__)
        return 2
    data, outcome = apply(argv[1], load(argv[2]))
    with open(argv[3], "wb") as f:
        f.write(data)
    print(f"{argv[1]}: expect exit {outcome.exit}: {outcome.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
