#!/usr/bin/env python3
"""The library (include/uffs.h): installed with `meson install` into a
scratch root, found through its pkg-config file, the example program of
docs/api.md compiled and run, and every entry it gives compared with the
rows of `uffs list` (which test_tsk.py compares with The Sleuth Kit)."""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (SHARED, TOP, Tap, committed_images, decompress, run,  # noqa: E402
                    shared_images)

CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1"]


def install(build, root):
    r = run(["meson", "install", "-C", build, "--destdir", root,
             "--no-rebuild", "--quiet"], timeout=300)
    return r.returncode == 0, r.stdout + r.stderr


def pkg_config(root):
    pcs = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
           if f == "uffs.pc"]
    if not pcs:
        return None, "no uffs.pc installed"
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]),
               PKG_CONFIG_SYSROOT_DIR=root)
    r = subprocess.run(["pkg-config", "--cflags", "--libs", "uffs"], env=env,
                       capture_output=True, text=True)
    if r.returncode:
        return None, r.stderr
    flags = r.stdout.split()
    libdirs = [f[2:] for f in flags if f.startswith("-L")]
    return flags + [f"-Wl,-rpath,{d}" for d in libdirs], ""


def compile_c(src, out, flags, cc="cc"):
    r = run(cc.split() + CFLAGS + ["-o", out, src] + flags)
    return r.returncode == 0, r.stderr.decode()


def example_from_doc(path):
    text = open(os.path.join(TOP, "docs", "api.md")).read()
    m = re.search(r"```c\n(/\* biggest:.*?)```", text, re.S)
    with open(path, "w") as f:
        f.write(m.group(1) if m else "")
    return bool(m)


def unescape(s):
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n"}.get(
        m.group(1), m.group(1)), s)


def walk(binary, image, *opts):
    r = run([binary] + list(opts) + [image])
    if r.returncode:
        return None, r.stderr.decode()
    rows = []
    for line in r.stdout.decode("utf-8", "surrogatepass").split("\n")[:-1]:
        f = line.split("\t")
        rows.append((unescape(f[0]), int(f[1]), int(f[2]), int(f[3]),
                     int(f[4]), int(f[5]), f[6], unescape(f[7]), int(f[8])))
    return rows, r.stderr.decode()


def listing(uffs, image, deleted):
    args = [uffs, "list", "-q", "-f", "jsonl", "-c",
            "path,frs,size,allocated,links,streams,type,deleted,name,"
            "sequence,stream"] + (["--deleted"] if deleted else []) + [image]
    r = run(args)
    rows = []
    for line in r.stdout.decode().splitlines():
        j = json.loads(line)
        if j["type"] == "virtual" or (j["name"].startswith("OrphanFile-") and
                                      j["path"].startswith("/$OrphanFiles/")
                                      and j["frs"] != 0 and
                                      j["path"].count("/") == 2 and
                                      j["links"] == 0):
            continue  # made-up rows the library does not give
        rows.append(j)
    return rows


def index_root_rows(uffs, image, deleted):
    """Paths of the listing's rows for named index roots ($Quota:$O): in
    the body file their inode field is FRS-144-ID (The Sleuth Kit's)."""
    r = run([uffs, "list", "-q", "-f", "bodyfile"] +
            (["--deleted"] if deleted else []) + [image])
    out = set()
    for line in r.stdout.decode("utf-8", "surrogatepass").splitlines():
        f = line.split("|")
        if len(f) > 3 and re.fullmatch(r"\d+-144-\d+", f[2]):
            out.add(f[1].removesuffix(" (deleted)"))
    return out


def compare(tap, uffs, walker, image, name, deleted):
    opts = ["--deleted"] if deleted else []
    got, err = walk(walker, image, *opts)
    if got is None:
        tap.ok(False, f"{name}: the library opens it", err)
        return
    roots = index_root_rows(uffs, image, deleted)
    rows = listing(uffs, image, deleted)
    want = [j for j in rows if not (j["stream"] and j["path"] in roots)]
    want_set = {(j["path"], j["frs"], j["size"], j["allocated"], j["links"],
                 j["streams"], j["type"] + (",deleted" if j["deleted"] else ""),
                 j["name"], j["sequence"]) for j in want}
    got_set = set(got)
    missing = want_set - got_set
    # A name whose record has neither unnamed $DATA nor an index root has
    # no bare row in the listing (only its streams'); the library still
    # gives the name an entry, of size 0.
    bare = {j["path"] for j in rows if not j["stream"]}
    with_streams = {j["path"][:-len(j["stream"]) - 1] for j in rows
                    if j["stream"]}
    extra = {g for g in got_set - want_set
             if not (g[0] not in bare and g[0] in with_streams and
                     g[2] == 0 and g[3] == 0)}
    tap.ok(not missing and not extra and len(got) == len(got_set),
           f"{name}{' --deleted' if deleted else ''}: the library's {len(got)} "
           "entries are the listing's rows",
           "\n".join([f"missing {m}" for m in sorted(missing)[:10]] +
                     [f"extra {x}" for x in sorted(extra)[:10]]))


