#!/usr/bin/env python3
"""uffs index --update: a saved index brought up to date from the volume's
change journal ($Extend/$UsnJrnl:$J) equals a fresh index of the volume.

On a copy of hardcases.img: a journal is written with ntfscp ($Max with a
journal ID, $J with one page of records); the index is saved; the volume is
mounted read-write with ntfs-3g (noatime, so that no access-time update
goes unjournaled, as on Windows) and changed (files and a directory made, a
file deleted, renamed in its directory and moved to another, a hard link
added, one file appended to and another truncated, a named stream added).
ntfs-3g keeps no journal, so the records Windows would write for these
changes are written here into $J after the unmount, with the record and
sequence numbers and the parents The Sleuth Kit (fls, istat) reads from the
image before and after. Then:

  - the update follows those records: its digest, listing and deleted
    listing equal those of a fresh index, and of the image itself;
  - the same update with a $J that holds only the first page (the changes
    not journaled) reads nothing more and so differs from a fresh index:
    proof that the update uses the journal rather than rescanning;
  - a journal recreated (another ID), wrapped (lowest valid USN past the
    index), behind (shorter than the index), an index made before the
    journal existed: rescans, each equal to a fresh index; an index of
    another volume: exit 1, one line;
  - hostile records (file references past the $MFT, garbage after the
    records of a page): no crash, still equal to a fresh index.

Facts this rests on (ntfs-3g 2022.10.3, Debian 12): a mount and unmount
with no change leaves the image byte for byte the same; with the changes
above, the MFT records that differ afterwards are exactly the ones the
journal names (as file or parent), nothing else; ntfscp puts the new
$UsnJrnl in the first free record (3360 on hardcases, a deleted directory's
record); every committed image has the same serial number (mkntfs -T), so
the "another volume" check changes one copy's serial.
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (Mount, MountError, Tap, can_mount, committed_images,  # noqa: E402
                    decompress, run)

PAGE = 4096
JOURNAL_ID = 0x01DB5A3C2E7F4001
MAX_SIZE = 32 << 20
ALLOC_DELTA = 8 << 20

FILE_CREATE = 0x100
FILE_DELETE = 0x200
DATA_EXTEND = 0x2
DATA_TRUNCATION = 0x4
NAMED_DATA_EXTEND = 0x20
RENAME_OLD_NAME = 0x1000
RENAME_NEW_NAME = 0x2000
HARD_LINK_CHANGE = 0x10000
STREAM_CHANGE = 0x200000
CLOSE = 0x80000000

ATTR_DIRECTORY = 0x10
ATTR_ARCHIVE = 0x20

UPDATED = re.compile(r"^uffs: (.*): updated from the change journal: (\d+) records "
                     r"since USN (\d+), (\d+) MFT records read again$")
RESCANNED = re.compile(r"^uffs: (.*): rescanned: (.+)$")
INFO_JOURNAL = re.compile(r"change journal:\s+ID 0x([0-9a-f]{16}), next USN (\d+)")

# The checks that need a read-write mount, for the SKIP lines when there is none.
MOUNT_CHECKS = [
    "the changes made through ntfs-3g are seen by fls",
    "the journal written for the changes: TSK's icat reads back the bytes written",
    "the journal written for the changes: uffs usn resolves every record's path",
    "--update: exit 0, one line: N records since USN 4096",
    "--update: digest equals a fresh index's",
    "--update: uffs list equals the image's",
    "--update: uffs list --deleted -f csv equals the image's",
    "--update: info shows the journal ID and the new next USN",
    "--update: no temporary file left",
    "--update again on a current index: 0 records, digest unchanged",
    "--update -q: nothing on stderr",
    "--update -o OUT: IDX untouched, OUT equals a fresh index",
    "proof: the changes not journaled: 0 records, digest differs from a fresh index",
    "proof: the unjournaled rename, move, deletion, truncation, append and hard link "
    "are not in that index",
    "hostile: references past the $MFT",
    "hostile: garbage after the records of the last page",
]


# ---- the journal, as Microsoft documents USN_RECORD_V2 and $Max ----

def v2(usn, name, reason, frs, seq, parent, pseq, attrs=ATTR_ARCHIVE,
       t=133500000000000000):
    """One USN_RECORD_V2: 60 bytes of header, the UTF-16 name, padded to 8."""
    nm = name.encode("utf-16-le")
    length = (60 + len(nm) + 7) & ~7
    b = struct.pack("<IHHQQqQIIIIHH", length, 2, 0, (seq << 48) | frs,
                    (pseq << 48) | parent, usn, t, reason, 0, 0, attrs, len(nm), 60)
    b += nm
    return b + b"\0" * (length - len(b))


def pack(records, base, new_page_at=()):
    """$J bytes from USN base (a page boundary) on: each record's USN is its
    offset; a record never crosses a page; zeros to the end of the last
    page. records: dicts for v2(); the indexes in new_page_at start a page."""
    out = bytearray()
    usns = []
    for i, r in enumerate(records):
        off = base + len(out)
        rec = v2(off, **r)
        if (i in new_page_at and off % PAGE) or off % PAGE + len(rec) > PAGE:
            out += b"\0" * (PAGE - off % PAGE)
            off = base + len(out)
            rec = v2(off, **r)
        usns.append(off)
        out += rec
    out += b"\0" * ((-(base + len(out))) % PAGE)
    return bytes(out), usns


def parse_j(data):
    """The records of a $J (USN = offset), read back by the documented
    layout: (usn, frs, seq, parent, pseq, reason, name)."""
    out = []
    pos = 0
    while pos + 8 <= len(data):
        length = struct.unpack_from("<I", data, pos)[0]
        if length == 0:
            pos += PAGE - pos % PAGE
            continue
        fr, pr, usn, _, reason, _, _, _, nl, no = struct.unpack_from(
            "<QQqQIIIIHH", data, pos + 8)
        out.append((usn, fr & 0xFFFFFFFFFFFF, fr >> 48, pr & 0xFFFFFFFFFFFF,
                    pr >> 48, reason, data[pos + no:pos + no + nl].decode("utf-16-le")))
        pos += length
    return out


def max_stream(journal_id, lowest=0):
    return struct.pack("<QQQq", MAX_SIZE, ALLOC_DELTA, journal_id, lowest)


def ntfscp():
    return shutil.which("ntfscp") or "/sbin/ntfscp"


def write_journal(image, work, max_bytes, j_bytes):
    """$Extend/$UsnJrnl's $Max and $J streams, written (or replaced) by ntfscp."""
    mf = os.path.join(work, "Max.bin")
    jf = os.path.join(work, "J.bin")
    open(mf, "wb").write(max_bytes)
    open(jf, "wb").write(j_bytes)
    a = run([ntfscp(), "-f", "-q", "-N", "$Max", image, mf, "/$Extend/$UsnJrnl"])
    b = run([ntfscp(), "-f", "-q", "-N", "$J", image, jf, "/$Extend/$UsnJrnl"])
    errs = (a.stderr + b.stderr).decode(errors="replace")
    return a.returncode == 0 and b.returncode == 0, errs


