#!/usr/bin/env python3
"""The command line: help, formats, sources, and hostile input.

Damaged copies are made from the committed sample images by patching bytes
at offsets found with `uffs info` and The Sleuth Kit's istat; each case
asserts the documented outcome (exit status, one-line message naming the
record and offset) and that the source file was not modified.
"""
import argparse
import csv
import hashlib
import io
import json
import os
import re
import shutil
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (TOP, Mount, MountError, Tap, can_mount, committed_images,  # noqa: E402
                    decompress, run)
import test_index  # noqa: E402  (its section table reader and resealer)

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_WARNINGS = 0, 1, 2, 3


def sha1(path):
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


class Cli:
    def __init__(self, binary):
        self.binary = binary

    def __call__(self, *args, timeout=60):
        r = run([self.binary] + list(args), timeout=timeout)
        return (r.returncode, r.stdout.decode("utf-8", "surrogateescape"),
                r.stderr.decode("utf-8", "replace"))


def info(uffs, image):
    _, out, _ = uffs("info", image)
    fields = dict(re.findall(r"^([a-z ]+):\s+(\S+)", out, re.M))
    ext = [tuple(map(int, m)) for m in
           re.findall(r"mft bytes (\d+)\+(\d+) at volume byte (\d+)", out)]
    return fields, ext


def record_offset(uffs, image, frs):
    fields, ext = info(uffs, image)
    off = frs * int(fields["record size"])
    for start, length, vol in ext:
        if start <= off < start + length:
            return vol + off - start, int(fields["record size"])
    raise AssertionError(f"record {frs} not mapped")


def patch(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def paths(out):
    return [line for line in out.splitlines()]


def test_help(tap, uffs):
    rc, out, _ = uffs("--version")
    tap.ok(rc == 0 and re.match(r"uffs \S+\ncontainers: [A-Z0-9 ]+\n$", out), "--version prints the version and the container formats", out)
    for args in (["--help"], ["list", "--help"], ["info", "--help"]):
        rc, out, _ = uffs(*args)
        tap.ok(rc == 0 and "usage: uffs" in out, f"{' '.join(args)} prints usage", out)
    rc, _, err = uffs("frobnicate")
    tap.ok(rc == EXIT_USAGE and "unknown command" in err, "unknown command: exit 2", err)
    rc, _, err = uffs("list")
    tap.ok(rc == EXIT_USAGE and "no SOURCE" in err, "list without a source: exit 2", err)
    rc, _, err = uffs("list", "--format", "xml", "x")
    tap.ok(rc == EXIT_USAGE and "unknown format" in err, "unknown format: exit 2", err)
    rc, _, err = uffs("list", "--columns", "path,bogus", "x")
    tap.ok(rc == EXIT_USAGE and "unknown column 'bogus'" in err, "unknown column: exit 2", err)


def test_formats(tap, uffs, image):
    rc, text, _ = uffs("list", image)
    rc2, out, _ = uffs("list", "-f", "csv", "-c", "path,size,frs,modified", image)
    rows = list(csv.reader(io.StringIO(out)))
    tap.ok(rc == 0 and rc2 == 0 and rows[0] == ["path", "size", "frs", "modified"]
           and [r[0] for r in rows[1:]] == text.splitlines(),
           "csv has a header and the same paths as text")
    # Sizes and record numbers cross-checked with fls -m on the same image.
    fls = run(["fls", "-r", "-m", "/", "-u", image]).stdout.decode("utf-8", "replace")
    fls_size = {}
    for line in fls.splitlines():
        f = line.split("|")
        if "($FILE_NAME)" not in f[1] and f[-9].count("-") == 2:
            fls_size[f[1]] = (f[-5], f[-9].split("-")[0])
    mism = [r for r in rows[1:] if r[0] in fls_size and fls_size[r[0]] != (r[1], r[2])]
    tap.ok(len(fls_size) > 50 and not mism, "csv sizes and record numbers match fls -m", mism[:5])
    iso = all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", r[3])
              for r in rows[1:] if r[0] != "/$OrphanFiles")
    tap.ok(iso, "times are ISO-8601 UTC with 100 ns digits")
    rc, out, _ = uffs("list", "-f", "jsonl", image)
    objs = [json.loads(line) for line in out.splitlines()]
    tap.ok(rc == 0 and [o["path"] for o in objs] == text.splitlines()
           and all(isinstance(o["size"], int) and isinstance(o["deleted"], bool) for o in objs),
           "jsonl: one valid object per line, typed values")
    rc, out, _ = uffs("list", "-f", "tsv", "-c", "path,links,streams", image)
    tap.ok(rc == 0 and out.splitlines()[0] == "path\tlinks\tstreams", "tsv header")


