"""Shared helpers for the end-to-end tests: TAP output, sample discovery."""
import gzip
import hashlib
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(TOP), "shared", "ntfs-samples")
CACHE = os.path.join(tempfile.gettempdir(), "uffs-test-images")


class Tap:
    """Minimal TAP producer: one line per check, plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, detail=""):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {name}")
        else:
            self.failed += 1
            print(f"not ok {self.n} - {name}")
            for line in str(detail).splitlines()[:40]:
                print(f"# {line}")
        sys.stdout.flush()
        return cond

    def skip(self, name, why):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {why}")

    def done(self):
        print(f"1..{self.n}")
        return 1 if self.failed else 0


def decompress(path):
    """Decompresses a .xz/.gz sample once into a cache folder; returns the
    path of the raw file (the cache is keyed by content hash)."""
    if not (path.endswith(".xz") or path.endswith(".gz")):
        return path
    with open(path, "rb") as f:
        digest = hashlib.sha1(f.read()).hexdigest()[:16]
    base = os.path.basename(path).rsplit(".", 1)[0]
    out = os.path.join(CACHE, f"{digest}-{base}")
    if not os.path.exists(out):
        os.makedirs(CACHE, exist_ok=True)
        opener = lzma.open if path.endswith(".xz") else gzip.open
        tmp = out + ".tmp"
        with opener(path, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(tmp, out)
    return out


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=kw.pop("timeout", 120), **kw)


def committed_images():
    d = os.path.join(TOP, "images")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".img.xz"))


def shared_images():
    d = os.path.join(SHARED, "images")
    if not os.path.isdir(d):
        return None
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if f.endswith(".gz") or f.endswith(".dd") or f.endswith(".raw"))


def shared_mft_files():
    d = os.path.join(SHARED, "mft")
    if not os.path.isdir(d):
        return None
    out = []
    for root, _, files in os.walk(d):
        for f in files:
            if f.endswith(".mft") or f.endswith(".bin"):
                out.append(os.path.join(root, f))
    return sorted(out)


# ---- a read-write ntfs-3g mount, for tests that change an image ----

class MountError(Exception):
    pass


class Mount:
    """ntfs-3g in the foreground (no_detach), so that its exit (after the
    unmount has written everything back) can be waited for."""

    def __init__(self, image, mnt):
        self.image, self.mnt, self.proc = image, mnt, None

    def mounted(self):
        want = os.path.realpath(self.mnt)
        with open("/proc/mounts") as f:
            return any(line.split()[1] == want for line in f if len(line.split()) > 1)

    def __enter__(self):
        self.proc = subprocess.Popen(
            ["ntfs-3g", "-o", "noatime,streams_interface=windows,no_detach",
             self.image, self.mnt], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(200):
            if self.mounted():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        err = b""
        if self.proc.poll() is None:
            self.proc.kill()
        _, err = self.proc.communicate()
        raise MountError(err.decode(errors="replace").strip()[-300:] or "no mount")

    def __exit__(self, *exc):
        os.sync()
        r = run(["umount", self.mnt])
        if r.returncode:
            run(["fusermount", "-u", self.mnt])
        try:
            self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
        os.sync()
        return False


def can_mount():
    if not shutil.which("ntfs-3g"):
        return "ntfs-3g not installed"
    if not os.path.exists("/dev/fuse") or not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "no usable /dev/fuse"
    return None
