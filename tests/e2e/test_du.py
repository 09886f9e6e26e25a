#!/usr/bin/env python3
"""uffs du against the listing: for every directory of every sample, the
sizes, allocated sizes, file and directory counts that `uffs du` prints
must be the sums over `uffs list` rows below it (the listing itself agrees
with The Sleuth Kit, see test_tsk.py), each record counted once, under its
first name; plus the options and errors of the command."""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (TOP, Tap, committed_images, decompress, run,  # noqa: E402
                    shared_images)

ALL_LEVELS = "4098"


def name_path(row):
    """A row's path without its ':stream' suffix."""
    p, s = row["path"], row["stream"]
    return p[:-len(s) - 1] if s else p


def parent_of(path):
    return path.rsplit("/", 1)[0] or "/"


def expected_usage(rows):
    """{dir path: (size, allocated, files, dirs)} from listing rows."""
    home, size, alloc, is_dir = {}, {}, {}, {}
    for r in rows:
        if r["type"] == "virtual":
            continue
        frs, np = r["frs"], name_path(r)
        if frs not in home:
            home[frs], size[frs], alloc[frs] = np, 0, 0
            is_dir[frs] = r["type"] == "dir"
        if np == home[frs]:  # rows of the first name only
            size[frs] += r["size"]
            alloc[frs] += r["allocated"]
    dirs = {"/"}
    for frs, h in home.items():
        p = h if is_dir[frs] else parent_of(h)
        while p not in dirs:
            dirs.add(p)
            p = parent_of(p)
    # Each record adds to its home directory (a directory to itself) and
    # every directory above.
    total = {d: [0, 0, 0, 0] for d in dirs}
    for frs, h in home.items():
        d = h if is_dir[frs] else parent_of(h)
        first = True
        while True:
            t = total[d]
            t[0] += size[frs]
            t[1] += alloc[frs]
            if not is_dir[frs]:
                t[2] += 1
            elif not first:
                t[3] += 1
            first = False
            if d == "/":
                break
            d = parent_of(d)
    return {d: tuple(v) for d, v in total.items()}


def listing(uffs, image):
    r = run([uffs, "list", "-f", "jsonl", "-c",
             "path,frs,type,size,allocated,stream", image])
    if r.returncode not in (0, 3):
        return None
    return [json.loads(line) for line in r.stdout.decode().splitlines()]


def du_all(uffs, image):
    r = run([uffs, "du", "-q", "-f", "jsonl", "--depth", ALL_LEVELS, image])
    if r.returncode not in (0, 3):
        return None, r.stderr.decode()
    got = {}
    for line in r.stdout.decode().splitlines():
        j = json.loads(line)
        got[j["path"]] = (j["size"], j["allocated"], j["files"], j["dirs"])
    return got, ""


def check_image(tap, uffs, image, name):
    rows = listing(uffs, image)
    got, err = du_all(uffs, image)
    if rows is None or got is None:
        tap.ok(False, f"{name}: du and list run", err)
        return
    want = expected_usage(rows)
    # An empty /$OrphanFiles is not worth a row.
    want = {d: v for d, v in want.items()
            if d != "/$OrphanFiles" or any(v)}
    diff = [f"{d}: du {got.get(d)} listing {want.get(d)}"
            for d in sorted(set(want) | set(got)) if want.get(d) != got.get(d)]
    tap.ok(not diff, f"{name}: du of all {len(want)} directories equals the "
           "sums over the listing", "\n".join(diff[:30]))


def parse_human(s):
    m = re.fullmatch(r"([0-9.]+) (B|KiB|MiB|GiB|TiB|PiB|EiB)", s)
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    return float(m.group(1)) * 1024 ** units.index(m.group(2)) if m else None


