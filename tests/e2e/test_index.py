#!/usr/bin/env python3
"""Saved indexes (uffs index): same answers as the source, and hostile files.

For every committed sample image and every shared image and $MFT (skipped
when /work/shared/ntfs-samples is absent), the index is saved and each
command's output on the saved file is compared with its output on the source
itself (whose listings test_tsk.py checks against The Sleuth Kit). Then
damaged copies of a saved index, made by cutting and flipping bytes at
offsets taken from the format (docs/index-format.md), must each give exit
status 1 and one line naming the file, never a crash; copies damaged after
the checksum and resealed (so that the structural checks are what is
tested) must never crash either.
"""
import argparse
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (TOP, Tap, committed_images, decompress, run,  # noqa: E402
                    shared_images, shared_mft_files)

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_WARNINGS = 0, 1, 2, 3
HEADER = 64
ENTRY = 32

COMMANDS = [
    ["list"],
    ["list", "--deleted"],
    ["list", "-f", "csv", "--deleted"],
    ["list", "-f", "jsonl"],
    ["list", "-f", "bodyfile"],
    ["list", "-f", "bodyfile", "--deleted"],
    ["list", "-f", "tsv", "--deleted", "-c",
     "path,name,stream,frs,sequence,parent,type,deleted,size,allocated,"
     "created,modified,mft-changed,accessed,attributes,links,streams,"
     "reparse-tag"],
    ["du", "-d", "4", "-f", "csv"],
]


def uffs_run(binary, *args):
    r = run([binary] + list(args), timeout=120)
    return (r.returncode, r.stdout,
            r.stderr.decode("utf-8", "replace"))


def crashed(rc, err):
    return rc < 0 or rc > 3 or "Sanitizer" in err or "runtime error" in err


def one_clear_line(path, rc, err):
    lines = [x for x in err.splitlines() if x]
    return (rc == EXIT_ERROR and len(lines) == 1 and
            lines[0].startswith(f"uffs: {path}"))


def source_args(path):
    # A captured $MFT file is recognised by its records, images by their
    # boot sector: no option is needed for either.
    return [path]


def compare_source(tap, uffs, src, name, work):
    idx = os.path.join(work, os.path.basename(name) + ".idx")
    rc, _, err = uffs_run(uffs, "index", *source_args(src), "-o", idx)
    if not tap.ok(rc in (EXIT_OK, EXIT_WARNINGS) and os.path.exists(idx),
                  f"{name}: uffs index writes the index (exit {rc})", err):
        return None
    leftovers = [f for f in os.listdir(work) if ".tmp-" in f]
    tap.ok(not leftovers, f"{name}: no temporary file left", leftovers)
    rs, out_s, err_s = uffs_run(uffs, "digest", src)
    ri, out_i, err_i = uffs_run(uffs, "digest", idx)
    tap.ok(rs == ri and out_s.split()[:1] == out_i.split()[:1] and out_s,
           f"{name}: same digest and exit status from the index",
           f"source {rs} {out_s!r} {err_s}\nindex {ri} {out_i!r} {err_i}")
    for cmd in COMMANDS:
        rs, out_s, err_s = uffs_run(uffs, *cmd, src)
        ri, out_i, err_i = uffs_run(uffs, *cmd, idx)
        tap.ok(rs == ri and out_s == out_i and out_s,
               f"{name}: {' '.join(cmd)}: same output and exit "
               f"status from the index",
               f"source exit {rs}, {len(out_s)} bytes: {err_s}\n"
               f"index exit {ri}, {len(out_i)} bytes: {err_i}")
    return idx


def test_same_answers(tap, uffs, work):
    first = None
    for img in committed_images():
        idx = compare_source(tap, uffs, decompress(img), os.path.basename(img),
                             work)
        first = first or idx
    shared = (shared_images() or []) + (shared_mft_files() or [])
    if not shared:
        tap.skip("shared samples: index and compare", "no ntfs-samples")
    for path in shared:
        compare_source(tap, uffs, decompress(path), os.path.basename(path),
                       work)