SEARCHES = [
    (["*.txt"], []), (["FILE00*"], []), (["*.TXT"], ["--case"]),
    (["deep/**"], ["--path"]), (["**/level0?/*"], ["--path"]),
    (["42"], ["--contains"]), (["*"], []), (["[a-c]*"], []),
    (["*:*"], []), (["$*"], ["--case"]),
]


def check_search(tap, uffs, walker, image, work):
    """uffs_search_new against uffs search (test_search.py checks that one
    against The Sleuth Kit), with and without named streams."""
    cli_flag = {"--case": "--case", "--path": "--path",
                "--contains": "--contains"}
    for pattern, flags in SEARCHES:
        for streams in (False, True):
            args = ["--search", pattern[0]] + flags + (
                [] if streams else ["--no-streams"])
            got, err = walk(walker, image, *args)
            r = run([uffs, "search", "-q", "-f", "jsonl", "-c", "path,stream"]
                    + [cli_flag[f] for f in flags] +
                    (["--streams"] if streams else []) + ["--", pattern[0],
                                                          image])
            want = {json.loads(ln)["path"] for ln in
                    r.stdout.decode().splitlines()}
            have = {g[0] for g in got} if got is not None else None
            tap.ok(have is not None and r.returncode in (0, 3) and
                   have == want,
                   f"library search {pattern[0]} {' '.join(flags)}"
                   f"{' with streams' if streams else ''}: the paths uffs "
                   f"search finds ({len(want)})",
                   f"only library: {sorted((have or set()) - want)[:8]}\n"
                   f"only uffs search: {sorted(want - (have or set()))[:8]}"
                   f"\n{err}")


def check_example(tap, uffs, biggest, image):
    r = run([biggest, image])
    out = r.stdout.decode("utf-8", "surrogatepass").splitlines()
    files = [j for j in listing(uffs, image, False)
             if j["type"] == "file" and not j["stream"]]
    sizes = sorted((j["size"] for j in files), reverse=True)[:10]
    size_of = {}
    for j in files:
        size_of.setdefault(j["path"], set()).add(j["size"])
    got = [line.split("\t", 1) for line in out]
    tap.ok(r.returncode == 0 and [int(g[0]) for g in got] == sizes and
           all(int(g[0]) in size_of.get(g[1], ()) for g in got),
           "docs/api.md's example prints the ten largest files of the listing",
           "\n".join(out[:12]) + r.stderr.decode())


def check_containers(tap, uffs, walker, image, work):
    """The library opens containers and shadow-copy stores as the command
    does (both through the one source layer)."""
    want, _ = walk(walker, image)
    made = []
    if shutil.which("qemu-img"):
        q = os.path.join(work, "c.qcow2")
        if run(["qemu-img", "convert", "-O", "qcow2", image, q]).returncode == 0:
            made.append(("qcow2", q))
    if shutil.which("ewfacquire"):
        e = os.path.join(work, "c")
        if run(["ewfacquire", "-u", "-q", "-t", e, image]).returncode == 0:
            made.append(("E01", e + ".E01"))
    if not made or "QCOW" not in run([uffs, "--version"]).stdout.decode():
        tap.skip("the library on containers", "no container tools or support")
    for kind, path in made:
        got, err = walk(walker, path)
        tap.ok(got is not None and got == want,
               f"the library opens a {kind} container: the raw image's entries",
               err)
    vss = os.path.join(SHARED, "vss", "vsstest.qcow2")
    if not os.path.exists(vss) or not made:
        tap.skip("the library on shadow copies", "no sample or no support")
        return
    for n in ("1", "2"):
        got, err = walk(walker, vss, "--vss", n)
        lines = run([uffs, "list", "--vss", n, vss]).stdout.decode(
            "utf-8", "surrogatepass").splitlines()
        # A file with named streams only (no unnamed $DATA) is listed as
        # its streams; the library gives its name an entry of its own.
        paths = set(lines) | {p.split(":")[0] for p in lines}
        tap.ok(got is not None and {g[0] for g in got} <= paths and
               len({g[0] for g in got}) > 20,
               f"the library reads shadow-copy store {n} (vss_store = {n}): "
               "the names uffs list --vss shows", err)
    got, err = walk(walker, vss, "--vss", "3")
    tap.ok(got is None and "no such shadow-copy store" in err,
           "the library: a store that is not there is an error", err)