def test_options(tap, uffs, image):
    got, _ = du_all(uffs, image)
    r = run([uffs, "du", image])
    lines = r.stdout.decode().splitlines()
    tap.ok(r.returncode == 0 and lines[0].split() ==
           ["size", "allocated", "files", "dirs", "path"],
           "text output starts with a header", lines[:2])
    body = [re.fullmatch(r"\s*(\S+ \S+)\s+(\S+ \S+)\s+(\d+)\s+(\d+)  (.*)", ln)
            for ln in lines[1:]]
    tap.ok(body and all(body), "text rows: size, allocated, files, dirs, path",
           lines[:5])
    body = [b for b in body if b]
    ok = True
    for b in body:
        exact = got.get(b.group(5))
        for k, human in ((0, b.group(1)), (1, b.group(2))):
            value = exact[k] if exact else None
            h = parse_human(human)
            unit = 1
            while value is not None and value >= unit * 1024 and unit < 1024 ** 6:
                unit *= 1024
            ok &= (h is not None and value is not None and
                   abs(h - value) <= 0.05 * unit + 1e-9 * value and
                   (value < 1024) == human.endswith(" B"))
    tap.ok(ok, "text sizes are the exact sizes in binary units, one decimal",
           lines[:6])
    paths = [b.group(5) for b in body]
    tap.ok(paths[0] == "/" and all(p.count("/") == 1 for p in paths),
           "the default depth is 1: the root and its directories", paths)
    sizes = [got[p][0] for p in paths]
    tap.ok(sizes == sorted(sizes, reverse=True), "largest first", sizes)

    r = run([uffs, "du", "--top", "3", "--sort", "files", "-f", "tsv", image])
    rows = [ln.split("\t") for ln in r.stdout.decode().splitlines()[1:]]
    files = [int(x[3]) for x in rows]
    tap.ok(len(rows) == 3 and files == sorted(files, reverse=True),
           "--top 3 --sort files: three rows, most files first", rows)
    r = run([uffs, "du", "--sort", "path", "-f", "csv", "-d", "2", image])
    rows = r.stdout.decode().splitlines()
    tap.ok(rows[0] == "path,size,allocated,files,dirs,depth" and
           [x.split('"')[1] for x in rows[1:]] ==
           sorted(x.split('"')[1] for x in rows[1:]),
           "--sort path: csv rows in path order", rows[:5])

    r = run([uffs, "du", "-f", "jsonl", "-d", "0", image, "/DEEP/Level01/"])
    j = [json.loads(x) for x in r.stdout.decode().splitlines()]
    tap.ok(r.returncode == 0 and len(j) == 1 and
           j[0]["path"] == "/deep/level01" and j[0]["depth"] == 0 and
           (j[0]["size"], j[0]["allocated"], j[0]["files"], j[0]["dirs"]) ==
           got["/deep/level01"],
           "PATH is found whatever its ASCII case; --depth 0 prints it alone",
           r.stdout + r.stderr)
    r = run([uffs, "du", "-f", "jsonl", "-d", "1", image, "deep"])
    j = [json.loads(x) for x in r.stdout.decode().splitlines()]
    tap.ok([x["path"] for x in j] == ["/deep", "/deep/level01"] and
           [x["depth"] for x in j] == [0, 1],
           "depth counts from PATH", j)

    r = run([uffs, "du", image, "/no/such/dir"])
    tap.ok(r.returncode == 1 and b"no directory '/no/such/dir'" in r.stderr,
           "a PATH that is not there: exit 1, says so", r.stderr)
    r = run([uffs, "du", image, "/small.txt"])
    tap.ok(r.returncode == 1, "a PATH that is a file: exit 1", r.stderr)
    for args, what in ((["du"], "no SOURCE"), (["du", image, "/a", "/b"],
                       "two PATHs"), (["du", "-d", "x", image], "bad depth"),
                       (["du", "--sort", "name", image], "bad sort"),
                       (["du", "--top", "0", image], "top 0")):
        r = run([uffs] + args)
        tap.ok(r.returncode == 2 and r.stderr, f"usage error: {what}",
               r.stderr)
    r = run([uffs, "du", "--help"])
    tap.ok(r.returncode == 0 and b"--depth" in r.stdout and b"--top" in
           r.stdout, "du --help", r.stdout[:200])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs", required=True)
    args = ap.parse_args()
    tap = Tap()
    for img in committed_images():
        check_image(tap, args.uffs, decompress(img), os.path.basename(img))
    shared = shared_images()
    if shared is None:
        tap.skip("du on the shared samples", "../shared/ntfs-samples absent")
    else:
        for img in shared:
            check_image(tap, args.uffs, decompress(img),
                        os.path.basename(img))
    test_options(tap, args.uffs,
                 decompress(os.path.join(TOP, "images", "hardcases.img.xz")))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
