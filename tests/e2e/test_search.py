#!/usr/bin/env python3
"""uffs search against independent references.

For every committed image (and every image in ../shared/ntfs-samples), the
expected results of a table of patterns and filters are computed here, by a
small reference implementation of the documented semantics, from The Sleuth
Kit's view of the volume:
  fls -r -m / -u     names (one "($FILE_NAME)" line per link), sizes of the
                     unnamed $DATA and of named streams, the four times, the
                     mode (read-only and hidden, as TSK maps them)
  icat IMAGE 10      the volume's $UpCase, to check that the reference's case
                     folding (Python's str.upper, one UTF-16 unit to one)
                     equals it on every character of these names
and, where an ntfs-3g FUSE mount works here, `find` over the mount for
names and sizes.

uffs and fls agree on the listing apart from documented differences
(test_tsk.py); results are compared on the rows both sides have, and that
common part must cover nearly all of each side.
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Tap, committed_images, decompress, run, shared_images  # noqa: E402


# ---- the reference: rows from fls -m ----

class Row:
    __slots__ = ("path", "name", "inode", "size", "dir", "atime", "mtime",
                 "crtime", "mode", "stream")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


TSK_WRAPPED_TIME_MIN = 2**31  # TSK wraps times before 1970 (test_tsk D2)


def known_time(field):
    """Unix seconds, 0 for any time before 1970, None when TSK wrapped it."""
    t = int(field)
    return None if t >= TSK_WRAPPED_TIME_MIN else t


def body_rows(image):
    """Rows as uffs search forms them: one per name (link), plus one per
    named $DATA stream ('path:stream')."""
    r = run(["fls", "-r", "-m", "/", "-u", image])
    lines = r.stdout.decode("utf-8", "surrogateescape").splitlines()
    fields = [ln.split("|") for ln in lines]
    fields = [f for f in fields if len(f) == 11]
    # (path, inode) -> attribute line: a name listed through an extension
    # record (D7) or several times (an attribute list) stays one row.
    data = {}
    for f in fields:
        name, inode = f[1], f[2]
        if name.endswith(" ($FILE_NAME)"):
            continue
        parts = inode.split("-")
        data[(name, parts[0])] = (parts[1] if len(parts) > 1 else "", f)
    # A name is a "($FILE_NAME)" line, or a main attribute line where TSK
    # printed none (a $FILE_NAME reached through an attribute list).
    names = []
    for f in fields:
        if f[1].endswith(" ($FILE_NAME)"):
            names.append((f[1][: -len(" ($FILE_NAME)")], f))
        elif ":" not in f[1]:
            names.append((f[1], f))
    rows, seen = [], set()
    for path, f in names:
        inode = f[2].split("-")[0]
        if path.endswith("/.") or path.startswith("/$OrphanFiles") or (path, inode) in seen:
            continue
        seen.add((path, inode))
        mode = f[3]
        main = data.get((path, inode))
        # TSK gives no attribute type when it could not read the data
        # attribute: its size is unknown then.
        size = int(main[1][6]) if main and main[0] else (0 if not main else None)
        times = main[1] if main else f
        rows.append(Row(path=path, name=path.rsplit("/", 1)[1], inode=inode,
                        size=size, dir=mode.startswith("d"),
                        atime=known_time(times[7]), mtime=known_time(times[8]),
                        crtime=known_time(times[10]), mode=mode, stream=None))
    by_path = {rw.path: rw for rw in rows}
    for (name, inode), (attr_type, f) in data.items():
        base, sep, stream = name.rpartition(":")
        if not sep or "/" in stream or attr_type != "128" or base not in by_path:
            continue
        owner = by_path[base]
        if owner.inode != inode:
            continue
        rows.append(Row(path=name, name=owner.name + ":" + stream,
                        inode=inode, size=int(f[6]), dir=owner.dir,
                        atime=owner.atime, mtime=owner.mtime,
                        crtime=owner.crtime, mode=owner.mode, stream=stream))
    return rows


# ---- the reference: folding and globbing ----

def upcase_table(image):
    r = run(["icat", image, "10"])
    raw = r.stdout
    if len(raw) < 131072:
        return None
    return [raw[2 * i] | raw[2 * i + 1] << 8 for i in range(65536)]


def fold_char(c):
    """Python's upper case, kept only when it is one BMP unit to one (as
    $UpCase maps), for a BMP character; others stay."""
    if ord(c) > 0xFFFF:
        return c
    u = c.upper()
    return u if len(u) == 1 and ord(u) <= 0xFFFF else c


def fold(s):
    return "".join(fold_char(c) for c in s)


def glob_regex(pattern, path_mode, folding):
    """The documented glob syntax as a Python regular expression, written
    independently of the C matcher."""
    f = fold if folding else (lambda s: s)
    if path_mode and not pattern.startswith("/"):
        pattern = "**/" + pattern
    out, i, n = [], 0, len(pattern)
    not_sep = "[^/]" if path_mode else "."
    while i < n:
        c = pattern[i]
        if c == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            out.append(".*" if j - i > 1 and path_mode else not_sep + "*")
            i = j
        elif c == "?":
            out.append(not_sep)
            i += 1
        elif c == "[":
            j = i + 1
            neg = j < n and pattern[j] in "!^"
            j += neg
            k = j + (j < n and pattern[j] == "]")
            while k < n and pattern[k] != "]":
                k += 2 if pattern[k] == "\\" and k + 1 < n else 1
            if k >= n:
                out.append(re.escape(f("[")))
                i += 1
                continue
            items, m = [], j
            first = True
            while first or pattern[m] != "]":
                first = False
                if pattern[m] == "\\":
                    m += 1
                lo = pattern[m]
                m += 1
                hi = lo
                if pattern[m] == "-" and m + 1 < n and pattern[m + 1] != "]":
                    m += 1
                    if pattern[m] == "\\":
                        m += 1
                    hi = pattern[m]
                    m += 1
                lo, hi = f(lo), f(hi)
                lo, hi = min(lo, hi), max(lo, hi)
                items.append(re.escape(lo) + "-" + re.escape(hi))
            cls = "".join(items)
            if path_mode:
                out.append("(?!/)" + ("[^" if neg else "[") + cls + "]")
            else:
                out.append(("[^" if neg else "[") + cls + "]")
            i = m + 1
        else:
            if c == "\\" and i + 1 < n:
                i += 1
                c = pattern[i]
            out.append(re.escape(f(c)))
            i += 1
    return re.compile("".join(out) + r"\Z", re.S)


def ref_match(rows, pattern, *, path=False, case=False, contains=False,
              streams=False):
    folding = not case
    f = fold if folding else (lambda s: s)
    if not contains and "/" in pattern:
        path = True
    rx = None if contains else glob_regex(pattern, path, folding)
    out = []
    mains = {}
    for rw in rows:
        if rw.stream is None:
            mains[rw.path] = rw

    def hit(rw):
        text = f(rw.path if path else rw.name)
        if contains:
            return f(pattern) in text
        return rx.match(text) is not None

    for rw in rows:
        if rw.stream is None:
            if hit(rw):
                out.append(rw)
        elif streams:
            base = rw.path[: -len(rw.stream) - 1]
            owner = mains.get(base)
            if hit(rw) or (owner is not None and hit(owner)):
                out.append(rw)
    return out


# ---- running uffs ----

def uffs_paths(binary, args, image):
    r = run([binary, "search"] + args + [image])
    if r.returncode not in (0, 3):
        raise RuntimeError(f"uffs search {args}: exit {r.returncode}: "
                           f"{r.stderr.decode(errors='replace')}")
    return r.stdout.decode("utf-8", "surrogateescape").splitlines()


def day(ts):
    import datetime
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d")


def day_start(d):
    import calendar
    import datetime
    return calendar.timegm(datetime.datetime.strptime(d, "%Y-%m-%d").timetuple())


def cases(rows):
    """(label, uffs args, expected rows) for one image."""
    tests = [
        ("all names", ["*"], ref_match(rows, "*")),
        ("*.txt", ["*.txt"], ref_match(rows, "*.txt")),
        ("*.TXT folds case", ["*.TXT"], ref_match(rows, "*.TXT")),
        ("*.TXT --case", ["--case", "*.TXT"], ref_match(rows, "*.TXT", case=True)),
        ("?ig*", ["?ig*"], ref_match(rows, "?ig*")),
        ("[a-f]*", ["[a-f]*"], ref_match(rows, "[a-f]*")),
        ("[!a-m]*.*", ["[!a-m]*.*"], ref_match(rows, "[!a-m]*.*")),
        ("*a*e*", ["*a*e*"], ref_match(rows, "*a*e*")),
        ("$*", ["$*"], ref_match(rows, "$*")),
        ("caf\u00c9*", ["caf\u00c9*"], ref_match(rows, "caf\u00c9*")),
        ("\\[*", ["\\[*"], ref_match(rows, "\\[*")),
        ("--contains IL", ["--contains", "IL"], ref_match(rows, "IL", contains=True)),
        ("--contains --case il", ["--contains", "--case", "il"],
         ref_match(rows, "il", contains=True, case=True)),
        ("--path */*", ["--path", "*/*"], ref_match(rows, "*/*", path=True)),
        ("/*/*.txt", ["/*/*.txt"], ref_match(rows, "/*/*.txt")),
        ("/**/*.TXT", ["/**/*.TXT"], ref_match(rows, "/**/*.TXT")),
        ("names/*", ["names/*"], ref_match(rows, "names/*")),
        ("--path --contains /nam", ["--path", "--contains", "/nam"],
         ref_match(rows, "/nam", path=True, contains=True)),
        ("--streams *", ["--streams", "*"], ref_match(rows, "*", streams=True)),
        ("--streams *:*", ["--streams", "*:*"], ref_match(rows, "*:*", streams=True)),
    ]
    tests = [(n, a, e, set()) for n, a, e in tests]
    alln = ref_match(rows, "*")
    alls = ref_match(rows, "*", streams=True)
    no_size = {r.path for r in alls if r.size is None}
    no_mtime = {r.path for r in alln if r.mtime is None}
    no_crtime = {r.path for r in alln if r.crtime is None}
    tests += [
        ("--type d", ["--type", "d", "*"], [r for r in alln if r.dir], set()),
        ("--type f", ["--type", "f", "*"], [r for r in alln if not r.dir], set()),
        ("--ext txt,BIN", ["--ext", "txt,BIN", "*"],
         [r for r in alln if "." in r.name and fold(r.name.rsplit(".", 1)[1]) in ("TXT", "BIN")],
         set()),
        ("--size >1M", ["--size", ">1M", "*"],
         [r for r in alln if (r.size or 0) > 1 << 20], no_size),
        ("--size 1K..64K", ["--size", "1K..64K", "*"],
         [r for r in alln if 1024 <= (r.size or 0) <= 65536], no_size),
        ("--size 0", ["--size", "0", "--type", "f", "*"],
         [r for r in alln if r.size == 0 and not r.dir], no_size),
        ("--size <100 --streams", ["--size", "<100", "--streams", "*"],
         [r for r in alls if (r.size or 0) < 100], no_size),
        ("--attr hidden", ["--attr", "hidden", "*"],
         [r for r in alln if r.mode[3:].find("w") < 0 and r.mode[3:] != "---------"],
         {r.path for r in alln if r.mode[3:] == "---------"}),
    ]
    tests += [
        ("--attr !hidden --type f", ["--attr", "!hidden", "--type", "f", "*"],
         [r for r in alln if not r.dir and (r.mode[3:].find("w") >= 0 or r.mode[3:] == "---------")],
         {r.path for r in alln if r.mode[3:] == "---------"}),
        ("--ext .TXT", ["--ext", ".TXT", "*"],
         [r for r in alln if fold(r.name).endswith(".TXT")], set()),
        ("--size 1.5K..", ["--size", "1.5K..", "*"],
         [r for r in alln if (r.size or 0) >= 1536], no_size),
        ("*.txt --size ..2K", ["--size", "..2K", "*.txt"],
         [r for r in ref_match(rows, "*.txt") if (r.size or 0) <= 2048], no_size),
    ]
    # Relative times: 30 days before now (the test's clock; uffs reads the
    # same clock a moment later, far from any time in the images).
    import time as _time
    month = int(_time.time()) - 30 * 86400
    tests.append(("--modified 30d", ["--modified", "30d", "*"],
                  [r for r in alln if r.mtime is not None and r.mtime >= month], no_mtime))
    tests.append(("--accessed <30d", ["--accessed", "<30d", "*"],
                  [r for r in alln if r.atime is not None and r.atime < month],
                  {r.path for r in alln if r.atime is None}))
    times = sorted(r.mtime for r in alln if r.mtime and r.mtime > 946684800)
    if times:
        mid = day(times[len(times) // 2])
        lo, hi = day_start(mid), day_start(mid) + 86400
        tests.append((f"--modified {mid}", ["--modified", mid, "*"],
                      [r for r in alln if r.mtime is not None and lo <= r.mtime < hi],
                      no_mtime))
        tests.append((f"--modified <{mid}", ["--modified", "<" + mid, "*"],
                      [r for r in alln if r.mtime is not None and r.mtime < lo], no_mtime))
        tests.append((f"--created {mid}.. --type f",
                      ["--created", mid + "..", "--type", "f", "*"],
                      [r for r in alln if r.crtime is not None and r.crtime >= lo
                       and not r.dir], no_crtime))
    return tests


def check_image(tap, binary, label, image):
    rows = body_rows(image)
    table = upcase_table(image)
    if table is not None:
        chars = {c for rw in rows for c in rw.path if ord(c) <= 0xFFFF}
        bad = [c for c in chars if ord(fold_char(c)) != table[ord(c)]]
        tap.ok(not bad, f"{label}: Python's upper case equals the volume's $UpCase "
               f"on all {len(chars)} characters of its names",
               [f"U+{ord(c):04X}: {ord(fold_char(c)):04X} vs {table[ord(c)]:04X}" for c in bad[:10]])
    universe = set(uffs_paths(binary, ["--streams", "*"], image))
    ref_universe = {rw.path for rw in rows}
    common = universe & ref_universe
    cover = min(len(common) / max(1, len(universe)), len(common) / max(1, len(ref_universe)))
    tap.ok(cover >= 0.95, f"{label}: uffs and fls share {len(common)} of "
           f"{len(universe)}/{len(ref_universe)} rows", sorted(universe ^ ref_universe)[:20])
    for name, args, expected, unknown in cases(rows):
        got = uffs_paths(binary, args, image)
        keep = common - unknown
        got_c = sorted({p for p in got if p in keep})
        exp_c = sorted({rw.path for rw in expected if rw.path in keep})
        stray = [p for p in got if p not in universe]
        tap.ok(got_c == exp_c and not stray,
               f"{label}: search {name}: {len(exp_c)} rows as the reference",
               "\n".join([f"only uffs: {p}" for p in sorted(set(got_c) - set(exp_c))][:10] +
                         [f"only reference: {p}" for p in sorted(set(exp_c) - set(got_c))][:10] +
                         [f"not a row: {p}" for p in stray[:5]]))
    check_output_options(tap, binary, label, image, rows, common)


def check_output_options(tap, binary, label, image, rows, common):
    plain = uffs_paths(binary, ["*"], image)
    r = run([binary, "search", "--count", "*", image])
    tap.ok(r.stdout.decode().strip() == str(len(plain)),
           f"{label}: --count is the number of rows", r.stdout[:200])
    r = run([binary, "search", "--limit", "9", "*", image])
    tap.ok(r.stdout.decode("utf-8", "surrogateescape").splitlines() == plain[:9],
           f"{label}: --limit 9 without --sort: the first 9 rows")
    r = run([binary, "search", "--null", "*", image])
    tap.ok(r.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1] == plain,
           f"{label}: --null separates the same rows with NUL")
    # A path TSK gives two records (an extension record's name, D7) has no
    # one size: left out.
    counts = collections.Counter(rw.path for rw in rows)
    by_path = {rw.path: rw for rw in rows if counts[rw.path] == 1}
    got = uffs_paths(binary, ["--sort", "size:desc", "--limit", "7", "--type", "f", "*"], image)
    sizes = [by_path[p].size for p in got if p in by_path and by_path[p].size is not None]
    want = sorted((rw.size for rw in by_path.values() if rw.stream is None and not rw.dir
                   and rw.path in common and rw.size is not None), reverse=True)[:7]
    tap.ok(len(got) == 7 and sizes == want[:len(sizes)] and len(sizes) >= 5,
           f"{label}: --sort size:desc --limit 7: the largest files, largest first",
           f"{got}\n{sizes}\n{want}")
    got = uffs_paths(binary, ["--sort", "path", "*"], image)
    tap.ok(got == sorted(got, key=lambda p: p.encode("utf-8", "surrogateescape"))
           and sorted(got) == sorted(plain),
           f"{label}: --sort path orders the same rows by path bytes")
    asc = uffs_paths(binary, ["--sort", "frs", "-f", "csv", "-c", "frs,path", "*"], image)
    desc = uffs_paths(binary, ["--sort", "-frs", "-f", "csv", "-c", "frs,path", "*"], image)
    keys = [int(x.split(",")[0]) for x in asc[1:]]
    keys_d = [int(x.split(",")[0]) for x in desc[1:]]
    tap.ok(keys == sorted(keys) and keys_d == sorted(keys, reverse=True) and asc[0] == "frs,path",
           f"{label}: --sort frs and -frs, csv with a header")
    r = run([binary, "search", "-c", "path,size", "--type", "f", "--size", ">1M", "*", image])
    lines = r.stdout.decode("utf-8", "surrogateescape").splitlines()
    tap.ok(all(re.search(r"  [0-9.]+[KMGTP]$", ln) for ln in lines),
           f"{label}: text columns print sizes for people (1.5M)", lines[:5])


# ---- find over an ntfs-3g mount ----

def mount_image(image, where):
    if not os.path.exists("/dev/fuse") or not shutil.which("ntfs-3g"):
        return "no /dev/fuse or ntfs-3g"
    r = run(["ntfs-3g", "-o", "ro", image, where], timeout=60)
    if r.returncode != 0:
        return "ntfs-3g could not mount: " + r.stderr.decode(errors="replace").strip()[:100]
    return None


def unmount(where):
    for cmd in (["fusermount", "-u", where], ["umount", where]):
        if shutil.which(cmd[0]) and run(cmd).returncode == 0:
            return


def check_find(tap, binary, label, image):
    where = tempfile.mkdtemp(prefix="uffs-search-mnt-")
    why = mount_image(image, where)
    if why:
        tap.skip(f"{label}: find over an ntfs-3g mount", why)
        os.rmdir(where)
        return
    try:
        r = subprocess.run(["find", where, "-mindepth", "1", "-printf", "/%P\t%s\t%y\n"],
                           stdout=subprocess.PIPE, timeout=120)
        found = {}
        for ln in r.stdout.decode("utf-8", "surrogateescape").splitlines():
            p, size, kind = ln.rsplit("\t", 2)
            found[p] = (int(size), kind)
        for pattern in ("*.txt", "*", "[a-m]*"):
            rx = glob_regex(pattern, False, True)
            want = sorted(p for p in found if rx.match(fold(p.rsplit("/", 1)[1])))
            out = run([binary, "search", "-f", "tsv", "-c", "path,size,type", pattern, image])
            got = {}
            for ln in out.stdout.decode("utf-8", "surrogateescape").splitlines()[1:]:
                p, size, kind = ln.rsplit("\t", 2)
                got[p] = (int(size), kind)
            both = [p for p in want if p in got]
            sizes_bad = [p for p in both if found[p][1] == "f" and got[p][0] != found[p][0]]
            missing = [p for p in want if p not in got]
            tap.ok(not missing and not sizes_bad and len(both) > 0,
                   f"{label}: search {pattern}: every name find sees on the ntfs-3g mount "
                   f"({len(both)}), file sizes equal",
                   [f"missing: {p}" for p in missing[:10]] + [f"size: {p}" for p in sizes_bad[:10]])
    finally:
        unmount(where)
        try:
            os.rmdir(where)
        except OSError:
            pass


def check_deleted(tap, binary, images):
    """--deleted adds the names fls -d lists (names of deleted records)."""
    for label, image in images:
        r = run(["fls", "-r", "-p", "-d", image])
        want = set()
        for ln in r.stdout.decode("utf-8", "surrogateescape").splitlines():
            head, _, path = ln.partition("\t")
            if ":" in path.rsplit("/", 1)[-1] or path.endswith("/.") or not path:
                continue
            want.add("/" + path)
        alive = set(uffs_paths(binary, ["*"], image))
        got = set(uffs_paths(binary, ["--deleted", "*"], image)) - alive
        if not want and not got:
            continue
        ok = want - alive <= got
        tap.ok(ok and got, f"{label}: --deleted adds the {len(want - alive)} deleted names fls -d lists",
               sorted((want - alive) - got)[:10])


def check_captured_mft(tap, binary, image):
    """A captured $MFT (icat IMAGE 0) has no $UpCase: the built-in table
    folds, says --verbose, and finds what the volume's own table finds."""
    r = run(["icat", image, "0"])
    if r.returncode != 0 or not r.stdout:
        tap.skip("search on a captured $MFT", "icat could not extract $MFT")
        return
    with tempfile.NamedTemporaryFile(suffix=".mft", delete=False) as f:
        f.write(r.stdout)
        mft = f.name
    try:
        for pattern in ("*.TXT", "CAF*", "*\u00c9*", "[\u00e0-\u00ff]*"):
            v = run([binary, "search", "-v", pattern, image])
            m = run([binary, "search", "-v", pattern, mft])
            tap.ok(m.stdout == v.stdout and m.stdout
                   and b"built-in table" in m.stderr and b"volume's $UpCase" in v.stderr,
                   f"search {pattern}: a captured $MFT (built-in table) finds what the "
                   "volume (its $UpCase) finds", m.stderr[-300:] + v.stderr[-300:])
    finally:
        os.unlink(mft)


