#!/usr/bin/env python3
"""Agreement with The Sleuth Kit, path by path and field by field.

For every committed image and every image in ../shared/ntfs-samples, compares
  uffs list                 with  fls -r -p -u   (allocated names and paths)
  uffs list -f bodyfile     with  fls -r -m / -u (sizes, times, record numbers)
  uffs list -d (deleted)    with  fls -r -p -d   (deleted names)
and captured $MFT files with the .fls listing beside them.

The diffs must be empty once the documented differences are accounted for.
Each difference is a rule below (D1..D7, see docs/tsk-differences.md), and
each rule asserts what it excuses instead of dropping lines blindly.
"""
import argparse
import collections
import datetime
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (Tap, committed_images, decompress, run, shared_images,  # noqa: E402
                    shared_mft_files)

TSK_WRAPPED_TIME_MIN = 2**31  # D2: times TSK wrapped around (pre-1970, e.g. 0)
# D1: with a 48-byte $STANDARD_INFORMATION, TSK reads the owner id from the
# 4 bytes after it: the next attribute's type code, or the end marker.
TSK_SHORT_SI_UIDS = {str(t) for t in range(0x10, 0x110, 0x10)} | {"4294967295"}


def fls(args, image):
    r = run(["fls"] + args + [image])
    return r.stdout.decode("utf-8", "surrogateescape").splitlines()


def uffs(binary, args, image):
    r = run([binary, "list"] + args + [image])
    if r.returncode not in (0, 3):
        raise RuntimeError(f"uffs {args} {image}: exit {r.returncode}: "
                           f"{r.stderr.decode(errors='replace')}")
    return r.stdout.decode("utf-8", "surrogateescape").splitlines()


def fls_paths(lines):
    """fls -p lines -> (inode, path) pairs; the type column is not compared
    (it says where TSK found the name, not what the file is)."""
    out = []
    for line in lines:
        head, _, path = line.partition("\t")
        inode = head.split()[-1].rstrip(":").replace("(realloc)", "")
        out.append((inode.split("-")[0], path))
    return out


def dot_stream_rule(paths):
    """D3: TSK lists a directory's named stream a second time through its '.'
    entry ('dir/.:s'). Each such line must have its 'dir:s' twin."""
    keep, dropped, bad = [], 0, []
    names = {p for p in paths}
    for p in paths:
        m = re.match(r"^(.*)/\.(:[^/]*)$", p)
        if m:
            if m.group(1) + m.group(2) not in names:
                bad.append(p)
            dropped += 1
            continue
        keep.append(p)
    return keep, dropped, bad


def compare_paths(tap, name, binary, image):
    pairs = fls_paths(fls(["-r", "-p", "-u"], image))
    d7 = [p for ino, p in pairs if is_mft_extension(binary, image, ino)]
    f = [p for ino, p in pairs if not is_mft_extension(binary, image, ino)]
    u = [line[1:] for line in uffs(binary, [], image)]
    f, _, bad = dot_stream_rule(f)
    tap.ok(not bad, f"{name}: every 'dir/.:stream' fls line has its 'dir:stream' twin (D3)", bad)
    fc, uc = collections.Counter(f), collections.Counter(u)
    only_f = sorted((fc - uc).elements())
    only_u = sorted((uc - fc).elements())
    # D6: allocated files whose parent is gone: TSK lists them nowhere.
    excused_u = [p for p in only_u if p.startswith("$OrphanFiles/")]
    rest_u = [p for p in only_u if p not in excused_u]
    tap.ok(not only_f and not rest_u,
           f"{name}: allocated paths agree with fls -r -p -u "
           f"({len(f)} lines; {len(excused_u)} allocated orphans (D6), {len(d7)} D7)",
           "\n".join([f"only fls:  {p}" for p in only_f[:20]] +
                     [f"only uffs: {p}" for p in rest_u[:20]]))
    return u