# ---- The Sleuth Kit's view ----

def fls_paths(image, deleted=False):
    """path -> record number, from fls -r -p (-d: deleted entries only).
    Named streams and $OrphanFiles are left out."""
    args = ["fls", "-r", "-p"] + (["-d"] if deleted else []) + [image]
    r = run(args)
    out = {}
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        m = re.match(r"(\S)/(\S) (\*\s+)?(\d+)(-\d+-\d+)?:\t(.*)$", line)
        if not m or ":" in m.group(6) or m.group(6).startswith("$OrphanFiles"):
            continue
        if bool(m.group(3)) != deleted:  # fls -r lists deleted entries too
            continue
        out[m.group(6)] = int(m.group(4))
    return out


def fls_streams(image):
    """path:stream -> record number, named streams from fls -r -p."""
    r = run(["fls", "-r", "-p", image])
    out = {}
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        m = re.match(r"\S/\S (\d+)-\d+-\d+:\t(.*)$", line)
        if m and ":" in m.group(2):
            out[m.group(2)] = int(m.group(1))
    return out


def istat(image, frs):
    """(sequence, allocated, size of the unnamed $DATA or None) from istat."""
    r = run(["istat", image, str(frs)])
    text = r.stdout.decode("utf-8", "replace")
    seq = re.search(r"Sequence: (\d+)", text)
    size = re.search(r"Type: \$DATA \(128-\d+\)\s+Name: N/A\s+(?:Non-)?Resident"
                     r"(?:,[^\n]*)?\s+size: (\d+)", text)
    return (int(seq.group(1)) if seq else None,
            "Not Allocated" not in text,
            int(size.group(1)) if size else None)


# ---- uffs ----

def digest(uffs, src):
    r = run([uffs, "digest", src])
    parts = r.stdout.decode().split()
    return parts[0] if r.returncode in (0, 3) and parts else f"(exit {r.returncode}: " \
        f"{r.stderr.decode(errors='replace').strip()})"


def index(uffs, src, out):
    r = run([uffs, "index", src, "-o", out])
    return r.returncode in (0, 3) and os.path.exists(out), r.stderr.decode(errors="replace")


def info_journal(uffs, idx):
    r = run([uffs, "info", idx])
    m = INFO_JOURNAL.search(r.stdout.decode(errors="replace"))
    return (int(m.group(1), 16), int(m.group(2))) if m else None


def update(uffs, idx, src, *extra):
    r = run([uffs, "index", *extra, "--update", idx, src])
    return r.returncode, r.stderr.decode(errors="replace")


def listing(uffs, src, *args):
    r = run([uffs, "list", *args, src])
    return r.returncode, r.stdout


