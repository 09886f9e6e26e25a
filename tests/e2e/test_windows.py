#!/usr/bin/env python3
"""The Windows build under Wine: the same bytes as the Linux build.

For every committed image, uffs.exe (mingw-w64 cross build) run through
Wine must print exactly what the Linux uffs prints (text, body file, jsonl)
and build the same index (one digest) in every scan mode on every Windows
backend (iocp, threads, sync, and fault with short reads and reordering).
Errors keep their one-line form and exit status.

With --ioring-double (a build made with -Dioring_double=true), the ioring
backend runs on the IoRing test double (tests/windows): the same digests
and listings as Linux on every image, also with the double's injected
short reads, reordering, full queue and errors, and --verbose shows it ran
with no fallback. Without the variable that names the double, ioring stays
unavailable under Wine and iocp reads instead (checked first).
"""
import argparse
import itertools
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (Tap, committed_images, decompress, run,  # noqa: E402
                    shared_images)

MODES = ["streaming", "prefetch", "pipelined-parallel", "parallel", "async"]
BACKENDS = ["iocp", "threads", "sync"]


def wine(exe, args, timeout=120, env=None):
    """Runs exe under Wine. uffs prints a line on stderr for every failure
    it reports; a failure with no output at all is Wine failing to run the
    process (seen once in a fresh prefix), so that case is tried once more.
    A failure that repeats, or that says anything, counts. So does a
    second time-out: once, a first Wine start after the server came up hung
    for minutes before the process began."""
    kw = {"timeout": timeout}
    if env is not None:
        kw["env"] = env
    try:
        r = run(["wine", exe] + args, **kw)
    except subprocess.TimeoutExpired:
        print(f"# wine timed out on {' '.join(args)}: once more")
        return run(["wine", exe] + args, **kw)
    if r.returncode != 0 and not r.stdout and not r.stderr:
        print(f"# wine ran nothing for {' '.join(args)} (exit {r.returncode}): once more")
        r = run(["wine", exe] + args, **kw)
    return r


# The IoRing test double: the variables that point uffs.exe at it and set
# its faults. Removed from this process's environment at start, so that
# only the runs that ask for the double get it.
DOUBLE_VARS = ("UFFS_IORING_DOUBLE_DLL", "UFFS_IORING_DOUBLE_FAULTS")
DOUBLE_RAN = "I/O backend ioring: IoRing from the test double (uffs_ioring_double.dll)"
DOUBLE_FAULTS = ["", "short", "reorder", "full:2", "noregister",
                 "short:3,reorder,full:3"]


def double_env(dll, faults=""):
    env = dict(os.environ, UFFS_IORING_DOUBLE_DLL=dll)
    if faults:
        env["UFFS_IORING_DOUBLE_FAULTS"] = faults
    return env


def ran_on_double(err):
    """--verbose says the double served ioring, and nothing fell back or
    closed a ring with reads in flight."""
    return (DOUBLE_RAN in err and "scan: ioring backend" in err and
            "skipped" not in err and "falling back" not in err and
            "uffs_ioring_double:" not in err)


def test_ioring_double(tap, exe, ref, dll):
    """uffs.exe with --backend ioring on the IoRing test double: Linux's
    digest and listings on every committed image (and the shared samples
    where they are), with and without injected faults."""
    small = decompress(committed_images()[-1])
    r = wine(exe, ["list", "-v", "-m", "async", "-b", "ioring", small],
             env=double_env(dll))
    err = r.stderr.decode(errors="replace")
    tap.ok(r.returncode == 0 and ran_on_double(err) and
           r.stdout == run([ref, "list", small]).stdout,
           "--backend ioring on the test double: --verbose names it, no fallback, Linux's listing",
           err)
    r = wine(exe, ["list", "-v", "-m", "async", small], env=double_env(dll))
    err = r.stderr.decode(errors="replace")
    tap.ok(r.returncode == 0 and ran_on_double(err),
           "with the double, the best backend under Wine is ioring (nothing skipped)", err)
    r = wine(exe, ["digest", "-v", "-m", "async", "-b", "ioring", "--chunk", "4K",
                   small], env=double_env(dll, "short"))
    err = r.stderr.decode(errors="replace")
    shorts = re.search(r"(\d+) short reads", err)
    n_short = int(shorts.group(1)) if shorts else 0
    tap.ok(r.returncode == 0 and ran_on_double(err) and n_short > 0,
           f"the double's short reads reach the scan ({n_short} short reads)", err)
    r = wine(exe, ["bench", "-m", "async", "-b", "ioring", "--repeat", "1", small],
             env=double_env(dll))
    out = r.stdout.decode(errors="replace")
    tap.ok(r.returncode == 0 and "ioring: IoRing from the test double" in out
           and "falling back" not in out,
           "uffs bench names the IoRing the backend ran on", out)

    images = committed_images() + (shared_images() or [])
    for path in images:
        name = os.path.basename(path)
        img = decompress(path)
        want = run([ref, "digest", img]).stdout.split()[:1]
        bad = []
        # Every fault in async mode; the other modes that read through a
        # backend with them all at once ("parallel" reads directly).
        combos = [(faults, "async") for faults in DOUBLE_FAULTS]
        combos += [(DOUBLE_FAULTS[-1], m)
                   for m in ("streaming", "prefetch", "pipelined-parallel")]
        for faults, mode in combos:
            w = wine(exe, ["digest", "-v", "--chunk", "4K", "-m", mode, "-b",
                           "ioring", img], env=double_env(dll, faults))
            err = w.stderr.decode(errors="replace")
            if w.stdout.split()[:1] != want or not ran_on_double(err):
                bad.append(f"{faults or 'no faults'} -m {mode}: "
                           f"{w.stdout[:40]!r} {err[-300:]}")
        tap.ok(want and not bad,
               f"{name}: digest --backend ioring on the double = Linux's, "
               f"{len(combos)} fault x mode runs", "\n".join(bad[:6]))
        for fmt in (["list"], ["list", "-f", "bodyfile", "--deleted"]):
            w = wine(exe, fmt + ["-b", "ioring", img],
                     env=double_env(dll, "short,reorder"))
            l = run([ref] + fmt + [img])
            tap.ok(w.returncode == 0 and w.stdout == l.stdout and l.stdout,
                   f"{name}: `uffs {' '.join(fmt)} --backend ioring` with short, "
                   "reordered reads: Linux's bytes",
                   w.stderr.decode(errors="replace")[:300])

    # A read error from the ring ends the scan with the one-line error.
    r = wine(exe, ["digest", "-b", "ioring", small], env=double_env(dll, "error:2"))
    err = r.stderr.decode(errors="replace").strip()
    tap.ok(r.returncode == 1 and "I/O error" in err and len(err.splitlines()) == 1
           and "uffs_ioring_double:" not in err,
           "an injected read error: exit 1, one line naming the I/O error", err)
    # A fault the double does not know: no ring, and ioring says so.
    r = wine(exe, ["digest", "-b", "ioring", small], env=double_env(dll, "bogus"))
    err = r.stderr.decode(errors="replace")
    tap.ok(r.returncode == 1 and "unknown fault 'bogus'" in err,
           "an unknown fault word: the double refuses, --backend ioring fails", err)
    # The double named but absent: unavailable, and no quiet KernelBase.
    r = wine(exe, ["list", "-b", "ioring", small],
             env=double_env("C:\\nowhere\\uffs_ioring_double.dll"))
    err = r.stderr.decode(errors="replace")
    tap.ok(r.returncode == 1 and "did not load" in err,
           "a double that does not load: --backend ioring fails with the reason", err)