def is_mft_extension(binary, image, frs):
    """D7: TSK takes a record whose base reference names record 0 ($MFT, a
    fragmented $MFT's extension records) for a base record of its own and
    lists its names again under its own number. Reads the record header
    (through the $MFT extents uffs info reports) to confirm."""
    if frs is None or not frs.isdigit() or frs in ("0", "5"):
        return False
    key = (image, frs)
    if key not in _ext_cache:
        _ext_cache[key] = _read_is_mft_extension(binary, image, frs)
    return _ext_cache[key]


_ext_cache = {}
_info_cache = {}


def _read_is_mft_extension(binary, image, frs):
    if image not in _info_cache:
        _info_cache[image] = run([binary, "info", image]).stdout.decode()
    info = _info_cache[image]
    rec_size = int(re.search(r"record size:\s+(\d+)", info).group(1))
    off = int(frs) * rec_size
    for m in re.finditer(r"mft bytes (\d+)\+(\d+) at volume byte (\d+)", info):
        start, length, vol = map(int, m.groups())
        if start <= off < start + length:
            with open(image, "rb") as f:
                f.seek(vol + off - start)
                hdr = f.read(48)
            base = int.from_bytes(hdr[32:40], "little")
            return hdr[:4] == b"FILE" and base != 0 and base & 0xFFFFFFFFFFFF == 0
    return False


def parse_body(line):
    f = line.split("|")
    # Names may hold '|' (TSK does not escape it): the last 9 fields are fixed.
    return {"name": "|".join(f[1:-9]), "inode": f[-9], "mode": f[-8], "uid": f[-7],
            "gid": f[-6], "size": f[-5], "times": f[-4:]}


def normalise_pair(fl, ul, problems):
    """Applies D1, D2, D4 to one fls line given its uffs twin."""
    if fl["uid"] != ul["uid"]:
        if fl["uid"] in TSK_SHORT_SI_UIDS and ul["uid"] == "0":
            fl["uid"] = "0"
    for i, (ft, ut) in enumerate(zip(fl["times"], ul["times"])):
        if ft != ut and ut == "0" and int(ft) >= TSK_WRAPPED_TIME_MIN:
            fl["times"][i] = "0"
    # D4: the name-type letter says whether TSK found the name in a directory
    # index ('r'/'d') or through the parent reference ('-'); uffs reads no
    # index. Only the letter may differ, and only for allocated names.
    if fl["mode"] != ul["mode"] and fl["mode"][1:] == ul["mode"][1:] \
            and fl["mode"][0] == "-" and "(deleted" not in fl["name"]:
        fl["mode"] = ul["mode"]