def frs_table(uffs, src):
    """frs -> row (for diagnostics: which records differ)."""
    r = run([uffs, "list", "--deleted", "-f", "csv", "-c",
             "frs,sequence,deleted,size,modified,mft-changed,links,streams,path", src])
    rows = {}
    for line in r.stdout.decode(errors="replace").splitlines()[1:]:
        rows.setdefault(line.split(",", 1)[0], []).append(line)
    return rows


def differing(uffs, a, b, limit=12):
    ta, tb = frs_table(uffs, a), frs_table(uffs, b)
    out = []
    for k in sorted(set(ta) | set(tb), key=lambda x: int(x) if x.isdigit() else -1):
        if ta.get(k) != tb.get(k):
            out.append(f"record {k}: {ta.get(k)} / {tb.get(k)}"[:300])
    return "\n".join(out[:limit]) or "(the same rows)"


def one_line(err):
    lines = [x for x in err.splitlines() if x]
    return lines[0] if len(lines) == 1 else None


# ---- mounting ----

# ---- the changes ----

def make_changes(mnt):
    """Everything done through the mount; returns nothing (the records are
    read back from the image with TSK afterwards)."""
    def p(*parts):
        return os.path.join(mnt, *parts)
    with open(p("new.txt"), "wb") as f:                       # create, resident
        f.write(b"a new file with data\n" * 4)
    os.mkdir(p("newdir"))                                    # create a directory
    with open(p("newdir", "inner.txt"), "wb") as f:           # and a file in it
        f.write(b"x" * 6000)                                  # (non-resident)
    os.unlink(p("many", "file0005.txt"))                     # delete
    os.rename(p("many", "file0001.txt"), p("many", "renamed0001.txt"))
    os.rename(p("many", "file0002.txt"), p("links", "moved0002.txt"))
    os.link(p("small.txt"), p("links", "b", "small-link.txt"))
    with open(p("many", "file0003.txt"), "ab") as f:          # append
        f.write(b"appended " * 500)
    os.truncate(p("big.txt"), 1000)                          # truncate
    with open(p("many", "file0004.txt:extra"), "wb") as f:    # a named stream
        f.write(b"stream data " * 10)


def journal_for_changes(before, after, deleted_after, seq_before, seq_after):
    """The USN_RECORD_V2s Windows would write for make_changes, with the
    records and sequences TSK read: (records, problems)."""
    problems = []

    def frs(table, path):
        if path not in table:
            problems.append(f"fls does not list {path}")
            return 0
        return table[path]

    def rec(name, reason, path_table, path, parent_table, parent_path,
            seq_table, attrs=ATTR_ARCHIVE):
        f = frs(path_table, path)
        par = 5 if parent_path == "" else frs(parent_table, parent_path)
        return dict(name=name, reason=reason, frs=f, seq=seq_table.get(f, 0),
                    parent=par, pseq=seq_table.get(par, 0) if par != 5 else
                    seq_table.get(5, 5), attrs=attrs)

    A, B = after, before
    sa, sb = seq_after, seq_before
    recs = []
    # new.txt
    for r in (FILE_CREATE, FILE_CREATE | DATA_EXTEND, CLOSE | FILE_CREATE | DATA_EXTEND):
        recs.append(rec("new.txt", r, A, "new.txt", A, "", sa))
    # newdir/ and newdir/inner.txt
    for r in (FILE_CREATE, CLOSE | FILE_CREATE):
        recs.append(rec("newdir", r, A, "newdir", A, "", sa, ATTR_DIRECTORY))
    for r in (FILE_CREATE, FILE_CREATE | DATA_EXTEND, CLOSE | FILE_CREATE | DATA_EXTEND):
        recs.append(rec("inner.txt", r, A, "newdir/inner.txt", A, "newdir", sa))
    second_page = len(recs)
    # delete: the sequence it had before (the freed record's is one more)
    recs.append(rec("file0005.txt", CLOSE | FILE_DELETE, B, "many/file0005.txt",
                    B, "many", sb))
    # rename in the directory
    recs.append(rec("file0001.txt", RENAME_OLD_NAME, B, "many/file0001.txt", B, "many", sb))
    for r in (RENAME_NEW_NAME, CLOSE | RENAME_NEW_NAME):
        recs.append(rec("renamed0001.txt", r, A, "many/renamed0001.txt", A, "many", sa))
    # move to another directory: the old parent, then the new one
    recs.append(rec("file0002.txt", RENAME_OLD_NAME, B, "many/file0002.txt", B, "many", sb))
    for r in (RENAME_NEW_NAME, CLOSE | RENAME_NEW_NAME):
        recs.append(rec("moved0002.txt", r, A, "links/moved0002.txt", A, "links", sa))
    # hard link: the new name and its parent
    for r in (HARD_LINK_CHANGE, CLOSE | HARD_LINK_CHANGE):
        recs.append(rec("small-link.txt", r, A, "links/b/small-link.txt", A, "links/b", sa))
    # append, truncate
    for r in (DATA_EXTEND, CLOSE | DATA_EXTEND):
        recs.append(rec("file0003.txt", r, A, "many/file0003.txt", A, "many", sa))
    for r in (DATA_TRUNCATION, CLOSE | DATA_TRUNCATION):
        recs.append(rec("big.txt", r, A, "big.txt", A, "", sa))
    # a named stream
    for r in (NAMED_DATA_EXTEND | STREAM_CHANGE, CLOSE | NAMED_DATA_EXTEND | STREAM_CHANGE):
        recs.append(rec("file0004.txt", r, A, "many/file0004.txt", A, "many", sa))
    if "many/file0005.txt" not in deleted_after:
        problems.append("fls -d does not list the deleted many/file0005.txt")
    return recs, second_page, problems