def test_library(tap, win_build, build):
    """libuffs-0.dll: tests/api/walk.c cross-compiled against it walks every
    committed image, a search and a saved index under Wine exactly as the
    same program built against the Linux libuffs.so."""
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
    src = os.path.join(top, "tests", "api", "walk.c")
    inc = os.path.join(top, "include")
    flags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-I", inc]
    with tempfile.TemporaryDirectory() as work:
        lin, exe = os.path.join(work, "walk"), os.path.join(work, "walk.exe")
        r1 = run(["cc"] + flags + ["-o", lin, src, "-L", build, "-luffs",
                                   f"-Wl,-rpath,{os.path.abspath(build)}"])
        r2 = run(["x86_64-w64-mingw32-gcc-posix"] + flags +
                 ["-o", exe, src, os.path.join(win_build, "libuffs.dll.a"),
                  "-static"])
        dll = os.path.join(win_build, "libuffs-0.dll")
        tap.ok(r1.returncode == 0 and r2.returncode == 0 and
               os.path.exists(dll),
               "walk.c builds against libuffs.so and libuffs-0.dll",
               (r1.stderr + r2.stderr).decode(errors="replace"))
        if r2.returncode or r1.returncode or not os.path.exists(dll):
            return
        with open(dll, "rb") as f, open(os.path.join(work, "libuffs-0.dll"),
                                        "wb") as g:
            g.write(f.read())
        img = decompress([p for p in committed_images()
                          if "hardcases" in p][0])
        idx = os.path.join(work, "saved.idx")
        run([os.path.join(build, "uffs"), "index", img, "-o", idx])
        cases = [([], img) for img in map(decompress, committed_images())]
        cases += [(["--deleted"], img), (["--search", "*.TXT"], img),
                  (["--search", "**/level0?", "--path"], img), ([], idx)]
        for opts, source in cases:
            want = run([lin] + opts + [source])
            got = wine(exe, opts + [source])
            n = want.stdout.count(b"\n")
            # A plain C program's stdout is in text mode on Windows.
            text = got.stdout.replace(b"\r\n", b"\n")
            tap.ok(got.returncode == 0 and text == want.stdout and
                   want.stdout,
                   f"libuffs-0.dll under Wine: {' '.join(opts) or 'walk'} "
                   f"{os.path.basename(source)} as on Linux ({n} entries)",
                   got.stderr.decode(errors="replace")[:300])


def check_release_has_no_double(tap, win_build, source, defines, variable,
                                test_obj, what):
    """`source` compiled as a release build compiles it (without the
    double's meson option) holds no trace of the double's variable, a
    UTF-16 literal; the test build's object (test_obj, under win_build)
    does."""
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
    marker = variable.encode("utf-16-le")
    with tempfile.TemporaryDirectory() as work:
        obj = os.path.join(work, "release.obj")
        r = run(["x86_64-w64-mingw32-gcc-posix", "-std=c11", "-O2", "-c"] +
                defines + ["-o", obj, os.path.join(top, source)])
        release = open(obj, "rb").read() if r.returncode == 0 else b""
    test_obj = os.path.join(win_build, test_obj)
    in_test = open(test_obj, "rb").read() if os.path.exists(test_obj) else b""
    tap.ok(release and marker not in release and marker in in_test,
           f"{os.path.basename(source)} without {what} has no path to its test "
           "double (the test build's has)", r.stderr.decode(errors="replace")[:300])


