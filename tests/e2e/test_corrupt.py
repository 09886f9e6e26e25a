#!/usr/bin/env python3
"""The corrupted-image suite: every case of tests/corrupt/mutate.py.

For each case the sample image is mutated in memory, written to a scratch
file, and `uffs list` (jsonl), `uffs list --deleted` and `uffs digest` run on
it with a time bound and (unless --no-rlimit, for sanitizer builds) an
address-space limit. Each asserts the case's defined outcome:

- error: exit 1, no listing, exactly one error line naming the source and the
  record number, its byte offset in the image and the offset in the record
  (or the byte offset in the source), as the generator computed them;
- warn: exit 3, a warning line naming the damaged record (same fields), and
  a listing in which every row of an undamaged record is unchanged;
- ok: exit 0, nothing on stderr, and the listing unchanged or changed in
  the one way the case states.

Never a signal, a timeout, or a sanitizer report.

    test_corrupt.py --uffs build/uffs [--no-rlimit] [--case NAME...]
    test_corrupt.py --markdown        the case table for docs/robustness.md
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "corrupt"))
from common import Tap, decompress  # noqa: E402
import mutate  # noqa: E402

TIME_LIMIT = 10          # seconds per command; a normal run takes ~50 ms
MEMORY_LIMIT = 512 << 20  # bytes of address space
ORPHANS = "/$OrphanFiles"


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class Runner:
    def __init__(self, uffs, rlimit):
        self.uffs = uffs
        self.rlimit = rlimit

    def __call__(self, *args):
        """(exit status or a description of what went wrong, stdout, stderr, seconds)."""
        t0 = time.monotonic()
        try:
            r = subprocess.run([self.uffs] + list(args), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=TIME_LIMIT,
                               preexec_fn=limit_memory if self.rlimit else None)
        except subprocess.TimeoutExpired:
            return f"timeout after {TIME_LIMIT} s", "", "", TIME_LIMIT
        dt = time.monotonic() - t0
        rc = r.returncode if r.returncode >= 0 else f"signal {-r.returncode}"
        return (rc, r.stdout.decode("utf-8", "surrogateescape"),
                r.stderr.decode("utf-8", "replace"), dt)


def rows(out):
    """{(path, frs, size)} of a jsonl listing (lone surrogates kept)."""
    got = set()
    # Not splitlines(): names may hold U+0085 or U+2028, legal raw in JSON.
    for line in filter(None, out.split("\n")):
        o = json.loads(line)
        got.add((o["path"], o["frs"], o["size"]))
    return got


LIST = ("list", "-f", "jsonl", "-c", "path,frs,size")


# ---- listing checks: (baseline rows, output rows, outcome) -> problem or "" ----

def check_default(base, out, o):
    # $OrphanFiles' number is the record count, which some cases change.
    base, out = without_orphan_dir(base), without_orphan_dir(out)
    lost = {r for r in base if r[1] not in o.damaged} - out
    new = {r for r in out - base if r[1] not in o.damaged}
    if lost or new:
        return f"rows of undamaged records lost: {sorted(lost)[:5]}; new: {sorted(new)[:5]}"
    return ""


def without_orphan_dir(rs):
    return {r for r in rs if r[0] != ORPHANS}


def check_only_below(base, out, o):
    want = {r for r in without_orphan_dir(base) if r[1] < o.arg}
    got = without_orphan_dir(out)
    if want != got:
        return f"missing {sorted(want - got)[:5]}; extra {sorted(got - want)[:5]}"
    return ""


def check_renamed(base, out, o):
    frs, path = o.arg
    want = {r for r in base if r[1] != frs} | {(path, frs, r[2]) for r in base if r[1] == frs}
    if want != out:
        return f"missing {sorted(want - out)[:5]}; extra {sorted(out - want)[:5]}"
    return ""


def check_size(base, out, o):
    frs, size = o.arg
    want = {(p, f, size if f == frs and ":" not in p else s) for p, f, s in base}
    if want != out:
        return f"missing {sorted(want - out)[:5]}; extra {sorted(out - want)[:5]}"
    return ""


def check_orphaned(base, out, o):
    pre = o.arg
    want = {(ORPHANS + p if p == pre or p.startswith(pre + "/") or p.startswith(pre + ":")
             else p, f, s) for p, f, s in base}
    if want != out:
        return f"missing {sorted(want - out)[:5]}; extra {sorted(out - want)[:5]}"
    return ""


def check_all_orphaned(base, out, o):
    want = {(p if p == ORPHANS else ORPHANS + p, f, s) for p, f, s in base}
    if want != out:
        return f"missing {sorted(want - out)[:5]}; extra {sorted(out - want)[:5]}"
    return ""


def check_lost_links(base, out, o):
    frs = o.arg
    others = {r for r in base if r[1] != frs}
    mine_base = {r for r in base if r[1] == frs}
    mine_out = {r for r in out if r[1] == frs}
    if {r for r in out if r[1] != frs} != others:
        return "rows of other records changed"
    if not mine_out < mine_base:
        return f"record {frs}: expected fewer of its own rows, got {len(mine_out)} of {len(mine_base)}"
    return ""


def check_gone(base, out, o):
    want = {r for r in base if r[1] != o.arg}
    if want != out:
        return f"missing {sorted(want - out)[:5]}; extra {sorted(out - want)[:5]}"
    return ""


CHECKS = {"gone": check_gone, None: check_default, "only_below": check_only_below, "renamed": check_renamed,
          "size": check_size, "orphaned": check_orphaned,
          "all_orphaned": check_all_orphaned, "lost_links": check_lost_links}


def sanitizer_report(err):
    return re.search(r"Sanitizer|runtime error:|LeakSanitizer", err)


def location(o):
    """The regex a message must match to name the case's record/offset."""
    if o.frs is not None:
        s = rf"record {o.frs}"
        s += rf" \(at byte {o.at}\)" if o.at is not None else r"( \(at byte \d+\))?"
        if o.offset is not None:
            s += rf", offset {o.offset}:"
        return s
    if o.offset is not None:
        return rf"byte offset {o.offset}:"
    return ""