def test_names(tap, uffs, hardcases):
    _, text, _ = uffs("list", hardcases)
    lines = set(text.splitlines())
    want = ["/names/café.txt", "/names/日本語/ファイル.txt", "/names/😀.txt",
            "/names/naïve 日本 😀 end.txt"]
    have = [w for w in want if w in lines]
    tap.ok(len(have) == len(want), "non-ASCII names (accents, CJK, beyond the BMP) round-trip",
           sorted(line for line in lines if line.startswith("/names/"))[:20])
    links = [line for line in lines if line.endswith("hardlinked.txt") or "/hl-" in line]
    _, out, _ = uffs("list", "-f", "tsv", "-c", "path,frs,links", hardcases)
    by_frs = {}
    for row in out.splitlines()[1:]:
        p, frs, n = row.split("\t")
        by_frs.setdefault(frs, set()).add((p, n))
    multi = [v for v in by_frs.values() if len({p for p, _ in v}) >= 4 and
             all(n == str(len({p for p, _ in v})) for _, n in v) and
             len({os.path.dirname(p) for p, _ in v}) >= 4]
    tap.ok(multi, "a file with hard links in 4 directories lists each name once, links=4", links[:8])
    streams = [line for line in lines if re.search(r"[^/]:[^/]+$", line) and "/$" not in line]
    tap.ok(any(line.startswith("/streams/") for line in streams), "named streams print as path:stream", streams[:5])
    long_names = [line for line in lines if len(os.path.basename(line)) == 255]
    tap.ok(long_names, "a 255-character name is listed whole")


