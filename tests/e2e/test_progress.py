#!/usr/bin/env python3
"""The progress line: shown on a terminal during a long scan, erased at its
end, never written to a pipe or file, silenced by --quiet; the listing on
stdout is the same either way.

A scan of a sample image takes milliseconds; the fault backend's latency
(--fault-latency, microseconds per batch of completions) with small chunks
makes it last about a second, long enough for the line to appear."""
import argparse
import os
import pty
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import TOP, Tap, decompress  # noqa: E402

SLOW = ["--backend", "fault", "--fault-latency", "1500", "--chunk", "4K",
        "-m", "async"]
LINE = re.compile(rb"\r([^\r\x1b]*): (\d+)/(\d+) records \((\d+)%\), (\d+) "
                  rb"records/s, ([0-9.]+) MB/s, ETA ([^\x1b]+)\x1b\[K")


def run_on_terminal(cmd):
    """Runs cmd with stderr on a pseudo-terminal; returns (status, stdout,
    what the terminal received)."""
    master, slave = pty.openpty()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=slave,
                             stdin=subprocess.DEVNULL)
        os.close(slave)
        got = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            got += chunk
        rc = p.wait(timeout=60)
        os.close(master)
        out.seek(0)
        return rc, out.read(), got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs", required=True)
    args = ap.parse_args()
    tap = Tap()
    image = decompress(os.path.join(TOP, "images", "hardcases.img.xz"))
    plain = subprocess.run([args.uffs, "list", image], capture_output=True)
    tap.ok(plain.returncode == 0, "the image lists", plain.stderr)

    rc, out, term = run_on_terminal([args.uffs, "list"] + SLOW + [image])
    lines = LINE.findall(term)
    tap.ok(rc == 0 and out == plain.stdout,
           "a slow scan on a terminal lists the same files", term[-300:])
    tap.ok(len(lines) >= 2, "a scan that lasts a second shows progress lines",
           repr(term[-300:]))
    if lines:
        src, done, total = lines[0][0], int(lines[0][1]), int(lines[0][2])
        tap.ok(src == image.encode() and 0 < done <= total,
               "a line names the source and counts records done of all",
               lines[0])
        counts = [int(x[1]) for x in lines]
        tap.ok(counts == sorted(counts), "records done never go back",
               counts)
        pct = [int(x[3]) for x in lines]
        tap.ok(all(p == d * 100 // int(x[2]) for p, d, x in
                   zip(pct, counts, lines)), "the percentage is done/total",
               lines)
    else:
        for name in ("a line names the source", "records done never go back",
                     "the percentage is done/total"):
            tap.ok(False, name, "no progress line at all")
    tap.ok(term.endswith(b"\r\x1b[K"),
           "the line is erased when the scan ends", repr(term[-60:]))

    rc, out, term = run_on_terminal([args.uffs, "list", "--quiet"] + SLOW +
                                    [image])
    tap.ok(rc == 0 and term == b"", "--quiet shows no progress on a terminal",
           repr(term[:200]))

    rc, _, term = run_on_terminal([args.uffs, "list", image])
    tap.ok(rc == 0 and term == b"",
           "a quick scan never flashes a progress line", repr(term[:200]))

    piped = subprocess.run([args.uffs, "list"] + SLOW + [image],
                           capture_output=True)
    tap.ok(piped.returncode == 0 and piped.stderr == b"" and
           piped.stdout == plain.stdout,
           "stderr that is not a terminal gets no progress line",
           piped.stderr[:200])
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