def test_release_has_no_double(tap, win_build):
    check_release_has_no_double(
        tap, win_build, "backends/ioring.c",
        ["-D_WIN32_WINNT=0x0A00", "-DNTDDI_VERSION=0x0A00000B"],
        "UFFS_IORING_DOUBLE_DLL", os.path.join("libuaio.a.p", "backends_ioring.c.obj"),
        "-Dioring_double")


def test_release_has_no_journal_double(tap, win_build):
    check_release_has_no_double(
        tap, win_build, "source/file_win.c", ["-D_WIN32_WINNT=0x0A00"],
        "UFFS_JOURNAL_DOUBLE_DLL",
        os.path.join("libuffscore.a.p", "source_file_win.c.obj"),
        "-Djournal_double")


def test_saved_index(tap, exe, ref):
    """Index files are platform-neutral: one written by uffs.exe lists on
    Linux and the other way round, with the source's bytes and digest; a
    second write replaces the first (MoveFileEx)."""
    img = decompress(committed_images()[-1])
    want = run([ref, "list", "--deleted", img]).stdout
    want_digest = run([ref, "digest", img]).stdout.split()[:1]
    with tempfile.TemporaryDirectory() as work:
        win_idx = os.path.join(work, "win.idx")
        lin_idx = os.path.join(work, "lin.idx")
        for attempt in ("writes", "replaces"):
            w = wine(exe, ["index", img, "-o", win_idx])
            tap.ok(w.returncode == 0 and os.path.exists(win_idx),
                   f"uffs.exe index {attempt} an index file",
                   w.stderr.decode(errors="replace"))
        tap.ok(not [f for f in os.listdir(work) if ".tmp-" in f],
               "uffs.exe index leaves no temporary file", os.listdir(work))
        r = run([ref, "index", img, "-o", lin_idx])
        checks = [("Linux lists the Windows-written index",
                   run([ref, "list", "--deleted", win_idx])),
                  ("uffs.exe lists the Windows-written index",
                   wine(exe, ["list", "--deleted", win_idx])),
                  ("uffs.exe lists the Linux-written index",
                   wine(exe, ["list", "--deleted", lin_idx]))]
        for name, got in checks:
            tap.ok(got.returncode == 0 and got.stdout == want and want,
                   f"{name}: the source's bytes",
                   got.stderr.decode(errors="replace")[:300])
        for name, idx in (("Windows", win_idx), ("Linux", lin_idx)):
            w = wine(exe, ["digest", idx])
            tap.ok(w.stdout.split()[:1] == want_digest and want_digest,
                   f"uffs.exe digest of the {name}-written index: the source's",
                   w.stderr.decode(errors="replace"))


def journal_record(usn, name, frs, seq, parent, pseq, reason):
    """A USN_RECORD_V2, as Microsoft documents it."""
    nl = 2 * len(name)
    length = (60 + nl + 7) & ~7
    b = struct.pack("<IHHQQqQIIIIHH", length, 2, 0, (seq << 48) | frs,
                    (pseq << 48) | parent, usn, 132000000000000000 + usn,
                    reason, 0, 0, 0x20, nl, 60)
    b += name.encode("utf-16-le")
    return b + b"\0" * (length - len(b))



class VolumeLink:
    """\\\\.\\N: as Wine sees it: a symlink in the prefix's dosdevices to
    an image, removed on exit. None where there is no prefix to link in."""

    def __init__(self, image):
        prefix = os.environ.get("WINEPREFIX")
        dev = os.path.join(prefix, "dosdevices") if prefix else None
        self.link = os.path.join(dev, "n::") if dev and os.path.isdir(dev) else None
        self.image = image

    def __enter__(self):
        if self.link:
            if os.path.lexists(self.link):
                os.unlink(self.link)
            os.symlink(self.image, self.link)
        return self.link

    def __exit__(self, *exc):
        if self.link and os.path.lexists(self.link):
            os.unlink(self.link)
        return False

JOURNAL_ID = 0x1D9ABCDEF012345
FIRST_RECORDS = (("new.txt", 0x100), ("new.txt", 0x80000100),
                 ("renamed.txt", 0x2000), ("gone.txt", 0x80000200))


def journal_bytes(records, data=b""):
    """records (name, frs, seq, parent, pseq, reason) appended to data, the
    USN of each its offset, then zeros to the page's end."""
    data = bytearray(data.rstrip(b"\0")) if data else bytearray()
    data += b"\0" * (-len(data) % 8)
    for name, frs, seq, parent, pseq, reason in records:
        rec = journal_record(len(data), name, frs, seq, parent, pseq, reason)
        if len(data) % 4096 + len(rec) > 4096:
            data += b"\0" * (-len(data) % 4096)
            rec = journal_record(len(data), name, frs, seq, parent, pseq, reason)
        data += rec
    return bytes(data + b"\0" * (-len(data) % 4096))