def test_sources(tap, uffs, image, work):
    _, base, _ = uffs("list", image)
    raw = open(image, "rb").read()
    # MBR disk image: one NTFS partition at 1 MiB.
    mbr_img = os.path.join(work, "mbr.img")
    mbr = bytearray(1 << 20)
    entry = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x07, b"\0\0\0", 2048, len(raw) // 512)
    mbr[0x1BE:0x1CE] = entry
    mbr[510:512] = b"\x55\xaa"
    with open(mbr_img, "wb") as f:
        f.write(mbr + raw)
    rc, out, err = uffs("list", mbr_img)
    tap.ok(rc == 0 and out == base, "MBR disk image: the NTFS partition is found", err)
    rc, out, _ = uffs("list", "--offset", str(1 << 20), mbr_img)
    tap.ok(rc == 0 and out == base, "--offset BYTES selects the volume")
    rc, _, err = uffs("list", "--partition", "3", mbr_img)
    tap.ok(rc == EXIT_USAGE and "no partition" in err, "--partition N of a missing partition: exit 2", err)
    # GPT disk image: protective MBR, header at LBA 1, entries at LBA 2.
    gpt_img = os.path.join(work, "gpt.img")
    disk = bytearray(1 << 20)
    disk[0x1BE:0x1CE] = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0xEE, b"\0\0\0", 1, 0xFFFFFFFF)
    disk[510:512] = b"\x55\xaa"
    hdr = bytearray(92)
    hdr[0:8] = b"EFI PART"
    struct.pack_into("<QII", hdr, 0x48, 2, 128, 128)
    disk[512:512 + 92] = hdr
    ent = bytearray(128)
    ent[0:16] = bytes(range(1, 17))
    struct.pack_into("<QQ", ent, 0x20, 2048, 2048 + len(raw) // 512 - 1)
    disk[1024 + 128:1024 + 256] = ent  # second entry: partition 2
    with open(gpt_img, "wb") as f:
        f.write(disk + raw)
    rc, out, err = uffs("list", gpt_img)
    tap.ok(rc == 0 and out == base, "GPT disk image: the NTFS partition is found", err)
    rc, out, err = uffs("info", gpt_img)
    tap.ok(rc == 0 and "GPT (partition 2)" in out, "info names the partition table and number", out)
    # Captured $MFT (icat of record 0's $DATA): same names.
    mft = os.path.join(work, "captured.mft")
    with open(mft, "wb") as f:
        f.write(run(["icat", image, "0"]).stdout)
    rc, out, err = uffs("list", mft)
    tap.ok(rc == 0 and sorted(out.splitlines()) == sorted(base.splitlines()),
           "captured $MFT lists the same paths as its volume", err)
    rc, out, _ = uffs("info", mft)
    tap.ok("captured $MFT" in out, "info: captured $MFT detected")


def test_read_only(tap, uffs, images):
    """No command writes to its source: every sample image hashes the same
    before and after every command and format."""
    commands = [["list"], ["list", "-d", "-f", "bodyfile"], ["list", "-f", "jsonl"],
                ["list", "-f", "csv", "-d"], ["info", "--scan"], ["digest"],
                ["list", "-m", "async", "--direct"], ["bench", "-m", "streaming",
                                                     "--repeat", "1"]]
    changed = []
    for img in images:
        before = sha1(img)
        st = os.stat(img)
        for c in commands:
            uffs(*c, img)
        if sha1(img) != before or os.stat(img).st_mtime_ns != st.st_mtime_ns:
            changed.append(img)
    tap.ok(not changed, f"{len(images)} images x {len(commands)} commands: no source written",
           changed)


def test_several_sources(tap, uffs, images, work):
    """Several sources are scanned at once; the output keeps argument order
    and a broken source does not stop the others."""
    each = "".join(uffs("list", i)[1] for i in images)
    for extra in ([], ["--max-volumes", "2"], ["--max-volumes", "1"]):
        rc, out, err = uffs("list", *extra, *images)
        tap.ok(rc == 0 and out == each,
               f"list {' '.join(extra)} of {len(images)} sources equals their lists in order", err)
    junk = os.path.join(work, "not-ntfs")
    with open(junk, "wb") as f:
        f.write(b"\0" * 65536)
    rc, out, err = uffs("list", images[0], junk, images[1])
    want = uffs("list", images[0])[1] + uffs("list", images[1])[1]
    tap.ok(rc == EXIT_ERROR and out == want and "not-ntfs" in err,
           "a broken source among several: the others are listed, exit 1", err)
    rc, out, _ = uffs("digest", *images)
    tap.ok(rc == 0 and [line.split()[1] for line in out.splitlines()] == images,
           "digest of several sources, in order")


def test_block_device(tap, uffs, image, work):
    """A Linux block device: a read-only loop device over the image, when
    this machine lets us make one (root, loop driver)."""
    copy = damaged_copy(image, work, "loop.img")
    r = run(["losetup", "--find", "--show", "--read-only", copy])
    dev = r.stdout.decode().strip()
    if r.returncode != 0 or not dev.startswith("/dev/"):
        tap.skip("block device source", "no loop device: " + r.stderr.decode().strip())
        return
    try:
        _, base, _ = uffs("list", image)
        rc, out, err = uffs("list", dev)
        tap.ok(rc == 0 and out == base, f"block device {dev} lists like its image", err)
        rc, out, _ = uffs("info", dev)
        tap.ok(rc == 0 and "raw volume" in out, "info on a block device")
    finally:
        run(["losetup", "-d", dev])


def damaged_copy(src, work, name):
    dst = os.path.join(work, name)
    shutil.copyfile(src, dst)
    return dst


def test_bad_input(tap, uffs, image, work):
    empty = os.path.join(work, "empty")
    open(empty, "wb").close()
    rc, out, err = uffs("list", empty)
    tap.ok(rc == EXIT_ERROR and "empty" in err and len(err.splitlines()) == 1 and not out,
           "empty file: exit 1, one line", err)
    junk = os.path.join(work, "junk")
    with open(junk, "wb") as f:
        f.write(bytes((i * 7919) & 0xFF for i in range(65536)))
    rc, _, err = uffs("list", junk)
    tap.ok(rc == EXIT_ERROR and "neither an NTFS volume" in err and len(err.splitlines()) == 1,
           "non-NTFS file: exit 1, says what it is not", err)
    rc, _, err = uffs("list", os.path.join(work, "missing"))
    tap.ok(rc == EXIT_ERROR and "No such file" in err, "missing file: exit 1", err)
    rc, _, err = uffs("list", work)
    tap.ok(rc == EXIT_ERROR and len(err.splitlines()) == 1, "a directory: exit 1", err)

    rec0, rs = record_offset(uffs, image, 0)
    trunc = damaged_copy(image, work, "truncated.img")
    with open(trunc, "r+b") as f:
        f.truncate(rec0 + 4 * rs)
    rc, _, err = uffs("list", trunc)
    tap.ok(rc == EXIT_ERROR and re.search(r"record \d+", err) and "truncated" in err,
           "truncated image: exit 1 naming a record and saying truncated", err)

    boot = damaged_copy(image, work, "badboot.img")
    patch(boot, 0x0B, b"\x00\x00")
    rc, _, err = uffs("list", boot)
    tap.ok(rc == EXIT_ERROR and "byte offset 11" in err and "bytes per sector" in err,
           "boot sector with zero bytes per sector: exit 1 at offset 11", err)
    boot = damaged_copy(image, work, "badcluster.img")
    patch(boot, 0x0D, b"\xE0")
    rc, _, err = uffs("list", boot)
    tap.ok(rc == EXIT_ERROR and "cluster size" in err, "absurd cluster size: exit 1", err)

    fields, _ = info(uffs, image)
    mirr = int(fields["mftmirr cluster"]) * int(fields["cluster size"])
    r0 = damaged_copy(image, work, "rec0.img")
    patch(r0, rec0, b"\0" * rs)
    patch(r0, mirr, b"\0" * rs)
    rc, _, err = uffs("list", r0)
    tap.ok(rc == EXIT_ERROR and re.search(r"record 0 \(at byte \d+\)|record 0,", err),
           "unusable $MFT record 0 and mirror: exit 1 naming record 0", err)
    r0 = damaged_copy(image, work, "rec0-mirror.img")
    patch(r0, rec0 + 510, b"\xAB\xCD")  # torn write in record 0 only
    rc, out, err = uffs("list", r0)
    _, base, _ = uffs("list", image)
    tap.ok(rc == EXIT_WARNINGS and out == base and "record 0" in err,
           "record 0 torn: warning, then $MFTMirr is used and the listing is whole", err)

    # Damage confined to one record: the listing goes on.
    _, tsv, _ = uffs("list", "-f", "tsv", "-c", "path,frs,type", image)
    victim_path, victim = next((p, int(f)) for p, f, t in
                               (r.split("\t") for r in tsv.splitlines()[1:])
                               if int(f) > 64 and t == "file")
    off, _ = record_offset(uffs, image, victim)
    torn = damaged_copy(image, work, "torn.img")
    before = sha1(torn)
    patch(torn, off + 1022, b"\x12\x34")
    before = sha1(torn)
    rc, out, err = uffs("list", torn)
    victim_paths = {p for p, f, _ in (r.split("\t") for r in tsv.splitlines()[1:])
                    if int(f) == victim}
    others = [p for p in base.splitlines()
              if p not in victim_paths and p.split(":")[0] not in victim_paths]
    tap.ok(rc == EXIT_WARNINGS and f"record {victim}" in err and "update sequence" in err
           and victim_path not in out.splitlines() and all(p in out.splitlines() for p in others[:50]),
           "failed update sequence check: record skipped with a warning, exit 3", err)
    tap.ok(sha1(torn) == before, "the source is never written")

    bad_attr = damaged_copy(image, work, "attrlen.img")
    first_attr = off + struct.unpack_from("<H", open(image, "rb").read(off + 0x16)[off:], 0x14)[0]
    # Second attribute's length: the first is $STANDARD_INFORMATION.
    data = open(image, "rb").read()
    si_len = struct.unpack_from("<I", data, first_attr + 4)[0]
    patch(bad_attr, first_attr + si_len + 4, struct.pack("<I", 0xFFFF0))
    rc, out, err = uffs("list", bad_attr)
    tap.ok(rc == EXIT_WARNINGS and f"record {victim}" in err and "past the record" in err
           and all(p in out.splitlines() for p in others[:50]),
           "attribute length past the record: warning naming the record, exit 3", err)

    baad = damaged_copy(image, work, "baad.img")
    patch(baad, off, b"BAAD")
    rc, out, err = uffs("list", baad)
    tap.ok(rc == EXIT_WARNINGS and victim_path in out.splitlines() and "BAAD" in err,
           "intact BAAD record: listed (as fls does) with a warning", err)
    rc, out, err = uffs("list", "--quiet", baad)
    tap.ok(rc == EXIT_WARNINGS and not err, "--quiet hides warnings, keeps exit 3", err)

    rc, out, err = uffs("list", "--backend", "fault", "--fault-error", "10",
                        "--fault-seed", "3", "--chunk", "4K", image)
    tap.ok(rc == EXIT_ERROR and len(err.splitlines()) == 1 and
           re.search(r"record \d+ .*I/O error \(records \d+\.\.\d+, source bytes \d+\.\.\d+, \d+ of \d+ bytes read\)", err),
           "a read error fails fast naming the chunk, its byte range and the bytes read", err)

    # The source shrinks under the scan (a device going away, a file cut
    # while read): the scan stops with the byte range, never a partial
    # listing presented as complete.
    for mode in ("streaming", "pipelined-parallel", "async"):
        rc, out, err = uffs("list", "-m", mode, "--backend", "fault", "--fault-shrink",
                            "400K", "--chunk", "64K", image)
        tap.ok(rc == EXIT_ERROR and out == "" and "short read" in err and
               re.search(r"source bytes \d+\.\.\d+, 0 of \d+ bytes read", err),
               f"source shrinking mid-scan ({mode}): exit 1, the byte range, no listing", err)

    ro = damaged_copy(image, work, "readonly.img")
    os.chmod(ro, 0o444)
    rc, _, _ = uffs("list", ro)
    tap.ok(rc == EXIT_OK, "a read-only source can be listed")


# Directory names with bytes that every format must escape: a listing checks
# a directory's path once for all its entries, so the escaping of the
# directory part is checked here against paths we made ourselves.
HOSTILE_DIRS = ['q"dir', "back\\dir", "ctl\x01dir", "tab\tdir", "nl\ndir",
                "del\x7fdir", "caf\u00e9 dir", 'q"dir/in\\ner', "plain/ctl\x02in"]
HOSTILE_FILES = ["a.txt", 'b"c.txt', "t\tab", "plain"]


def decode_tsv(field):
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 1 < len(field):
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(field[i + 1], "?"))
            i += 2
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def test_hostile_directories(tap, uffs, work):
    why = can_mount()
    if why:
        tap.skip("directory names that need escaping", why)
        return
    image = os.path.join(work, "hostile.img")
    shutil.copyfile(decompress(os.path.join(TOP, "images", "cluster512.img.xz")), image)
    mnt = os.path.join(work, "mnt")
    os.mkdir(mnt)
    want = set()
    try:
        with Mount(image, mnt):
            for d in HOSTILE_DIRS:
                os.makedirs(os.path.join(mnt, d), exist_ok=True)
                for f in HOSTILE_FILES:
                    with open(os.path.join(mnt, d, f), "w") as fh:
                        fh.write("x")
                    want.add("/" + d + "/" + f)
    except (MountError, OSError) as e:
        tap.skip("directory names that need escaping", "ntfs-3g: %s" % e)
        return

    def ours(paths):
        return {p for p in paths if any(p.startswith("/" + d.split("/")[0] + "/")
                                        for d in HOSTILE_DIRS) and
                os.path.basename(p) in HOSTILE_FILES}

    def json_path(line):
        try:
            return json.loads(line)["path"]
        except ValueError:
            return "not JSON: " + line

    _, out, _ = uffs("list", "-f", "jsonl", image)
    got = ours(json_path(line) for line in out.splitlines())
    got |= {p for p in map(json_path, out.splitlines()) if p.startswith("not JSON")}
    tap.ok(got == want, "jsonl: entries of directories whose names need escaping decode to the names made",
           sorted(got ^ want)[:8])
    _, out, _ = uffs("list", "-f", "csv", "-c", "path", image)
    rows = list(csv.reader(io.StringIO(out, newline="")))[1:]
    got = ours(r[0].replace("\\\\", "\\") for r in rows if r)
    tap.ok(got == want, "csv: the same, quotes and backslashes doubled", sorted(got ^ want)[:8])
    _, out, _ = uffs("list", "-f", "tsv", "-c", "path", image)
    got = ours(decode_tsv(line) for line in out.split("\n")[1:] if line)
    tap.ok(got == want, "tsv: the same, tabs, newlines and backslashes escaped", sorted(got ^ want)[:8])
    _, out, _ = uffs("list", image)
    shown = {re.sub(r"[\x00-\x1f\x7f]", "^", p) for p in want}
    got = {line for line in out.split("\n") if line in shown}
    bad = [line for line in out.split("\n") if re.search(r"[\x00-\x1f\x7f]", line)]
    tap.ok(got == shown and not bad,
           "text: control bytes of directory and file names show as ^, one line each",
           sorted(shown - got)[:8] + bad[:4])
    test_untrusted_plain_hints(tap, uffs, work, image, out)