def test_unused_runs(tap, uffs, work):
    """`list` without --deleted does not read long runs of records that
    $MFT:$BITMAP marks unused, even records in them whose header says in
    use. On a copy of hardcases whose bitmap is cleared for records 64..191
    (located with tests/corrupt/ntfs.py, which follows the format, not uffs)
    that changes the listing; the index, which holds every record, must
    list what the scan of that copy lists."""
    sys.path.insert(0, os.path.join(TOP, "tests", "corrupt"))
    import ntfs
    src = decompress(os.path.join(TOP, "images", "hardcases.img.xz"))
    with open(src, "rb") as f:
        v = ntfs.Volume(f.read())
    r0 = v.record(0)
    a = r0.find(ntfs.AT_BITMAP)
    if a.nonres:
        start = a.runs(r0)[0][2] * v.cluster
        v.b[start + 8:start + 24] = bytes(16)
    else:
        r0.b[a.value_off + 8:a.value_off + 24] = bytes(16)
        v.write_record(0, r0)
    img = os.path.join(work, "unused-runs.img")
    with open(img, "wb") as f:
        f.write(v.b)
    idx = os.path.join(work, "unused-runs.idx")
    rc, _, err = uffs_run(uffs, "index", img, "-o", idx)
    before = uffs_run(uffs, "list", src)[1]
    rs, out_s, err_s = uffs_run(uffs, "list", img)
    ri, out_i, err_i = uffs_run(uffs, "list", idx)
    tap.ok(rc in (EXIT_OK, EXIT_WARNINGS) and out_s != before and
           rs == ri and out_s == out_i,
           "bitmap-unused runs: the index lists what the skipping scan lists",
           f"index exit {rc} {err}; changed: {out_s != before}; "
           f"source exit {rs} {len(out_s)} bytes; index exit {ri} "
           f"{len(out_i)} bytes {err_i}")
    rs, out_s, _ = uffs_run(uffs, "list", "--deleted", img)
    ri, out_i, _ = uffs_run(uffs, "list", "--deleted", idx)
    tap.ok(rs == ri and out_s == out_i and out_s,
           "bitmap-unused runs: list --deleted the same too")


def sections(data):
    """(id, offset, length) of each section, from the section table."""
    n = struct.unpack_from("<I", data, 24)[0]
    out = []
    for i in range(n):
        sid, _, off, length, _ = struct.unpack_from(
            "<IIQQQ", data, HEADER + i * ENTRY)
        out.append((sid, off, length))
    return out


def reseal(data):
    """Recomputes the checksum (XXH3-128 of everything after the header) with
    the xxhash module when it is installed; None otherwise."""
    try:
        import xxhash
    except ImportError:
        # Debian's python3-xxhash, for a python3 of the same version
        # installed elsewhere (pyenv).
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            import xxhash
        except ImportError:
            return None
    h = xxhash.xxh3_128(bytes(data[HEADER:])).intdigest()
    data[32:48] = struct.pack("<QQ", h & (2**64 - 1), h >> 64)
    return data


def check_bad(tap, uffs, path, data, name, want=None):
    with open(path, "wb") as f:
        f.write(data)
    rc, _, err = uffs_run(uffs, "list", path)
    ok = one_clear_line(path, rc, err) and (want is None or want in err)
    return tap.ok(ok, f"{name}: exit 1 with one clear line",
                  f"exit {rc}: {err}")