# ---- the test ----

class Ctx:
    pass


def prepare(tap, uffs, work):
    """The image with a journal of one page and its index; None on failure."""
    c = Ctx()
    c.uffs, c.work = uffs, work
    src = [p for p in committed_images() if "hardcases" in p][0]
    c.img = os.path.join(work, "vol.img")
    shutil.copyfile(decompress(src), c.img)
    # An index of the volume before it had a journal.
    c.idx_nojournal = os.path.join(work, "nojournal.idx")
    ok1, err1 = index(uffs, c.img, c.idx_nojournal)
    # The first page: records about files that exist (history before the index).
    before = fls_paths(c.img)
    seqs = {}
    for path in ("small.txt", "empty.txt", "deep", "many", "many/file0010.txt"):
        seqs[path] = istat(c.img, before[path])[0]
    seq5 = istat(c.img, 5)[0]
    page0, _ = pack([
        dict(name="small.txt", reason=CLOSE | DATA_EXTEND, frs=before["small.txt"],
             seq=seqs["small.txt"], parent=5, pseq=seq5),
        dict(name="empty.txt", reason=CLOSE | FILE_CREATE, frs=before["empty.txt"],
             seq=seqs["empty.txt"], parent=5, pseq=seq5),
        dict(name="deep", reason=CLOSE | FILE_CREATE, frs=before["deep"],
             seq=seqs["deep"], parent=5, pseq=seq5, attrs=ATTR_DIRECTORY),
        dict(name="file0010.txt", reason=CLOSE | DATA_EXTEND,
             frs=before["many/file0010.txt"], seq=seqs["many/file0010.txt"],
             parent=before["many"], pseq=seqs["many"]),
    ], 0)
    c.page0 = page0
    ok2, err2 = write_journal(c.img, work, max_stream(JOURNAL_ID), page0)
    tap.ok(ok1 and ok2 and len(page0) == PAGE,
           "setup: an index without journal, then $UsnJrnl ($Max, one page of $J) "
           "written by ntfscp", err1 + err2)
    if not (ok1 and ok2):
        return None
    fl = fls_paths(c.img)
    jfrs = fl.get("$Extend/$UsnJrnl")
    icat = run(["icat", c.img, f"{jfrs}-128-{stream_id(c.img, jfrs, '$J')}"]) if jfrs else None
    mx = run(["icat", c.img, f"{jfrs}-128-{stream_id(c.img, jfrs, '$Max')}"]) if jfrs else None
    tap.ok(jfrs is not None and icat.stdout == page0 and
           mx.stdout == max_stream(JOURNAL_ID) and len(parse_j(page0)) == 4,
           f"setup: TSK reads back $J (4 records) and $Max from $UsnJrnl (record {jfrs})",
           (jfrs, icat and len(icat.stdout), mx and mx.stdout.hex()))
    c.idx = os.path.join(work, "vol.idx")
    ok, err = index(uffs, c.img, c.idx)
    got = info_journal(uffs, c.idx) if ok else None
    tap.ok(ok and got == (JOURNAL_ID, PAGE),
           "uffs index records the journal: info shows its ID and next USN 4096",
           f"{err}\ninfo: {got}")
    c.idx_orig = os.path.join(work, "orig.idx")
    shutil.copyfile(c.idx, c.idx_orig)
    c.before = before
    return c


def stream_id(image, frs, name):
    """The attribute id of record frs's $DATA named name, from istat."""
    r = run(["istat", image, str(frs)])
    m = re.search(r"Type: \$DATA \(128-(\d+)\)\s+Name: " + re.escape(name) + r"\s",
                  r.stdout.decode("utf-8", "replace"))
    return m.group(1) if m else "0"


