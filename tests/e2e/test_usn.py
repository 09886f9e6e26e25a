#!/usr/bin/env python3
"""uffs usn on captured $UsnJrnl:$J streams.

The four single records of ../shared/ntfs-samples/usn/ against their
published field values (usn/answers.md); plaso's real $J stream against a
reader written here from Microsoft's documented USN_RECORD_V2/V3/V4
layouts; streams built here (a sparse hole before the records, the hole
left out, torn and garbage records, names past their record) for the
hole, the damage rules and the filters; the output formats.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SHARED, Tap, run  # noqa: E402

USN = os.path.join(SHARED, "usn")
PAGE = 4096
EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)


def iso(ft):
    t = EPOCH + datetime.timedelta(microseconds=ft // 10)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{ft % 10000000:07d}Z"


def reference(data, base=0):
    """Every record of a $J stream (from byte 0 = stream offset base), as
    the documented layouts say, for records whose USN is their offset."""
    out = []
    pos = 0
    while pos + 8 <= len(data):
        length, major, minor = struct.unpack_from("<IHH", data, pos)
        if length == 0:  # padding to the end of the page
            pos += PAGE - (base + pos) % PAGE
            continue
        rec = {"major": major, "minor": minor}
        if major == 2:
            (fr, pr, usn, t, reason, si, sec, attr, nl, no) = struct.unpack_from(
                "<QQqQIIIIHH", data, pos + 8)
            rec.update(time=iso(t), name=data[pos + no:pos + no + nl].decode("utf-16-le"),
                       attributes=attr, security_id=sec)
        elif major == 4:
            fr, _, pr, _, usn, reason, si, _, n, _ = struct.unpack_from(
                "<QQQQqIIIHH", data, pos + 8)
            rec["extents"] = [list(struct.unpack_from("<qq", data, pos + 64 + 16 * i))
                              for i in range(n)]
        else:
            raise ValueError(f"version {major} at {pos}")
        rec.update(usn=usn, frs=fr & 0xFFFFFFFFFFFF, seq=fr >> 48,
                   parent_frs=pr & 0xFFFFFFFFFFFF, parent_seq=pr >> 48,
                   reason=reason, source_info=si)
        out.append(rec)
        pos += length
    return out


def v2(usn, name, reason=0x100, frs=0x123, seq=5, t=132000000000000000):
    nl = 2 * len(name)
    length = (60 + nl + 7) & ~7
    b = struct.pack("<IHHQQqQIIIIHH", length, 2, 0, (seq << 48) | frs,
                    (5 << 48) | 5, usn, t, reason, 0, 0, 0x20, nl, 60)
    b += name.encode("utf-16-le")
    return b + b"\0" * (length - len(b))


def stream(names, base):
    """Records at stream offset base onwards, packed into pages."""
    out = bytearray()
    for n in names:
        off = base + len(out)
        rec = v2(off, n)
        if off % PAGE + len(rec) > PAGE:
            out += b"\0" * (PAGE - off % PAGE)
            rec = v2(base + len(out), n)
        out += rec
    out += b"\0" * ((-(base + len(out))) % PAGE)
    return bytes(out)


def jsonl(uffs, args, path):
    r = run([uffs, "usn", "-f", "jsonl"] + args + [path])
    rows = [json.loads(x) for x in r.stdout.decode().splitlines()]
    return r, rows


def check_singles(tap, uffs):
    want = {
        "usn_1170953448.bin": dict(major=2, usn=1170953448, name="large_file.txt",
                                   reason=0x80000001, attributes=0x20, frs=0x13252,
                                   seq=0xd, parent_frs=0x9eb, parent_seq=6,
                                   reasons=["DATA_OVERWRITE", "CLOSE"]),
        "usn_1170990440.bin": dict(major=2, usn=1170990440, name="mpasbase.vdm",
                                   reason=0x80010800, attributes=0x20, frs=0x13424,
                                   seq=2, parent_frs=0x6b7, parent_seq=1),
        "usn_1170989584.bin": dict(major=4, usn=1170989584, reason=0x80000102,
                                   frs=0x13de8, seq=4, parent_frs=0x1076,
                                   parent_seq=4, extents=[[0, 2162688]]),
        "usn_1170955904.bin": dict(major=4, usn=1170955904, reason=0x80000001,
                                   frs=0x51c0, seq=2, parent_frs=0x1066,
                                   parent_seq=4,
                                   extents=[[0, 16384], [6242304, 32768]]),
    }
    for f, w in want.items():
        r, rows = jsonl(uffs, [], os.path.join(USN, f))
        got = rows[0] if len(rows) == 1 else {}
        bad = {k: (v, got.get(k)) for k, v in w.items() if got.get(k) != v}
        if w["major"] == 4:
            bad.update({k: "present in v4" for k in ("name", "time", "attributes",
                                                     "security_id") if k in got})
        else:
            bad.update({k: "missing" for k in ("time", "security_id") if k not in got})
            if "extents" in got:
                bad["extents"] = "present in v2"
        tap.ok(r.returncode == 0 and not bad and got.get("source_info") == 0,
               f"{f}: the published field values (answers.md)", f"{bad}\n{r.stderr}")
    r, rows = jsonl(uffs, [], os.path.join(USN, "usn_1170953448.bin"))
    tap.ok(rows and rows[0]["time"].startswith("2019-01-21T22:36:05."),
           "usn_1170953448.bin: its time, 2019-01-21 22:36:05 UTC", rows)


def check_plaso(tap, uffs, work):
    path = os.path.join(USN, "plaso-UsnJrnl.raw")
    data = open(path, "rb").read()
    want = reference(data)
    r, got = jsonl(uffs, [], path)
    for g in got:
        g.pop("reasons", None)
    tap.ok(r.returncode == 0 and len(want) > 5 and got == want,
           f"plaso-UsnJrnl.raw: {len(want)} records, every field as the "
           "documented layout reads them", r.stderr.decode()[:500])
    # The same stream behind a 64 MiB sparse hole, as a $J is on disk.
    sparse = os.path.join(work, "sparse.J")
    hole = 64 << 20
    with open(sparse, "wb") as f:
        f.truncate(hole)
        f.seek(hole)
        f.write(stream([x["name"] for x in want], hole))
    r, got = jsonl(uffs, [], sparse)
    tap.ok(r.returncode == 0 and [x["name"] for x in got] == [x["name"] for x in want]
           and all(x["usn"] >= hole for x in got),
           "after a sparse hole: every record, with its stream offset as USN",
           r.stderr.decode()[:500])
    trimmed = os.path.join(work, "trimmed.J")
    with open(trimmed, "wb") as f:
        f.write(stream([x["name"] for x in want], hole))
    r, got2 = jsonl(uffs, [], trimmed)
    tap.ok(r.returncode == 0 and got2 == got,
           "the hole left out of the file (records from byte 0): the same records",
           r.stderr.decode()[:500])


def check_damage_and_filters(tap, uffs, work):
    names = [f"file{i:03d}.txt" for i in range(120)]
    data = bytearray(stream(names, 0))
    recs = reference(bytes(data))
    torn = recs[10]["usn"]
    struct.pack_into("<q", data, torn + 24, 999)          # torn: USN not its offset
    garbage = recs[40]["usn"]
    struct.pack_into("<I", data, garbage, 0x7777)          # garbage length
    past = recs[70]["usn"]
    struct.pack_into("<H", data, past + 56, 3000)          # name past the record
    path = os.path.join(work, "damaged.J")
    open(path, "wb").write(data)
    r, got = jsonl(uffs, [], path)
    err = r.stderr.decode().splitlines()
    kept = [x["name"] for x in got]
    want = [n for i, n in enumerate(names) if i not in (10, 40, 70)]
    tap.ok(r.returncode == 3 and kept == want and len(err) == 3 and
           all("warning" in e and "journal byte" in e for e in err),
           "a torn record, a garbage length and a name past its record: three "
           "warnings with their offsets, every other record read, exit 3",
           "\n".join(err) + f"\nkept {len(kept)} of {len(want)}")
    r = run([uffs, "usn", "-q", path])
    tap.ok(r.returncode == 3 and not r.stderr, "--quiet: no warnings, still exit 3")
    # filters
    clean = os.path.join(work, "clean.J")
    open(clean, "wb").write(stream(names, 0))
    allrec = reference(open(clean, "rb").read())
    since = allrec[50]["usn"]
    _, got = jsonl(uffs, ["--since", str(since)], clean)
    tap.ok([x["usn"] for x in got] == [x["usn"] for x in allrec[50:]],
           "--since USN: the records from that USN on")
    _, got = jsonl(uffs, ["--name", "FILE01?.TXT"], clean)
    tap.ok([x["name"] for x in got] == [f"file01{i}.txt" for i in range(10)],
           "--name: a glob, case ignored", [x["name"] for x in got])
    _, got = jsonl(uffs, ["--reason", "file_create"], clean)
    _, none = jsonl(uffs, ["--reason", "USN_REASON_FILE_DELETE,CLOSE"], clean)
    tap.ok(len(got) == len(allrec) and none == [],
           "--reason: any of the named reasons")
    _, got = jsonl(uffs, ["--since", "2019-01-01"], clean)
    _, later = jsonl(uffs, ["--since", "2030-01-01"], clean)
    tap.ok(len(got) == len(allrec) and later == [],
           "--since TIME: records from that time on")
    r = run([uffs, "usn", "--reason", "nonsense", clean])
    tap.ok(r.returncode == 2 and b"unknown reason" in r.stderr,
           "an unknown reason: exit 2", r.stderr)
    # formats
    r = run([uffs, "usn", "-f", "csv", clean])
    lines = r.stdout.decode().splitlines()
    tap.ok(lines[0].startswith("usn,time,frs,seq,parent_frs,parent_seq,name,reason,reasons")
           and len(lines) == len(allrec) + 1 and '"file000.txt"' in lines[1],
           "csv: a header and one line per record", lines[:2])
    r = run([uffs, "usn", clean])
    first = r.stdout.decode().splitlines()[0].split(" ")
    tap.ok(first[0] == "0" and first[2] == "291-5" and first[3] == "FILE_CREATE"
           and first[4] == "file000.txt",
           "text: usn, time, frs-seq, reasons, name", first)
    # not a journal
    notj = os.path.join(work, "not.J")
    open(notj, "wb").write(b"hello world, not a journal" * 100)
    r = run([uffs, "usn", notj])
    tap.ok(r.returncode == 1 and len(r.stderr.splitlines()) == 1 and
           b"not a captured" in r.stderr, "a file that is not a journal: exit 1, one line",
           r.stderr)
    r = run([uffs, "usn", "--journal", notj])
    tap.ok(r.returncode == 3 and r.stdout == b"",
           "--journal reads it anyway: nothing but warnings", r.stderr[:300])


# ---- the journal of a volume ----

def ntfscp():
    return shutil.which("ntfscp") or "/sbin/ntfscp"


def tsk_dirs(image):
    """Directory record -> (path, sequence), from fls and istat."""
    out = {5: ("", None)}
    r = run(["fls", "-r", "-p", "-D", image])
    for line in r.stdout.decode().splitlines():
        m = re.match(r"d/d (\d+)-\d+-\d+:\t(.*)$", line)  # in use only
        if m:
            out[int(m.group(1))] = (m.group(2), None)
    for frs in list(out):
        r = run(["istat", image, str(frs)])
        seq = re.search(rb"Sequence: (\d+)", r.stdout)
        out[frs] = (out[frs][0], int(seq.group(1)))
    return out


def v2_under(usn, name, parent, pseq, frs=0x400, seq=3):
    rec = bytearray(v2(usn, name, frs=frs, seq=seq))
    struct.pack_into("<Q", rec, 16, (pseq << 48) | parent)
    return bytes(rec)


def check_volume(tap, uffs, work):
    from common import committed_images, decompress
    image = os.path.join(work, "hardcases.img")
    src = [p for p in committed_images() if "hardcases" in p][0]
    with open(image, "wb") as f:
        f.write(open(decompress(src), "rb").read())
    r = run([uffs, "usn", image])
    tap.ok(r.returncode == 1 and b"no change journal" in r.stderr and
           len(r.stderr.splitlines()) == 1,
           "a volume without $UsnJrnl: exit 1, one line", r.stderr)
    dirs = tsk_dirs(image)
    picked = sorted((p, f) for f, (p, _) in dirs.items() if p and "$" not in p)[:3]
    # Records under the root and three directories, one whose parent has
    # moved on (another sequence number), across two pages.
    want = [("top.txt", 5, dirs[5][1])] + \
        [(f"in-{i}.txt", f, dirs[f][1]) for i, (_, f) in enumerate(picked)]
    data = bytearray()
    for name, parent, pseq in want:
        data += v2_under(len(data), name, parent, pseq)
    data += b"\0" * (PAGE - len(data))
    stale = picked[0][1]
    data += v2_under(len(data), "gone.txt", stale, dirs[stale][1] + 1)
    data += b"\0" * (PAGE - len(data) % PAGE)
    jfile = os.path.join(work, "J")
    open(jfile, "wb").write(bytes(data))
    maxfile = os.path.join(work, "Max")
    open(maxfile, "wb").write(b"\0" * 32)
    a = run([ntfscp(), "-f", "-q", image, maxfile, "/$Extend/$UsnJrnl"])
    b = run([ntfscp(), "-f", "-q", "-N", "$J", image, jfile, "/$Extend/$UsnJrnl"])
    if a.returncode or b.returncode:
        tap.ok(False, "ntfscp wrote $Extend/$UsnJrnl:$J", a.stderr + b.stderr)
        return
    r, got = jsonl(uffs, [], image)
    ref = reference(bytes(data))
    paths = ["/top.txt"] + [f"/{p}/in-{i}.txt" for i, (p, _) in enumerate(picked)] + [None]
    for rec, path in zip(ref, paths):
        rec["path"] = path
    # The reference has every documented field (not the reason names).
    same = len(got) == len(ref) and all(
        {k: g.get(k) for k in w} == w and "path" in g for g, w in zip(got, ref))
    tap.ok(r.returncode == 0 and same,
           "a volume's $UsnJrnl:$J (written by ntfscp): every record, paths from "
           "the parents fls names, null for a parent reused since",
           [(g, w) for g, w in zip(got, ref) if {k: g.get(k) for k in w} != w][:1]
           or (len(got), len(ref)))
    # TSK's own extraction of the stream, read as a captured $J.
    line = [x for x in run(["fls", "-r", "-p", image]).stdout.decode().splitlines()
            if x.endswith("$Extend/$UsnJrnl:$J")]
    inode = line[0].split()[1].rstrip(":") if line else "0"
    icat = run(["icat", image, inode])
    captured = os.path.join(work, "J.icat")
    open(captured, "wb").write(icat.stdout)
    _, from_file = jsonl(uffs, [], captured)
    tap.ok(icat.returncode == 0 and from_file ==
           [{k: v for k, v in g.items() if k != "path"} for g in got],
           "the same records as icat's copy of the stream read as a captured $J",
           inode)
    r = run([uffs, "usn", image])
    last = r.stdout.decode().splitlines()[-1]
    tap.ok(last.endswith(f"<parent {stale}-{dirs[stale][1] + 1}>/gone.txt") and
           r.stdout.decode().splitlines()[0].endswith(" /top.txt"),
           "text: the path, or <parent FRS-SEQ>/name when the parent is not known",
           last)
    r = run([uffs, "usn", "-f", "csv", "--name", "in-*", image])
    lines = r.stdout.decode().splitlines()
    tap.ok(lines[0].endswith(",extents,path") and len(lines) == 1 + len(picked) and
           lines[1].endswith(f',"/{picked[0][0]}/in-0.txt"'),
           "csv: a path column; --name filters volume records too", lines[:2])
    check_damaged_journal(tap, uffs, work, image)


def j_attribute(data, rec):
    """Offset in record rec of its non-resident $DATA named $J, or None."""
    off = struct.unpack_from("<H", data, rec + 0x14)[0]
    while off + 16 <= 1024:
        t, length = struct.unpack_from("<II", data, rec + off)
        if t == 0xFFFFFFFF or length < 16:
            return None
        nlen = data[rec + off + 9]
        noff = struct.unpack_from("<H", data, rec + off + 10)[0]
        name = bytes(data[rec + off + noff:rec + off + noff + 2 * nlen])
        if t == 0x80 and name == "$J".encode("utf-16-le") and data[rec + off + 8]:
            return off
        off += length
    return None


def journal_record(data):
    """Byte offset of the MFT record of $UsnJrnl (the one holding $J) and
    of its $J attribute there."""
    name = "$UsnJrnl".encode("utf-16-le")
    at = data.find(name)
    while at >= 0:
        rec = at - at % 1024
        if data[rec:rec + 4] == b"FILE":
            j = j_attribute(data, rec)
            if j is not None:
                return rec, j
        at = data.find(name, at + 1)
    return -1, None


def check_damaged_journal(tap, uffs, work, image):
    """The $UsnJrnl record damaged: its $J runs pointed past the volume, then
    bytes flipped all over it. Every run ends with exit 0, 1 or 3, stderr
    lines that all start with uffs:, and no crash or hang."""
    data = bytearray(open(image, "rb").read())
    rec, j = journal_record(data)
    if rec < 0:
        tap.ok(False, "the $UsnJrnl record and its non-resident $J are in the image")
        return
    bad = bytearray(data)
    runs = rec + j + struct.unpack_from("<H", bad, rec + j + 0x20)[0]
    # One run of 1 cluster at LCN 2^40: past any volume of this size.
    bad[runs:runs + 8] = bytes([0x51, 0x01, 0, 0, 0, 0, 0x01, 0])
    path = os.path.join(work, "bad-runs.img")
    open(path, "wb").write(bad)
    r = run([uffs, "usn", path], timeout=60)
    tap.ok(r.returncode == 1 and len(r.stderr.splitlines()) == 1 and
           b"$UsnJrnl:$J" in r.stderr and b"record" in r.stderr,
           "$J runs past the volume: exit 1, one line naming the record",
           r.stderr)
    import random
    rnd = random.Random(15)
    outcomes = set()
    failures = []
    for k in range(40):
        bad = bytearray(data)
        for _ in range(rnd.choice([1, 4, 16])):
            bad[rec + rnd.randrange(0x30, 1024)] = rnd.randrange(256)
        open(path, "wb").write(bad)
        try:
            r = run([uffs, "usn", "-f", "jsonl", path], timeout=60)
        except subprocess.TimeoutExpired:
            failures.append((k, "hang"))
            continue
        outcomes.add(r.returncode)
        lines = r.stderr.decode(errors="replace").splitlines()
        if r.returncode not in (0, 1, 3) or any(not x.startswith("uffs:") for x in lines):
            failures.append((k, r.returncode, lines[:3]))
    tap.ok(not failures, f"the $UsnJrnl record with bytes flipped, 40 times: "
           f"exit 0, 1 or 3 and one-line messages (seen {sorted(outcomes)})",
           failures[:3])


def check_two_vcns(tap, uffs, work):
    """go-ntfs's usn_with_two_vcns: a real $UsnJrnl whose $J runs live in two
    extension records the attribute list names (VCN 0 and 0xae00). Its
    fragments laid into a sparse image at their offsets; the journal data
    itself is not in the sample (it reads as zeros), so what is checked is
    the map: the runs against the ones TSK's istat lists."""
    d = os.path.join(SHARED, "go-ntfs-partial", "usn_with_two_vcns")
    if not os.path.isdir(d):
        tap.skip("a $J over two extension records", "../shared/ntfs-samples absent")
        return
    image = os.path.join(work, "two-vcns.img")
    boot = open(os.path.join(d, "0x00000000.bin"), "rb").read()
    size = struct.unpack_from("<Q", boot, 0x28)[0] * struct.unpack_from("<H", boot, 11)[0]
    with open(image, "wb") as f:
        f.truncate(size + 512)
        for name in os.listdir(d):
            if name.startswith("0x") and name.endswith(".bin"):
                f.seek(int(name[2:-4], 16))
                f.write(open(os.path.join(d, name), "rb").read())
    runs = re.findall(r"Starting address: (\S+), length: (\d+)(\s+Sparse)?",
                      open(os.path.join(d, "istat.txt")).read())
    holes = [int(n) for a, n, sp in runs if sp]
    data = [int(n) for a, n, sp in runs if not sp]
    cluster = boot[13] * struct.unpack_from("<H", boot, 11)[0]
    # go-ntfs's trace of the same records: the VCN-0 piece's sizes.
    golden = open(os.path.join(d, "fixtures", "runs.golden")).read()
    alloc = int(re.search(r"Allocated_size: (0x[0-9a-f]+)", golden).group(1), 16)
    size = int(re.search(r"Actual_size: (0x[0-9a-f]+)", golden).group(1), 16)
    r = run([uffs, "usn", "-v", "-q", image], timeout=300)
    m = re.search(rb"\$UsnJrnl \(record (\d+)\):\$J: (\d+) bytes; (\d+) data runs of "
                  rb"(\d+) bytes, (\d+) holes of (\d+) bytes", r.stderr)
    got = tuple(int(x) for x in m.groups()) if m else (0,) * 6
    frs, gsize, n_data, data_bytes, n_holes, hole_bytes = got
    # TSK lists the runs up to its file size, so its last run is cut
    # short; every other run, the holes and the allocation agree.
    tap.ok(r.returncode in (0, 3) and r.stdout == b"" and frs == 68310 and
           gsize == size and n_data == len(data) and n_holes == len(holes) and
           hole_bytes == sum(holes) * cluster and
           data_bytes + hole_bytes == alloc and
           data_bytes >= sum(data) * cluster,
           "a $J whose runs span two extension records: the runs and holes "
           f"istat lists ({len(data)} data runs, {len(holes)} holes), the size "
           "and allocation go-ntfs reads; no records (the data is not in the sample)",
           (got, len(data), sum(data) * cluster, sum(holes) * cluster, alloc, size,
            r.returncode, r.stderr[-300:]))