def live_paths(data, fmt="text"):
    """The Linux build's `uffs usn IMAGE` output as `uffs.exe usn \\\\.\\N:`
    prints it for that image as a live volume: the same records, with
    Windows paths on drive N: (as `list N:` prints them). In jsonl and csv
    each backslash is written twice (both escape it)."""
    out = []
    for line in data.splitlines(keepends=True):
        if fmt == "text":
            f = line.split(b" ", 4)
            if len(f) == 5 and f[4].startswith(b"/"):
                f[4] = b"N:" + f[4].replace(b"/", b"\\")
            elif len(f) == 5 and f[4].startswith(b"<parent "):
                f[4] = f[4].replace(b">/", b">\\", 1)
            line = b" ".join(f)
        else:
            lead = b'"path":"' if fmt == "jsonl" else b',"'
            line = re.sub(re.escape(lead) + rb'/([^"]*)"',
                          lambda m: lead + b"N:\\\\" +
                          m.group(1).replace(b"/", b"\\\\") + b'"', line)
        out.append(line)
    return b"".join(out)


def write_journal(img, work, data, name="J"):
    """$UsnJrnl:$Max and :$J written into img with ntfscp; None or errors."""
    ntfscp = shutil.which("ntfscp") or "/sbin/ntfscp"
    jfile = os.path.join(work, name)
    maxfile = os.path.join(work, "Max")
    open(jfile, "wb").write(data)
    open(maxfile, "wb").write(struct.pack("<QQQq", 32 << 20, 8 << 20, JOURNAL_ID, 0))
    a = run([ntfscp, "-f", "-q", "-N", "$Max", img, maxfile, "/$Extend/$UsnJrnl"])
    b = run([ntfscp, "-f", "-q", "-N", "$J", img, jfile, "/$Extend/$UsnJrnl"])
    if a.returncode or b.returncode:
        return jfile, (a.stderr + b.stderr).decode(errors="replace")
    return jfile, None


def journal_image(work):
    """A copy of hardcases with four journal records in $UsnJrnl:$J:
    (image, the $J file, None) or (.., .., what ntfscp said)."""
    src = [p for p in committed_images() if "hardcases" in p][0]
    img = os.path.join(work, "j.img")
    with open(img, "wb") as f:
        f.write(open(decompress(src), "rb").read())
    data = journal_bytes([(n, 64, 1, 5, 5, r) for n, r in FIRST_RECORDS])
    jfile, errs = write_journal(img, work, data)
    return img, jfile, errs


def test_journal(tap, exe, ref):
    """uffs usn and uffs index --update under Wine: the Linux build's
    output, byte for byte, on an image whose journal ntfscp wrote."""
    with tempfile.TemporaryDirectory() as work:
        img, jfile, errs = journal_image(work)
        if errs is not None:
            tap.ok(False, "ntfscp wrote $UsnJrnl:$Max and $J", errs)
            return
        for args in ([], ["-f", "jsonl"], ["-f", "csv"]):
            for what, path in (("the image", img), ("a captured $J", jfile)):
                want = run([ref, "usn"] + args + [path])
                got = wine(exe, ["usn"] + args + [path])
                tap.ok(got.returncode == want.returncode == 0 and
                       got.stdout.replace(b"\r\n", b"\n") == want.stdout and
                       want.stdout.count(b"new.txt") >= 2,
                       f"uffs.exe usn {' '.join(args) or '(text)'} of {what}: "
                       "the Linux build's bytes",
                       got.stderr.decode(errors="replace")[:300])
        # The image as a live volume (\\.\N:): Windows would answer
        # FSCTL_QUERY_USN_JOURNAL; Wine has no journal to give, so uffs says
        # so and reads $UsnJrnl:$J through the volume: the same records.
        with VolumeLink(img) as link:
            if link:
                got = wine(exe, ["usn", "-v", "\\\\.\\N:"])
                follow = wine(exe, ["watch", "--count", "1", "\\\\.\\N:"])
        if link:
            ferr = follow.stderr.decode(errors="replace")
            tap.ok(follow.returncode == 1 and "no live change journal" in ferr and
                   len(ferr.splitlines()) == 1,
                   "uffs.exe watch \\\\.\\N: where the system gives no journal "
                   "(Wine): exit 1, one line", ferr[-300:])
            want = run([ref, "usn", img])
            err = got.stderr.decode(errors="replace")
            tap.ok(got.returncode == 0 and b"N:\\new.txt" in live_paths(want.stdout) and
                   got.stdout.replace(b"\r\n", b"\n") == live_paths(want.stdout) and
                   "no live change journal from the system" in err,
                   "uffs.exe usn \\\\.\\N: (a live volume; Wine has no FSCTL journal): "
                   "says so, reads $J through the volume, the Linux build's records "
                   "with N:\\ paths",
                   err[-400:])
        else:
            tap.skip("uffs.exe usn of a live volume", "WINEPREFIX not set")
        idx = os.path.join(work, "w.idx")
        fresh = os.path.join(work, "fresh.idx")
        w = wine(exe, ["index", img, "-o", idx])
        u = wine(exe, ["index", "--update", idx, img])
        run([ref, "index", img, "-o", fresh])
        d1 = run([ref, "digest", idx]).stdout.split()[:1]
        d2 = run([ref, "digest", fresh]).stdout.split()[:1]
        tap.ok(w.returncode == 0 and u.returncode == 0 and
               b"updated from the change journal: 0 records since USN 4096" in u.stderr
               and d1 == d2 and d1,
               "uffs.exe index --update: follows the journal, the fresh index's digest",
               u.stderr.decode(errors="replace")[:300])