def check_own_upcase(tap, binary, image):
    """The volume's own $UpCase decides: in a copy of the image whose table
    maps e-acute to itself (patched where istat and fsstat place it),
    'CAF\u00c9*' no longer finds 'caf\u00e9', while e-grave still folds."""
    st = run(["istat", image, "10"]).stdout.decode(errors="replace")
    fs = run(["fsstat", image]).stdout.decode(errors="replace")
    m = re.search(r"Cluster Size: (\d+)", fs)
    data = st.split("Type: $DATA (128-1)", 1)
    if not m or len(data) < 2:
        tap.skip("the volume's own $UpCase decides", "istat/fsstat gave no $UpCase runs")
        return
    clusters = [int(x) for x in re.findall(r"\d+", data[1].split("\n", 1)[1].split("Type:")[0])]
    offset = clusters[0] * int(m.group(1)) + 2 * 0xE9
    with tempfile.NamedTemporaryFile(suffix=".img", delete=False) as f:
        patched = f.name
    try:
        shutil.copyfile(image, patched)
        with open(patched, "r+b") as f:
            f.seek(offset)
            before = f.read(2)
            f.seek(offset)
            f.write(bytes([0xE9, 0x00]))
        orig = uffs_paths(binary, ["CAF\u00c9*"], image)
        now = uffs_paths(binary, ["CAF\u00c9*"], patched)
        exact = uffs_paths(binary, ["--case", "caf\u00e9*"], image)
        tap.ok(before == bytes([0xC9, 0x00]) and orig and now == [] and exact
               and uffs_paths(binary, ["CAF\u00c9*"], patched + "") == []
               and uffs_paths(binary, ["caf\u00e9*"], patched) == exact,
               "the volume's own $UpCase decides (e-acute patched to fold to itself: "
               f"{len(orig)} -> {len(now)} matches)", f"{before!r} {orig} {now} {exact}")
    finally:
        os.unlink(patched)