def change_volume(tap, c):
    """Mounts, changes, unmounts; writes the journal of the changes.
    Returns an error string to skip the rest with, or None."""
    why = can_mount()
    if why:
        return why
    touched = ["many/file0005.txt", "many/file0001.txt", "many/file0002.txt",
               "many/file0003.txt", "many/file0004.txt", "small.txt", "big.txt",
               "many", "links", "links/b"]
    seq_before = {c.before[p]: istat(c.img, c.before[p])[0] for p in touched}
    seq_before[5] = istat(c.img, 5)[0]
    size_before = {p: istat(c.img, c.before[p])[2] for p in ("many/file0003.txt", "big.txt")}
    mnt = os.path.join(c.work, "mnt")
    os.mkdir(mnt)
    try:
        with Mount(c.img, mnt):
            try:
                make_changes(mnt)
            except OSError as e:
                tap.ok(False, "the changes made through ntfs-3g", repr(e))
                return "the changes through ntfs-3g failed"
    except MountError as e:
        return f"cannot mount read-write with ntfs-3g: {e}"
    after = fls_paths(c.img)
    deleted = fls_paths(c.img, deleted=True)
    streams = fls_streams(c.img)
    new = ["new.txt", "newdir", "newdir/inner.txt", "many/renamed0001.txt",
           "links/moved0002.txt", "links/b/small-link.txt", "many/file0003.txt",
           "many/file0004.txt", "big.txt", "many", "links", "links/b"]
    seq_after = {after[p]: istat(c.img, after[p])[0] for p in new if p in after}
    seq_after[5] = istat(c.img, 5)[0]
    gone = c.before["many/file0005.txt"]
    seq_freed = istat(c.img, gone)
    size_after = {p: istat(c.img, after[p])[2] for p in ("many/file0003.txt", "big.txt")
                  if p in after}
    c.new_records = sorted({after[p] for p in ("new.txt", "newdir", "newdir/inner.txt")
                            if p in after})
    b = c.before
    expect = {
        "new files listed": all(p in after for p in new),
        "old names gone": all(p not in after for p in
                              ("many/file0001.txt", "many/file0002.txt", "many/file0005.txt")),
        "renamed keeps its record": after.get("many/renamed0001.txt") == b["many/file0001.txt"],
        "moved keeps its record": after.get("links/moved0002.txt") == b["many/file0002.txt"],
        "hard link is small.txt's": after.get("links/b/small-link.txt") == b["small.txt"],
        "deleted: freed, sequence one more": seq_freed[1] is False and
        seq_freed[0] == seq_before[gone] + 1,
        "the stream": streams.get("many/file0004.txt:extra") == b["many/file0004.txt"],
        "appended": size_after.get("many/file0003.txt", 0) >
        (size_before["many/file0003.txt"] or 0),
        "truncated": size_after.get("big.txt") == 1000,
    }
    tap.ok(all(expect.values()), "the changes made through ntfs-3g are seen by fls",
           f"{expect}\nsizes {size_before} -> {size_after}; freed record {gone}: {seq_freed}")
    print(f"# ntfs-3g put the new files in records {c.new_records} "
          f"(the $MFT had {c.mft_records} records); deleted record {gone}: sequence "
          f"{seq_before[gone]} -> {seq_freed[0]}")
    seqs = dict(seq_before)
    seqs.update(seq_after)
    recs, second_page, problems = journal_for_changes(c.before, after, deleted,
                                                      seq_before, seqs)
    c.recs = recs
    c.full_j, c.usns = pack(recs, PAGE, new_page_at=(second_page,))
    c.full_j = c.page0 + c.full_j
    c.after = after
    return problems


def check_journal_written(tap, c, problems):
    ok, err = write_journal(c.img, c.work, max_stream(JOURNAL_ID), c.full_j)
    fl = fls_paths(c.img)
    jfrs = fl.get("$Extend/$UsnJrnl")
    icat = run(["icat", c.img, f"{jfrs}-128-{stream_id(c.img, jfrs, '$J')}"])
    back = parse_j(icat.stdout)[4:]
    meant = [(u, r["frs"], r["seq"], r["parent"], r["pseq"], r["reason"], r["name"])
             for u, r in zip(c.usns, c.recs)]
    tap.ok(ok and not problems and icat.stdout == c.full_j and back == meant and
           len(c.full_j) == 3 * PAGE,
           "the journal written for the changes: TSK's icat reads back the bytes "
           f"written ({len(c.recs)} records after USN 4096, on two new pages)",
           f"{err}\n{problems}\n{len(icat.stdout)} bytes, {len(back)} records")
    # uffs usn resolves each record's parent (with its sequence number) into
    # the directory fls lists; a wrong sequence would print <parent N-S>.
    r = run([c.uffs, "usn", "-f", "csv", "--since", str(PAGE), c.img])
    lines = r.stdout.decode(errors="replace").splitlines()[1:]
    paths = [x.rsplit(",", 1)[-1].strip('"') for x in lines]
    expected = []
    for rec in c.recs:
        if rec["parent"] == 5:
            expected.append("/" + rec["name"])
            continue
        parent = [k for k, v in c.after.items() if v == rec["parent"]]
        expected.append(f"/{parent[0]}/{rec['name']}" if parent else None)
    tap.ok(r.returncode == 0 and paths == expected,
           "the journal written for the changes: uffs usn resolves every record's "
           "path through the parents fls lists",
           "\n".join(f"{a} / {b}" for a, b in zip(paths, expected) if a != b)[:2000]
           or f"exit {r.returncode} {len(paths)} {len(expected)} {r.stderr[:300]}")
    for rec, usn in zip(c.recs, c.usns):
        print(f"#   USN {usn:5d}: {rec['frs']}-{rec['seq']} parent "
              f"{rec['parent']}-{rec['pseq']} 0x{rec['reason']:08x} {rec['name']}")