JOURNAL_FAULTS = (
    ("query:notactive", "The volume has no active change journal"),
    ("query:deleting", "The change journal is being deleted"),
    ("query:denied", "Access denied"),
    ("read:deleted", "The journal no longer holds the records asked for"),
)


def journal_env(dll, jfile, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("UFFS_JOURNAL_DOUBLE")}
    env["UFFS_JOURNAL_DOUBLE_DLL"] = dll
    env["UFFS_JOURNAL_DOUBLE_J"] = run(["winepath", "-w", jfile]).stdout.decode().strip()
    env.update(extra)
    return env


def changed_image(work, img, fill=0):
    """img's copy with /newdir/inner.txt made through ntfs-3g (with fill:
    that many files in /newdir first, so that the $MFT grows, then
    /newdir/deep/inner.txt): (path, the records the journal would name:
    [(name, frs, seq, parent, pseq, reason)]), or (None, why)."""
    from common import Mount, MountError, can_mount
    from test_update import fls_paths, istat
    why = can_mount()
    if why:
        return None, why
    after = os.path.join(work, f"after{fill}.img")
    shutil.copyfile(img, after)
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt, exist_ok=True)
    where = "newdir/deep" if fill else "newdir"
    try:
        with Mount(after, mnt):
            os.mkdir(os.path.join(mnt, "newdir"))
            for i in range(fill):
                with open(os.path.join(mnt, "newdir", f"fill{i:03}.txt"), "w") as f:
                    f.write("x\n")
            if fill:
                os.mkdir(os.path.join(mnt, where))
            with open(os.path.join(mnt, where, "inner.txt"), "w") as f:
                f.write("watched\n")
    except MountError as e:
        return None, f"ntfs-3g: {e}"
    paths = fls_paths(after)
    parent = os.path.dirname(where)
    if where not in paths or where + "/inner.txt" not in paths:
        return None, f"fls does not list {where}/inner.txt"
    d, f = paths[where], paths[where + "/inner.txt"]
    p = paths[parent] if parent else 5
    pseq = istat(after, p)[0] if parent else 5
    dseq, fseq = istat(after, d)[0], istat(after, f)[0]
    return after, [(os.path.basename(where), d, dseq, p, pseq, 0x100),
                   ("inner.txt", f, fseq, d, dseq, 0x100),
                   ("inner.txt", f, fseq, d, dseq, 0x80000102)]


