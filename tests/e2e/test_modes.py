#!/usr/bin/env python3
"""Proof of sameness: every scan mode x backend x thread count x depth builds
the same index, shown by one `uffs digest` per image.

Runs on every committed image and every shared sample (images and captured
$MFT files). Small chunks (--chunk 4K) cut even small images into many
chunks, so reads and parses really overlap and complete out of order. The
fault backend adds short reads (retried) and reordered completions. A digest
that differs is a failure; so is a digest that does not depend on the
index (checked by comparing images with each other).
"""
import argparse
import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (Tap, committed_images, decompress, run, shared_images,  # noqa: E402
                    shared_mft_files)

MODES = ["streaming", "prefetch", "pipelined", "pipelined-parallel",
         "parallel", "async", "auto"]
THREADS = ["1", "2", "4"]
DEPTHS = ["1", "3", "8", "auto"]
FAULTS = [["--backend", "fault", "--fault-seed", "11", "--fault-short", "30",
           "--fault-delay", "40"],
          ["--backend", "fault", "--fault-seed", "12", "--fault-short", "80",
           "--fault-delay", "80"]]


def backends(binary):
    out = run([binary, "digest", "--backend", "nonexistent", "x"]).stderr.decode()
    names = out.split("this build has:")[1].strip(" )\n").split()
    return [n for n in names if n != "fault"]


def digest(binary, image, extra):
    r = run([binary, "digest", "--chunk", "4K"] + extra + [image], timeout=300)
    if r.returncode not in (0, 3):
        return "exit %d: %s" % (r.returncode, r.stderr.decode(errors="replace")[-300:])
    return r.stdout.decode().split()[0]


def combos(binary):
    for mode, backend, threads, depth in itertools.product(
            MODES, backends(binary), THREADS, DEPTHS):
        yield [ "--mode", mode, "--backend", backend, "--threads", threads,
                "--depth", depth]
    for mode in MODES:
        yield ["--mode", mode, "--direct"]
    for mode, fault, threads in itertools.product(MODES, FAULTS, THREADS):
        if mode == "parallel":
            continue  # reads directly, no backend
        yield ["--mode", mode, "--threads", threads, "--depth", "4"] + fault


def evict(path):
    """Drops the file's pages from the page cache (no privilege needed for
    a file's own clean pages); False where the OS cannot."""
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return True


def check_auto_cache_choice(tap, binary, name, path, ref_digest):
    """auto reads an uncached $MFT with pipelined-parallel in 2 MiB chunks
    (the kernel's read-ahead keeps the device busy), a cached one with
    512 KiB chunks, and an uncached one with --direct on the thread pool;
    each gives the reference digest."""
    cases = [([], "not in the page cache", "pipelined-parallel", "chunk 2048 KiB", True),
             ([], "in the page cache", "pipelined-parallel", "chunk 512 KiB", False),
             (["--direct"], "not in the page cache", "async on threads", None, True)]
    for extra, state, mode, chunk, cold in cases:
        label = f"{name}: auto{' ' + ' '.join(extra) if extra else ''}, $MFT {state}"
        if cold and not evict(path):
            tap.skip(label, "no posix_fadvise to empty the page cache")
            continue
        r = run([binary, "digest", "-v"] + extra + [path], timeout=120)
        err = r.stderr.decode(errors="replace")
        if cold and "($MFT not in the page cache)" not in err:
            tap.skip(label, "the page cache kept the image (probe: %s)" %
                     (err.split("auto: ")[1].split(")")[0] if "auto: " in err else "none"))
            continue
        out = r.stdout.decode().split()
        want = f"auto: {mode} ($MFT {state})"
        tap.ok(want in err and (chunk is None or chunk in err) and
               out and out[0] == ref_digest, label,
               f"want '{want}' and {chunk}, digest {ref_digest}; got:\n{err}{out[:1]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs", required=True)
    args = ap.parse_args()
    tap = Tap()
    images = [(os.path.basename(p), decompress(p)) for p in committed_images()]
    shared = shared_images()
    mfts = shared_mft_files()
    if shared is None or mfts is None:
        tap.skip("shared samples", "../shared/ntfs-samples absent")
    else:
        images += [("shared/" + os.path.basename(p), decompress(p)) for p in shared]
        images += [("shared/" + os.path.basename(p), p) for p in mfts]
    all_combos = list(combos(args.uffs))
    reference = {}
    for name, path in images:
        ref = run([args.uffs, "digest", "--mode", "streaming", "--backend", "sync", path])
        ref_digest = ref.stdout.decode().split()[0] if ref.stdout else "none"
        reference[name] = ref_digest
        bad = []
        for extra in all_combos:
            d = digest(args.uffs, path, extra)
            if d != ref_digest:
                bad.append(f"{' '.join(extra)}: {d} (streaming: {ref_digest})")
        tap.ok(not bad and len(ref_digest) == 32,
               f"{name}: {len(all_combos)} mode/backend/thread/depth combinations give digest {ref_digest}",
               "\n".join(bad[:10]))
        if path.endswith(".img"):
            check_auto_cache_choice(tap, args.uffs, name, path, ref_digest)
    # The digest must depend on the index: different images, different digests.
    values = list(reference.values())
    tap.ok(len(set(values)) == len(values), "every image has its own digest", reference)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