def variant(c, name, max_bytes, j_bytes):
    """A copy of the changed image with another $Max/$J, and a fresh index
    of it: (image, fresh index) or (None, error)."""
    img = os.path.join(c.work, f"{name}.img")
    shutil.copyfile(c.img, img)
    ok, err = write_journal(img, c.work, max_bytes, j_bytes)
    if not ok:
        return None, err
    fresh = os.path.join(c.work, f"{name}-fresh.idx")
    ok, err = index(c.uffs, img, fresh)
    return (img, fresh) if ok else (None, err)


def check_update(tap, c):
    u = c.uffs
    n_new = len(c.recs)
    fresh = os.path.join(c.work, "fresh.idx")
    index(u, c.img, fresh)
    dfresh = digest(u, fresh)
    dimg = digest(u, c.img)
    print(f"# digests: image {dimg}, fresh index {dfresh}, "
          f"old index {digest(u, c.idx_orig)}")
    idx = os.path.join(c.work, "upd", "vol.idx")
    os.mkdir(os.path.dirname(idx))
    shutil.copyfile(c.idx_orig, idx)
    rc, err = update(u, idx, c.img)
    m = UPDATED.match(one_line(err) or "")
    tap.ok(rc == 0 and m and m.group(1) == idx and int(m.group(2)) == n_new and
           int(m.group(3)) == PAGE,
           f"--update: exit 0, one line: {n_new} records since USN 4096",
           f"exit {rc}: {err}")
    if m:
        print(f"# {m.group(4)} MFT records read again")
    d = digest(u, idx)
    tap.ok(d == dfresh == dimg, "--update: digest equals a fresh index's",
           f"updated {d}, fresh {dfresh}, image {dimg}\n" + differing(u, idx, fresh))
    a, b = listing(u, idx), listing(u, c.img)
    tap.ok(a == b and b[1], "--update: uffs list equals the image's",
           f"exit {a[0]}/{b[0]}, {len(a[1])}/{len(b[1])} bytes")
    a, b = listing(u, idx, "--deleted", "-f", "csv"), listing(u, c.img, "--deleted", "-f", "csv")
    tap.ok(a == b and b[1], "--update: uffs list --deleted -f csv equals the image's",
           f"exit {a[0]}/{b[0]}, {len(a[1])}/{len(b[1])} bytes\n" + differing(u, idx, c.img))
    got = info_journal(u, idx)
    tap.ok(got == (JOURNAL_ID, len(c.full_j)) and
           info_journal(u, fresh) == (JOURNAL_ID, len(c.full_j)),
           f"--update: info shows the journal ID and the new next USN {len(c.full_j)}",
           f"updated {got}, fresh {info_journal(u, fresh)}")
    left = [f for f in os.listdir(os.path.dirname(idx)) if f != "vol.idx"]
    tap.ok(rc == 0 and not left, "--update: no temporary file left", left)

    # Again, now that it is current.
    rc, err = update(u, idx, c.img)
    m = UPDATED.match(one_line(err) or "")
    tap.ok(rc == 0 and m and int(m.group(2)) == 0 and int(m.group(3)) == len(c.full_j)
           and digest(u, idx) == dfresh,
           "--update again on a current index: 0 records, digest unchanged",
           f"exit {rc}: {err}")
    rc, err = update(u, idx, c.img, "-q")
    tap.ok(rc == 0 and err == "" and digest(u, idx) == dfresh,
           "--update -q: nothing on stderr", f"exit {rc}: {err}")

    # -o OUT
    idx2 = os.path.join(c.work, "keep.idx")
    shutil.copyfile(c.idx_orig, idx2)
    out = os.path.join(c.work, "out.idx")
    rc, err = update(u, idx2, c.img, "-o", out)
    same = open(idx2, "rb").read() == open(c.idx_orig, "rb").read()
    tap.ok(rc == 0 and UPDATED.match(one_line(err) or "") and same and
           os.path.exists(out) and digest(u, out) == dfresh and
           info_journal(u, idx2) == (JOURNAL_ID, PAGE),
           "--update -o OUT: IDX untouched, OUT equals a fresh index",
           f"exit {rc}: {err}; IDX unchanged: {same}")

    # Proof: the same changes, but $J holds only its first page.
    img, f0 = variant(c, "unjournaled", max_stream(JOURNAL_ID), c.page0)
    if img:
        idx3 = os.path.join(c.work, "unjournaled.idx")
        shutil.copyfile(c.idx_orig, idx3)
        rc, err = update(u, idx3, img)
        m = UPDATED.match(one_line(err) or "")
        d3, df = digest(u, idx3), digest(u, f0)
        tap.ok(rc == 0 and m and int(m.group(2)) == 0 and int(m.group(3)) == PAGE and
               d3 != df,
               "proof: the changes not journaled: 0 records, digest differs from a "
               "fresh index (the update reads what the journal names, not the volume)",
               f"exit {rc}: {err}\nupdated {d3}, fresh {df}")
        # What it missed: the rename, the move, the deletion, the truncation
        # and the append stay as they were in the old index.
        _, rows = listing(u, idx3, "-f", "csv", "-c", "path,size")
        _, old_rows = listing(u, c.idx_orig, "-f", "csv", "-c", "path,size")
        keep = [x for x in old_rows.decode().splitlines()
                if x.startswith(('"/many/file0001.txt"', '"/many/file0002.txt"',
                                 '"/many/file0005.txt"', '"/big.txt"',
                                 '"/many/file0003.txt"'))]
        have = rows.decode().splitlines()
        tap.ok(rc == 0 and m and len(keep) == 5 and all(x in have for x in keep) and
               not any(x.startswith(('"/many/renamed0001.txt"', '"/links/moved0002.txt"',
                                     '"/links/b/small-link.txt"')) for x in have),
               "proof: the unjournaled rename, move, deletion, truncation, append "
               "and hard link are not in that index",
               f"old rows {keep}\n" + differing(u, idx3, c.idx_orig))
    else:
        tap.ok(False, "proof: the changes not journaled", f0)



