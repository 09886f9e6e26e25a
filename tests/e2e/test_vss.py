#!/usr/bin/env python3
"""Volume Shadow Copies, against libvshadow's own tools.

The shared sample vss/vsstest.qcow2 holds a volume with two stores. The
reference for store N is what vshadowmount (libvshadow-utils) exposes for
it, read by The Sleuth Kit: `uffs list --vss N` of the qcow2 container must
agree with `fls -r -p -u`, `fls -r -m /` and `fls -r -p -d` of the mounted
store file, under the same documented differences as test_tsk.py (its
comparisons are reused through a wrapper that adds --vss N); the digest of
--vss N must equal the digest of the mounted store file read as a raw
volume; `uffs info` must list the stores with vshadowinfo's identifiers and
creation times. Also: stores inside a partition, a missing store number, a
volume without shadow copies, --vss all, uffs diff between stores, and
damaged catalogs (one line, no crash).
"""
import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SHARED, Tap, committed_images, decompress, run  # noqa: E402
import test_tsk  # noqa: E402

SAMPLE = os.path.join(SHARED, "vss", "vsstest.qcow2")


def wrapper(work, uffs, n, source):
    """A uffs that reads store n of `source` whatever image it is given:
    test_tsk's comparisons then run unchanged on the mounted store file."""
    path = os.path.join(work, f"uffs-vss{n}")
    with open(path, "w") as f:
        f.write(f"#!{sys.executable}\n"
                "import os, sys\n"
                "a = sys.argv[1:]\n"
                f"os.execv({uffs!r}, [{uffs!r}, a[0], '--vss', '{n}'] + a[1:-1]"
                f" + [{source!r}])\n")
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def vshadowinfo(raw):
    out = run(["vshadowinfo", raw]).stdout.decode(errors="replace")
    stores = []
    for m in re.finditer(r"Store: (\d+)\n\s+Identifier\s+: (\S+)\n(?:.*\n)*?"
                         r"\s+Creation time\s+: (.+?)\n", out):
        stores.append((int(m.group(1)), m.group(2), m.group(3)))
    return stores


def check_info(tap, uffs, sample, raw):
    want = vshadowinfo(raw)
    info = run([uffs, "info", sample]).stdout.decode(errors="replace")
    got = re.findall(r"store (\d+): (\S+), created (\S+),", info)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
              "Oct", "Nov", "Dec"]
    ok = len(want) == len(got) == 2
    problems = []
    for (wn, wid, wtime), (gn, gid, gtime) in zip(want, got):
        m = re.match(r"(\w+) (\d+), (\d+) (\d+:\d+:\d+)\.(\d{7})", wtime)
        iso = (f"{m.group(3)}-{months.index(m.group(1)) + 1:02d}-"
               f"{int(m.group(2)):02d}T{m.group(4)}.{m.group(5)}Z") if m else "?"
        if (str(wn), wid, iso) != (gn, gid, gtime):
            problems.append(f"vshadowinfo {wn} {wid} {iso}; uffs {gn} {gid} {gtime}")
    tap.ok(ok and not problems and "shadow copies:      2" in info,
           "info lists both stores with vshadowinfo's numbers, identifiers "
           "and creation times", "\n".join(problems) + "\n" + info)


def check_stores(tap, uffs, sample, raw, mnt, work):
    for n in (1, 2):
        store = os.path.join(mnt, f"vss{n}")
        want = run([uffs, "digest", store]).stdout.split()[0]
        for src in (sample, raw):
            r = run([uffs, "digest", "--vss", str(n), src])
            got = r.stdout.split()[0] if r.stdout.split() else b""
            tap.ok(r.returncode == 0 and got == want,
                   f"store {n} of {os.path.basename(src)}: the digest of "
                   "vshadowmount's store file", r.stderr.decode(errors="replace"))
        w = wrapper(work, uffs, n, sample)
        name = f"vss store {n}"
        test_tsk.compare_paths(tap, name, w, store)
        test_tsk.compare_bodyfile(tap, name, w, store)
        test_tsk.compare_deleted(tap, name, w, store)
    d1 = run([uffs, "digest", "--vss", "1", sample]).stdout.split()[0]
    d2 = run([uffs, "digest", "--vss", "2", sample]).stdout.split()[0]
    d0 = run([uffs, "digest", sample]).stdout.split()[0]
    tap.ok(len({d0, d1, d2}) == 3,
           "the volume and its two stores are three different states")


def listing(uffs, args, sample):
    r = run([uffs, "list"] + args + [sample])
    return r.stdout.decode("utf-8", "surrogateescape").splitlines()