def journal_record(usn, name, frs, seq, parent, pseq, reason):
    """A USN_RECORD_V2, as Microsoft documents it."""
    nl = 2 * len(name)
    length = (60 + nl + 7) & ~7
    b = struct.pack("<IHHQQqQIIIIHH", length, 2, 0, (seq << 48) | frs,
                    (pseq << 48) | parent, usn, 132000000000000000,
                    reason, 0, 0, 0x20, nl, 60)
    b += name.encode("utf-16-le")
    return b + b"\0" * (length - len(b))


def put_journal(image, work, records, journal_id):
    """$Extend/$UsnJrnl's $Max and $J (records from USN 0, in pages)."""
    ntfscp = shutil.which("ntfscp") or "/sbin/ntfscp"
    data = bytearray()
    for rec in records:
        data += journal_record(len(data), *rec)
    data += b"\0" * (-len(data) % 4096)
    jfile, maxfile = os.path.join(work, "J"), os.path.join(work, "Max")
    open(jfile, "wb").write(bytes(data))
    open(maxfile, "wb").write(struct.pack("<QQQq", 32 << 20, 8 << 20, journal_id, 0))
    a = run([ntfscp, "-f", "-q", "-N", "$Max", image, maxfile, "/$Extend/$UsnJrnl"])
    b = run([ntfscp, "-f", "-q", "-N", "$J", image, jfile, "/$Extend/$UsnJrnl"])
    return a.returncode == 0 and b.returncode == 0


def check_update(tap, uffs, updater, walker, work):
    """uffs_db_update and uffs_db_update_file run uffs index --update's
    engine: a file added with ntfscp and journaled is in the updated index,
    whose entries are a fresh index's; a recreated journal rescans."""
    ntfscp = shutil.which("ntfscp") or "/sbin/ntfscp"
    img = os.path.join(work, "upd.img")
    shutil.copyfile(decompress(os.path.join(TOP, "images", "hardcases.img.xz")), img)
    first = [("old.txt", 64, 1, 5, 5, 0x100)]
    if not put_journal(img, work, first, 0x1DA0000000000001):
        tap.ok(False, "ntfscp wrote a journal for the library's update")
        return
    idx = os.path.join(work, "upd.idx")
    run([uffs, "index", "-q", img, "-o", idx])
    newfile = os.path.join(work, "lib-new.txt")
    open(newfile, "wb").write(b"added for the library's update\n")
    run([ntfscp, "-f", "-q", img, newfile, "/lib-new.txt"])
    rows = run([uffs, "list", "-f", "csv", "-c", "frs,sequence,path", img]).stdout.decode()
    m = re.search(r"^(\d+),(\d+),\"/lib-new.txt\"$", rows, re.M)
    if not m:
        tap.ok(False, "ntfscp added /lib-new.txt", rows[-300:])
        return
    frs, seq = int(m.group(1)), int(m.group(2))
    # The page the index saw, then the new file's creation.
    data = bytearray()
    for r in first:
        data += journal_record(len(data), *r)
    data += b"\0" * (-len(data) % 4096)
    data += journal_record(len(data), "lib-new.txt", frs, seq, 5, 5, 0x80000100)
    data += b"\0" * (-len(data) % 4096)
    jfile = os.path.join(work, "J2")
    open(jfile, "wb").write(bytes(data))
    run([ntfscp, "-f", "-q", "-N", "$J", img, jfile, "/$Extend/$UsnJrnl"])
    fresh = os.path.join(work, "fresh.idx")
    run([uffs, "index", "-q", img, "-o", fresh])
    want, _ = walk(walker, fresh, "--deleted")
    for how in ("db", "file"):
        copy = os.path.join(work, f"upd-{how}.idx")
        shutil.copyfile(idx, copy)
        r = run([updater, how, copy, img])
        got, _ = walk(walker, copy, "--deleted")
        note = r.stdout.decode()
        tap.ok(r.returncode == 0 and
               "updated from the change journal: 1 records since USN 4096" in note and
               got == want and want and any(g[0] == "/lib-new.txt" for g in got) and
               (how == "file" or f"entries {len(want)}" in note),
               f"uffs_db_update{'_file' if how == 'file' else ''}: the journaled new "
               "file is in, the fresh index's entries", note + r.stderr.decode())
    # A db opened from the image itself has no index file to update.
    r = run([updater, "db", img])
    tap.ok(r.returncode == 1 and "status 1" in r.stderr.decode() and
           "index file" in r.stderr.decode(),
           "uffs_db_update of a db scanned from a volume: UFFS_ERR_USAGE, said why",
           r.stderr)
    put_journal(img, work, first, 0x1DA0000000000002)
    copy = os.path.join(work, "upd-again.idx")
    shutil.copyfile(idx, copy)
    r = run([updater, "file", copy, img])
    run([uffs, "index", "-q", img, "-o", fresh])
    want, _ = walk(walker, fresh, "--deleted")
    got, _ = walk(walker, copy, "--deleted")
    tap.ok(r.returncode == 0 and "rescanned: the journal was recreated" in r.stdout.decode()
           and got == want and want,
           "a recreated journal: the library rescans and says why",
           r.stdout + r.stderr)