def compare_bodyfile(tap, name, binary, image):
    f_lines = fls(["-r", "-m", "/", "-u"], image)
    u_lines = uffs(binary, ["-f", "bodyfile"], image)
    f_paths = [parse_body(x)["name"] for x in f_lines]
    keep, _, bad = dot_stream_rule(f_paths)
    keep = set(keep)
    f_rows = [parse_body(x) for x in f_lines if parse_body(x)["name"] in keep]
    u_rows = [parse_body(x) for x in u_lines]
    # D5: hard links. TSK prints, for every name of a record, the $FILE_NAME
    # line of the record's last name (and none if that one sits in an
    # extension record); uffs prints each name's own. For records with several
    # names the $FILE_NAME lines are compared by count only.
    names_per_inode = collections.Counter(
        r["inode"].split("-")[0] for r in u_rows if "($FILE_NAME)" in r["name"])
    multi = {i for i, n in names_per_inode.items() if n > 1}

    def key(r):
        return (r["name"], r["inode"])

    def is_multi_fn(r):
        return "($FILE_NAME)" in r["name"] and r["inode"].split("-")[0] in multi

    u_by = {key(r): r for r in u_rows if not is_multi_fn(r)}
    f_bare = {(r["name"], r["inode"]): r for r in f_rows
              if "-" not in r["inode"] and "($FILE_NAME)" not in r["name"]}
    d10 = 0
    # D8: TSK gives attributes that live in extension records new ids; uffs
    # prints the id stored on disk. Match such lines by name and record, and
    # only for records that have an $ATTRIBUTE_LIST (checked with istat).
    u_by_name = collections.defaultdict(list)
    for r in u_rows:
        if not is_multi_fn(r):
            u_by_name[(r["name"], r["inode"].split("-")[0])].append(r)
    attr_list_cache = {}

    def has_attr_list(frs):
        if frs not in attr_list_cache:
            out = run(["istat", image, frs]).stdout.decode(errors="replace")
            attr_list_cache[frs] = "$ATTRIBUTE_LIST" in out
        return attr_list_cache[frs]

    def d8_twin(fr):
        frs, _, rest = fr["inode"].partition("-")
        cands = [u for u in u_by_name.get((fr["name"], frs), [])
                 if u["inode"].split("-")[1:2] == rest.split("-")[:1]]
        if len(cands) == 1 and has_attr_list(frs):
            return cands[0]
        return None
    d8 = 0
    problems = []
    matched = 0
    seen = set()
    deferred = []
    for fr in f_rows:
        if is_multi_fn(fr):
            continue
        if (fr["name"], fr["inode"]) in f_bare:
            deferred.append(fr)
            continue
        ur = u_by.get(key(fr))
        if ur is None and is_mft_extension(binary, image, fr["inode"].split("-")[0]):
            continue  # D7
        if ur is None:
            ur = d8_twin(fr)
            if ur is None:
                problems.append(f"only fls:  {fr}")
                continue
            d8 += 1
            fr = dict(fr, inode=ur["inode"])
        seen.add(key(ur))
        normalise_pair(fr, ur, problems)
        if fr != ur:
            problems.append(f"fls:  {fr}\nuffs: {ur}")
        else:
            matched += 1
    for fr in deferred:
        ur = u_by.get(key(fr))
        if ur is None and fr["size"] == "0":
            # D10: TSK rejects a run longer than the volume, even a sparse
            # one, and drops the whole $DATA attribute: it prints a bare line
            # of size 0 where uffs prints the stream.
            twins = [u for u in u_by_name.get((fr["name"], fr["inode"]), [])
                     if u["inode"].startswith(fr["inode"] + "-128-")]
            err = run(["istat", image, fr["inode"]]).stderr.decode(errors="replace")
            if twins and "larger than" in err:
                seen.update(key(u) for u in twins)
                d10 += 1
                continue
        if ur is None and is_mft_extension(binary, image, fr["inode"]):
            continue  # D7
        seen.add(key(fr))
        if ur is None:
            problems.append(f"only fls:  {fr}")
            continue
        normalise_pair(fr, ur, problems)
        if fr != ur:
            problems.append(f"fls:  {fr}\nuffs: {ur}")
        else:
            matched += 1
    for k, ur in u_by.items():
        if k in seen:
            continue
        frs = ur["inode"].split("-")[0]
        # D9: TSK prints no $FILE_NAME line when that attribute sits in an
        # extension record (it renumbers the attribute, see D8).
        if "($FILE_NAME)" in ur["name"] and has_attr_list(frs):
            continue

        if ur["name"].startswith("/$OrphanFiles/") and "(deleted" not in ur["name"]:
            continue  # D6
        problems.append(f"only uffs: {ur}")
    u_fn = collections.Counter(r["inode"].split("-")[0] for r in u_rows
                               if "($FILE_NAME)" in r["name"])
    for i in multi:
        if u_fn[i] != names_per_inode[i]:
            problems.append(f"record {i}: {u_fn[i]} $FILE_NAME lines for {names_per_inode[i]} names")
    tap.ok(not problems,
           f"{name}: body file agrees with fls -r -m / -u ({matched} lines field by field, "
           f"{len(multi)} hard-linked records by count, {d8} renumbered ids (D8), {d10} D10)",
           "\n".join(problems[:15]))