def check_all(tap, uffs, sample):
    """--vss all: the volume, then store 1, then store 2, each tagged."""
    want = ([f"current:{x}" for x in listing(uffs, [], sample)] +
            [f"vss1:{x}" for x in listing(uffs, ["--vss", "1"], sample)] +
            [f"vss2:{x}" for x in listing(uffs, ["--vss", "2"], sample)])
    got = listing(uffs, ["--vss", "all"], sample)
    tap.ok(got == want and len(got) > 100,
           f"--vss all (text): each state's listing in turn, paths prefixed "
           f"with its store ({len(got)} lines)",
           "\n".join(sorted(set(got) ^ set(want))[:10]))
    cols = ["-f", "csv", "-c", "store,path,size,modified"]
    want = listing(uffs, cols, sample)
    for n in ("1", "2"):
        want += listing(uffs, cols + ["--vss", n], sample)[1:]
    got = listing(uffs, cols + ["--vss", "all"], sample)
    tap.ok(got == want and got[1].startswith("0,") and
           got[-1].startswith("2,"),
           "--vss all (csv): a store column, 0 for the volume, N for store N")
    got = listing(uffs, ["-f", "csv", "--vss", "all"], sample)
    tap.ok(got and got[0].startswith("store,path,"),
           "--vss all: the default columns start with store", got[:1])
    digests = [run([uffs, "digest"] + a + [sample]).stdout.split()[0].decode()
               for a in ([], ["--vss", "1"], ["--vss", "2"])]
    r = run([uffs, "digest", "--vss", "all", sample])
    want = [f"{d}  {t}{sample}" for d, t in zip(digests, ("current:", "vss1:", "vss2:"))]
    tap.ok(r.stdout.decode().splitlines() == want,
           "digest --vss all: each state's digest, tagged", r.stdout.decode())
    r = run([uffs, "du", "--vss", "all", "--depth", "0", sample])
    roots = [x.split()[-1] for x in r.stdout.decode().splitlines()
             if not x.strip().startswith("size")]
    tap.ok(roots == ["current:/", "vss1:/", "vss2:/"],
           "du --vss all: each state's tree, its root tagged", r.stdout.decode())


def state(uffs, args, sample):
    """path -> (type, size, modified) from a listing test_tsk holds to fls."""
    rows = listing(uffs, ["-f", "tsv", "-c", "path,type,size,modified"] + args,
                   sample)[1:]
    out = {}
    for row in rows:
        path, typ, size, mod = row.split("\t")
        if path == "/$OrphanFiles":
            continue
        out[path] = (typ, int(size), mod)
    return out


def expected_diff(a, b):
    rows = []
    for p in sorted(set(a) | set(b), key=lambda s: s.encode("utf-8", "surrogateescape")):
        if p not in b:
            rows.append(("removed", p))
        elif p not in a:
            rows.append(("added", p))
        elif "dir" in (a[p][0], b[p][0]):
            continue
        elif a[p][1] != b[p][1]:
            rows.append(("resized", p))
        elif a[p][2] != b[p][2]:
            rows.append(("modified", p))
    return rows


def check_diff(tap, uffs, sample):
    """uffs diff against a diff of the two listings, computed here."""
    states = {"1": ["--vss", "1"], "2": ["--vss", "2"], "current": []}
    for old, new in (("1", "2"), ("2", "current"), ("1", "current"),
                     ("current", "1")):
        want = expected_diff(state(uffs, states[old], sample),
                             state(uffs, states[new], sample))
        r = run([uffs, "diff", "--from", old, "--to", new, "-f", "tsv", sample])
        got = [tuple(x.split("\t")[:2]) for x in
               r.stdout.decode("utf-8", "surrogateescape").splitlines()]
        tap.ok(r.returncode == 0 and got == want and want,
               f"diff --from {old} --to {new}: {len(want)} changes, as the "
               "two listings differ",
               "\n".join(f"want {w}" for w in want if w not in got)[:2000] + "\n" +
               "\n".join(f"got  {g}" for g in got if g not in want)[:2000])
    r = run([uffs, "diff", "--summary", sample])
    want = expected_diff(state(uffs, states["1"], sample),
                         state(uffs, states["current"], sample))
    counts = {k: sum(1 for c, _ in want if c == k)
              for k in ("added", "removed", "resized", "modified")}
    tap.ok(r.stdout.decode().strip() ==
           "added {added}, removed {removed}, resized {resized}, "
           "modified {modified}".format(**counts),
           "diff --summary: the default states are store 1 and the volume",
           r.stdout.decode())
    r = run([uffs, "diff", sample, sample])
    tap.ok(r.returncode == 0 and r.stdout == b"",
           "diff of a source with itself: nothing changed",
           r.stdout.decode(errors="replace")[:500])
    r = run([uffs, "diff", "--from", "9", sample])
    tap.ok(r.returncode == 2 and b"no such shadow-copy store" in r.stderr,
           "diff --from a store that is not there: exit 2",
           r.stderr.decode(errors="replace"))