def check_rescans(tap, c):
    """When the journal cannot say what changed: a rescan, equal to a fresh
    index. These need no mount: without one, c.img holds the volume as it
    was, with a second page of records about files that did not change."""
    u = c.uffs
    fresh = os.path.join(c.work, "rescans-fresh.idx")
    index(u, c.img, fresh)
    # Behind: an index of the whole journal against a $J of its first page.
    img, f0 = variant(c, "behind", max_stream(JOURNAL_ID), c.page0)
    if img:
        idx = os.path.join(c.work, "behind.idx")
        shutil.copyfile(fresh, idx)
        rc, err = update(u, idx, img)
        m = RESCANNED.match(one_line(err) or "")
        d, df = digest(u, idx), digest(u, f0)
        tap.ok(rc == 0 and m and "behind" in m.group(2) and d == df and
               info_journal(u, idx) == (JOURNAL_ID, PAGE),
               "rescan: journal behind (shorter than the index): 'rescanned: ... "
               "behind', digest equals a fresh index's",
               f"exit {rc}: {err}\nupdated {d}, fresh {df}")
    else:
        tap.ok(False, "rescan: journal behind (shorter than the index)", f0)
    rescan(tap, c, "recreated", max_stream(JOURNAL_ID + 1), c.full_j, c.idx_orig,
           "rescan: journal recreated (another ID)")
    rescan(tap, c, "wrapped", max_stream(JOURNAL_ID, 2 * PAGE), c.full_j, c.idx_orig,
           "rescan: journal wrapped (lowest valid USN past the index)")
    rescan(tap, c, "no journal position", max_stream(JOURNAL_ID), c.full_j,
           c.idx_nojournal, "rescan: an index made before the journal existed",
           img=c.img, fresh=fresh)

    # Another volume: sector4k with its serial number changed (every
    # committed image has the same one, from mkntfs -T).
    other = os.path.join(c.work, "other.img")
    shutil.copyfile(decompress([p for p in committed_images() if "sector4k" in p][0]), other)
    set_serial(other, 0x0123456789ABCDEF)
    oidx = os.path.join(c.work, "other.idx")
    ok, _ = index(u, other, oidx)
    before = open(oidx, "rb").read() if ok else b""
    rc, err = update(u, oidx, c.img)
    line = one_line(err)
    tap.ok(ok and rc == 1 and line and "another volume" in line and
           open(oidx, "rb").read() == before,
           "another volume: exit 1, one line, the index untouched", f"exit {rc}: {err}")


def without_mount(tap, c, why):
    """No read-write mount: the checks that need the changes are skipped;
    the rescans run on the unchanged volume with a second page of records."""
    for name in MOUNT_CHECKS:
        tap.skip(name, why)
    b = c.before
    recs = [dict(name=n, reason=CLOSE | DATA_EXTEND, frs=b[n], seq=1, parent=5,
                 pseq=5) for n in ("small.txt", "big.txt")]
    for r in recs:
        r["seq"] = istat(c.img, r["frs"])[0]
        r["pseq"] = istat(c.img, 5)[0]
    page, _ = pack(recs, PAGE)
    c.full_j = c.page0 + page
    ok, err = write_journal(c.img, c.work, max_stream(JOURNAL_ID), c.full_j)
    if not tap.ok(ok, "a second page of $J written by ntfscp", err):
        return
    check_rescans(tap, c)


