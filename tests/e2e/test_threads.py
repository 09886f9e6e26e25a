#!/usr/bin/env python3
"""The scan engine's threads under ThreadSanitizer.

A uffs built with -fsanitize=thread scans every committed image in each
mode that runs threads (parse workers, workers that read their own chunks,
chunks parsed in place while others fill batches), with small chunks so
that many are in flight at once, on the real backends and on the fault
backend (short reads, reordered and delayed completions). Each run must
exit 0 with no ThreadSanitizer report, and give the digest that the plain
build gives for that image. The listing, formatted on several threads in
blocks and written in order, must equal the plain build's single-threaded
listing byte for byte.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Tap, committed_images, decompress, run  # noqa: E402

MODES = ["pipelined", "pipelined-parallel", "parallel", "async"]
RUNS = [
    ["--threads", "4", "--chunk", "4096"],
    ["--threads", "3", "--chunk", "8192", "--depth", "3"],
    ["--threads", "4", "--chunk", "4096", "--backend", "fault",
     "--fault-seed", "21", "--fault-short", "50", "--fault-delay", "60"],
]

LIST_FORMATS = [[], ["--deleted", "-f", "jsonl"], ["-f", "bodyfile"]]


def check_containers(tap, a, env):
    """Containers read on several lanes (one library handle each) by
    several threads at once."""
    if not (shutil.which("qemu-img") and shutil.which("ewfacquire")) or \
            "QCOW" not in run([a.ref, "--version"]).stdout.decode():
        tap.skip("containers under ThreadSanitizer", "no container support")
        return
    img = decompress([x for x in committed_images() if "hardcases" in x][0])
    want = run([a.ref, "digest", img]).stdout.split()[0]
    with tempfile.TemporaryDirectory(prefix="uffs-tsan-") as work:
        q = os.path.join(work, "c.qcow2")
        subprocess.run(["qemu-img", "convert", "-O", "qcow2", img, q], check=True)
        subprocess.run(["ewfacquire", "-u", "-q", "-c", "best", "-t",
                        os.path.join(work, "c"), img], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for c in (q, os.path.join(work, "c.E01")):
            for mode in ("pipelined-parallel", "async", "parallel"):
                cmd = [a.uffs, "digest", "--mode", mode, "--threads", "4",
                       "--chunk", "8192", c]
                r = run(cmd, env=env, timeout=300)
                got = r.stdout.split()[0] if r.stdout.split() else b""
                tap.ok(r.returncode == 0 and b"ThreadSanitizer" not in r.stderr
                       and got == want,
                       f"{os.path.basename(c)}: digest --mode {mode} on 4 "
                       "threads: no data race, the raw image's digest",
                       r.stderr.decode(errors="replace")[-3000:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs", required=True, help="the ThreadSanitizer build")
    ap.add_argument("--ref", required=True, help="the plain build")
    a = ap.parse_args()
    tap = Tap()
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1:exitcode=66")
    for xz in committed_images():
        img = decompress(xz)
        label = os.path.basename(xz)
        ref = run([a.ref, "digest", img])
        want = ref.stdout.split()[0] if ref.returncode == 0 else b"?"
        for mode in MODES:
            for extra in RUNS:
                cmd = [a.uffs, "digest", "--mode", mode] + extra + [img]
                r = run(cmd, env=env, timeout=300)
                got = r.stdout.split()[0] if r.stdout.split() else b""
                report = b"ThreadSanitizer" in r.stderr
                tap.ok(r.returncode == 0 and not report and got == want,
                       f"{label}: digest --mode {mode} {' '.join(extra)}: "
                       f"no data race, same digest",
                       r.stderr.decode(errors="replace")[-3000:])
        for fmt in LIST_FORMATS:
            ref = run([a.ref, "list", "--threads", "1"] + fmt + [img])
            r = run([a.uffs, "list", "--threads", "4"] + fmt + [img],
                    env=env, timeout=300)
            report = b"ThreadSanitizer" in r.stderr
            tap.ok(r.returncode == ref.returncode and not report and
                   r.stdout == ref.stdout and len(ref.stdout) > 0,
                   f"{label}: list {' '.join(fmt)} on 4 threads: no data "
                   f"race, the same bytes as on one",
                   r.stderr.decode(errors="replace")[-3000:])
    check_containers(tap, a, env)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