LINK_FLAGS_SECTION = 36  # docs/index-format.md
LINK_PLAIN = 0x10        # mft/index.h: set only by a names-only scan


def test_untrusted_plain_hints(tap, uffs, work, image, listing):
    """A saved index whose link flags all claim "printable ASCII name" (the
    hint a names-only scan sets for the text writer) is listed as the
    image is: the hint is never taken from a file, so a name with control
    bytes is still shown with ^."""
    idx = os.path.join(work, "hostile.idx")
    rc, _, err = uffs("index", "-q", image, "-o", idx)
    if rc != EXIT_OK:
        tap.ok(False, "a saved index claiming printable names: uffs index", err)
        return
    with open(idx, "rb") as f:
        data = bytearray(f.read())
    marked = 0
    for sid, off, length in test_index.sections(data):
        if sid == LINK_FLAGS_SECTION:
            for i in range(off, off + length):
                data[i] |= LINK_PLAIN
                marked += 1
    if test_index.reseal(data) is None:
        tap.skip("a saved index claiming printable names", "python3-xxhash not installed")
        return
    with open(idx, "wb") as f:
        f.write(data)
    rc, out, err = uffs("list", idx)
    tap.ok(rc == EXIT_OK and marked > 0 and out == listing,
           "text from a saved index whose link flags all say 'printable': "
           "the same as the image's, control bytes still shown as ^",
           f"exit {rc}, {marked} links marked, {err}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs", required=True)
    args = ap.parse_args()
    tap = Tap()
    uffs = Cli(args.uffs)
    small = decompress(os.path.join(TOP, "images", "sector4k.img.xz"))
    hard = decompress(os.path.join(TOP, "images", "hardcases.img.xz"))
    with tempfile.TemporaryDirectory() as work:
        test_help(tap, uffs)
        test_formats(tap, uffs, hard)
        test_names(tap, uffs, hard)
        test_sources(tap, uffs, small, work)
        test_block_device(tap, uffs, small, work)
        test_read_only(tap, uffs, [decompress(p) for p in committed_images()])
        test_several_sources(tap, uffs, [small, hard, decompress(os.path.join(
            TOP, "images", "cluster512.img.xz"))], work)
        test_bad_input(tap, uffs, small, work)
        test_hostile_directories(tap, uffs, work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