# The published field values of the four single records in
# ../shared/ntfs-samples/usn (answers.md: msuhanov/dfir_ntfs's test case),
# file and parent IDs split into frs (low 48 bits) and sequence.
USN_ANSWERS = {
    "usn_1170953448.bin": (2, 1170953448, "large_file.txt", 0x80000001, 0x20,
                           0x000d000000013252, 0x00060000000009eb,
                           "2019-01-21 22:36:05", None),
    "usn_1170990440.bin": (2, 1170990440, "mpasbase.vdm", 0x80010800, 0x20,
                           0x0002000000013424, 0x00010000000006b7,
                           "2019-01-21 22:41:17", None),
    "usn_1170989584.bin": (4, 1170989584, None, 0x80000102, None,
                           0x0004000000013de8, 0x0004000000001076, None,
                           [(0, 2162688)]),
    "usn_1170955904.bin": (4, 1170955904, None, 0x80000001, None,
                           0x00020000000051c0, 0x0004000000001066, None,
                           [(0, 16384), (6242304, 32768)]),
}


def read_usn(reader, *args):
    """The records tests/api/usn.c prints, as dicts; None on failure."""
    r = run([reader] + list(args))
    out = r.stdout.decode("utf-8", "surrogateescape").splitlines()
    if r.returncode or len(out) < 2:
        return None, r.stderr.decode(errors="replace"), 0
    recs = []
    for line in out[:-2]:
        f = line.split(" ", 9)
        frs, seq = f[2].split("-")
        pfrs, pseq = f[3].split("-")
        rec = {"usn": int(f[0]), "major": int(f[1].split(".")[0]),
               "frs": int(frs), "seq": int(seq), "parent_frs": int(pfrs),
               "parent_seq": int(pseq), "reason": int(f[4], 16),
               "source_info": int(f[5])}
        if f[6] == "extents":
            rec["extents"] = [tuple(map(int, e.split("+"))) for e in f[7:]]
        else:
            rec.update(time=int(f[6]), attributes=int(f[7], 16),
                       security_id=int(f[8]), name=f[9] if len(f) > 9 else "")
        recs.append(rec)
    return recs, r.stderr.decode(errors="replace"), int(out[-2].split()[1])