def compare_deleted(tap, name, binary, image):
    f = [p for _, p in fls_paths(fls(["-r", "-p", "-d"], image))]
    rows = uffs(binary, ["-d", "-f", "tsv", "-c", "path,deleted"], image)[1:]
    u = [r.split("\t")[0][1:] for r in rows if r.endswith("\t1")]
    # Without --deleted, runs of records the bitmap marks unused are not
    # read: the allocated rows must be the same either way.
    live_all = sorted(r.split("\t")[0] for r in rows if r.endswith("\t0"))
    live_skip = sorted(uffs(binary, [], image))
    tap.ok(live_all == live_skip,
           f"{name}: skipping unused records changes no allocated row ({len(live_skip)} rows)",
           "\n".join(sorted(set(live_all) ^ set(live_skip))[:10]))
    f, _, bad = dot_stream_rule(f)
    fc, uc = collections.Counter(f), collections.Counter(u)
    only_f = sorted((fc - uc).elements())
    only_u = sorted((uc - fc).elements())
    tap.ok(not only_f and not only_u,
           f"{name}: deleted paths agree with fls -r -p -d ({len(f)} lines)",
           "\n".join([f"only fls:  {p}" for p in only_f[:20]] +
                     [f"only uffs: {p}" for p in only_u[:20]]))


def fls_file_rows(path):
    """A captured .fls listing (fls -r -p -l -u of the original volume):
    path -> (size, uid, mtime as a datetime with its zone)."""
    rows = {}
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            rows.setdefault(cols[1], []).append(cols)
    return rows


def parse_local(s):
    m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \((\w+)\)", s)
    if not m or m.group(1).startswith("0000"):
        return None
    offset = {"UTC": 0, "MSK": 3}[m.group(2)]
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
    return int((t - datetime.timedelta(hours=offset)).replace(
        tzinfo=datetime.timezone.utc).timestamp())


def compare_mft_fls(tap, name, binary, mft, fls_file):
    expected = fls_file_rows(fls_file)
    rows = uffs(binary, ["-f", "tsv", "-c", "path,size,modified"], mft)[1:]
    got = {}
    for r in rows:
        p, size, mtime = r.split("\t")
        got.setdefault(p[1:], []).append((size, mtime))
    problems = []
    exp_paths = collections.Counter({p: len(v) for p, v in expected.items()})
    got_paths = collections.Counter({p: len(v) for p, v in got.items()})
    for p in sorted((exp_paths - got_paths).elements()):
        problems.append(f"only .fls:  {p}")
    for p in sorted((got_paths - exp_paths).elements()):
        problems.append(f"only uffs: {p}")
    checked = 0
    for p, cols_list in expected.items():
        for cols, (size, mtime) in zip(cols_list, got.get(p, [])):
            want_m = parse_local(cols[2])
            have_m = None
            if mtime and not mtime.startswith("1601"):
                have_m = int(datetime.datetime.strptime(mtime[:19], "%Y-%m-%dT%H:%M:%S")
                             .replace(tzinfo=datetime.timezone.utc).timestamp())
            if cols[6] != size or (want_m is not None and want_m != have_m):
                problems.append(f"{p}: .fls size {cols[6]} mtime {cols[2]}; uffs {size} {mtime}")
            checked += 1
    tap.ok(not problems, f"{name}: paths, sizes and modified times agree with {os.path.basename(fls_file)} ({checked} lines)",
           "\n".join(problems[:20]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs", required=True)
    args = ap.parse_args()
    tap = Tap()
    images = [(os.path.basename(p), p) for p in committed_images()]
    shared = shared_images()
    if shared is None:
        tap.skip("shared sample images", "../shared/ntfs-samples absent")
    else:
        images += [("shared/" + os.path.basename(p), p) for p in shared]
    for name, path in images:
        raw = decompress(path)
        compare_paths(tap, name, args.uffs, raw)
        compare_bodyfile(tap, name, args.uffs, raw)
        compare_deleted(tap, name, args.uffs, raw)
    mfts = shared_mft_files()
    if mfts is None:
        tap.skip("captured $MFT listings", "../shared/ntfs-samples absent")
    else:
        for m in mfts:
            fls_file = m[:-4] + ".fls"
            if os.path.exists(fls_file):
                compare_mft_fls(tap, "shared/" + os.path.basename(m), args.uffs, m, fls_file)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