def check_watch(tap, uffs, work):
    """uffs watch follows a live Windows volume's journal; anything else is
    refused at once (before any scan), with one line and exit 2."""
    from common import committed_images, decompress
    image = decompress([p for p in committed_images() if "hardcases" in p][0])
    t0 = time.monotonic()
    r = run([uffs, "watch", image])
    err = r.stderr.decode(errors="replace")
    tap.ok(r.returncode == 2 and "not a live Windows volume" in err and
           "uffs usn" in err and len(err.splitlines()) == 1 and not r.stdout,
           "uffs watch of an image: exit 2, one line saying only a live volume "
           "can be followed and that uffs usn reads an image's journal", err)
    tap.ok(time.monotonic() - t0 < 5, "uffs watch refuses an image without scanning it")
    jfile = os.path.join(work, "watch-J")
    open(jfile, "wb").write(v2_under(0, "x.txt", 5, 5) + b"\0" * 4000)
    r = run([uffs, "watch", jfile])
    tap.ok(r.returncode == 2 and b"not a live Windows volume" in r.stderr,
           "uffs watch of a captured $J: exit 2", r.stderr)
    r = run([uffs, "watch"])
    tap.ok(r.returncode == 2 and b"no SOURCE" in r.stderr, "uffs watch without a source: exit 2")
    r = run([uffs, "watch", "a", "b", "c"])
    tap.ok(r.returncode == 2 and b"at most one PATTERN" in r.stderr,
           "uffs watch with three arguments: exit 2", r.stderr)
    r = run([uffs, "usn", "--count", "3", image])
    tap.ok(r.returncode == 2 and b"uffs watch only" in r.stderr,
           "--count belongs to uffs watch: uffs usn refuses it", r.stderr)
    r = run([uffs, "watch", "--help"])
    tap.ok(r.returncode == 0 and b"usage: uffs watch" in r.stdout and
           b"--count" in r.stdout and b"--for" in r.stdout, "uffs watch --help")
    r = run([uffs, "--help"])
    tap.ok(b"watch" in r.stdout, "uffs --help lists watch")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs", required=True)
    a = ap.parse_args()
    tap = Tap()
    with tempfile.TemporaryDirectory(prefix="uffs-usn-") as work:
        if os.path.isdir(USN):
            check_singles(tap, a.uffs)
            check_plaso(tap, a.uffs, work)
            check_two_vcns(tap, a.uffs, work)
        else:
            tap.skip("published journal records", "../shared/ntfs-samples absent")
        check_damage_and_filters(tap, a.uffs, work)
        check_volume(tap, a.uffs, work)
        check_watch(tap, a.uffs, work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