def watch_changes(exe, dll, work, img, after, jfile, full, count, args=(),
                  **env_extra):
    """uffs.exe watch -v --count N \\\\.\\N: [args] on a copy of img, whose
    journal (the double's copy of jfile) gets full's records once it
    follows; before them the volume becomes `after` (None: it stays as it
    was, its MFT not yet written). (returncode, stdout, stderr)."""
    live = os.path.join(work, "live.img")
    shutil.copyfile(img, live)
    wjfile = os.path.join(work, "Jlive")
    shutil.copyfile(jfile, wjfile)
    with VolumeLink(live):
        p = subprocess.Popen(["wine", exe, "watch", "-v", "--count", str(count),
                              "\\\\.\\N:"] + list(args),
                             env=journal_env(dll, wjfile, **env_extra),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen = b""
        deadline = time.time() + 120
        while b"following change journal" not in seen and time.time() < deadline:
            line = p.stderr.readline()
            if not line:
                break
            seen += line
        if after:
            with open(live, "r+b") as f:
                f.write(open(after, "rb").read())
        tmp = wjfile + ".new"
        open(tmp, "wb").write(full)
        os.replace(tmp, wjfile)
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
    return (p.returncode, out.replace(b"\r\n", b"\n"),
            (seen + err).decode(errors="replace"))


def test_journal_double(tap, exe, ref, dll):
    """A live volume's change journal through FSCTL_QUERY_USN_JOURNAL and
    FSCTL_READ_USN_JOURNAL, answered by the journal test double from a
    captured $J (Wine's DeviceIoControl has no journal): uffs usn prints
    the Linux build's bytes for the image holding that $J; the errors the
    system can give end in one line and exit 1; uffs watch prints records
    appended while it waits, with paths from an index it brings up to date
    (a file in a directory made after the scan)."""
    with tempfile.TemporaryDirectory() as work:
        img, jfile, errs = journal_image(work)
        if errs is not None:
            tap.ok(False, "ntfscp wrote $UsnJrnl:$Max and $J", errs)
            return
        env = journal_env(dll, jfile)
        with VolumeLink(img) as link:
            if not link:
                tap.skip("the journal test double on \\\\.\\N:", "WINEPREFIX not set")
                return
            for args in ([], ["-f", "jsonl"], ["-f", "csv"]):
                want = run([ref, "usn"] + args + [img])
                live = live_paths(want.stdout, args[1] if args else "text")
                got = wine(exe, ["usn", "-v"] + args + ["\\\\.\\N:"], env=env)
                err = got.stderr.decode(errors="replace")
                tap.ok(got.returncode == want.returncode == 0 and
                       live != want.stdout and b"N:\\" in live and
                       got.stdout.replace(b"\r\n", b"\n") == live and
                       want.stdout.count(b"new.txt") >= 2 and
                       f"live change journal ID 0x{JOURNAL_ID:016x}, USN 0 to 328" in err,
                       f"uffs.exe usn {' '.join(args) or '(text)'} \\\\.\\N: through "
                       "FSCTL_READ_USN_JOURNAL (the double): the Linux build's records, "
                       "paths on N:",
                       err[-400:])
            got = wine(exe, ["usn", "--since", "160", "\\\\.\\N:"], env=env)
            want = run([ref, "usn", "--since", "160", img])
            tap.ok(got.returncode == 0 and
                   got.stdout.replace(b"\r\n", b"\n") == live_paths(want.stdout)
                   and want.stdout.count(b"\n") == 2,
                   "uffs.exe usn --since 160 \\\\.\\N: starts the read there",
                   got.stderr.decode(errors="replace")[-300:])
            for fault, text in JOURNAL_FAULTS:
                fenv = dict(env, UFFS_JOURNAL_DOUBLE_FAULTS=fault)
                for cmd in (["usn"], ["watch", "--count", "1"]):
                    r = wine(exe, cmd + ["\\\\.\\N:"], env=fenv)
                    err = r.stderr.decode(errors="replace")
                    tap.ok(r.returncode == 1 and not r.stdout and text in err and
                           len(err.splitlines()) == 1,
                           f"uffs.exe {cmd[0]} \\\\.\\N: with the journal's {fault}: "
                           "exit 1, one line", err[-300:])
            r = wine(exe, ["usn", "\\\\.\\N:"],
                     env=dict(env, UFFS_JOURNAL_DOUBLE_DLL="C:\\nowhere\\double.dll"))
            err = r.stderr.decode(errors="replace")
            tap.ok(r.returncode == 1 and not r.stdout and len(err.splitlines()) == 1,
                   "a journal double that does not load: exit 1, one line, never the OS",
                   err[-300:])

        # uffs watch: the scan of the image, then records appended to the
        # double's $J while it waits; the image changes under it first, as
        # a live volume does, and the new records' paths need the new
        # directory in the index.
        after, named = changed_image(work, img)
        if after is None:
            tap.skip("uffs.exe watch through the double with a changing volume", named)
            return
        full = journal_bytes(named, open(jfile, "rb").read())
        ref_img = os.path.join(work, "ref.img")
        shutil.copyfile(after, ref_img)
        _, errs = write_journal(ref_img, work, full, name="Jref")
        want = live_paths(run([ref, "usn", ref_img]).stdout).splitlines(keepends=True)[-3:]
        # The changed image's $MFT, for the double to answer
        # FSCTL_GET_NTFS_FILE_RECORD from (as the file system's cache).
        mft_after = os.path.join(work, "after.mft")
        with open(mft_after, "wb") as f:
            icat = run(["icat", after, "0"])
            f.write(icat.stdout)
        fs_env = {"UFFS_JOURNAL_DOUBLE_MFT":
                  run(["winepath", "-w", mft_after]).stdout.decode().strip()}
        # All three records in one answer, then one an answer, then only
        # the names a pattern matches (case ignored); then with a volume
        # whose MFT was not yet written (Windows writes records lazily):
        # the records come from the file system, and without it (the
        # negative control) the new file's path cannot be right.
        for batch, pattern, stale, fs in (("", None, False, False),
                                          ("1", None, False, False),
                                          ("", "*.TXT", False, False),
                                          ("", None, True, True),
                                          ("", None, True, False)):
            wanted = [w for w in want if not pattern or b"inner.txt" in w]
            rc, got, err = watch_changes(
                exe, dll, work, img, None if stale else after, jfile, full,
                len(wanted), [pattern] if pattern else [],
                UFFS_JOURNAL_DOUBLE_BATCH=batch, **(fs_env if fs else {}))
            if stale:
                from_fs = re.search(r"read again \((\d+) from the file system", err)
                from_fs = int(from_fs.group(1)) if from_fs else -1
                if fs:
                    tap.ok(rc == 0 and errs is None and
                           got == b"".join(wanted) and from_fs >= 3,
                           "uffs.exe watch \\\\.\\N: whose MFT is not yet written: "
                           "the changed records from FSCTL_GET_NTFS_FILE_RECORD (the double, "
                           "in-memory form), the records uffs usn prints for the changed image",
                           f"exit {rc}, got {got!r} want {b''.join(wanted)!r} {err[-800:]}")
                else:
                    tap.ok(rc == 0 and from_fs == 0 and
                           got != b"".join(wanted) and b"N:\\newdir\\inner.txt" not in got,
                           "the same without the file system's records (negative control): "
                           "the stale volume cannot give /newdir/inner.txt",
                           f"exit {rc}, {from_fs} from the file system, got {got!r} {err[-800:]}")
                continue
            tap.ok(rc == 0 and errs is None and
                   got == b"".join(wanted) and b"N:\\newdir\\inner.txt" in got and
                   "index brought up to date" in err,
                   f"uffs.exe watch --count {len(wanted)} \\\\.\\N:{' ' + pattern if pattern else ''} (the double, "
                   f"records appended while it waits, {'one an answer' if batch else 'one answer'}): "
                   "the records uffs usn prints for the changed image, "
                   "/newdir/inner.txt resolved through the refreshed index",
                   f"got {got!r} want {b''.join(wanted)!r} {err[-500:]}")

        # The $MFT grows while watch follows: 150 files fill the records
        # the image had free, so /newdir/deep lands past the end of the
        # $MFT watch scanned; the path of deep/inner.txt needs its record.
        grown, gnamed = changed_image(work, img, fill=150)
        if grown is None:
            tap.skip("uffs.exe watch while the $MFT grows", gnamed)
            return
        before = int(re.search(rb"records total: *(\d+)",
                               run([ref, "info", img]).stdout).group(1))
        gfull = journal_bytes(gnamed, open(jfile, "rb").read())
        gref = os.path.join(work, "gref.img")
        shutil.copyfile(grown, gref)
        _, gerrs = write_journal(gref, work, gfull, name="Jgref")
        gwant = live_paths(run([ref, "usn", gref]).stdout).splitlines(keepends=True)[-3:]
        rc, got, err = watch_changes(exe, dll, work, img, grown, jfile, gfull, 3)
        tap.ok(rc == 0 and gerrs is None and gnamed[0][1] >= before and
               got == b"".join(gwant) and b"N:\\newdir\\deep\\inner.txt" in got and
               "the $MFT grew by" in err and "past the $MFT" not in err,
               f"uffs.exe watch \\\\.\\N: while the $MFT grows ({before} records at the scan, "
               f"/newdir/deep is record {gnamed[0][1]}): mapped again, "
               "/newdir/deep/inner.txt resolved",
               f"got {got!r} want {b''.join(gwant)!r} {err[-600:]}")
        # A record the journal names that no mapping holds (a journal
        # that names garbage): one warning, the record still printed.
        ghost = [("ghost.txt", 999999, 1, 5, 5, 0x100)]
        hfull = journal_bytes(ghost, open(jfile, "rb").read())
        rc, got, err = watch_changes(exe, dll, work, img, None, jfile, hfull, 1)
        tap.ok(rc == 0 and b" FILE_CREATE N:\\ghost.txt\n" in got and
               got.count(b"\n") == 1 and
               "the journal names 1 record past the $MFT's end" in err,
               "uffs.exe watch \\\\.\\N: with a journal record for record 999999: "
               "printed, and one warning that it lies past the $MFT",
               f"got {got!r} {err[-600:]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs-exe", required=True)
    ap.add_argument("--uffs", required=True, help="the Linux build, the reference")
    ap.add_argument("--win-build", help="the cross build's folder: test libuffs-0.dll")
    ap.add_argument("--build", help="the Linux build's folder (with --win-build)")
    ap.add_argument("--journal-double",
                    help="uffs_journal_double.dll (a build with -Djournal_double=true)")
    ap.add_argument("--ioring-double",
                    help="uffs_ioring_double.dll (a build with -Dioring_double=true)")
    args = ap.parse_args()
    for var in DOUBLE_VARS:
        os.environ.pop(var, None)
    tap = Tap()
    exe, ref = args.uffs_exe, args.uffs

    r = wine(exe, ["--version"])
    tap.ok(r.returncode == 0 and r.stdout.startswith(b"uffs "),
           "uffs.exe --version runs under Wine", r.stderr.decode(errors="replace"))
    r = wine(exe, ["list", "--backend", "uring", "x"])
    names = r.stderr.decode(errors="replace")
    tap.ok(r.returncode == 2 and "iocp" in names and "uring" not in names.split("has:")[-1],
           "the Windows build has the iocp backend and no uring", names)

    # Debian has no mingw builds of libyal's libraries: the Windows build
    # still recognizes containers and says what it lacks, in one line.
    with tempfile.TemporaryDirectory() as work:
        fake = os.path.join(work, "evidence.E01")
        with open(fake, "wb") as f:
            f.write(b"EVF\x09\x0d\x0a\xff\x00" + bytes(4096))
        r = wine(exe, ["list", fake])
        err = r.stderr.decode(errors="replace").strip()
        tap.ok(r.returncode == 1 and "made without libewf" in err and
               len(err.splitlines()) == 1,
               "the Windows build names an E01 container it cannot read", err)
        r = wine(exe, ["list", "--vss", "1", decompress(committed_images()[-1])])
        err = r.stderr.decode(errors="replace").strip()
        tap.ok(r.returncode != 0 and "no shadow copies" in err,
               "the Windows build says it reads no shadow copies", err)

    # IoRing is resolved at run time; Wine has none: the best backend then
    # is iocp, and --verbose and uffs bench say why ioring was passed over.
    small = decompress(committed_images()[-1])
    r = wine(exe, ["list", "-v", "-m", "async", small])
    err = r.stderr.decode(errors="replace")
    tap.ok(r.returncode == 0 and "skipped ioring" in err and "falling back" in err
           and "iocp backend" in err,
           "ioring unavailable under Wine: --verbose says so and iocp reads", err)
    r = wine(exe, ["bench", "-m", "async", "--repeat", "1", small])
    out = r.stdout.decode(errors="replace")
    tap.ok(r.returncode == 0 and "iocp" in out and "falling back" in out,
           "uffs bench on Windows names the backend and the fallback", out)
    r = wine(exe, ["list", "-b", "ioring", small])
    err = r.stderr.decode(errors="replace")
    tap.ok(r.returncode == 1 and "no IoRing API" in err,
           "--backend ioring where there is none: exit 1 with the reason", err)

    for path in committed_images():
        name = os.path.basename(path)
        img = decompress(path)
        for fmt in (["list"], ["list", "-f", "bodyfile", "--deleted"],
                    ["list", "-f", "jsonl", "-c", "path,size,created,attributes"]):
            w, l = wine(exe, fmt + [img]), run([ref] + fmt + [img])
            tap.ok(w.returncode == l.returncode and w.stdout == l.stdout and w.stdout,
                   f"{name}: `uffs {' '.join(fmt)}` prints the same bytes on Windows",
                   f"exit {w.returncode} vs {l.returncode}; {w.stderr.decode(errors='replace')[:300]}")
        if name == "hardcases.img.xz":
            for cmd in (["search", "*.TXT"], ["search", "caf\u00c9*"],
                        ["search", "--streams", "-f", "csv", "-c", "path,size",
                         "--sort", "size:desc", "--path", "/names/**"],
                        ["search", "--count", "--type", "f", "--size", ">1K", "*"]):
                w, l = wine(exe, cmd + [img]), run([ref] + cmd + [img])
                tap.ok(w.returncode == l.returncode and w.stdout == l.stdout and w.stdout,
                       f"{name}: `uffs {' '.join(cmd)}` prints the same bytes on Windows",
                       f"exit {w.returncode} vs {l.returncode}; {w.stderr.decode(errors='replace')[:300]}")
            w = wine(exe, ["search", "--regex", "x", img])
            err = w.stderr.decode(errors="replace")
            tap.ok(w.returncode == 2 and "not available in this build" in err,
                   "search --regex in the Windows build (no PCRE2): exit 2, says so", err)
        want = run([ref, "digest", img]).stdout.split()[0]
        bad = []
        combos = [["-m", m, "-b", b] for m, b in itertools.product(MODES, BACKENDS)]
        combos += [["-m", "async", "-b", "fault", "--fault-seed", "5",
                    "--fault-short", "50", "--fault-delay", "50"]]
        for extra in combos:
            w = wine(exe, ["digest", "--chunk", "4K"] + extra + [img])
            got = w.stdout.split()[0] if w.stdout else w.stderr[-200:]
            if got != want:
                bad.append(f"{' '.join(extra)}: {got!r}")
        tap.ok(not bad, f"{name}: {len(combos)} modes x Windows backends give the Linux digest",
               "\n".join(bad[:8]))

    # A raw volume, as Windows sees a live one: Wine maps the device \\.\N:
    # to an image through a symlink in the prefix's dosdevices.
    img = decompress(committed_images()[-1])
    linux = run([ref, "list", img]).stdout.decode()
    with VolumeLink(img) as link:
        if link:
            for spec in ("N:", "\\\\.\\N:", "n:\\"):
                w = wine(exe, ["list", spec])
                got = w.stdout.decode()
                want = "".join("N:" + line.replace("/", "\\") + "\n"
                               for line in linux.splitlines())
                tap.ok(w.returncode == 0 and got == want,
                       f"live volume `uffs list {spec}` (\\\\.\\N: mapped to an image): Windows paths, same files",
                       w.stderr.decode(errors="replace")[:300] + got[:200])
            w = wine(exe, ["info", "N:"])
            tap.ok(w.returncode == 0 and b"raw volume" in w.stdout,
                   "live volume: uffs info N:", w.stderr.decode(errors="replace"))
            # Path patterns use '/' there too; results print as N:\ paths.
            for pattern in ("/*/*.txt", "docs/**"):
                w = wine(exe, ["search", "--path", pattern, "N:"])
                lin = run([ref, "search", "--path", pattern, img]).stdout.decode()
                want_s = "".join("N:" + line.replace("/", "\\") + "\n"
                                 for line in lin.splitlines())
                tap.ok(w.returncode == 0 and lin and w.stdout.decode() == want_s,
                       f"live volume: `uffs search --path {pattern} N:` finds what Linux finds "
                       f"({len(lin.splitlines())} rows), as N:\\ paths",
                       w.stderr.decode(errors="replace")[:300] + w.stdout.decode()[:200])
            # A saved index of a live volume keeps its Windows paths.
            with tempfile.TemporaryDirectory() as work:
                idx = os.path.join(work, "n.idx")
                w = wine(exe, ["index", "N:", "-o", idx])
                listed = wine(exe, ["list", idx]).stdout.decode()
                on_linux = run([ref, "list", idx]).stdout.decode()
                tap.ok(w.returncode == 0 and listed == want and on_linux == want,
                       "live volume saved: its index lists N:\\ paths on Windows and Linux",
                       w.stderr.decode(errors="replace")[:300] + listed[:200])
    if not link:
        tap.skip("live volume through dosdevices", "WINEPREFIX not set")

    if args.ioring_double:
        dll = run(["winepath", "-w", args.ioring_double]).stdout.decode().strip()
        test_ioring_double(tap, exe, ref, dll)
        if args.win_build:
            test_release_has_no_double(tap, args.win_build)
    else:
        tap.skip("ioring on the IoRing test double", "no --ioring-double")

    test_saved_index(tap, exe, ref)
    test_journal(tap, exe, ref)
    if args.journal_double:
        test_journal_double(tap, exe, ref, run(["winepath", "-w", args.journal_double])
                            .stdout.decode().strip())
        if args.win_build:
            test_release_has_no_journal_double(tap, args.win_build)
    else:
        tap.skip("the live journal through the journal test double", "no --journal-double")
    if args.win_build and args.build:
        test_library(tap, args.win_build, args.build)

    r = wine(exe, ["list", "Z:\\nonexistent\\disk.img"])
    err = r.stderr.decode(errors="replace")
    tap.ok(r.returncode == 1 and "No such file" in err and len(err.splitlines()) == 1,
           "a missing source: exit 1, one line", err)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
