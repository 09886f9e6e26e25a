"""A small, independent NTFS reader/writer for the corrupted-image generator.

It parses just enough of a volume to aim a mutation at a field: the boot
sector, the $MFT runlist of record 0 (and, through record 0's
$ATTRIBUTE_LIST, the pieces kept in extension records), records by number,
their update sequence fixup and their attributes. It shares no code with
uffs: the offsets below come from the NTFS format documentation (libfsntfs's
"NTFS" document, Carrier's File System Forensic Analysis), so a mutation
lands where the format says a field is, not where uffs happens to look.
"""
import struct

# Boot sector fields.
BOOT_BPS = 0x0B
BOOT_SPC = 0x0D
BOOT_TOTAL_SECTORS = 0x28
BOOT_MFT_LCN = 0x30
BOOT_MFTMIRR_LCN = 0x38
BOOT_CLUSTERS_PER_RECORD = 0x40

# Record header fields.
REC_USA_OFS = 0x04
REC_USA_COUNT = 0x06
REC_SEQ = 0x10
REC_ATTR_OFS = 0x14
REC_FLAGS = 0x16
REC_USED = 0x18
REC_ALLOC = 0x1C
REC_BASE = 0x20
FLAG_IN_USE, FLAG_DIR = 1, 2

# Attribute header fields.
A_TYPE, A_LEN, A_NONRES, A_NAME_LEN, A_NAME_OFS = 0x00, 0x04, 0x08, 0x09, 0x0A
A_VALUE_LEN, A_VALUE_OFS = 0x10, 0x14                  # resident
A_START_VCN, A_RUNLIST_OFS = 0x10, 0x20                # non-resident
A_ALLOC_SIZE, A_DATA_SIZE, A_INIT_SIZE = 0x28, 0x30, 0x38
END = 0xFFFFFFFF

AT_SI, AT_AL, AT_FN, AT_DATA, AT_IROOT, AT_BITMAP = 0x10, 0x20, 0x30, 0x80, 0x90, 0xB0

# $FILE_NAME value fields.
FN_PARENT, FN_NAME_LEN, FN_NS, FN_NAME = 0x00, 0x40, 0x41, 0x42

# $ATTRIBUTE_LIST entry fields.
AL_TYPE, AL_LEN, AL_NAME_LEN, AL_START_VCN, AL_REF = 0x00, 0x04, 0x06, 0x08, 0x10

STRIDE = 512


def u16(b, o):
    return struct.unpack_from("<H", b, o)[0]


def u32(b, o):
    return struct.unpack_from("<I", b, o)[0]


def u64(b, o):
    return struct.unpack_from("<Q", b, o)[0]


def put(b, o, fmt, v):
    struct.pack_into("<" + fmt, b, o, v)


def ref(frs, seq):
    return frs | (seq << 48)


def decode_runlist(b, off, end, start_vcn=0):
    """[(vcn, length, lcn or None)] of a mapping-pairs array."""
    runs, vcn, lcn = [], start_vcn, 0
    while off < end and b[off]:
        ls, os_ = b[off] & 15, b[off] >> 4
        length = int.from_bytes(b[off + 1:off + 1 + ls], "little")
        if os_:
            lcn += int.from_bytes(b[off + 1 + ls:off + 1 + ls + os_], "little", signed=True)
            runs.append((vcn, length, lcn))
        else:
            runs.append((vcn, length, None))
        vcn += length
        off += 1 + ls + os_
    return runs


def _min_bytes(v, signed):
    n = 1
    while True:
        try:
            v.to_bytes(n, "little", signed=signed)
            return n
        except OverflowError:
            n += 1


def encode_runlist(runs):
    """Mapping pairs for [(length, lcn or None)], zero-terminated."""
    out, prev = bytearray(), 0
    for length, lcn in runs:
        lb = length.to_bytes(_min_bytes(length, False), "little")
        if lcn is None:
            ob = b""
        else:
            delta = lcn - prev
            ob = delta.to_bytes(_min_bytes(delta, True), "little", signed=True)
            prev = lcn
        out.append(len(ob) << 4 | len(lb))
        out += lb + ob
    out.append(0)
    return bytes(out)