def test_hostile(tap, uffs, idx, work):
    with open(idx, "rb") as f:
        good = f.read()
    bad = os.path.join(work, "bad.idx")
    secs = sections(good)
    table_end = HEADER + len(secs) * ENTRY
    cuts = {0, 1, 7, 8, 9, 63, 64, 65, table_end - 1, table_end,
            len(good) - 1}
    for _, off, length in secs:
        cuts.update({off, off + length // 2, off + length - 1})
    cuts.update(range(0, len(good), max(1, len(good) // 40)))
    cuts = sorted(c for c in cuts if 0 <= c < len(good))
    failures = []
    for c in cuts:
        with open(bad, "wb") as f:
            f.write(good[:c])
        rc, _, err = uffs_run(uffs, "list", bad)
        if not one_clear_line(bad, rc, err):
            failures.append(f"cut at {c}: exit {rc}: {err}")
    tap.ok(not failures, f"{len(cuts)} truncated copies: each exit 1, one line",
           "\n".join(failures))
    flips = list(range(0, table_end))
    flips += [off + length // 2 for _, off, length in secs if length]
    flips += list(range(table_end, len(good), max(1, len(good) // 200)))
    failures = []
    for pos in flips:
        data = bytearray(good)
        data[pos] ^= 0x5A
        with open(bad, "wb") as f:
            f.write(data)
        rc, _, err = uffs_run(uffs, "list", bad)
        if not one_clear_line(bad, rc, err):
            failures.append(f"flip at {pos}: exit {rc}: {err}")
    tap.ok(not failures,
           f"{len(flips)} single-byte flips (header, table, payload): "
           f"each exit 1, one line", "\n".join(failures[:20]))
    data = bytearray(good)
    data[0:8] = b"NOTANIDX"
    check_bad(tap, uffs, bad, data, "wrong magic")
    data = bytearray(good)
    struct.pack_into("<I", data, 8, 2)
    check_bad(tap, uffs, bad, data, "future format version", "newer uffs")
    check_bad(tap, uffs, bad, b"", "zero-length file")
    check_bad(tap, uffs, bad, good + b"\0", "one byte too many")
    rc, _, err = uffs_run(uffs, "list", work)
    tap.ok(rc == EXIT_ERROR and len(err.splitlines()) == 1,
           "a directory: exit 1, one line", f"exit {rc}: {err}")
    test_resealed(tap, uffs, good, secs, bad)


def test_resealed(tap, uffs, good, secs, bad):
    if reseal(bytearray(good)) is None:
        tap.skip("resealed damage never crashes", "python3-xxhash not installed")
        return
    failures = []
    n = 0
    for sid, off, length in secs:
        if not length:
            continue
        for pos in {off, off + length // 3, off + length - 1}:
            for value in (0x00, 0xFF, 0x80):
                data = bytearray(good)
                data[pos] = value
                reseal(data)
                with open(bad, "wb") as f:
                    f.write(data)
                for args in (["list", "--deleted", bad], ["digest", bad],
                             ["info", bad]):
                    n += 1
                    rc, _, err = uffs_run(uffs, *args)
                    if crashed(rc, err) or (rc == EXIT_ERROR and
                                            len(err.splitlines()) != 1):
                        failures.append(f"section {sid} byte {pos}={value}: "
                                        f"{args[0]} exit {rc}: {err}")
    tap.ok(not failures, f"{n} runs on resealed damaged copies: no crash, "
           f"errors in one line", "\n".join(failures[:20]))


def test_writer(tap, uffs, img, idx, work):
    with open(img, "rb") as f:
        before = f.read()
    rc, _, err = uffs_run(uffs, "index", img, "-o", img)
    with open(img, "rb") as f:
        after = f.read()
    tap.ok(rc == EXIT_USAGE and before == after and len(err.splitlines()) == 1,
           "index -o SOURCE is refused, the source untouched", f"exit {rc}: {err}")
    missing = os.path.join(work, "no", "such", "dir", "x.idx")
    rc, _, err = uffs_run(uffs, "index", img, "-o", missing)
    tap.ok(rc == EXIT_ERROR and len(err.splitlines()) == 1 and
           err.startswith(f"uffs: {missing}"),
           "an output in a missing directory: exit 1, one line", err)
    rc, _, err = uffs_run(uffs, "index", img)
    tap.ok(rc == EXIT_USAGE, "index without -o: usage error", err)
    again = os.path.join(work, "again.idx")
    rc, _, err = uffs_run(uffs, "index", idx, "-o", again)
    d1 = uffs_run(uffs, "digest", idx)[1].split()[:1]
    d2 = uffs_run(uffs, "digest", again)[1].split()[:1]
    tap.ok(rc == EXIT_OK and d1 == d2 and d1,
           "a saved index saved again: same digest", err)
    rc, out, err = uffs_run(uffs, "info", again)
    text = out.decode("utf-8", "replace")
    tap.ok(rc == EXIT_OK and f"saved index of:     {img}\n" in text,
           "info on a re-saved index names the original source", text)
    rc, _, err = uffs_run(uffs, "bench", idx)
    tap.ok(rc == EXIT_ERROR and "needs an NTFS source" in err and
           len(err.splitlines()) == 1,
           "bench on a saved index: exit 1, needs an NTFS source", err)
    # --offset (long only here: -o is the output) reaches the source.
    shifted = os.path.join(work, "shifted.img")
    with open(shifted, "wb") as f:
        f.write(bytes(1 << 20) + before)
    at = os.path.join(work, "shifted.idx")
    rc, _, err = uffs_run(uffs, "index", "--offset", str(1 << 20), shifted,
                          "-o", at)
    want = uffs_run(uffs, "list", "-o", str(1 << 20), shifted)[1]
    got = uffs_run(uffs, "list", at)[1]
    info = uffs_run(uffs, "info", at)[1].decode()
    tap.ok(rc == EXIT_OK and want and got == want and
           "volume offset:      1048576\n" in info,
           "index --offset: the volume at that offset, saved with it", err)
    rc, out, err = uffs_run(uffs, "index", "--help")
    tap.ok(rc == EXIT_OK and b"-o, --output FILE" in out, "index --help", err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs", required=True)
    args = ap.parse_args()
    tap = Tap()
    uffs = os.path.abspath(args.uffs)
    small = decompress(os.path.join(TOP, "images", "sector4k.img.xz"))
    with tempfile.TemporaryDirectory() as work:
        test_same_answers(tap, uffs, work)
        test_unused_runs(tap, uffs, work)
        idx = os.path.join(work, "small.idx")
        rc, _, err = uffs_run(uffs, "index", small, "-o", idx)
        if tap.ok(rc == EXIT_OK, "index of sector4k", err):
            test_hostile(tap, uffs, idx, work)
            test_writer(tap, uffs, small, idx, work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