def check_messages(rc, out, err, o, path):
    lines = err.splitlines()
    warnings = [ln for ln in lines if ln.startswith(f"uffs: warning: {path}: ")]
    errors = [ln for ln in lines if ln not in warnings]
    where = location(o)
    named = [ln for ln in (errors if o.kind == "error" else warnings)
             if re.search(where, ln) and (not o.msg or re.search(o.msg, ln))]
    if o.kind == "random":
        if rc not in (0, 3) or errors:
            return f"exit {rc} (expected 0 or 3), errors {errors[:3]}"
        if (rc == 3) != bool(warnings):
            return "exit status and warnings disagree"
        strays = [ln for ln in warnings
                  if int(re.search(r"record (\d+)", ln).group(1)) not in o.damaged]
        return f"warnings about undamaged records: {strays[:3]}" if strays else ""
    if rc != o.exit:
        return f"exit {rc}, expected {o.exit}"
    if o.kind == "error":
        if out:
            return "a listing was printed"
        if len(errors) != 1 or not errors[0].startswith(f"uffs: {path}: "):
            return f"expected exactly one error line naming the source, got {errors}"
        if not named:
            return f"the error does not match /{where}.*{o.msg}/"
    elif o.kind == "warn":
        if errors:
            return f"non-warning lines on stderr: {errors[:3]}"
        if not named:
            return f"no warning matches /{where}.*{o.msg}/"
    elif err:
        return "stderr not empty"
    return ""


def run_case(tap, run, name, image_bytes, base, work):
    data, o = mutate.apply(name, image_bytes)
    path = os.path.join(work, name + ".img")
    with open(path, "wb") as f:
        f.write(data)
    slowest = 0.0
    try:
        rc, out, err, dt = run(*LIST, path)
        slowest = max(slowest, dt)
        problem = ""
        if isinstance(rc, str) or sanitizer_report(err):
            problem = rc if isinstance(rc, str) else "sanitizer report"
        else:
            problem = check_messages(rc, out, err, o, path)
            if not problem and o.kind != "error":
                problem = CHECKS[o.check](base, rows(out), o)
        tap.ok(not problem, f"{name}: list: exit {o.exit}, {o.text}",
               f"{problem}\n{err}")
        for extra in (("list", "--deleted"), ("digest",)):
            rc2, _, err2, dt = run(*extra, path)
            slowest = max(slowest, dt)
            bad = (rc2 if isinstance(rc2, str) else "sanitizer report" if sanitizer_report(err2)
                   else f"exit {rc2}, list gave {rc}" if rc2 != rc else "")
            tap.ok(not bad, f"{name}: {' '.join(extra)}: same exit, no crash or hang",
                   f"{bad}\n{err2}")
    finally:
        os.unlink(path)
    return slowest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs")
    ap.add_argument("--no-rlimit", action="store_true",
                    help="no address-space limit (AddressSanitizer reserves terabytes)")
    ap.add_argument("--case", action="append", help="run only these cases")
    ap.add_argument("--markdown", action="store_true", help="print the case table")
    args = ap.parse_args()
    if args.markdown:
        return mutate.main(["mutate.py", "--markdown"])
    if not args.uffs:
        ap.error("--uffs is required")
    tap = Tap()
    run = Runner(args.uffs, not args.no_rlimit)
    if run.rlimit:
        # The bound is real: a child under it cannot allocate 1 GiB.
        r = subprocess.run([sys.executable, "-c", "bytearray(1 << 30)"],
                           stderr=subprocess.PIPE, preexec_fn=limit_memory)
        tap.ok(r.returncode != 0 and b"MemoryError" in r.stderr,
               f"RLIMIT_AS of {MEMORY_LIMIT >> 20} MiB is applied to each command")
    names = args.case or list(mutate.CASES)
    images, baselines = {}, {}
    slowest = (0.0, "")
    with tempfile.TemporaryDirectory() as work:
        for name in names:
            short = mutate.CASES[name][0]
            if short not in images:
                raw = decompress(mutate.image_path(short))
                with open(raw, "rb") as f:
                    images[short] = f.read()
                rc, out, err, _ = run(*LIST, raw)
                tap.ok(rc == 0 and not err, f"{short}: the unmutated image lists cleanly", err)
                baselines[short] = rows(out)
            dt = run_case(tap, run, name, images[short], baselines[short], work)
            slowest = max(slowest, (dt, name))
    print(f"# slowest command: {slowest[0]:.3f} s ({slowest[1]})")
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