class Attr:
    def __init__(self, rec, off):
        b = rec.b
        self.off = off
        self.type = u32(b, off)
        self.length = u32(b, off + A_LEN)
        self.nonres = b[off + A_NONRES] != 0
        self.name_len = b[off + A_NAME_LEN]
        self.name = (bytes(b[off + u16(b, off + A_NAME_OFS):][:2 * self.name_len])
                     .decode("utf-16-le", "surrogatepass") if self.name_len else "")
        if self.nonres:
            self.start_vcn = u64(b, off + A_START_VCN)
            self.runlist_off = off + u16(b, off + A_RUNLIST_OFS)
            self.data_size = u64(b, off + A_DATA_SIZE)
        else:
            self.value_len = u32(b, off + A_VALUE_LEN)
            self.value_off = off + u16(b, off + A_VALUE_OFS)

    def runs(self, rec):
        return decode_runlist(rec.b, self.runlist_off, self.off + self.length, self.start_vcn)


class Record:
    """One record, fixup undone (as a reader sees it) until fix() is called."""

    def __init__(self, raw):
        self.b = bytearray(raw)
        usa, n = u16(self.b, REC_USA_OFS), u16(self.b, REC_USA_COUNT)
        assert n == len(self.b) // STRIDE + 1, "unexpected update sequence count"
        for i in range(1, n):
            t = i * STRIDE - 2
            assert self.b[t:t + 2] == self.b[usa:usa + 2], "record already torn"
            self.b[t:t + 2] = self.b[usa + 2 * i:usa + 2 * i + 2]

    def fix(self):
        """Writes the update sequence back: each stride's last two bytes go
        to the array, the number takes their place. Returns the raw bytes."""
        b = bytearray(self.b)
        usa, n = u16(b, REC_USA_OFS), u16(b, REC_USA_COUNT)
        for i in range(1, n):
            t = i * STRIDE - 2
            b[usa + 2 * i:usa + 2 * i + 2] = b[t:t + 2]
            b[t:t + 2] = b[usa:usa + 2]
        return b

    def attrs(self):
        off, used = u16(self.b, REC_ATTR_OFS), u32(self.b, REC_USED)
        while off + 8 <= used and u32(self.b, off) != END:
            a = Attr(self, off)
            yield a
            off += a.length

    def end_marker(self):
        off = u16(self.b, REC_ATTR_OFS)
        while u32(self.b, off) != END:
            off += u32(self.b, off + A_LEN)
        return off

    def find(self, type_, name="", vcn=0, nth=0):
        for a in self.attrs():
            if a.type == type_ and a.name == name and (not a.nonres or a.start_vcn == vcn):
                if nth == 0:
                    return a
                nth -= 1
        raise KeyError(f"no attribute 0x{type_:x} '{name}'")

    def resize_attr(self, a, new_bytes):
        """Replaces attribute a by new_bytes (its own length field updated),
        moving the attributes after it; fails if the record has no room."""
        used, alloc = u32(self.b, REC_USED), len(self.b)
        new_bytes = bytearray(new_bytes)
        new_bytes += b"\0" * (-len(new_bytes) % 8)
        put(new_bytes, A_LEN, "I", len(new_bytes))
        delta = len(new_bytes) - a.length
        assert used + delta <= alloc, "no room in the record"
        tail = bytes(self.b[a.off + a.length:used])
        self.b[a.off:a.off + len(new_bytes) + len(tail)] = new_bytes + tail
        if delta < 0:
            self.b[used + delta:used] = b"\0" * -delta
        put(self.b, REC_USED, "I", used + delta)

    def set_runlist(self, a, runs):
        """Rewrites a non-resident attribute's mapping pairs."""
        head = bytes(self.b[a.off:a.runlist_off])
        self.resize_attr(a, head + encode_runlist(runs))