def rescan(tap, c, word, max_bytes, j_bytes, start_idx, name, img=None, fresh=None):
    u = c.uffs
    if img is None:
        img, fresh = variant(c, word.replace(" ", "-"), max_bytes, j_bytes)
        if not img:
            tap.ok(False, name, fresh)
            return
    idx = os.path.join(c.work, f"rescan-{word.replace(' ', '-')}.idx")
    shutil.copyfile(start_idx, idx)
    rc, err = update(u, idx, img)
    m = RESCANNED.match(one_line(err) or "")
    d, df = digest(u, idx), digest(u, fresh)
    tap.ok(rc == 0 and m and m.group(1) == idx and word in m.group(2) and d == df and
           info_journal(u, idx) == info_journal(u, fresh),
           f"{name}: 'rescanned: ... {word}', digest equals a fresh index's",
           f"exit {rc}: {err}\nupdated {d}, fresh {df}")


def check_hostile(tap, c):
    u = c.uffs
    recs = c.recs
    far = [dict(name="far.txt", reason=CLOSE | FILE_CREATE, frs=c.mft_records + 5000,
                seq=1, parent=5, pseq=5),
           dict(name="farther.txt", reason=CLOSE | DATA_EXTEND, frs=0xFFFFFFFFFFFF,
                seq=0xFFFF, parent=0xFFFFFFFFFFF0, pseq=7),
           dict(name="parent-past.txt", reason=CLOSE | FILE_CREATE,
                frs=c.after["new.txt"], seq=recs[0]["seq"], parent=c.mft_records + 99,
                pseq=1)]
    body, _ = pack(far + recs, PAGE, new_page_at=(len(far),))
    cases = [("past the $MFT", c.page0 + body, "hostile: references past the $MFT")]
    # Garbage after the last valid record of the last page, instead of zeros.
    j = bytearray(c.full_j)
    end = c.usns[-1] + len(v2(0, **recs[-1]))
    import random
    rnd = random.Random(15)
    j[end:len(j)] = bytes(rnd.randrange(256) for _ in range(len(j) - end))
    struct.pack_into("<IHH", j, end, 0x58, 2, 0)   # looks like a record header
    cases.append(("garbage", bytes(j), "hostile: garbage after the records of the last page"))
    for word, data, name in cases:
        img, fresh = variant(c, "hostile-" + word.split()[0], max_stream(JOURNAL_ID), data)
        if not img:
            tap.ok(False, name, fresh)
            continue
        idx = os.path.join(c.work, f"hostile-{word.split()[0]}.idx")
        shutil.copyfile(c.idx_orig, idx)
        rc, err = update(u, idx, img)
        crashed = rc < 0 or rc not in (0, 3) or "Sanitizer" in err or "runtime error" in err
        lines = [x for x in err.splitlines() if x]
        d, df = digest(u, idx), digest(u, fresh)
        print(f"# {word}: exit {rc}, " + " | ".join(lines)[:600])
        tap.ok(not crashed and all(x.startswith("uffs:") for x in lines) and
               any(UPDATED.match(x) or RESCANNED.match(x) for x in lines) and d == df,
               f"{name}: exit 0 or 3, no crash, digest equals a fresh index's",
               f"exit {rc}: {err[-1500:]}\nupdated {d}, fresh {df}\n" +
               (differing(u, idx, fresh) if d != df else ""))


def set_serial(image, serial):
    """The volume serial number (boot sector offset 0x48) in the boot
    sector and its backup in the last sector of the volume."""
    with open(image, "r+b") as f:
        boot = bytearray(f.read(512))
        bps = struct.unpack_from("<H", boot, 11)[0]
        sectors = struct.unpack_from("<Q", boot, 0x28)[0]
        struct.pack_into("<Q", boot, 0x48, serial)
        f.seek(0)
        f.write(boot)
        f.seek(sectors * bps)
        backup = bytearray(f.read(512))
        if backup[3:11] == b"NTFS    ":
            struct.pack_into("<Q", backup, 0x48, serial)
            f.seek(sectors * bps)
            f.write(backup)


def mft_records(uffs, src):
    r = run([uffs, "info", src])
    m = re.search(rb"records total:\s+(\d+)", r.stdout)
    return int(m.group(1)) if m else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs", required=True)
    a = ap.parse_args()
    tap = Tap()
    with tempfile.TemporaryDirectory(prefix="uffs-update-") as work:
        c = prepare(tap, a.uffs, work)
        if c is None:
            for name in MOUNT_CHECKS:
                tap.skip(name, "the setup failed")
            return tap.done()
        c.mft_records = mft_records(a.uffs, c.img)
        problems = change_volume(tap, c)
        if isinstance(problems, str):
            without_mount(tap, c, problems)
            return tap.done()
        check_journal_written(tap, c, problems)
        check_update(tap, c)
        check_rescans(tap, c)
        check_hostile(tap, c)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