def filetime_text(ft):
    import datetime
    t = datetime.datetime(1601, 1, 1) + datetime.timedelta(microseconds=ft // 10)
    return t.strftime("%Y-%m-%d %H:%M:%S")


def check_usn(tap, uffs, reader, work):
    """uffs_usn_open/next read the records `uffs usn` reads: the published
    single records field by field, plaso's $J as uffs usn -f jsonl gives it,
    a volume's journal written with ntfscp (also from a USN on), torn
    records skipped and counted, and a volume without a journal refused."""
    usn_dir = os.path.join(SHARED, "usn")
    if not os.path.isdir(usn_dir):
        tap.skip("the library reads the published USN records",
                 "../shared/ntfs-samples absent")
    else:
        bad = []
        for name, (major, usn, fname, reason, attrs, fid, pid, when, ext) in \
                sorted(USN_ANSWERS.items()):
            recs, err, _ = read_usn(reader, "--stream", os.path.join(usn_dir, name))
            want = {"usn": usn, "major": major, "frs": fid & (2**48 - 1),
                    "seq": fid >> 48, "parent_frs": pid & (2**48 - 1),
                    "parent_seq": pid >> 48, "reason": reason, "source_info": 0}
            if fname is not None:
                want.update(name=fname, attributes=attrs, security_id=0)
            else:
                want["extents"] = ext
            got = recs[0] if recs and len(recs) == 1 else None
            if got is None or {k: got.get(k) for k in want} != want or \
                    (when and filetime_text(got["time"]) != when):
                bad.append((name, got, want, err))
        tap.ok(not bad, "library: the four published USN records, every field "
               "as answers.md gives it (v2 names and times, v4 extents)", bad[:2])
        plaso = os.path.join(usn_dir, "plaso-UsnJrnl.raw")
        recs, err, damaged = read_usn(reader, plaso)
        r = run([uffs, "usn", "-f", "jsonl", plaso])
        ref = [json.loads(line) for line in r.stdout.decode().splitlines()]
        keys = ["usn", "frs", "seq", "parent_frs", "parent_seq", "reason",
                "name", "attributes", "source_info", "security_id", "major"]
        same = recs is not None and len(recs) == len(ref) > 0 and all(
            {k: g.get(k) for k in keys} == {k: w.get(k) for k in keys}
            for g, w in zip(recs, ref))
        tap.ok(same, f"library: plaso-UsnJrnl.raw ({len(ref)} records, recognised "
               "by content) as uffs usn -f jsonl reads it",
               err or [(g, w) for g, w in zip(recs or [], ref)][:1])

    # A captured $J with a torn record between two good ones.
    good1 = journal_record(0, "first.txt", 64, 1, 5, 5, 0x100)
    torn = bytearray(journal_record(len(good1), "torn.txt", 65, 1, 5, 5, 0x100))
    torn[24:32] = struct.pack("<q", 999999)  # its USN is not its offset
    good2 = journal_record(len(good1) + len(torn), "third.txt", 66, 1, 5, 5,
                           0x80000000)
    data = good1 + bytes(torn) + good2
    jfile = os.path.join(work, "torn-J")
    open(jfile, "wb").write(data + b"\0" * (-len(data) % 4096))
    recs, err, damaged = read_usn(reader, jfile)
    tap.ok(recs is not None and [x["name"] for x in recs] == ["first.txt", "third.txt"]
           and damaged == 1 and "journal byte" in err,
           "library: a torn record is warned about, counted and skipped; the "
           "next one is read", (recs, damaged, err))

    # A volume's journal, written with ntfscp.
    img = os.path.join(work, "usn-api.img")
    shutil.copyfile(decompress(os.path.join(TOP, "images", "hardcases.img.xz")), img)
    recs, err, _ = read_usn(reader, img)
    tap.ok(recs is None and "status 2" in err and "no change journal" in err,
           "library: a volume without $UsnJrnl: UFFS_ERR_SOURCE, one line", err)
    written = [(f"f{i}.txt", 64 + i, 1, 5, 5, 0x100 | i) for i in range(40)]
    if not put_journal(img, work, written, 0x1234):
        tap.ok(False, "ntfscp wrote $Extend/$UsnJrnl")
        return
    recs, err, _ = read_usn(reader, img)
    got = [(x["name"], x["frs"], x["seq"], x["parent_frs"], x["parent_seq"],
            x["reason"]) for x in recs or []]
    tap.ok(got == written, "library: a volume's $UsnJrnl:$J, every record as written",
           err or got[:3])
    usns = [x["usn"] for x in recs or []]
    since = usns[25] if len(usns) > 25 else 0
    later, err, _ = read_usn(reader, "--since", str(since), img)
    tap.ok(later is not None and [x["usn"] for x in later] == usns[25:],
           "library: from a USN on, the records from that USN", err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--cc", default="cc",
                    help="compiler command for the test programs (the "
                    "sanitizer run passes clang with its -fsanitize flags)")
    args = ap.parse_args()
    tap = Tap()
    with tempfile.TemporaryDirectory() as work:
        root = os.path.join(work, "root")
        ok, log = install(args.build, root)
        tap.ok(ok, "meson install puts the library in place", log)
        flags, why = pkg_config(root) if ok else (None, "not installed")
        tap.ok(flags is not None, "pkg-config finds uffs", why)
        if flags is None:
            return tap.done()
        hdrs = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
                if f == "uffs.h"]
        tap.ok(len(hdrs) == 1, "the header is installed", hdrs)
        libs = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
                if re.fullmatch(r"libuffs\.so\.\d+\.\d+\.\d+", f)]
        if libs:
            r = run(["nm", "-D", "--defined-only", libs[0]])
            syms = [ln.split()[-1] for ln in r.stdout.decode().splitlines()
                    if " T " in ln]
            tap.ok(syms and all(re.match(r"uffs_(db|iter|entry|search|usn)_", s)
                                for s in syms),
                   "the library exports its API and nothing else", syms[:20])
        else:
            tap.ok(False, "the library is installed", "no libuffs.so.X.Y.Z")

        example = os.path.join(work, "biggest.c")
        tap.ok(example_from_doc(example), "docs/api.md has the example")
        biggest = os.path.join(work, "biggest")
        ok, log = compile_c(example, biggest, flags, args.cc)
        tap.ok(ok, "the example compiles with -Wall -Wextra -Werror against "
               "the installed library", log)
        walker = os.path.join(work, "walk")
        ok2, log = compile_c(os.path.join(TOP, "tests", "api", "walk.c"),
                             walker, flags, args.cc)
        tap.ok(ok2, "tests/api/walk.c compiles", log)
        hard = decompress(os.path.join(TOP, "images", "hardcases.img.xz"))
        if ok:
            check_example(tap, args.uffs, biggest, hard)
            r = run([biggest, os.path.join(work, "missing.img")])
            tap.ok(r.returncode == 1 and b"missing.img" in r.stderr,
                   "an open failure gives a one-line message naming the "
                   "source", r.stderr)
        if not ok2:
            return tap.done()
        images = [decompress(p) for p in committed_images()]
        shared = shared_images()
        if shared is None:
            tap.skip("the library on the shared samples",
                     "../shared/ntfs-samples absent")
        else:
            images += [decompress(p) for p in shared]
        for img in images:
            for deleted in (False, True):
                compare(tap, args.uffs, walker, img,
                        os.path.basename(img), deleted)
        for img in images[:5]:
            idx = os.path.join(work, "saved.uidx")
            r = run([args.uffs, "index", "-q", img, "-o", idx])
            same = r.returncode in (0, 3)
            for opts in ([], ["--deleted"]):
                x, _ = walk(walker, img, *opts)
                y, err = walk(walker, idx, *opts)
                same = same and x is not None and x == y
            tap.ok(same, f"{os.path.basename(img)}: the library opens its "
                   "saved index and walks the same entries", r.stderr)
        check_search(tap, args.uffs, walker, hard, work)
        updater = os.path.join(work, "update")
        ok3, log = compile_c(os.path.join(TOP, "tests", "api", "update.c"),
                             updater, flags, args.cc)
        tap.ok(ok3, "tests/api/update.c compiles", log)
        if ok3:
            check_update(tap, args.uffs, updater, walker, work)
        reader = os.path.join(work, "usn")
        ok4, log = compile_c(os.path.join(TOP, "tests", "api", "usn.c"),
                             reader, flags, args.cc)
        tap.ok(ok4, "tests/api/usn.c compiles", log)
        if ok4:
            check_usn(tap, args.uffs, reader, work)
        check_containers(tap, args.uffs, walker, hard, work)
        a, _ = walk(walker, hard, "--mode", "streaming")
        b, err = walk(walker, hard, "--mode", "async", "--progress")
        tap.ok(a is not None and a == b, "scan modes give the same entries")
        m = re.search(r"progress (\d+) calls, (\S+), last (\d+)/(\d+)", err)
        tap.ok(m and int(m.group(1)) > 0 and m.group(2) == "forward" and
               m.group(3) == m.group(4),
               "the progress callback runs, forward, to the total", err)
        _, err = walk(walker, hard, "--mode", "no-such-mode")
        tap.ok(err.startswith("status 1:") and "mode" in err,
               "a bad option: UFFS_ERR_USAGE with a message", err)
        junk = os.path.join(work, "junk.img")
        with open(junk, "wb") as f:
            f.write(b"\x00" * 65536)
        _, err = walk(walker, junk)
        tap.ok(err.startswith("status 2:") and "junk.img" in err,
               "not NTFS: UFFS_ERR_SOURCE with a message", err)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