class Volume:
    """A raw NTFS image in memory: geometry, the $MFT's extents, records."""

    def __init__(self, data):
        self.b = bytearray(data)
        b = self.b
        assert b[3:11] == b"NTFS    ", "not an NTFS volume"
        self.bps = u16(b, BOOT_BPS)
        spc = b[BOOT_SPC]
        spc = spc if spc <= 0x80 else 1 << (256 - spc)
        self.cluster = spc * self.bps
        cpr = struct.unpack_from("<b", b, BOOT_CLUSTERS_PER_RECORD)[0]
        self.rec_size = cpr * self.cluster if cpr > 0 else 1 << -cpr
        self.mft_lcn = u64(b, BOOT_MFT_LCN)
        self.mirr_lcn = u64(b, BOOT_MFTMIRR_LCN)
        self.volume_size = u64(b, BOOT_TOTAL_SECTORS) * self.bps
        self.clusters = self.volume_size // self.cluster
        self.rec0_off = self.mft_lcn * self.cluster
        r0 = Record(b[self.rec0_off:self.rec0_off + self.rec_size])
        data = r0.find(AT_DATA)
        self.mft_size = data.data_size
        runs = data.runs(r0)
        self.extents = self._extents(runs)
        self._follow_attr_list(r0, runs)

    def _extents(self, runs):
        return [(vcn * self.cluster, (lcn or 0) * self.cluster, n * self.cluster)
                for vcn, n, lcn in runs]

    def _follow_attr_list(self, r0, runs):
        try:
            al = r0.find(AT_AL)
        except KeyError:
            return
        self.attr_list = self.attr_value(r0, al)
        for e in self.al_entries(self.attr_list):
            if e["type"] == AT_DATA and e["vcn"] > 0 and e["name_len"] == 0:
                frs = e["ref"] & (1 << 48) - 1
                rec = self.record(frs)
                piece = rec.find(AT_DATA, vcn=e["vcn"])
                runs = runs + piece.runs(rec)
                self.extents = self._extents(runs)

    def attr_value(self, rec, a):
        if not a.nonres:
            return bytes(rec.b[a.value_off:a.value_off + a.value_len])
        out = bytearray()
        for _, n, lcn in a.runs(rec):
            out += self.b[lcn * self.cluster:(lcn + n) * self.cluster]
        return bytes(out[:a.data_size])

    @staticmethod
    def al_entries(value):
        off, out = 0, []
        while off + 0x1A <= len(value):
            length = u16(value, off + AL_LEN)
            if length == 0:
                break
            out.append({"off": off, "type": u32(value, off + AL_TYPE),
                        "name_len": value[off + AL_NAME_LEN],
                        "vcn": u64(value, off + AL_START_VCN),
                        "ref": u64(value, off + AL_REF)})
            off += length
        return out

    def pieces(self, frs):
        """[(image offset, length)] holding record frs (a record can straddle
        two runs)."""
        off, left, out = frs * self.rec_size, self.rec_size, []
        for mft_off, vol_off, n in self.extents:
            if mft_off <= off < mft_off + n:
                k = min(left, mft_off + n - off)
                out.append((vol_off + off - mft_off, k))
                off += k
                left -= k
                if not left:
                    return out
        raise KeyError(f"record {frs} not mapped")

    def record_offset(self, frs):
        return self.pieces(frs)[0][0]

    def raw(self, frs):
        return b"".join(bytes(self.b[o:o + n]) for o, n in self.pieces(frs))

    def write_raw(self, frs, data):
        pos = 0
        for o, n in self.pieces(frs):
            self.b[o:o + n] = data[pos:pos + n]
            pos += n

    def record(self, frs):
        return Record(self.raw(frs))

    def write_record(self, frs, rec):
        self.write_raw(frs, rec.fix())

    def patch_raw(self, frs, rec_off, data):
        """Writes bytes at an offset inside a record as stored on disk (no
        fixup: the update sequence then no longer matches if a stride tail is
        touched)."""
        raw = bytearray(self.raw(frs))
        raw[rec_off:rec_off + len(data)] = data
        self.write_raw(frs, raw)