def check_errors(tap, uffs, sample, work):
    r = run([uffs, "list", "--vss", "3", sample])
    err = r.stderr.decode(errors="replace")
    tap.ok(r.returncode == 2 and "no such shadow-copy store" in err and
           "2 stores" in err and len(err.splitlines()) == 1,
           "--vss 3 of a volume with 2 stores: exit 2, one line", err)
    plain = decompress(committed_images()[0])
    r = run([uffs, "list", "--vss", "1", plain])
    err = r.stderr.decode(errors="replace")
    tap.ok(r.returncode == 2 and "no shadow copies" in err and
           len(err.splitlines()) == 1,
           "--vss 1 of a volume without shadow copies: exit 2, one line", err)
    info = run([uffs, "info", plain]).stdout.decode()
    tap.ok("shadow copies:      0" in info,
           "info of a volume without shadow copies says 0", info)
    r = run([uffs, "list", "--vss", "0", sample])
    tap.ok(r.returncode == 2, "--vss 0 is a usage error",
           r.stderr.decode(errors="replace"))


def check_partition(tap, uffs, raw, work):
    """Stores of a volume that is a partition of an MBR disk."""
    import struct
    disk = os.path.join(work, "disk.img")
    size = os.path.getsize(raw)
    with open(disk, "wb") as f:
        mbr = bytearray(1 << 20)
        mbr[0x1BE:0x1CE] = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x07,
                                       b"\0\0\0", 2048, size // 512)
        mbr[510:512] = b"\x55\xaa"
        f.write(bytes(mbr))
        with open(raw, "rb") as src:
            shutil.copyfileobj(src, f)
    for n in (1, 2):
        want = run([uffs, "digest", "--vss", str(n), raw]).stdout.split()[0]
        r = run([uffs, "digest", "--vss", str(n), disk])
        got = r.stdout.split()[0] if r.stdout.split() else b""
        tap.ok(r.returncode == 0 and got == want,
               f"store {n} of the volume as partition 1 of an MBR disk",
               r.stderr.decode(errors="replace"))
    os.remove(disk)


def check_damage(tap, uffs, raw, work):
    """Flipped bytes in the shadow-copy header and catalog area: one line
    or a scan, never a crash or a hang."""
    vol = open(raw, "rb").read(1 << 20)
    cases = [(0x1E00, 64), (0x1E00 + 64, 64), (0x1E00 + 128, 128)]
    for at, n in cases:
        bad = os.path.join(work, f"flip{at}.raw")
        shutil.copy(raw, bad)
        with open(bad, "r+b") as f:
            f.seek(at)
            f.write(bytes(b ^ 0xA5 for b in vol[at:at + n]))
        for args in (["info"], ["digest", "--vss", "1"], ["list", "--vss", "2"]):
            try:
                r = run([uffs] + args + [bad], timeout=120)
            except subprocess.TimeoutExpired:
                tap.ok(False, f"{' '.join(args)} with {n} bytes flipped at {at}: no hang")
                continue
            err = r.stderr.decode(errors="replace").splitlines()
            tap.ok(0 <= r.returncode <= 3 and
                   (r.returncode == 0 or (err and all(e.startswith("uffs: ") for e in err))),
                   f"{' '.join(args)} with {n} bytes of the VSS header flipped "
                   f"at {at}: exit {r.returncode}, no crash",
                   "\n".join(err[-5:]))
        os.remove(bad)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs", required=True)
    a = ap.parse_args()
    tap = Tap()
    missing = [t for t in ("vshadowmount", "vshadowinfo", "fls", "qemu-img")
               if not shutil.which(t)]
    if not os.path.exists(SAMPLE):
        tap.skip("shadow copies", "../shared/ntfs-samples absent")
        return tap.done()
    if missing or "shadow copies:" not in run([a.uffs, "info", SAMPLE]).stdout.decode():
        tap.skip("shadow copies", f"missing {', '.join(missing)}" if missing
                 else "this build reads no shadow copies")
        return tap.done()
    with tempfile.TemporaryDirectory(prefix="uffs-vss-") as work:
        raw = os.path.join(work, "vss.raw")
        subprocess.run(["qemu-img", "convert", "-O", "raw", SAMPLE, raw], check=True)
        mnt = os.path.join(work, "mnt")
        os.mkdir(mnt)
        m = subprocess.run(["vshadowmount", raw, mnt], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if m.returncode != 0 or not os.path.exists(os.path.join(mnt, "vss1")):
            tap.skip("shadow copies against vshadowmount",
                     "vshadowmount could not mount (no FUSE here?): "
                     + m.stderr.decode(errors="replace").strip())
        else:
            try:
                check_info(tap, a.uffs, SAMPLE, raw)
                check_stores(tap, a.uffs, SAMPLE, raw, mnt, work)
            finally:
                subprocess.run(["fusermount", "-u", mnt], stderr=subprocess.DEVNULL)
                subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)
        check_all(tap, a.uffs, SAMPLE)
        check_diff(tap, a.uffs, SAMPLE)
        check_errors(tap, a.uffs, SAMPLE, work)
        check_partition(tap, a.uffs, raw, work)
        check_damage(tap, a.uffs, raw, work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
