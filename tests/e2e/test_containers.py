#!/usr/bin/env python3
"""Containers: E01 (single and split), VHD (dynamic, fixed, differencing),
VHDX, VMDK (monolithic and split, sparse and flat) and qcow2 (plain and
over a backing file), made from the committed images (and the shared
samples, when present) by the reference tools ewfacquire (ewf-tools) and
qemu-img (qemu-utils). Each container must give exactly the raw image's
digest and listing, in every scan mode, with a partition table inside as
well; damaged containers (truncated, a segment missing, a chunk
corrupted, a parent missing, parents in a loop) must fail with one line
naming the source, never crash or hang.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Tap, committed_images, decompress, run, shared_images  # noqa: E402

MODES = ["streaming", "prefetch", "pipelined", "pipelined-parallel",
         "parallel", "async"]


def tool(*cmd):
    r = subprocess.run(list(cmd), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.decode(errors='replace')}")


def make_containers(raw, work):
    """Every container kind of `raw`, as (label, first file)."""
    out = []
    base = os.path.join(work, "c")

    def qemu(fmt, suffix, *opts):
        path = base + suffix
        tool("qemu-img", "convert", "-f", "raw", "-O", fmt, *opts, raw, path)
        out.append((f"{fmt} {' '.join(opts)}".strip(), path))

    qemu("qcow2", ".qcow2")
    qemu("qcow2", "-z.qcow2", "-c")
    qemu("qcow", ".qcow")
    qemu("vpc", ".vhd")
    qemu("vpc", "-fixed.vhd", "-o", "subformat=fixed")
    qemu("vhdx", ".vhdx")
    qemu("vmdk", ".vmdk")
    qemu("vmdk", "-split.vmdk", "-o", "subformat=twoGbMaxExtentSparse")
    qemu("vmdk", "-flat.vmdk", "-o", "subformat=monolithicFlat")
    qemu("vmdk", "-stream.vmdk", "-o", "subformat=streamOptimized")
    over = base + "-over.qcow2"
    tool("qemu-img", "create", "-q", "-f", "qcow2", "-b",
         os.path.basename(base + ".qcow2"), "-F", "qcow2", over)
    out.append(("qcow2 over a backing qcow2", over))
    delta = base + "-delta.vmdk"
    tool("qemu-img", "create", "-q", "-f", "vmdk", "-b",
         os.path.basename(base + ".vmdk"), "-F", "vmdk", delta)
    out.append(("VMDK delta disk over a base VMDK", delta))
    diff = base + "-diff.vhd"
    make_differencing_vhd(base + ".vhd", diff)
    out.append(("differencing VHD over a dynamic VHD", diff))
    tool("ewfacquire", "-u", "-q", "-c", "best", "-t", base + "-e01", raw)
    out.append(("E01, compressed", base + "-e01.E01"))
    # Segments of 1 MiB, libewf's smallest: a set of several files.
    tool("ewfacquire", "-u", "-q", "-c", "none", "-S", "1MiB", "-t",
         base + "-split", raw)
    out.append(("E01, split into segments", base + "-split.E01"))
    renamed = os.path.join(work, "evidence.bin")
    shutil.copy(base + "-e01.E01", renamed)
    out.append(("E01 under a name that is not .E01", renamed))
    return out


def vhd_checksum(b):
    return (~sum(b) & 0xFFFFFFFF)


def make_differencing_vhd(parent, child):
    """A differencing VHD (the VHD specification's layout) with no block
    of its own: every read falls through to `parent`, named in the header
    and by a relative Windows locator."""
    with open(parent, "rb") as f:
        data = f.read()
    pfooter = data[-512:]
    assert pfooter[:8] == b"conectix"
    size = struct.unpack(">Q", pfooter[48:56])[0]
    block = 2 << 20
    entries = (size + block - 1) // block
    name16 = os.path.basename(parent).encode("utf-16-be")
    locator = (".\\" + os.path.basename(parent)).encode("utf-16-le")
    bat_off = 512 + 1024
    bat_len = (entries * 4 + 511) // 512 * 512
    loc_off = bat_off + bat_len
    loc_len = (len(locator) + 511) // 512 * 512
    footer = bytearray(pfooter)
    footer[8:12] = struct.pack(">I", 2)
    footer[16:24] = struct.pack(">Q", 512)
    footer[60:64] = struct.pack(">I", 4)  # differencing
    footer[64:68] = b"\0\0\0\0"
    footer[68:84] = bytes(range(1, 17))
    footer[64:68] = struct.pack(">I", vhd_checksum(footer))
    hdr = bytearray(1024)
    hdr[0:8] = b"cxsparse"
    hdr[8:16] = b"\xff" * 8
    hdr[16:24] = struct.pack(">Q", bat_off)
    hdr[24:28] = struct.pack(">I", 0x00010000)
    hdr[28:32] = struct.pack(">I", entries)
    hdr[32:36] = struct.pack(">I", block)
    hdr[40:56] = pfooter[68:84]  # the parent's unique id
    hdr[56:60] = pfooter[24:28]  # the parent's timestamp
    hdr[64:64 + len(name16)] = name16
    hdr[576:580] = b"W2ru"
    hdr[580:584] = struct.pack(">I", loc_len)
    hdr[584:588] = struct.pack(">I", len(locator))
    hdr[592:600] = struct.pack(">Q", loc_off)
    hdr[36:40] = struct.pack(">I", vhd_checksum(hdr))
    bat = b"\xff" * (entries * 4) + b"\0" * (bat_len - entries * 4)
    loc = locator + b"\0" * (loc_len - len(locator))
    with open(child, "wb") as f:
        f.write(bytes(footer) + bytes(hdr) + bat + loc + bytes(footer))


def mbr_disk(raw, path):
    """raw as the one partition of an MBR disk, at 1 MiB."""
    data = open(raw, "rb").read()
    mbr = bytearray(1 << 20)
    mbr[0x1BE:0x1CE] = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x07,
                                   b"\0\0\0", 2048, len(data) // 512)
    mbr[510:512] = b"\x55\xaa"
    with open(path, "wb") as f:
        f.write(bytes(mbr) + data)


def one_line_error(r, source):
    err = r.stderr.decode(errors="replace").strip().splitlines()
    return (r.returncode in (1, 3) and len(err) >= 1 and
            all(line.startswith("uffs: ") for line in err) and
            source in err[-1] and r.returncode >= 0)


def check_image(tap, uffs, raw, label, work):
    want = run([uffs, "digest", raw])
    want_list = run([uffs, "list", "--deleted", "-f", "csv", raw])
    if want.returncode != 0:
        tap.skip(f"{label}: containers", "the raw image does not scan")
        return
    want_digest = want.stdout.split()[0]
    for kind, path in make_containers(raw, work):
        r = run([uffs, "digest", path])
        got = r.stdout.split()[0] if r.stdout.split() else b""
        tap.ok(r.returncode == 0 and got == want_digest,
               f"{label}: {kind}: the raw image's digest",
               r.stderr.decode(errors="replace"))
        r = run([uffs, "list", "--deleted", "-f", "csv", path])
        tap.ok(r.returncode == want_list.returncode and
               r.stdout == want_list.stdout and r.stdout,
               f"{label}: {kind}: the raw image's listing, byte for byte",
               r.stderr.decode(errors="replace"))


def check_modes_and_facts(tap, uffs, raw, work):
    want = run([uffs, "digest", raw]).stdout.split()[0]
    qcow = os.path.join(work, "m.qcow2")
    tool("qemu-img", "convert", "-O", "qcow2", raw, qcow)
    for mode in MODES:
        for backend in ("threads", "sync"):
            r = run([uffs, "digest", "--mode", mode, "--backend", backend,
                     "--chunk", "8192", qcow])
            got = r.stdout.split()[0] if r.stdout.split() else b""
            tap.ok(r.returncode == 0 and got == want,
                   f"qcow2: --mode {mode} --backend {backend}: same digest",
                   r.stderr.decode(errors="replace"))
    r = run([uffs, "digest", "--backend", "fault", "--fault-seed", "5",
             "--fault-short", "40", "--fault-delay", "40", qcow])
    got = r.stdout.split()[0] if r.stdout.split() else b""
    tap.ok(r.returncode == 0 and got == want,
           "qcow2 through the fault backend (short and reordered reads): "
           "same digest", r.stderr.decode(errors="replace"))
    r = run([uffs, "info", qcow])
    tap.ok(r.returncode == 0 and b"raw volume in QCOW container" in r.stdout,
           "info names the container", r.stdout.decode(errors="replace"))
    r = run([uffs, "list", "--verbose", qcow])
    tap.ok(b"auto: pipelined-parallel (QCOW container)" in r.stderr,
           "auto reads a container with pipelined-parallel and says so",
           r.stderr.decode(errors="replace"))
    if b"uring" in run([uffs, "list", "--backend", "nosuch", raw]).stderr:
        r = run([uffs, "digest", "--backend", "uring", qcow])
        tap.ok(r.returncode == 1 and b"--backend threads or sync" in r.stderr
               and len(r.stderr.splitlines()) == 1,
               "--backend uring on a container: one line that says what "
               "reads it", r.stderr.decode(errors="replace"))
    # A partition table inside a container.
    disk = os.path.join(work, "disk.img")
    mbr_disk(raw, disk)
    for fmt, suffix in (("qcow2", ".qcow2"), ("vhdx", ".vhdx")):
        c = os.path.join(work, "disk" + suffix)
        tool("qemu-img", "convert", "-f", "raw", "-O", fmt, disk, c)
        r = run([uffs, "digest", c])
        got = r.stdout.split()[0] if r.stdout.split() else b""
        tap.ok(r.returncode == 0 and got == want,
               f"an MBR disk in {fmt}: the partition is found, same digest",
               r.stderr.decode(errors="replace"))
        r = run([uffs, "digest", "--partition", "1", c])
        got = r.stdout.split()[0] if r.stdout.split() else b""
        tap.ok(r.returncode == 0 and got == want,
               f"an MBR disk in {fmt}: --partition 1", r.stderr.decode(errors="replace"))
        r = run([uffs, "digest", "--offset", str(1 << 20), c])
        got = r.stdout.split()[0] if r.stdout.split() else b""
        tap.ok(r.returncode == 0 and got == want,
               f"an MBR disk in {fmt}: --offset", r.stderr.decode(errors="replace"))
        r = run([uffs, "info", c])
        tap.ok(f"MBR in {'QCOW' if fmt == 'qcow2' else 'VHDX'} container".encode()
               in r.stdout,
               f"info: an MBR disk image in a {fmt} container",
               r.stdout.decode(errors="replace"))


def check_damage(tap, uffs, raw, work):
    base = os.path.join(work, "d")
    tool("qemu-img", "convert", "-O", "qcow2", raw, base + ".qcow2")
    tool("qemu-img", "convert", "-O", "vpc", raw, base + ".vhd")
    tool("qemu-img", "convert", "-O", "vhdx", raw, base + ".vhdx")
    tool("qemu-img", "convert", "-O", "vmdk", raw, base + ".vmdk")
    tool("ewfacquire", "-u", "-q", "-c", "none", "-S", "1MiB", "-t",
         base + "-split", raw)
    tool("ewfacquire", "-u", "-q", "-c", "best", "-t", base + "-e01", raw)
    cases = []
    for suffix in (".qcow2", ".vhd", ".vhdx", ".vmdk", "-e01.E01"):
        data = open(base + suffix, "rb").read()
        for frac in (0.001, 0.01, 0.1, 0.5, 0.9):
            cut = max(8, int(len(data) * frac))
            p = f"{base}-cut{int(frac * 1000)}{suffix}"
            with open(p, "wb") as f:
                f.write(data[:cut])
            # A cut past the blocks that hold the $MFT may still scan:
            # then it must give the same digest.
            cases.append((f"{suffix[1:]} cut to {cut} bytes", p, True))
        # Garbage in the middle of the metadata and the data.
        for at in (512, 4096, 65536, len(data) // 2):
            if at + 256 > len(data):
                continue
            b = bytearray(data)
            for i in range(256):
                b[at + i] ^= 0x5A
            p = f"{base}-flip{at}{suffix}"
            with open(p, "wb") as f:
                f.write(bytes(b))
            cases.append((f"{suffix[1:]} with 256 bytes flipped at {at}", p,
                          True))
    segs = sorted(f for f in os.listdir(work) if f.startswith("d-split.E"))
    miss = os.path.join(work, "missing")
    os.makedirs(miss)
    for s in segs:
        if s != segs[len(segs) // 2]:
            shutil.copy(os.path.join(work, s), miss)
    cases.append(("E01 set with a middle segment missing",
                  os.path.join(miss, "d-split.E01"), False))
    trunc = os.path.join(work, "trunc")
    os.makedirs(trunc)
    for s in segs:
        shutil.copy(os.path.join(work, s), trunc)
    with open(os.path.join(trunc, segs[1]), "r+b") as f:
        f.truncate(os.path.getsize(os.path.join(trunc, segs[1])) // 2)
    cases.append(("E01 set with a truncated segment",
                  os.path.join(trunc, "d-split.E01"), False))
    loop = os.path.join(work, "loop")
    os.makedirs(loop)
    tool("qemu-img", "create", "-q", "-f", "qcow2", os.path.join(loop, "a.qcow2"), "32M")
    tool("qemu-img", "create", "-q", "-f", "qcow2", "-b", "a.qcow2", "-F",
         "qcow2", os.path.join(loop, "b.qcow2"))
    tool("qemu-img", "rebase", "-q", "-u", "-b", "b.qcow2", "-F", "qcow2",
         os.path.join(loop, "a.qcow2"))
    cases.append(("qcow2 whose backing files loop", os.path.join(loop, "b.qcow2"), False))
    gone = os.path.join(work, "gone")
    os.makedirs(gone)
    tool("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "nothere.qcow2",
         "-F", "qcow2", os.path.join(gone, "c.qcow2"), "32M")
    cases.append(("qcow2 whose backing file is missing", os.path.join(gone, "c.qcow2"), False))
    dgone = os.path.join(work, "dgone")
    os.makedirs(dgone)
    tool("qemu-img", "create", "-q", "-f", "vmdk", "-b",
         os.path.basename(base + ".vmdk"), "-F", "vmdk", base + "-delta.vmdk")
    shutil.copy(base + "-delta.vmdk", os.path.join(dgone, "d-delta.vmdk"))
    cases.append(("VMDK delta disk whose parent is missing",
                  os.path.join(dgone, "d-delta.vmdk"), False))
    vgone = os.path.join(work, "vgone")
    os.makedirs(vgone)
    shutil.copy(base + ".vhd", os.path.join(vgone, "p.vhd"))
    make_differencing_vhd(os.path.join(vgone, "p.vhd"), os.path.join(vgone, "k.vhd"))
    os.remove(os.path.join(vgone, "p.vhd"))
    cases.append(("differencing VHD whose parent is missing", os.path.join(vgone, "k.vhd"), False))
    vloop = os.path.join(work, "vloop")
    os.makedirs(vloop)
    shutil.copy(base + ".vhd", os.path.join(vloop, "x.vhd"))
    make_differencing_vhd(os.path.join(vloop, "x.vhd"), os.path.join(vloop, "y.vhd"))
    make_differencing_vhd(os.path.join(vloop, "y.vhd"), os.path.join(vloop, "x.vhd"))
    cases.append(("differencing VHDs that name each other", os.path.join(vloop, "y.vhd"), False))

    want = run([uffs, "digest", raw]).stdout.split()[0]
    for name, path, may_pass in cases:
        try:
            r = run([uffs, "digest", path], timeout=60)
        except subprocess.TimeoutExpired:
            tap.ok(False, f"{name}: no hang", "timed out after 60 s")
            continue
        crashed = r.returncode < 0 or r.returncode > 3
        if may_pass and r.returncode == 0:
            got = r.stdout.split()[0]
            tap.ok(got == want, f"{name}: scans: damage outside what is read, "
                   "same digest", r.stderr.decode(errors="replace"))
            continue
        tap.ok(not crashed and one_line_error(r, path) and r.returncode != 0,
               f"{name}: fails with one line naming the source, no crash",
               f"exit {r.returncode}\n" + r.stderr.decode(errors="replace"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uffs", required=True)
    a = ap.parse_args()
    tap = Tap()
    version = run([a.uffs, "--version"]).stdout.decode()
    missing = [t for t in ("qemu-img", "ewfacquire") if not shutil.which(t)]
    if "QCOW" not in version or "EWF" not in version or missing:
        tap.skip("containers", "this build reads no containers"
                 if not missing else f"missing {', '.join(missing)}")
        return tap.done()
    images = [(os.path.basename(x), decompress(x)) for x in committed_images()]
    for s in shared_images() or []:
        images.append(("shared/" + os.path.basename(s), decompress(s)))
    for label, raw in images:
        with tempfile.TemporaryDirectory(prefix="uffs-containers-") as work:
            check_image(tap, a.uffs, raw, label, work)
    hard = dict(images)["hardcases.img.xz"]
    with tempfile.TemporaryDirectory(prefix="uffs-containers-") as work:
        check_modes_and_facts(tap, a.uffs, hard, work)
    with tempfile.TemporaryDirectory(prefix="uffs-containers-") as work:
        check_damage(tap, a.uffs, hard, work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