def check_saved_index(tap, binary, images):
    """A saved index (uffs index) searches as its volume does, folding
    through the $UpCase saved with it."""
    if run([binary, "index", "--help"]).returncode != 0:
        tap.skip("search on a saved index", "this build has no uffs index")
        return
    work = tempfile.mkdtemp(prefix="uffs-search-idx-")
    try:
        for label, image in images:
            saved = os.path.join(work, label + ".uffsidx")
            r = run([binary, "index", image, "-o", saved])
            if r.returncode not in (0, 3):
                tap.ok(False, f"{label}: uffs index", r.stderr)
                continue
            bad, rows = [], 0
            for args in (["*.TXT"], ["--streams", "-f", "csv", "-c", "path,size,modified",
                                     "--sort", "path", "*"],
                         ["--deleted", "--type", "f", "--size", ">1K", "*"],
                         ["--path", "/names/**"]):
                a = run([binary, "search"] + args + [image]).stdout
                b = run([binary, "search"] + args + [saved]).stdout
                if a != b:
                    bad.append(" ".join(args))
                rows += a.count(b"\n")
            v = run([binary, "search", "-v", "CAF*", saved]).stderr
            tap.ok(not bad and rows > 0 and b"the source's $UpCase" in v,
                   f"{label}: a saved index searches as its volume ({rows} rows), with its $UpCase",
                   bad + [v[-200:]])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs", required=True)
    args = ap.parse_args()
    tap = Tap()
    binary = os.path.abspath(args.uffs)
    if not shutil.which("fls"):
        tap.skip("search against fls", "The Sleuth Kit is not installed")
        return tap.done()
    r = run([binary, "search", "--help"])
    tap.ok(r.returncode == 0 and b"--regex" in r.stdout, "search --help")
    r = run([binary, "search", "x"])
    tap.ok(r.returncode == 2 and b"no SOURCE" in r.stderr, "search without a source: exit 2")
    r = run([binary, "search", "--size", "1X", "x", "y"])
    tap.ok(r.returncode == 2 and b"--size" in r.stderr, "a bad --size: exit 2, named")
    r = run([binary, "search", "--modified", "2024-13-01", "x", "y"])
    tap.ok(r.returncode == 2 and b"--modified" in r.stderr, "a bad date: exit 2, named")
    images = [(os.path.basename(p), decompress(p)) for p in committed_images()]
    r = run([binary.encode(), b"search", b"a\xff*", images[0][1].encode()])
    tap.ok(r.returncode == 2 and b"UTF-8" in r.stderr and not r.stdout,
           "a pattern that is not UTF-8: exit 2 before reading", r.stderr)
    r = run([binary, "search", "--regex", "(", images[0][1]])
    tap.ok(r.returncode in (2,) and r.stderr.count(b"\n") == 1, "a bad regex: exit 2, one line",
           r.stderr)
    # The image with the hard cases (Unicode, NFC and NFD twins) when there.
    first = dict(images).get("hardcases.img.xz", images[0][1])
    for label, image in images:
        check_image(tap, binary, label, image)
    check_find(tap, binary, "hardcases.img.xz", first)
    check_deleted(tap, binary, images)
    check_captured_mft(tap, binary, first)
    check_own_upcase(tap, binary, first)
    check_saved_index(tap, binary, images)
    two = [images[0][1], images[1][1]]
    r = run([binary, "search", "--count", "*"] + two)
    want = "".join(f"{p}:{len(uffs_paths(binary, ['*'], p))}\n" for p in two)
    tap.ok(r.stdout.decode() == want, "--count of two sources: one line each, in order",
           r.stdout.decode() + "\n" + want)
    r = run([binary, "search", "*.txt"] + two)
    want = "".join("\n".join(uffs_paths(binary, ["*.txt"], p)) + "\n" for p in two)
    tap.ok(r.stdout.decode("utf-8", "surrogateescape") == want,
           "two sources searched at once: results in argument order")
    r = run([binary, "search", "-E", "^caf.\\.txt$", first])
    if b"not available" in r.stderr:
        tap.skip("--regex", "this build has no PCRE2")
    else:
        got = r.stdout.decode("utf-8", "surrogateescape").splitlines()
        rows = body_rows(first)
        want = sorted(rw.path for rw in rows if rw.stream is None
                      and re.search("^caf.\\.txt$", rw.name, re.I))
        tap.ok(sorted(got) == want, f"--regex ^caf.\\.txt$: {len(want)} rows as Python's re",
               f"{got}\n{want}")
    shared = shared_images()
    if shared is None:
        tap.skip("search on ../shared/ntfs-samples images", "not present")
    else:
        for p in shared:
            label = os.path.basename(p)
            try:
                check_image(tap, binary, label, decompress(p))
            except RuntimeError as e:
                tap.ok(False, f"{label}: search runs", e)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
